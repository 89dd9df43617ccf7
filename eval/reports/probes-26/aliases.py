"""Ad hoc: "What is <spelt-out name>?" for every name the guides' headings pair with an acronym
(HybridRetriever.aliases), with the acronym alias on (shipped) and off. Prints each question whose
first hit changes, then how often a chunk named the name or its acronym comes first each way.

    python eval/reports/probes-26/aliases.py > eval/reports/probes-26/aliases.txt
"""

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(Settings.from_env(), progress=False)
r = rag.retriever
aliases = dict(r.aliases)
section = {c.id: c.full_section for c in rag.chunks}
named = {"off": 0, "on": 0}
for long, short in sorted(aliases.items()):
    q = f"What is {long}?"
    first = {}
    for way, table in (("off", {}), ("on", aliases)):
        r.__dict__["aliases"] = table  # the cached property, swapped
        hit = r.search(q, 1)[0]
        first[way] = hit.chunk.id
        named[way] += bool(r.names[hit.chunk.id] & {long, short} or {n.replace("-", " ") for n in r.names[hit.chunk.id]} & {long, short})
    if first["off"] != first["on"]:
        print(f"  {q!r}: {section[first['off']][-60:]!r} -> {section[first['on']][-60:]!r}")
r.__dict__["aliases"] = aliases
print(f"{len(aliases)} names; a chunk named the name or its acronym first: off {named['off']}, on {named['on']}")
