"""Ad hoc: answers to 30 questions written this session in a student's words, none taken from a
gold set, to look for user-visible failures (declined easy questions, wrong [1], uncited or
invented sentences). Prints each answer, its reason when declined, and its sources.

    python eval/reports/probes-26/smoke.py [questions.txt] > eval/reports/probes-26/smoke.txt
"""

import sys
from pathlib import Path

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("smoke_questions.txt")
questions = [q.strip() for q in path.read_text().splitlines() if q.strip()]
rag = StudyRAG.load(Settings.from_env(), progress=False)
declined = 0
for q in questions:
    a = rag.ask(q)
    declined += a.abstained
    print(f"Q: {q}")
    if a.abstained:
        print(f"  DECLINED ({a.abstain_reason}); draft: {a.draft!r}")
    else:
        print(f"  A: {a.text}")
    for i, s in enumerate(a.sources, 1):
        print(f"   [{i}] {s.chunk.source} › {s.chunk.full_section}")
    print()
print(f"{len(questions)} questions, {declined} declined")
