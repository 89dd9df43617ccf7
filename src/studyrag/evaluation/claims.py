"""Answers → atomic claims, for faithfulness scoring.

Sentences and their ``[n]`` marks come from :mod:`studyrag.citations` (the same parser the pipeline
uses, so ``[1, 3]``, ``[Source 2]`` and markers after the full stop are read identically). Each
sentence is then split on ``;`` and on coordinated clauses, conservatively: only where the right-hand
side starts like a new subject and both sides are at least three words long.

>>> split_claims("LoRA freezes the base weights, and it trains two low-rank matrices [1]; it is cheap.")
['LoRA freezes the base weights.', 'it trains two low-rank matrices.', 'it is cheap.']
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ..citations import is_trivial, parse_citations
from .normalize import strip_citation_marks

__all__ = ["ClaimSplitter", "LLMClaimSplitter", "split_claims"]

ClaimSplitter = Callable[[str], list[str]]
"""Anything that turns an answer into a list of claims: ``split_claims`` or an ``LLMClaimSplitter``."""

_LIST_MARKER = re.compile(r"^\s*(?:#{1,6}\s+|[-*+>•]\s+|\d{1,2}[.)]\s+)")
_EMPHASIS = re.compile(r"\*\*|__|`")
_WORD = re.compile(r"[^\W_]+")
# A coordinated clause only splits when the right side starts like a new subject; "A, B, and C"
# stays whole because "C" is too short to be a clause.
_COORD = re.compile(
    r",\s+(?:and|but|while|whereas|so)\s+(?=(?:it|they|this|these|those|that|the|each|its|their|there|"
    r"he|she|we|you|[A-Z])\w*\b)"
)
_MIN_CLAUSE_WORDS = 3


def _n_words(text: str) -> int:
    return len(_WORD.findall(text))


def _end(text: str) -> str:
    text = text.strip().rstrip(",;:")
    return text if text.endswith((".", "!", "?")) else text + "."


def _split_clauses(sentence: str) -> list[str]:
    parts: list[str] = []
    for chunk in re.split(r";\s+", sentence):
        pieces = _COORD.split(chunk)
        # Merge any piece too short to be a clause back into its left neighbour.
        kept: list[str] = []
        for piece in pieces:
            if kept and (_n_words(piece) < _MIN_CLAUSE_WORDS or _n_words(kept[-1]) < _MIN_CLAUSE_WORDS):
                kept[-1] = f"{kept[-1]}, and {piece}"
            else:
                kept.append(piece)
        if parts and _n_words(chunk) < _MIN_CLAUSE_WORDS:
            parts[-1] = f"{parts[-1].rstrip('.')}; {chunk}"
        else:
            parts.extend(kept)
    return [_end(p) for p in parts if _WORD.search(p)]


def split_claims(text: str) -> list[str]:
    """Deterministic claim splitter: sentences, then ``;``, then coordinated clauses (conservatively).

    Citation marks, list markers and emphasis are removed. Questions, headings, lead-ins ending in
    ``:`` and sentences saying the sources lack something make no claim and are dropped.

    >>> split_claims("It uses x, y, and z. Why? Experts are FFNs, but the router is linear.")
    ['It uses x, y, and z.', 'Experts are FFNs.', 'the router is linear.']
    """
    claims: list[str] = []
    for sentence in parse_citations(text):
        body = _EMPHASIS.sub("", _LIST_MARKER.sub("", sentence.text)).strip()
        if body.endswith("?") or is_trivial(body):
            continue
        claims.extend(_split_clauses(body))
    return claims


_CLAIMS_SCHEMA = {
    "type": "object",
    "properties": {"claims": {"type": "array", "items": {"type": "string"}}},
    "required": ["claims"],
}
_SPLIT_PROMPT = (
    "Split the text into short, self-contained factual claims, one fact each. Copy the wording; "
    "replace pronouns with what they refer to; do not add, infer or drop facts; ignore [n] marks. "
    'Reply as JSON: {"claims": ["...", "..."]}.'
)


class LLMClaimSplitter:
    """Claims from the local LLM, forced into ``{"claims": [...]}`` by a JSON schema.

    Falls back to :func:`split_claims` when the model's output cannot be parsed or is empty,
    and counts those fallbacks in ``self.fallbacks``.
    """

    def __init__(self, generator: Any, *, max_tokens: int = 384) -> None:
        self.generator = generator
        self.max_tokens = max_tokens
        self.fallbacks = 0

    def __call__(self, text: str) -> list[str]:
        from ..generate import Message, aside  # lazy: the generator backends are heavy to import

        clean = strip_citation_marks(text).strip()
        if not clean:
            return []
        with aside(self.generator):  # between answers in an eval: the answer prompt's cache stays
            raw = self.generator.generate(
                [Message("system", _SPLIT_PROMPT), Message("user", clean)],
                max_tokens=self.max_tokens,
                temperature=0.0,
                json_schema=_CLAIMS_SCHEMA,
            )
        try:
            claims = [str(c).strip() for c in json.loads(raw)["claims"] if str(c).strip()]
        except (ValueError, KeyError, TypeError):
            claims = []
        if not claims:
            self.fallbacks += 1
            return split_claims(text)
        return claims
