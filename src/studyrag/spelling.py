"""Typing slips in a question: a word the guides never use, one slip away from one they do.

Students type fast: "what is paged atention?", "knowlege distilation", "expalin speculativ
decoding". BM25 matches none of those words, and the label rule ("What is X?" puts the passage
named X first) cannot find X. ``respell`` reads such a word as the word the guides use most among
those one edit away (a letter dropped, added, changed, or two swapped), and a British spelling as
the guides' American one (or back). Words are compared as written, not stemmed: "favourates"
stems as "favour" does, but no guide writes it.

>>> df = {"attention": 90, "paged": 3, "distillation": 12, "knowledge": 40, "behavior": 5}.get
>>> respell("what is paged atention?", lambda w: df(w, 0))
'what is paged attention?'
>>> respell("Knowlege Distilation and behaviour", lambda w: df(w, 0))
'Knowledge Distillation and behavior'

A word is left alone when the guides use it, when it is shorter than five letters, or when it is a
word of its own (``is_word``; by default ``is_english``, pyspellchecker's word list, which holds
inflected words such as "renting" and no common misspellings), so a question about something the
guides never mention ("Byzantine", "bicycle") keeps its words and is still declined:

>>> respell("What year did the Byzantine Empire fall?", lambda w: df(w, 0))
'What year did the Byzantine Empire fall?'
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from functools import cache

__all__ = ["is_english", "respell", "slips"]

_MIN_LETTERS = 5  # shorter words have too many neighbours one slip away ("lora": "lord", "lore")
_WORD = re.compile(rf"(?<![\w-])[A-Za-z]{{{_MIN_LETTERS},}}(?![\w-])|(?<=-)[A-Za-z]{{{_MIN_LETTERS},}}(?![\w])")
# British -> American endings (and back: the guides may be British), tried before the slips
# because "behaviour" is a word of its own and would be left alone
_VARIANTS = (
    *((f"is{end}", f"iz{end}") for end in ("e", "ed", "es", "ing", "er", "ers", "ation", "ations")),
    ("yse", "yze"),
    ("our", "or"),
    ("tre", "ter"),
)


def slips(word: str) -> set[str]:
    """Every string one typing slip from ``word`` (lower-case letters): one letter dropped, swapped
    with the next, changed or added.

    >>> sorted(slips("ab"))[:6], len(slips("ab"))
    (['a', 'aa', 'aab', 'ab', 'aba', 'abb'], 130)
    """
    letters = string.ascii_lowercase
    cuts = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    dropped = {a + b[1:] for a, b in cuts if b}
    swapped = {a + b[1] + b[0] + b[2:] for a, b in cuts if len(b) > 1}
    changed = {a + c + b[1:] for a, b in cuts if b for c in letters}
    added = {a + c + b for a, b in cuts for c in letters}
    return dropped | swapped | changed | added


def _variants(word: str) -> list[str]:
    """``word`` with a British ending spelt the American way, or the other way round."""
    out = []
    for british, american in _VARIANTS:
        for old, new in ((british, american), (american, british)):
            if word.endswith(old) and len(word) - len(old) >= 3:
                out.append(word[: -len(old)] + new)
    return out


@cache
def _english() -> frozenset[str]:
    from spellchecker import SpellChecker  # its English word list (160k words, 0.1 s to read)

    return frozenset(SpellChecker(language="en", distance=1).word_frequency.dictionary)


def is_english(word: str) -> bool:
    """Whether ``word`` (lower case) is in pyspellchecker's English word list, which holds
    inflected words ("nudging") and no common misspellings ("recieve").

    >>> is_english("nudging"), is_english("atention"), is_english("recieve")
    (True, False, False)
    """
    return word in _english()


def _fix(word: str, used_by: Callable[[str], int], is_word: Callable[[str], bool]) -> str | None:
    """The guides' word for ``word`` (lower case), or None to keep it."""
    if used_by(word):
        return None
    for variant in _variants(word):
        if used_by(variant):
            return variant
    if is_word(word):
        return None
    # the most used; among equals the first alphabetically, so the choice does not vary by run
    best = max(((used_by(c), c) for c in sorted(slips(word))), key=lambda fc: fc[0], default=(0, ""))
    return best[1] if best[0] > 0 else None


def _cased_like(fixed: str, typed: str) -> str:
    """``fixed`` (lower case) in the case of ``typed``: the letters the two share at each end keep
    the typed case, and the letters in between are upper case in a word typed all in capitals.

    >>> _cased_like("pagedattention", "PagedAttntion"), _cased_like("quantization", "QUANTZATION")
    ('PagedAttention', 'QUANTIZATION')
    """
    n = min(len(fixed), len(typed))
    head = next((i for i in range(n) if fixed[i] != typed[i].lower()), n)
    tail = next((i for i in range(n - head) if fixed[-1 - i] != typed[-1 - i].lower()), n - head)
    middle = fixed[head : len(fixed) - tail]
    return typed[:head] + (middle.upper() if typed.isupper() else middle) + typed[len(typed) - tail :]


def respell(
    text: str,
    used_by: Callable[[str], int],
    *,
    is_word: Callable[[str], bool] = is_english,
) -> str:
    """``text`` with each word of five letters or more that the guides never use (``used_by``: how
    many passages use a word as written, lower case; 0 for none) read as the guides' spelling: a
    British or American variant, or, unless ``is_word`` knows the word, the word one slip away
    (``slips``) that the guides use most.
    Words inside a compound after a hyphen count ("chain-of-thougth"); the rest stays as typed."""

    def one(m: re.Match[str]) -> str:
        typed = m.group()
        fixed = _fix(typed.lower(), used_by, is_word)
        return _cased_like(fixed, typed) if fixed else typed

    return _WORD.sub(one, text)
