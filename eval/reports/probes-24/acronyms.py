"""Ad hoc: "What is X?" for every name a heading gives its chunks (labels.heading_names: both halves
of "Direct Preference Optimization (DPO)"). Where does the best chunk under that heading rank with
label_first off, with the twenty-third session's rule (bold labels only) and with the shipped rule
(bold labels and such headings)?

    python eval/reports/probes-24/acronyms.py
"""

import dataclasses
from collections import defaultdict

from studyrag.config import Settings
from studyrag.labels import chunk_names, heading_names
from studyrag.pipeline import StudyRAG
from studyrag.retrieve import HybridRetriever

rag = StudyRAG.load(Settings.from_env(), progress=False)
shipped = rag.retriever
off = HybridRetriever(shipped.index, shipped.embedder, dataclasses.replace(shipped.settings, label_first=False))
bold = HybridRetriever(shipped.index, shipped.embedder, shipped.settings)
bold.__dict__["names"] = {c.id: chunk_names(c.text) for c in bold.chunks}  # the cached_property, pre-set
retrievers = {"off": off, "bold only": bold, "shipped": shipped}

named = defaultdict(set)
for c in rag.chunks:
    for name in heading_names(c.path[-1] if c.path else ""):
        named[name].add(c.id)
ranks: dict[str, list[int]] = {k: [] for k in retrievers}
print("ranks off / bold only / shipped, chunks under the heading, question, shipped first hit")
for name, ids in sorted(named.items()):
    q = f"What is {name}?"
    row = []
    for key, r in retrievers.items():
        got = [h.chunk.id for h in r.search(q, 50)]
        row.append(min((got.index(i) + 1 for i in ids if i in got), default=99))
        ranks[key].append(row[-1])
    first = shipped.search(q, 1)[0].chunk.full_section
    print(f"{row[0]:>3} {row[1]:>3} {row[2]:>3}  {len(ids)}  {q}  [{first[-60:]}]")
n = len(named)
for key, rs in ranks.items():
    print(f"{key:<10} n={n}  first {sum(r == 1 for r in rs)}  top3 {sum(r <= 3 for r in rs)}  MRR@10 "
          f"{sum(1 / r for r in rs if r <= 10) / n:.3f}")
