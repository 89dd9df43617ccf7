"""Ad hoc: do the ways students ask for a comparison put a passage named each side in the top 3,
as "What is the difference between X and Y?" does? Pairs of names the label rule knows, drawn
at random (seed 33). The *dev* and *test* wrappings were written first, and the ``asking.py`` rules
with both in view; the *unseen* ones were written after the rules were done and run once.

    python eval/reports/probes-33/pairs.py > eval/reports/probes-33/pairs-<when>.txt
"""

import random

from common import compared, named_passages

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

CANONICAL = "What is the difference between {} and {}?"
DEV = [
    "is {} better than {}?",
    "{} or {}?",
    "which is better, {} or {}?",
    "should I use {} or {}?",
    "how is {} different from {}?",
    "can you compare {} and {}",
    "{} compared to {}",
    "what's the difference between {} and {} exactly?",
]
TEST = [
    "which should I pick, {} or {}?",
    "when would I use {} over {}?",
    "{} versus {}: pros and cons",
    "could you explain the differences between {} and {}?",
    "pros and cons of {} vs {}",
    "is {} the same as {}?",
]
UNSEEN = [
    "what's better: {} or {}?",
    "do I want {} or {}?",
    "how do {} and {} compare?",
    "is {} worse than {}?",
    "why pick {} over {}?",
    "{} vs. {} - what's the difference?",
    "compare {} with {} please",
    "i can't decide between {} and {}",
]

rag = StudyRAG.load(Settings.from_env(), progress=False)
named = named_passages(rag, exclude=r"\d|section|theorem|step|and|or\b")
rng = random.Random(33)
pool = sorted(named)
pairs = []
while len(pairs) < 60:
    a, b = rng.sample(pool, 2)
    if not (named[a] & named[b]) and a not in b and b not in a:
        pairs.append((a, b))
for group, templates in (("canonical", [CANONICAL]), ("dev", DEV), ("test", TEST), ("unseen", UNSEEN)):
    print(f"# {group}")
    for t in templates:
        both = read = 0
        for a, b in pairs:
            q = t.format(a, b)
            ids = {h.chunk.id for h in rag.retriever.search(q, k=3)}
            both += bool(ids & named[a]) and bool(ids & named[b])
            read += compared(q) is not None
        print(f"{t!r:55} both sides in top 3 {both:2}/{len(pairs)}, read as a comparison {read:2}")
