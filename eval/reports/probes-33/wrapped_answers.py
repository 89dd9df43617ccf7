"""Ad hoc: answers to "what is X?" asked in a student's wording, with ``asking.unwrap`` (the shipped
rule) and without it (the wording read as before this session). For every name the label rule knows
that fused order alone does not put first (``casual.py``'s hard names), one wrapping each, taken in
turn from ``casual.py``'s lists. Counts how often the answer cites a passage named X first, and
how often it is declined; prints both answers for reading.

    python eval/reports/probes-33/wrapped_answers.py > eval/reports/probes-33/wrapped_answers.txt
"""

import re
from collections import defaultdict

from common import hard_names, named_passages

import studyrag.asking as asking
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

WRAPPINGS = [
    "can you explain {}", "could you tell me what {} is", "i dont understand what {} is",
    "help me understand {}", "ELI5 {}", "what do the guides say about {}", "explain {} in simple terms",
    "tell me what {} is", "what exactly is {}?", "can someone explain {}", "so what is {} anyway?",
    "i'm not sure what {} means", "why do we need {}?", "what's the point of {}?",
]

rag = StudyRAG.load(Settings.from_env(), progress=False)
named = named_passages(rag)
hard = hard_names(rag, named)
shipped = asking.unwrap
tally = {way: defaultdict(int) for way in ("without", "with")}
for i, name in enumerate(hard):
    q = WRAPPINGS[i % len(WRAPPINGS)].format(name)
    print(q)
    for way in ("without", "with"):
        asking.unwrap = shipped if way == "with" else (lambda question: question)
        a = rag.ask(q)
        first = re.search(r"\[(\d+)", a.text)
        cited = a.sources[int(first.group(1)) - 1] if first and not a.abstained else None
        tally[way]["declined"] += a.abstained
        tally[way]["cites a passage named X first"] += bool(cited and cited.chunk.id in named[name])
        said = f"declined ({a.abstain_reason})" if a.abstained else a.text.replace("\n", " ")[:300]
        print(f"  {way:>7}: [{cited.chunk.full_section[-40:] if cited else '-'}] {said}")
    print()
asking.unwrap = shipped
print(f"{len(hard)} questions")
for way, t in tally.items():
    print(way, dict(t))
