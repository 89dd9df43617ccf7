"""Text normalization shared by the answer metrics and the lexical judge.

Both sides of every comparison go through the same functions, so what matters is consistency, not
linguistic perfection: case, Unicode forms, hyphens and punctuation are flattened, numbers become
canonical ``#value`` terms (``"eight"``, ``"8"`` and ``"8.0"`` are all ``#8``; ``"7B"``, ``"7 B"`` and
``"7 billion"`` are all ``#7000000000``; ``"1,000"`` is ``#1000``), and words get a light suffix stemmer.

>>> terms("Mixtral routes each token to two of its eight experts.")
['mixtral', 'rout', 'token', '#2', '#8', 'expert']
>>> terms("A 7B model with a 128K context") == terms("a 7 billion model, 128,000 context")
True
>>> sorted(term_set("Llama 3 has 8B parameters") - set(terms("Llama 3 has 8B parameters")))
['#8']
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "STOPWORDS",
    "NEGATIONS",
    "normalize_text",
    "stem",
    "terms",
    "term_set",
    "numbers",
    "entities",
    "strip_citation_marks",
]

# Negation cues are kept out of content terms: the judge checks them separately.
NEGATIONS = frozenset({"not", "no", "never", "without", "none", "neither", "nor", "cannot", "n't"})

_STOPWORD_TEXT = """a an the and or but if then than so as of at by for from in into on onto to with within via
    about over under between through during before after above below up down out off again further
    is are was were be been being am do does did doing done have has had having can could may might
    must shall should will would it its itself this that these those there here which who whom whose
    what when where why how i me my we our you your he him his she her they them their theirs
    also just only very more most much many such both each either any all some other another same
    own too s t d ll m re ve y eg ie etc use used using uses like"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split()) | NEGATIONS

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad"), "-")
_CITATION = re.compile(r"\s*\[\s*\d+(?:\s*[,;-]\s*\d+)*\s*\]")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_][^\W_]*|%")

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}  # fmt: skip
_SCALES = {
    "hundred": 1e2, "thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6,
    "billion": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12, "t": 1e12,
}  # fmt: skip
# Single letters scale only a digit written right before them ("7B", "128K"), never a number word.
_LETTER_SCALES = frozenset({"k", "m", "b", "t", "mn", "bn", "tn"})


def strip_citation_marks(text: str) -> str:
    """Remove ``[n]``-style citation marks.

    >>> strip_citation_marks("LoRA trains adapters [1][2]. It is cheap [3, 4].")
    'LoRA trains adapters. It is cheap.'
    """
    return _CITATION.sub("", text)


def normalize_text(text: str) -> str:
    """NFKC, case-folded, dashes unified and spaced out, digit-group commas removed.

    >>> normalize_text("Low‑Rank  Adaptation: 1,000 steps")
    'low rank  adaptation: 1000 steps'
    """
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).casefold()
    text = _THOUSANDS.sub("", text)
    return text.replace("-", " ").replace("\u2019", "'")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light, deterministic suffix stemmer (plural, -ing, -ed, -ation, final e).

    >>> [stem(w) for w in ["experts", "routing", "routed", "route", "quantization", "quantized", "biases", "studies"]]
    ['expert', 'rout', 'rout', 'rout', 'quantiz', 'quantiz', 'bias', 'study']
    """
    w = word
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "shes", "ches", "xes", "zes", "ses")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is", "as")):
        w = w[:-1]
    for suffix in ("ations", "ation", "ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
                w = w[:-1]  # running -> runn -> run
            break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


def _num_key(value: float) -> str:
    if value == int(value):
        return f"#{int(value)}"
    return f"#{round(value, 6):g}"


def _raw_tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalize_text(strip_citation_marks(text)))


def _analyze(text: str) -> tuple[list[str], set[str]]:
    """Content terms in order, and aliases (unscaled values of scaled numbers)."""
    toks = _raw_tokens(text)
    out: list[str] = []
    aliases: set[str] = set()
    i = 0
    while i < len(toks):
        tok = toks[i]
        value: float | None = None
        digits = tok[0].isdigit()
        if digits:
            value = float(tok)
        elif tok in _UNITS or tok in _TENS:
            value = float(_UNITS.get(tok, _TENS.get(tok, 0)))
            if tok in _TENS and i + 1 < len(toks) and toks[i + 1] in _UNITS and _UNITS[toks[i + 1]] < 10:
                value += _UNITS[toks[i + 1]]  # "twenty two" -> 22
                i += 1
        if value is None:
            if tok == "%":
                out.append("percent")
            elif tok not in STOPWORDS:
                out.append(stem(tok))
            i += 1
            continue
        raw = value
        while i + 1 < len(toks) and toks[i + 1] in _SCALES and (digits or toks[i + 1] not in _LETTER_SCALES):
            value *= _SCALES[toks[i + 1]]
            i += 1
        if value != raw:
            aliases.add(_num_key(raw))
        out.append(_num_key(value))
        i += 1
    return out, aliases


def terms(text: str) -> list[str]:
    """Content terms of ``text`` in order: stemmed words without stop words, numbers as ``#value``.

    >>> terms("Twenty-two layers, 50% sparsity, fp16 weights [2]")
    ['#22', 'layer', '#50', 'percent', 'sparsity', 'fp16', 'weight']
    """
    return _analyze(text)[0]


def term_set(text: str) -> set[str]:
    """The terms of ``text`` plus aliases, for the side being searched: ``"7B"`` also offers ``#7``.

    >>> sorted(term_set("a 7B model"))
    ['#7', '#7000000000', 'model']
    """
    found, aliases = _analyze(text)
    return set(found) | aliases


def numbers(text: str) -> list[str]:
    """The number terms of ``text``.

    >>> numbers("Llama 3 comes in 8B, 70B and 405B; eight experts")
    ['#3', '#8000000000', '#70000000000', '#405000000000', '#8']
    """
    return [t for t in terms(text) if t.startswith("#")]


_ENTITY = re.compile(r"[^\W_][\w]*")


def entities(text: str) -> list[str]:
    """Name-like words, stemmed and lower-cased: words with inner capitals or mixed letters and
    digits (``LoRA``, ``GPT``, ``fp16``), and capitalized words not at the start of a sentence.

    >>> entities("LoRA was proposed by Microsoft. The Switch Transformer uses top-1 routing.")
    ['lora', 'microsoft', 'switch', 'transformer']
    """
    text = strip_citation_marks(unicodedata.normalize("NFKC", text).translate(_DASHES))
    found: list[str] = []
    for m in _ENTITY.finditer(text):
        word = m.group()
        if word.isdigit() or len(word) < 2:
            continue
        inner_caps = any(c.isupper() for c in word[1:])
        letters_digits = any(c.isdigit() for c in word) and any(c.isalpha() for c in word)
        before = text[max(0, m.start() - 12) : m.start()].rstrip(" \t\"'([*_#>-")
        sentence_start = not before.strip() or before[-1] in ".!?:;\n"
        capitalized = word[0].isupper() and not sentence_start
        if (inner_caps or letters_digits or capitalized) and word.casefold() not in STOPWORDS:
            found.append(stem(word.casefold()))
    return found
