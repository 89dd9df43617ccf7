"""Ad hoc: the searches an answer report made (each question as searched: a follow-up rewritten, an
instruction around it stripped; its ``standalone_question``). Does label_first change their fused
top 10? Prints each that changes, then a count per report.

    python eval/reports/probes-24/standalone_check.py eval/reports/c256-dev eval/reports/c256-heldout ...
"""

import dataclasses
import json
import sys
from pathlib import Path

from studyrag.config import Settings
from studyrag.errors import StudyRagError
from studyrag.pipeline import StudyRAG
from studyrag.retrieve import HybridRetriever

rag = StudyRAG.load(Settings.from_env(), progress=False)
on = rag.retriever
off = HybridRetriever(on.index, on.embedder, dataclasses.replace(on.settings, label_first=False))
for report in sys.argv[1:]:
    changed = 0
    for q in json.loads((Path(report) / "report.json").read_text(encoding="utf-8"))["answers"]["questions"]:
        query = q.get("standalone_question") or q["question"]
        try:
            ids = [[h.chunk.id for h in r.search(query, 10)] for r in (on, off)]
        except StudyRagError:  # the suites' empty and binary questions
            continue
        if ids[0] != ids[1]:
            changed += 1
            print("  ", report, q["id"], query[:80])
    print(report, "top 10 changes:", changed)
