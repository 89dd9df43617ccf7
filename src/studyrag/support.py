"""How much of a sentence a source holds: the lexical measure behind the grounding check, the
attribution post-passes and the quotes. Pure functions, no model.

A sentence's *content words* are its words, lower-cased and lightly stemmed, without stop words,
figures written one way ("52K" = "52,000"); its *support* in a source is the share of them the
source holds, and 0 when the source lacks one of its figures.

>>> sorted(content_words("The adapters were trained on 4-bit weights"))
['4', 'adapter', 'bit', 'train', 'weight']
>>> support_score("Adam adapts each weight's learning rate.", "Adam adapts the learning rate of each weight.")
1.0
"""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = ["MIN_SUPPORT", "content_words", "normalize_figures", "support_score"]

# A cited claim sharing fewer of its content words with its source is unsupported. 0.25 let "It is
# easy to make and can be used to make sourdough bread [1]." pass on a RoPE-scaling source ("make",
# "used"); 0.3 declines that answer and, over the stored eval/ and dev answers, no answer that
# states a key fact.
MIN_SUPPORT = 0.3


_STOP_WORDS = """a an the and or but if then else of to in on at by for with from into onto over under as is are was
    were be been being am do does did doing have has had having it its it's this that these those they them
    their there here he she his her we you your our i me my not no nor so than too very can could may might
    must shall should will would which who whom whose what when where why how all any both each few more
    most other some such only own same just also about above below between through during before after
    again further once up down out off while because until against per via using used use uses e g eg ie
    etc one like well often many much"""
_STOP = frozenset(_STOP_WORDS.split())


def _stem(word: str) -> str:
    """A deliberately light stemmer: enough to match "activations"/"activation", "trained"/"training"."""
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "ls":
                word = word[:-1]  # "embedding" -> "embed"
            break
    else:
        if word.endswith("ies") and len(word) > 4:
            word = word[:-3] + "y"
        elif word.endswith("es") and len(word) > 4 and word[-3] in "sxz":
            word = word[:-2]
        elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
            word = word[:-1]
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


# A figure with thousands separators or a magnitude ("52,000", "52K", "1.5 billion"); not one glued
# to a word ("8x7B", "GPT-4") or a unit ("4-bit", "7 bits"). evaluation/normalize.py reads numbers
# for the key-fact metric on its own, on purpose: the grader shares no code with what it grades.
_FIGURE = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:(k|m|b)\b|\s?(thousand|million|billion)\b)?",
    re.IGNORECASE,
)
_SCALE = {"k": 10**3, "thousand": 10**3, "m": 10**6, "million": 10**6, "b": 10**9, "billion": 10**9}


def normalize_figures(text: str) -> str:
    """Write every figure the same way, so a sentence and its source agree however each spells it.

    >>> normalize_figures("Alpaca has 52,000 instructions; Dolly 15K; a 1.5 billion model, 8x7B, 4-bit, 0.5")
    'Alpaca has 52000 instructions; Dolly 15000; a 1500000000 model, 8x7B, 4-bit, 0.5'
    """

    def one(m: re.Match[str]) -> str:
        digits, letter, word = m.group(1).replace(",", ""), m.group(2), m.group(3)
        scale = (letter or word or "").lower()
        if not scale:
            return digits
        value = float(digits) * _SCALE[scale]
        return str(int(value)) if value.is_integer() else f"{value:g}"

    return _FIGURE.sub(one, text)


def content_words(text: str) -> set[str]:
    """Lower-cased, lightly stemmed words minus stop words (figures written one way, see
    :func:`normalize_figures`, and kept as written otherwise).

    >>> sorted(content_words("The adapters were trained on 4-bit weights"))
    ['4', 'adapter', 'bit', 'train', 'weight']
    >>> content_words("52K") == content_words("52,000") == content_words("52 thousand")
    True
    """
    text = normalize_figures(text)
    words = re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("’", ""))
    return {
        w if any(c.isdigit() for c in w) else _stem(w)
        for w in words
        if w not in _STOP and len(w) > 1 or w.isdigit()
    }


# The words of the yes/no hint ("name what the sources call it and what they say about it") that
# answers echo: they frame a claim and are not part of it, so they count for no source's support.
# Only the hint's own words: "The guide says PagedAttention was invented by Google [2]." restates a
# false premise, and without "guide says" too few words would be left to judge it by (eval/ a012).
_FRAMING = re.compile(r"\b(?:the\s+)?sources\s+call\s+(?:it|this|them)\b|\bthey\s+say(?:\s+(?:that|it))?\b", re.IGNORECASE)


# a list's enumerator ("1.", "- **2)**"): no figure a sentence can be supported by. The MoE
# question was answered "Use top-1 routing: ... [3]", and [3] kept the citation on its
# "**1. Load Balancing:**" (eval/reports/probes-31/enumerators.py)
_ENUMERATOR = re.compile(r"(?m)^(\s*(?:[-*+]\s+)?(?:\*\*)?)\d{1,2}[.)](?=\s|\*)")


def support_score(sentence: str, source_text: str, *, ignore: Collection[str] = ()) -> float:
    """Share of the sentence's content words found in the source; 0 when a number in the sentence
    is missing from the source (a wrong figure is never "supported"; a list's "1." is no figure).
    Words in ``ignore`` do not count, unless nothing else is left.

    >>> support_score("Adam adapts each weight's learning rate.", "Adam adapts the learning rate of each weight.")
    1.0
    >>> support_score("Mixtral has 8 experts.", "Mixtral routes tokens to 2 of its experts.")
    0.0
    >>> support_score("MoE routers use a balancing loss.", "MoE routers pick experts.", ignore={"moe", "router"})
    0.0
    >>> support_score('The sources call it "The Annotated Transformer".', "The Annotated Transformer: a walk-through.")
    1.0
    >>> support_score("Use top-1 routing.", "**1. Load Balancing:** routing spreads tokens."), support_score(
    ...     "1. Use a balancing loss.", "- A balancing loss spreads tokens.")
    (0.0, 1.0)
    """
    all_words = content_words(_ENUMERATOR.sub(r"\1", _FRAMING.sub(" ", sentence)))
    if not all_words:
        return 0.0
    have = content_words(_ENUMERATOR.sub(r"\1", source_text))
    if any(w not in have for w in all_words if any(c.isdigit() for c in w)):
        return 0.0
    words = (all_words - set(ignore)) or all_words
    return len(words & have) / len(words)
