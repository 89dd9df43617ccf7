"""Ad hoc: do the ways students ask "what is X?" find X's own passage as "What is X?" does?

For the names the label rule knows that fused order alone does not put first, and 40 others
(seed 33), each name is asked as "What is X?" and
in casual wrappings. The *dev* and *test* wrappings were written first, and the ``asking.py`` rules
(``asking.unwrap``) were written with both in view; the *unseen* ones were written after the rules
were done and run once, with no rule changed after. Counts, per wrapping, how often a passage named X is ranked first and in the top 3.

    python eval/reports/probes-33/casual.py [--show] [GROUP] > eval/reports/probes-33/casual-after.txt
    git archive 68a0485 src | tar -x -C /tmp/old && PYTHONPATH=/tmp/old/src python ... > casual-before.txt
"""

import random
import sys

from common import asked_subject, hard_names, named_passages

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

CANONICAL = "What is {}?"
DEV = [
    "can you explain {}",
    "could you tell me what {} is",
    "i dont understand what {} is",
    "help me understand {}",
    "ELI5 {}",
    "what do the guides say about {}",
    "summarize what the guides say about {}",
    "what is {} used for",
    "explain {} in simple terms",
    "please explain {}",
    "tell me what {} is",
]
TEST = [
    "could you explain {} to me?",
    "what exactly is {}?",
    "can someone explain {}",
    "explain {} like I'm five",
    "give me a quick explanation of {}",
    "what does the glossary say about {}?",
    "so what is {} anyway?",
    "i'm not sure what {} means",
]
# written after the rules were done, and run once with them as they stand
UNSEEN = [
    "what's {} exactly?",
    "could you please describe {}",
    "explain to me what {} is",
    "I want to learn about {}",
    "what is meant by {} in the guides?",
    "hey, what's {}?",
    "define {} for me",
    "{}? what is that",
    "I keep hearing about {}, what is it?",
    "can you give me an overview of {}",
]

rag = StudyRAG.load(Settings.from_env(), progress=False)
named = named_passages(rag)
hard = hard_names(rag, named)
sample = sorted(random.Random(33).sample(sorted(set(named) - set(hard)), 40)) + hard
print(f"{len(named)} names; {len(hard)} that need the label rule, all asked; 40 others drawn (seed 33)")
show = "--show" in sys.argv
# a second family, asked about after the first was done: how X works, and what X is for
HOW_WHY = [
    "explain how {} works",
    "how does {} actually work?",
    "can you explain how {} works",
    "why do we need {}?",
    "what's the point of {}?",
    "what is the purpose of {}?",
    "what are the benefits of {}?",
    "why would I use {}?",
    "when should I use {}?",
    "what problem does {} solve?",
]
# written after the how-why rules were done, and run once with them as they stand
HOW_WHY_UNSEEN = [
    "walk me through how {} works",
    "what is {} good for?",
    "why is {} useful?",
    "what does {} help with?",
    "in what situations would I use {}?",
    "what's the advantage of {}?",
    "how is {} useful?",
    "why should I care about {}?",
]
# a third family: chat spellings and framings (rules written with these in view)
CHAT = [
    "can u explain {}",
    "wat is {}",
    "explain {} pls",
    "{} - what is it?",
    "{}?? what is that",
    "what is {}, in short?",
    "Briefly, what is {}?",
    "Define: {}",
    "{} definition",
    "meaning of {}",
]
# written after the chat rules were done, and run once with them as they stand
CHAT_UNSEEN = [
    "plz explain {}",
    "{} meaning?",
    "In a nutshell, what's {}?",
    "what is {}?? thx",
    "u know what {} is?",
    "quickly: what's {}",
    "{}: what is that?",
    "Explain: {}",
]
GROUPS = {"canonical": [CANONICAL], "dev": DEV, "test": TEST, "unseen": UNSEEN, "how-why": HOW_WHY,
          "how-why-unseen": HOW_WHY_UNSEEN, "chat": CHAT, "chat-unseen": CHAT_UNSEEN}
for group, templates in GROUPS.items():
    if len(sys.argv) > 1 and sys.argv[-1] in GROUPS and group != sys.argv[-1]:
        continue
    print(f"# {group}")
    for t in templates:
        first = top3 = subject = 0
        for name in sample:
            q = t.format(name)
            ids = [h.chunk.id for h in rag.retriever.search(q, k=3)]
            first += ids[0] in named[name]
            top3 += bool(set(ids) & named[name])
            subject += asked_subject(q) is not None
            if show and ids[0] not in named[name]:
                print(f"    miss: {q!r} subject={asked_subject(q)!r}")
        print(f"{t!r:45} named first {first:2}/{len(sample)}, in top 3 {top3:2}/{len(sample)}, subject read {subject:2}")
