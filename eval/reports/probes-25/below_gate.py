"""Ad hoc: what would the model say to the questions the retrieval gate declines? Every question
of the given answer reports declined as "no_close_passage" is asked again with the gate off
(abstain_threshold -1; the unknown-name check and the checks after generation stay). One JSON line
per question: the answer, whether it abstained and why, key facts stated, and how well each cited
claim is supported (citations.support_score against its best cited source).

    python eval/reports/probes-25/below_gate.py eval/reports/c24-full eval/reports/c256-dev ... > below_gate.jsonl
"""

import dataclasses
import json
import sys
from pathlib import Path

from studyrag.citations import parse_citations, support_score
from studyrag.config import Settings
from studyrag.evaluation.metrics import fact_present
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(dataclasses.replace(Settings.from_env(), abstain_threshold=-1.0), progress=False)
for d in sys.argv[1:]:
    rows = json.loads((Path(d) / "report.json").read_text())["answers"]["questions"]
    for r in rows:
        if r["abstain_reason"] != "no_close_passage" or r["history"]:
            continue
        a = rag.ask(r["question"])
        docs = {h.n if hasattr(h, "n") else i: h for i, h in enumerate(a.sources, 1)}
        support = []
        for s in parse_citations(a.text):
            scores = [support_score(s.text, a.sources[n - 1].chunk.embed_text) for n in s.numbers if 1 <= n <= len(a.sources)]
            support.append(round(max(scores), 3) if scores else None)
        print(json.dumps({
            "report": Path(d).name, "id": r["id"], "expected": r["expected"], "question": r["question"],
            "abstained": a.abstained, "reason": a.abstain_reason, "answer": a.text,
            "key_fact": any(fact_present(a.text, f) for f in r["key_facts"]) if not a.abstained else False,
            "confidence": rag.retriever.confidence(a.standalone_question or r["question"]),
            "support": support, "cited": sorted({c.n for c in a.citations}),
        }), flush=True)
