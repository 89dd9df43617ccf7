"""Support judges: does this evidence state or directly imply this claim?

Two implementations of one protocol:

- :class:`LexicalJudge` — fast and deterministic (CI): stemmed content-word coverage of the claim by
  the best-matching window of the evidence, optionally blended with an embedding cosine, plus hard
  checks that catch what word overlap misses: a number, a name or a negation that does not match.
- :class:`LLMJudge` — asks the local GGUF model for ``{"supported": true|false}`` (forced by a JSON
  schema), evidence judged window by window, verdicts cached by hash.

>>> judge = LexicalJudge(threshold=0.7)
>>> ev = "Mixtral 8x7B routes each token to two of its eight experts in every layer."
>>> judge.supports("Mixtral sends every token to 2 experts.", ev)
True
>>> judge.supports("Mixtral sends every token to 3 experts.", ev)  # number not in the evidence
False
>>> judge.supports("Mixtral does not route tokens to experts.", ev)  # negation mismatch
False
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..locking import atomic_write_text
from .normalize import (
    CONTRASTS,
    NEGATIONS,
    entities,
    expands_acronym,
    is_acronym,
    normalize_text,
    stem,
    strip_citation_marks,
    term_set,
    terms,
)

__all__ = ["SupportJudge", "LexicalFeatures", "LexicalJudge", "LLMJudge", "evidence_windows"]


@runtime_checkable
class SupportJudge(Protocol):
    """Decides whether ``evidence`` states or directly implies ``claim``."""

    id: str

    def supports(self, claim: str, evidence: str) -> bool: ...

    def score(self, claim: str, evidence: str) -> float:
        """Confidence in [0, 1] that the evidence supports the claim."""
        ...


# ---------------------------------------------------------------------------------------------
# Lexical judge

# Absolute words turn a hedged statement into a false one ("can outperform" / "always outperforms").
_ABSOLUTES = frozenset(
    stem(w)
    for w in (
        "always",
        "guarantee",
        "guaranteed",
        "perfect",
        "perfectly",
        "completely",
        "entirely",
        "impossible",
    )
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_NOT_A_NEGATION = re.compile(r"\bnot only\b|\bno longer than\b|\bno more than\b|\bnot just\b")
_RAW_WORD = re.compile(r"[^\W_]+(?:'t)?|n't|[.,;:!?()]")
_SCOPE_END = frozenset(".,;:!?()")
_STOPWORDISH = re.compile(r"^(?:of|to|the|a|an|be|than|from|on|in|by|for|with|just|only|any|all)$")


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(strip_citation_marks(text)) if s.strip()]


def negation_scopes(text: str, reach: int = 3) -> tuple[set[str], set[str]]:
    """``(negated, affirmed)`` content terms. A negation cue (``not``, ``no``, ``never``, ``without``,
    ``non-``, ``n't``) or contrast cue (``instead of``, ``rather than``, ``fails to``) negates the next
    ``reach`` content words up to a punctuation mark; every other content word is affirmed.

    >>> negated, affirmed = negation_scopes("LoRA does not update the base weights; it trains adapters.")
    >>> sorted(negated), sorted(affirmed)
    (['bas', 'updat', 'weight'], ['adapter', 'lora', 'train'])
    """
    norm = _NOT_A_NEGATION.sub(" ", normalize_text(strip_citation_marks(text)).replace("can't", "cannot"))
    words = _RAW_WORD.findall(norm)
    negated_words: list[str] = []
    affirmed_words: list[str] = []
    left = 0  # content words still inside the current scope
    for w in words:
        if w in NEGATIONS or w in CONTRASTS or w.endswith("n't"):
            left = reach
        elif w in _SCOPE_END:
            left = 0
        elif left > 0:
            negated_words.append(w)
            if not _STOPWORDISH.match(w):
                left -= 1
        else:
            affirmed_words.append(w)
    return set(terms(" ".join(negated_words))), set(terms(" ".join(affirmed_words)))


def _negated_only(text: str) -> set[str]:
    """Terms that ``text`` only ever mentions negated ("instead of to every expert" negates nothing
    when the same text also says "to the k best experts")."""
    negated, affirmed = negation_scopes(text)
    return negated - affirmed


@dataclass(frozen=True)
class LexicalFeatures:
    """What the lexical judge measured for one (claim, evidence) pair."""

    coverage: float  # share of claim terms found in the whole evidence
    local_coverage: float  # ... in the best window of consecutive evidence sentences
    cosine: float | None  # embedding cosine claim vs evidence, if an embedder is set
    missing_numbers: tuple[str, ...]
    missing_entities: tuple[str, ...]
    negation_mismatch: bool
    missing_absolutes: tuple[str, ...] = ()  # "always", "guarantees"... the evidence does not say

    @property
    def hard_fail(self) -> bool:
        return bool(
            self.missing_numbers or self.missing_entities or self.negation_mismatch or self.missing_absolutes
        )


class LexicalJudge:
    """Content-word coverage judge with hard checks for numbers, names and negation.

    ``score`` = ``(1 - embed_weight) * local_coverage + embed_weight * cosine`` (cosine only when an
    ``embed`` callable is given: ``embed(list_of_texts) -> unit-norm vectors``), forced to 0 when the
    claim has a number or a name the evidence window lacks, or when one side negates the matched
    content and the other does not. ``supports`` = ``score >= threshold``; calibrate the threshold
    with ``scripts/calibrate_judges.py``.
    """

    def __init__(
        self,
        threshold: float = 0.7,
        *,
        embed: Callable[[list[str]], np.ndarray] | None = None,
        embed_weight: float = 0.3,
        window: int = 2,
        check_entities: bool = True,
        check_negation: bool = True,
        initial_names: bool = False,
        name: str = "lexical",
    ) -> None:
        self.threshold = threshold
        self.embed = embed
        self.embed_weight = embed_weight if embed is not None else 0.0
        self.window = window
        self.check_entities = check_entities
        self.check_negation = check_negation
        self.initial_names = initial_names
        suffix = f"+cos{self.embed_weight:g}" if embed is not None else ""
        self.id = f"{name}{suffix}@{threshold:g}/w{window}"
        self._vectors: dict[str, np.ndarray] = {}

    def _best_window(self, claim_terms: set[str], evidence: str) -> tuple[str, float]:
        sents = _sentences(evidence)
        if self.window <= 0 or len(sents) <= self.window:
            text = " ".join(sents)
            return text, len(claim_terms & term_set(text)) / len(claim_terms)
        best, best_cov = "", -1.0
        for i in range(len(sents) - self.window + 1):
            text = " ".join(sents[i : i + self.window])
            cov = len(claim_terms & term_set(text)) / len(claim_terms)
            if cov > best_cov:
                best, best_cov = text, cov
        return best, best_cov

    def _cosine(self, claim: str, evidence: str) -> float | None:
        if self.embed is None:
            return None
        todo = [t for t in (claim, evidence) if t not in self._vectors]
        if todo:
            for text, vec in zip(todo, self.embed(todo), strict=True):
                self._vectors[text] = np.asarray(vec, dtype=np.float32)
        return float(np.clip(self._vectors[claim] @ self._vectors[evidence], 0.0, 1.0))

    def features(self, claim: str, evidence: str) -> LexicalFeatures:
        """Measure coverage, cosine and the hard checks for one pair."""
        claim_terms = set(terms(claim))
        if not claim_terms:
            return LexicalFeatures(0.0, 0.0, None, (), (), False)
        window, _ = self._best_window(claim_terms, evidence)
        have = term_set(window)
        # An acronym in the claim is covered when the window spells it out ("GQA" / "grouped-query
        # attention"); a name missing otherwise is a hard failure (a swapped or invented name).
        spelled_out: set[str] = set()
        missing_entities: list[str] = []
        for name in entities(claim, initial=self.initial_names) if self.check_entities else ():
            name_terms = terms(name)
            if all(t in have for t in name_terms):
                continue
            if is_acronym(name) and expands_acronym(name, window):
                spelled_out |= set(name_terms)
            else:
                missing_entities.append(name)
        covered = (claim_terms & have) | (claim_terms & spelled_out)
        local = len(covered) / len(claim_terms)
        coverage = len(claim_terms & (term_set(evidence) | spelled_out)) / len(claim_terms)
        missing_numbers = sorted(t for t in claim_terms if t.startswith("#") and t not in have)
        missing_absolutes = sorted(t for t in claim_terms & _ABSOLUTES if t not in have)
        mismatch = False
        if self.check_negation:
            # A negating claim needs a negation in the matched window (its object may be paraphrased:
            # "rather than from people" / "instead of human feedback"); a plain claim must not match
            # content that the window only ever mentions negated.
            window_negated = _negated_only(window)
            mismatch = not window_negated if _negated_only(claim) else bool(window_negated & claim_terms)
        return LexicalFeatures(
            coverage,
            local,
            self._cosine(claim, evidence),
            tuple(missing_numbers),
            tuple(sorted(set(missing_entities))),
            mismatch,
            tuple(missing_absolutes),
        )

    def score(self, claim: str, evidence: str) -> float:
        return self.combine(self.features(claim, evidence))

    def combine(self, f: LexicalFeatures) -> float:
        """The score for measured features (lets calibration try weights without re-measuring)."""
        if f.hard_fail:
            return 0.0
        if f.cosine is None:
            return f.local_coverage
        return (1 - self.embed_weight) * f.local_coverage + self.embed_weight * f.cosine

    def supports(self, claim: str, evidence: str) -> bool:
        return self.score(claim, evidence) >= self.threshold


# ---------------------------------------------------------------------------------------------
# LLM judge

PROMPT_VERSION = "v1"
_SCHEMA = {"type": "object", "properties": {"supported": {"type": "boolean"}}, "required": ["supported"]}
_SYSTEM = (
    "You check claims against evidence. Answer only whether the evidence states or directly implies "
    "the claim. Numbers, names and negations must match. Outside knowledge does not count. "
    'Reply with JSON: {"supported": true} or {"supported": false}.'
)
_VERDICT = re.compile(r'"supported"\s*:\s*(true|false)', re.IGNORECASE)


def evidence_windows(evidence: str, max_chars: int) -> list[str]:
    """Split long evidence into windows of whole sentences, each at most ``max_chars`` long (a single
    longer sentence is cut), consecutive windows sharing one sentence so no fact is cut in two.

    >>> evidence_windows("A b c. D e f. G h i.", max_chars=13)
    ['A b c. D e f.', 'D e f. G h i.']
    """
    if len(evidence) <= max_chars:
        return [evidence]
    sents: list[str] = []
    for s in _sentences(evidence):
        sents.extend(s[i : i + max_chars] for i in range(0, len(s), max_chars))
    windows: list[str] = []
    i = 0
    while i < len(sents):
        j, size = i, 0
        while j < len(sents) and (j == i or size + 1 + len(sents[j]) <= max_chars):
            size += len(sents[j]) + (1 if j > i else 0)
            j += 1
        windows.append(" ".join(sents[i:j]))
        if j >= len(sents):
            break
        i = max(j - 1, i + 1)  # overlap by one sentence
    return windows


class LLMJudge:
    """Support verdicts from a local LLM (any ``Generator``), forced to ``{"supported": bool}``.

    Evidence longer than ``max_evidence_chars`` is judged window by window (supported if any window
    is). Verdicts are cached by sha256 of (judge id, claim, evidence window); pass ``cache_path`` to
    keep them in a JSON file across runs. Unparseable replies count as unsupported and are counted
    in ``parse_failures``; ``calls`` and ``seconds`` count the model calls (cache misses) and their time.
    """

    def __init__(
        self,
        generator: Any,
        *,
        max_evidence_chars: int = 1500,
        cache_path: str | Path | None = None,
        max_tokens: int = 12,
    ) -> None:
        self.generator = generator
        self.max_evidence_chars = max_evidence_chars
        self.max_tokens = max_tokens
        model = getattr(generator, "name", "") or type(generator).__name__
        self.id = f"llm:{model}:{PROMPT_VERSION}"
        self.cache_path = Path(cache_path) if cache_path else None
        self.cache: dict[str, bool] = {}
        if self.cache_path and self.cache_path.is_file():
            self.cache = {
                k: bool(v) for k, v in json.loads(self.cache_path.read_text(encoding="utf-8")).items()
            }
        self.calls = 0  # model calls (cache misses)
        self.seconds = 0.0  # time spent in them
        self.parse_failures = 0

    def _key(self, claim: str, evidence: str) -> str:
        return hashlib.sha256(f"{self.id}\0{claim}\0{evidence}".encode()).hexdigest()

    def _ask(self, claim: str, evidence: str) -> bool:
        from ..generate import Message, aside  # lazy: generator backends are heavy to import

        messages = [
            Message("system", _SYSTEM),
            Message(
                "user",
                f"Evidence:\n{evidence}\n\nClaim: {claim}\n\n"
                "Does the evidence state or directly imply the claim?",
            ),
        ]
        start = time.perf_counter()
        with aside(self.generator):  # between answers in an eval: the answer prompt's cache stays
            raw = self.generator.generate(messages, max_tokens=self.max_tokens, temperature=0.0, json_schema=_SCHEMA)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        try:
            value = json.loads(raw)["supported"]
            if isinstance(value, bool):
                return value
        except (ValueError, KeyError, TypeError):
            pass
        m = _VERDICT.search(raw)
        if m:
            return m.group(1).lower() == "true"
        self.parse_failures += 1
        return False

    def _verdict(self, claim: str, evidence: str) -> bool:
        key = self._key(claim, evidence)
        if key not in self.cache:
            self.cache[key] = self._ask(claim, evidence)
            if self.cache_path:
                self.save()
        return self.cache[key]

    def supports(self, claim: str, evidence: str) -> bool:
        claim, evidence = strip_citation_marks(claim).strip(), evidence.strip()
        if not claim or not evidence:
            return False
        return any(self._verdict(claim, w) for w in evidence_windows(evidence, self.max_evidence_chars))

    def score(self, claim: str, evidence: str) -> float:
        return float(self.supports(claim, evidence))

    def save(self, path: str | Path | None = None) -> None:
        """Write the verdict cache as JSON (atomically: a crash never leaves half a file)."""
        target = Path(path) if path else self.cache_path
        if target is None:
            raise ValueError("no cache path: pass one to save() or to LLMJudge(cache_path=...)")
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, json.dumps(self.cache, sort_keys=True))
