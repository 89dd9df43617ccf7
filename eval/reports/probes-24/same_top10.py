"""Ad hoc: does label_first change the fused top 10 of any question of the answer suites? Prints each
question whose top 10 differs with the rule on (shipped) and off, then the counts.

    python eval/reports/probes-24/same_top10.py eval/questions.jsonl eval/*/questions.jsonl
"""

import dataclasses
import json
import sys
from pathlib import Path

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG
from studyrag.retrieve import HybridRetriever

rag = StudyRAG.load(Settings.from_env(), progress=False)
on = rag.retriever
off = HybridRetriever(on.index, on.embedder, dataclasses.replace(on.settings, label_first=False))
asked = differ = 0
for path in sys.argv[1:]:
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        question = json.loads(line)["question"]
        if not question.strip():  # the suites' bad-input rows
            continue
        asked += 1
        if [h.chunk.id for h in on.search(question, 10)] != [h.chunk.id for h in off.search(question, 10)]:
            differ += 1
            print("differs:", question)
print(f"{asked} questions; the top 10 differs for {differ}")
