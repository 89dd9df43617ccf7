"""Ad hoc: "How does X work?" for every name X that the retriever's label rule knows (a bold label,
an acronym heading or a top-level heading: HybridRetriever.names). Is a chunk named X first with
label_first off and on? Names of one letter or of more than five words are left out.

    python eval/reports/probes-25/how_work.py
"""

import dataclasses
from collections import defaultdict

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG
from studyrag.retrieve import HybridRetriever

rag = StudyRAG.load(Settings.from_env(), progress=False)
on = rag.retriever
off = HybridRetriever(on.index, on.embedder, dataclasses.replace(on.settings, label_first=False))
named = defaultdict(set)
for cid, names in on.names.items():
    for name in names:
        if len(name) > 1 and len(name.split()) <= 5:
            named[name].add(cid)
first = {"off": 0, "on": 0}
for name, ids in sorted(named.items()):
    q = f"How does {name} work?"
    top = {k: r.search(q, 1)[0].chunk.id for k, r in (("off", off), ("on", on))}
    for k in first:
        first[k] += top[k] in ids
    if top["off"] != top["on"]:
        sec = {c.id: c.full_section for c in rag.chunks}
        print(f"  {q!r}: {sec[top['off']][:70]!r} -> {sec[top['on']][:70]!r}")
print(f"{len(named)} names; a chunk named X first: off {first['off']}, on {first['on']}")
