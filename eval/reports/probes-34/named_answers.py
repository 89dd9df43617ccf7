"""Ad hoc: the answers with the bold sentence of a named source chosen both ways: its sentence
closest to the question (``closest_sentences``, the code before this session) and its first
sentence (``key_sentences`` now). Questions come from the ids ``named_marks.py`` wrote ("c32-full
r007" lines: the stored standalone question, graded by its key facts) or from a plain file of
questions (printed for reading by hand). Only questions whose marks differ are asked.

    python eval/reports/probes-34/named_answers.py --ids IDS.txt | --questions FILE > OUT.txt
"""

import json
import sys
from pathlib import Path

from studyrag.config import Settings
from studyrag.evaluation.metrics import key_fact_recall
from studyrag.pipeline import StudyRAG
from studyrag.prompt import close_sources
from studyrag.retrieve import HybridRetriever

flag, path = sys.argv[1], Path(sys.argv[2])
items: list[tuple[str, str, list[str]]] = []  # (label, question, key facts)
if flag == "--ids":
    for line in path.read_text().splitlines():
        run, qid = line.split()
        q = next(x for x in json.loads(Path(f"eval/reports/{run}/report.json").read_text())["answers"]["questions"] if x["id"] == qid)
        items.append((f"{run} {qid}", q["standalone_question"] or q["question"], q["key_facts"] or []))
else:
    items = [(f"q{i}", q.strip(), []) for i, q in enumerate(path.read_text().splitlines(), 1) if q.strip()]

rag = StudyRAG.load(Settings.from_env(), progress=False)
new_marks = HybridRetriever.key_sentences
totals = {"before": 0, "after": 0}
asked = 0
for label, question, facts in items:
    hits, _ = rag._retrieve(question, 5)
    sources = close_sources(hits[:4], rag.settings.source_min_ratio)
    if rag.retriever.key_sentences(question, sources) == rag.retriever.closest_sentences(question, sources):
        continue
    asked += 1
    print(f"{label}: {question}  facts={facts}")
    for arm, marks in (("before", HybridRetriever.closest_sentences), ("after", new_marks)):
        HybridRetriever.key_sentences = marks
        a = rag.ask(question)
        said = a.draft if a.abstained else a.text
        got = key_fact_recall(a.text, facts) if facts and not a.abstained else 0.0
        totals[arm] += got > 0
        state = f"DECLINED ({a.abstain_reason})" if a.abstained else f"facts={got:.2f}"
        print(f"  {arm}: {state} {said!r}", flush=True)
    HybridRetriever.key_sentences = new_marks
    print()
print(f"{asked} of {len(items)} questions asked; with a key fact: before {totals['before']}, after {totals['after']}")
