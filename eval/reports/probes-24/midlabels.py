"""Ad hoc: bold labels that sit inside a chunk (not on its first line, so labels.chunk_names ignores
them). For each one that names a single chunk, where does "What is <label>?" rank that chunk with
the shipped retriever? Labels of more than five words are left out.

    python eval/reports/probes-24/midlabels.py
"""

import re

from studyrag.asking import norm_name
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

BOLD = re.compile(r"^\*\*(.+?)\*\*\s*$|^\*\*(.+?):\*\*")
rag = StudyRAG.load(Settings.from_env(), progress=False)
mid = {}
for c in rag.chunks:
    lines = c.text.strip().splitlines()
    for ln in lines[1:]:
        m = BOLD.match(ln.strip())
        if m:
            head = (m.group(1) or m.group(2)).strip().rstrip(":").partition(" (")[0].strip()
            if 0 < len(head.split()) <= 5:
                mid.setdefault(norm_name(head), set()).add(c.id)
print(len(mid), "mid labels;", sum(len(v) == 1 for v in mid.values()), "in one chunk")
rs = []
for name, ids in sorted(mid.items()):
    if len(ids) != 1:
        continue
    cid = next(iter(ids))
    q = f"What is {name}?"
    got = [h.chunk.id for h in rag.retriever.search(q, 50)]
    r = got.index(cid) + 1 if cid in got else 99
    rs.append(r)
    print(f"{r:>3}  {q}")
n = len(rs)
print(
    f"n={n} top1 {sum(r == 1 for r in rs) / n:.3f} top3 {sum(r <= 3 for r in rs) / n:.3f} MRR@10 {sum(1 / r for r in rs if r <= 10) / n:.3f}"
)
