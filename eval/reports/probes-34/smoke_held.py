"""Ad hoc: answers to questions in a student's words (the smoke batches of earlier sessions, or a
new file), each with how many of its claim sentences are held (cited and supported by a cited
source) and how many are not (uncited, flagged [?], or unsupported). For reading by hand which
answers an answer-level grounding rule would decline (see majority.py).

    python eval/reports/probes-34/smoke_held.py QUESTIONS.txt [...] > OUT.txt
"""

import sys
from pathlib import Path

from studyrag import citations
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(Settings.from_env(), progress=False)
for path in sys.argv[1:]:
    for q in [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]:
        a = rag.ask(q)
        print(f"Q: {q}  ({path})")
        if a.abstained:
            print(f"  DECLINED ({a.abstain_reason}); draft: {a.draft!r}")
        else:
            r = citations.resolve_citations(a.text, a.sources, question=a.standalone_question)
            not_held = len(r.uncited) + len(r.unsupported)
            held = len(r.sentence_citations) - not_held
            print(f"  held={held} not={not_held}  A: {a.text}")
            for s in r.uncited:
                print(f"    uncited: {s}")
            for s in r.unsupported:
                print(f"    unsupported: {s.text}")
        for i, s in enumerate(a.sources, 1):
            print(f"   [{i}] {s.chunk.source} › {s.chunk.full_section}")
        print(flush=True)
