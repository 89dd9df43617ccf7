"""Ad hoc: the questions whose outcome differs between two answer reports of the same set: an
answerable question that gains or loses a key fact (``fact_present``, as ``answer_targets.py``
counts), or an unanswerable one that is declined in one run and answered in the other. Each line
says whether the prompt's sources were the same chunks, and shows both answers' openings.

    python eval/reports/probes-29/changed_answers.py eval/reports/c256-dev eval/reports/c29-dev
"""

import json
import sys
from pathlib import Path

from studyrag.evaluation.metrics import fact_present


def records(report: str) -> dict[str, dict]:
    questions = json.loads((Path(report) / "report.json").read_text())["answers"]["questions"]
    return {q["id"]: q for q in questions if not q.get("error")}


def outcome(q: dict) -> str:
    if q["abstained"]:
        return "declined"
    if q["expected"] == "abstain":
        return "answered"
    return "key fact" if any(fact_present(q["answer"], f) for f in q["key_facts"]) else "no key fact"


before, after = records(sys.argv[1]), records(sys.argv[2])
n = 0
for qid, a in before.items():
    b = after.get(qid)
    if b is None or outcome(a) == outcome(b):
        continue
    n += 1
    same = [s["chunk_id"] for s in a["sources"]] == [s["chunk_id"] for s in b["sources"]]
    print(f"{qid} ({a['expected']}): {outcome(a)} -> {outcome(b)}, {'same' if same else 'other'} sources")
    print(f"    was: {(a['answer'] or '')[:140]!r}\n    now: {(b['answer'] or '')[:140]!r}")
print(f"{sys.argv[1]} -> {sys.argv[2]}: {n} of {len(before)} questions change outcome")
