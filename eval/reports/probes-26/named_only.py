"""Ad hoc: "What is X?" answered with the shipped prompt and with only the passages named X in
it (when the label rule put one first), for a fixed sample of names the rule knows (a glossary
entry, an acronym heading, a bold label; seed 26). Prints both answers with the section each cites,
for reading side by side, then how often the answer cites a named passage first and how often it
is declined.

    python eval/reports/probes-26/named_only.py [N] > eval/reports/probes-26/named_only.txt
"""

import random
import re
import sys
from collections import defaultdict

import studyrag.prompt as prompt
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

shipped = prompt.close_sources


def named_only(hits, min_ratio):
    kept = shipped(hits, min_ratio)
    return [h for h in kept if h.named] if kept and kept[0].named else kept


rag = StudyRAG.load(Settings.from_env(), progress=False)
named = defaultdict(set)
for cid, names in rag.retriever.names.items():
    for name in names:
        if len(name) > 2 and 1 <= len(name.split()) <= 4 and not re.search(r"\d|section|theorem|step", name):
            named[name].add(cid)
sample = sorted(random.Random(26).sample(sorted(named), int(sys.argv[1]) if len(sys.argv) > 1 else 30))
tally = {k: defaultdict(int) for k in ("shipped", "named")}
for name in sample:
    q = f"What is {name}?"
    print(q)
    for way, fn in (("shipped", shipped), ("named", named_only)):
        prompt.close_sources = fn
        a = rag.ask(q)
        first = re.search(r"\[(\d+)", a.text)
        cited = a.sources[int(first.group(1)) - 1] if first and not a.abstained else None
        tally[way]["asked"] += 1
        tally[way]["declined"] += a.abstained
        tally[way]["cites a named passage first"] += bool(cited and cited.chunk.id in named[name])
        said = f"declined ({a.abstain_reason})" if a.abstained else a.text.replace("\n", " ")
        where = cited.chunk.full_section[-50:] if cited else "-"
        print(f"  {way:>7} ({len(a.sources)} sources; first cited {where!r}): {said}")
    prompt.close_sources = shipped
    print()
for way, t in tally.items():
    print(way, dict(t))
