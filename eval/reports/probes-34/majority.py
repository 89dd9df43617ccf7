"""Ad hoc: would an answer-level grounding rule tell invented answers from right ones? Today an
answer stands when at least one claim sentence is cited and supported by its source
(``CitationReport.grounded``). Asked "what's the KV cache" (the guides use the term but never
define it), the model wrote four sentences of its own; one was cited and shares three words with
its source, so the answer stood with three sentences flagged [?].

Every stored answer in the given reports is checked again (``resolve_citations`` on its final
text, the chunks from today's index) and counted by how many claims are held (cited and
supported) against how many are not (uncited or unsupported). Rules compared: decline when fewer
than half the claims are held, and when at least two claims are not held and at most one is.

    python eval/reports/probes-34/majority.py eval/reports/c32-{full,dev,heldout,unseen,unseen2,unseen3,student}
"""

import json
import sys
from collections import Counter
from pathlib import Path

from studyrag import citations
from studyrag.config import Settings
from studyrag.evaluation.metrics import key_fact_recall
from studyrag.pipeline import StudyRAG
from studyrag.records import Hit

RULES = {
    "under half held": lambda held, not_held: held < not_held,
    ">=2 not held, <=1 held": lambda held, not_held: not_held >= 2 and held <= 1,
    "none held of >=2 (today: any held stands)": lambda held, not_held: held == 0 and not_held >= 2,
}

chunk_of = {c.id: c for c in StudyRAG.load(Settings.from_env(), progress=False).chunks}
hits = {rule: Counter() for rule in RULES}
totals = Counter()
for report in sys.argv[1:]:
    for q in json.loads((Path(report) / "report.json").read_text())["answers"]["questions"]:
        if q["abstained"] or not q["answer"]:
            continue
        sources = [Hit(chunk_of[s["chunk_id"]], 0.0, s["n"]) for s in q["sources"]]
        question = q["standalone_question"] or q["question"]
        r = citations.resolve_citations(q["answer"], sources, question=question)
        not_held = len(r.uncited) + len(r.unsupported)
        held = len(r.sentence_citations) - not_held
        if q["expected"] == "answer":
            right = bool(q["key_facts"]) and key_fact_recall(q["answer"], q["key_facts"]) > 0
            kind = "right" if right else "wrong"
        else:
            kind = "unanswerable"
        totals[kind] += 1
        for rule, declines in RULES.items():
            if declines(held, not_held):
                hits[rule][kind] += 1
                if rule == "under half held":
                    print(f"{Path(report).name} {q['id']} {kind} held={held} not={not_held}: {q['answer'][:150]!r}")
print()
print(f"answered: {dict(totals)}")
for rule in RULES:
    print(f"{rule}: would decline {dict(hits[rule])}")
