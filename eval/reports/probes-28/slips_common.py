"""Shared by the probes-28 scripts: a seeded typing slip, and the name a chunk goes by."""

import random
import re

from studyrag.spelling import is_english

BOLD = re.compile(r"^\*\*(.+?)\*\*\s*$|^\*\*(.+?):\*\*")


def slip(word: str, rng: random.Random) -> str | None:
    """``word`` with one letter dropped, swapped with the next, changed or added, away from its
    ends, never another English word (None after 30 tries)."""
    for _ in range(30):
        i = rng.randrange(1, len(word) - 1)
        c = rng.choice("abcdefghijklmnopqrstuvwxyz")
        out = rng.choice([word[:i] + word[i + 1 :], word[:i] + word[i + 1] + word[i] + word[i + 2 :],
                          word[:i] + c + word[i + 1 :], word[:i] + c + word[i:]])
        if out.lower() != word.lower() and not is_english(out.lower()):
            return out
    return None


def name_of(chunk, max_words: int) -> str | None:
    """The concept a chunk is named after: its opening bold label, else its last heading; before
    any bracket, without "5. " numbering, at most ``max_words`` words."""
    lines = chunk.text.strip().splitlines()
    m = BOLD.match(lines[0].strip()) if lines else None
    head = (m.group(1) or m.group(2)) if m else chunk.section.split(" › ")[-1]
    head = re.sub(r"^\d+[.)]\s+", "", head.strip().rstrip(":").partition(" (")[0].strip())
    return head if 0 < len(head.split()) <= max_words else None
