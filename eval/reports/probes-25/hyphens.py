"""Ad hoc: "What is X?" for every hyphenated name X the label rule knows, written as the guides
write it and with spaces for hyphens ("low rank adaptation"). Does the spaced question now start
with the same passage as the hyphenated one?

    python eval/reports/probes-25/hyphens.py
"""

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(Settings.from_env(), progress=False)
r = rag.retriever
names = sorted({n for ns in r.names.values() for n in ns if "-" in n and len(n.split()) <= 5})
same = 0
for name in names:
    a, b = (r.search(f"What is {x}?", 1)[0] for x in (name, name.replace("-", " ")))
    same += a.chunk.id == b.chunk.id
    if a.chunk.id != b.chunk.id:
        print(f"  {name!r}: {a.chunk.full_section[:60]!r} / spaced: {b.chunk.full_section[:60]!r}")
print(f"{len(names)} hyphenated names; the spaced question starts with the same passage for {same}")
