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
    "CONTRASTS",
    "normalize_text",
    "stem",
    "terms",
    "term_set",
    "numbers",
    "entities",
    "is_acronym",
    "expands_acronym",
    "strip_citation_marks",
    "fold",
    "fold_with_map",
]

# Negation cues are kept out of content terms: the judge checks them separately.
NEGATIONS = frozenset({"not", "no", "never", "without", "none", "neither", "nor", "cannot", "n't", "non"})
# Contrast cues: "X instead of Y" / "X rather than Y" negate Y, so the judge treats them alike.
CONTRASTS = frozenset({"instead", "rather", "fail", "fails", "failed", "unable"})

_STOPWORD_TEXT = """a an the and or but if then than so as of at by for from in into on onto to with within via
    about over under between through during before after above below up down out off again further
    is are was were be been being am do does did doing done have has had having can could may might
    must shall should will would it its itself this that these those there here which who whom whose
    what when where why how i me my we our you your he him his she her they them their theirs
    also just only very more most much many such both each either any all some other another same
    own too s t d ll m re ve y eg ie etc use used using uses like
    doesn don isn aren wasn weren didn hasn haven hadn won wouldn shouldn couldn"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split()) | NEGATIONS | {"instead", "rather"}
# "one" is a pronoun, not a number, after these words or before a stop word ("a larger one", "one of").
_PRONOUN_ONE_AFTER = frozenset(
    {"a", "an", "the", "each", "every", "any", "this", "that", "which", "no", "another"}
)

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad"), "-")
_DASHES[ord("\u00d7")] = "x"  # "4×" reads like "4x"
_CITATION = re.compile(r"\s*\[\s*\d+(?:\s*[,;-]\s*\d+)*\s*\]")
_ACRONYM_PLURAL = re.compile(r"\b([A-Z]{2,}\d*)s\b")  # GPUs -> GPU, LLMs -> LLM
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_][^\W_]*|%")

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "single": 1,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}  # fmt: skip
_SCALES = {
    "hundred": 1e2, "thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6,
    "billion": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12, "t": 1e12,
}  # fmt: skip
# Single letters scale only a digit written right before them ("7B", "128K"), never a number word.
# A scale word on its own is an order of magnitude: "millions of tokens" ~ "1M tokens".
_BARE_SCALES = {w + s: v for w, v in _SCALES.items() if len(w) > 2 for s in ("", "s")}
_LETTER_SCALES = frozenset({"k", "m", "b", "t", "mn", "bn", "tn"})


def strip_citation_marks(text: str) -> str:
    """Remove ``[n]``-style citation marks.

    >>> strip_citation_marks("LoRA trains adapters [1][2]. It is cheap [3, 4].")
    'LoRA trains adapters. It is cheap.'
    """
    return _CITATION.sub("", text)


def normalize_text(text: str) -> str:
    """NFKC, case-folded, dashes unified and spaced out, digit-group commas and acronym plurals removed.

    >>> normalize_text("Low‑Rank  Adaptation: 1,000 steps on GPUs")
    'low rank  adaptation: 1000 steps on gpu'
    """
    text = _ACRONYM_PLURAL.sub(r"\1", unicodedata.normalize("NFKC", text).translate(_DASHES)).casefold()
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
        if tok == "one" and (
            i + 1 >= len(toks) or toks[i + 1] in STOPWORDS or (i > 0 and toks[i - 1] in _PRONOUN_ONE_AFTER)
        ):
            i += 1
            continue
        if digits:
            value = float(tok)
        elif tok in _UNITS or tok in _TENS:
            value = float(_UNITS.get(tok, _TENS.get(tok, 0)))
            if tok in _TENS and i + 1 < len(toks) and toks[i + 1] in _UNITS and _UNITS[toks[i + 1]] < 10:
                value += _UNITS[toks[i + 1]]  # "twenty two" -> 22
                i += 1
        elif tok in _BARE_SCALES:
            value = _BARE_SCALES[tok]
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


def entities(text: str, *, initial: bool = False) -> list[str]:
    """Name-like words as written: words with inner capitals or with digits (``LoRA``, ``GPT``,
    ``fp16``), and capitalized words not at the start of a sentence (or there too, with ``initial``).
    Words starting with a digit (``14B``, ``4x``) are numbers, not names.

    >>> entities("LoRA was proposed by Microsoft. The Switch Transformer uses top-1 routing.")
    ['LoRA', 'Microsoft', 'Switch', 'Transformer']
    """
    text = strip_citation_marks(unicodedata.normalize("NFKC", text).translate(_DASHES))
    found: list[str] = []
    for m in _ENTITY.finditer(text):
        word = m.group()
        if word[0].isdigit() or len(word) < 2:
            continue
        inner_caps = any(c.isupper() for c in word[1:])
        letters_digits = any(c.isdigit() for c in word)
        before = text[max(0, m.start() - 12) : m.start()].rstrip(" \t\"'([*_#>-")
        sentence_start = not before.strip() or before[-1] in ".!?:;\n"
        capitalized = word[0].isupper() and (initial or not sentence_start)
        if (inner_caps or letters_digits or capitalized) and word.casefold() not in STOPWORDS:
            found.append(word)
    return found


def is_acronym(word: str) -> bool:
    """Two to six letters, at least two of them capitals, optionally a plural ``s``.

    >>> is_acronym("GQA"), is_acronym("MoE"), is_acronym("GPUs"), is_acronym("Mixtral")
    (True, True, True, False)
    """
    core = word[:-1] if word.endswith("s") and len(word) > 2 else word
    return core.isalpha() and 2 <= len(core) <= 6 and sum(c.isupper() for c in core) >= 2


def expands_acronym(acronym: str, text: str) -> bool:
    """True when ``text`` spells ``acronym`` out: consecutive words whose initials form it, with or
    without the stop words in between. Only for three letters or more: two initials match by chance.

    >>> expands_acronym("GQA", "Grouped-query attention shares heads")
    True
    >>> expands_acronym("RLHF", "reinforcement learning from human feedback")
    True
    >>> expands_acronym("MoE", "a mixture of experts layer"), expands_acronym("MoE", "more expert work")
    (True, False)
    >>> expands_acronym("KV", "key and value heads")
    False
    """
    target = (acronym[:-1] if acronym.endswith("s") else acronym).casefold()
    if len(target) < 3:
        return False
    words = [w for w in _TOKEN.findall(normalize_text(text)) if w[0].isalpha()]
    content = [w for w in words if w not in STOPWORDS]
    return any(target in "".join(w[0] for w in seq) for seq in (words, content))


@lru_cache(maxsize=8192)
def fold_with_map(text: str) -> tuple[str, tuple[int, ...]]:
    """Normalized text (NFKC, case-folded, ``*``/`` ` `` dropped, whitespace runs → one space) and,
    for every normalized character, the index of the original character it came from. Cached: the
    same guides and chunks are normalized for every question of a run."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch in "*`":
            continue
        if ch.isspace():
            if out and out[-1] != " ":
                out.append(" ")
                index.append(i)
            continue
        for c in unicodedata.normalize("NFKC", ch).casefold():
            out.append(c)
            index.append(i)
    return "".join(out), tuple(index)


def fold(text: str) -> str:
    """Text compared for containment: NFKC, case-folded, ``*``/`` ` `` dropped, whitespace collapsed.

    >>> fold("  **Low-Rank**\\n  Adaptation ")
    'low-rank adaptation'
    """
    return fold_with_map(text)[0].strip()
