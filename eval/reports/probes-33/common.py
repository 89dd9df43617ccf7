"""What the probes of this folder share: the question readers (from ``asking.py``, or from
``labels.py`` when run against the code before the thirty-third session, ``PYTHONPATH=<its src>``),
the names the label rule knows, and those whose own passage fused order alone does not put first.
"""

import dataclasses
import re
from collections import defaultdict

from studyrag.retrieve import HybridRetriever

try:
    from studyrag.asking import asked_subject, compared
except ImportError:
    from studyrag.labels import asked_subject, compared

__all__ = ["asked_subject", "compared", "hard_names", "named_passages"]


def named_passages(rag, exclude: str = r"\d|section|theorem|step") -> dict[str, set[str]]:
    """Each name of one to four words the label rule knows -> the ids of the chunks it names."""
    named = defaultdict(set)
    for cid, names in rag.retriever.names.items():
        for name in names:
            if len(name) > 2 and 1 <= len(name.split()) <= 4 and not re.search(exclude, name):
                named[name].add(cid)
    return named


def hard_names(rag, named: dict[str, set[str]]) -> list[str]:
    """The names whose own passage fused order alone (the label rule off) does not put first for
    "What is X?": where a question's wording decides whether the label rule helps."""
    plain = HybridRetriever(rag.index, rag.embedder, dataclasses.replace(rag.settings, label_first=False))
    return [n for n in sorted(named) if plain.search(f"What is {n}?", k=1)[0].chunk.id not in named[n]]
