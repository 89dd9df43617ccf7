"""Ad hoc: answers on single-guide answerable questions asked with --guide <gold guide>, against
the stored (unscoped) answers of the same questions in the c256-* reports (defaults unchanged).

    python eval/reports/probes-22/scope_answers.py eval/reports/c256-unseen eval/reports/c256-unseen2 eval/reports/c256-unseen3
"""
import ast
import json
import sys
from pathlib import Path

from studyrag.config import Settings
from studyrag.evaluation.metrics import fact_present
from studyrag.pipeline import StudyRAG


def as_list(v):
    return v if isinstance(v, list) else ast.literal_eval(v)


rag = StudyRAG.load(Settings.from_env(), progress=False)
rows = []
for rep in sys.argv[1:]:
    for q in json.loads((Path(rep) / "report.json").read_text())["answers"]["questions"]:
        guides, facts = as_list(q["guides"]), as_list(q["key_facts"])
        if q["expected"] != "answer" or len(guides) != 1 or as_list(q["history"]) or not facts:
            continue
        a = rag.ask(q["question"], guides=guides)
        before = (not q["abstained"] and any(fact_present(q["answer"], f) for f in facts), bool(q["abstained"]))
        after = (not a.abstained and any(fact_present(a.text, f) for f in facts), a.abstained)
        rows.append((Path(rep).name, q["id"], before, after))
        print(json.dumps({"set": Path(rep).name, "id": q["id"], "before": before, "after": after, "answer": a.text}), flush=True)
n = len(rows)
for name, i in (("unscoped (stored)", 2), ("scoped to the gold guide", 3)):
    right = sum(r[i][0] for r in rows)
    declined = sum(r[i][1] for r in rows)
    print(f"# {name}: n={n}  >=1 key fact {right}/{n} = {right / n:.3f}  declined {declined}")
