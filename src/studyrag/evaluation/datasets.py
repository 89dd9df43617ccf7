"""The evaluation question sets in ``eval/``, read and validated into frozen dataclasses.

``retrieval.jsonl`` holds retrieval questions (``id``, ``question``, ``kind``, ``evidence`` =
``[{source, snippet}]``, ``guides``); ``questions.jsonl`` adds what answer scoring needs
(``answerable``, ``expected`` = answer | abstain | correct_premise, ``reference``, ``key_facts``, and
for conversations ``turns`` = every question asked in order, the last being the one scored).

>>> q = parse_answer_question({"id": "m1", "question": "and vs RLHF?", "kind": "multi_turn",
...     "turns": [{"question": "What is DPO?"}, {"question": "and vs RLHF?"}],
...     "evidence": [{"source": "g.md", "snippet": "skip the reward model"}], "answerable": True,
...     "expected": "answer", "key_facts": ["no reward model"]})
>>> q.history, q.should_abstain, q.guides
(('What is DPO?',), False, ('g.md',))
>>> [x.id for x in take([q, q.__class__(**{**q.__dict__, "id": "m2"})], 1)]
['m1']
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError
from .metrics import Evidence

__all__ = [
    "Evidence",
    "RetrievalQuestion",
    "AnswerQuestion",
    "EXPECTED",
    "parse_retrieval_question",
    "parse_answer_question",
    "load_retrieval",
    "load_questions",
    "take",
]

EXPECTED = ("answer", "abstain", "correct_premise")


@dataclass(frozen=True)
class RetrievalQuestion:
    """A question with the gold passages a retriever should find (none when unanswerable)."""

    id: str
    question: str
    kind: str
    evidence: tuple[Evidence, ...] = ()
    guides: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.evidence)


@dataclass(frozen=True)
class AnswerQuestion:
    """A question to answer end to end, with what a good answer contains or does.

    ``history`` holds the earlier questions of a conversation (asked first, their answers fed back
    as history); ``question`` is the last turn, the one scored.
    """

    id: str
    question: str
    kind: str
    evidence: tuple[Evidence, ...] = ()
    guides: tuple[str, ...] = ()
    answerable: bool = True
    expected: str = "answer"
    reference: str | None = None
    key_facts: tuple[str, ...] = ()
    history: tuple[str, ...] = ()
    standalone: str | None = None
    note: str = ""

    @property
    def should_abstain(self) -> bool:
        return self.expected == "abstain"


# --------------------------------------------------------------------------------- parsing
def _str(row: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = row.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: field {key!r} must be a non-empty string, got {value!r}")
    return value


def _strings(row: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = row.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{where}: field {key!r} must be a list of non-empty strings, got {value!r}")
    return tuple(value)


def _evidence(row: Mapping[str, Any], where: str) -> tuple[Evidence, ...]:
    items = row.get("evidence") or []
    if not isinstance(items, list):
        raise ValueError(f"{where}: 'evidence' must be a list of {{source, snippet}} objects")
    try:
        return tuple(Evidence.from_dict(e) for e in items)
    except (ValueError, AttributeError) as e:
        raise ValueError(f"{where}: {e}") from e


def parse_retrieval_question(row: Mapping[str, Any], where: str = "row") -> RetrievalQuestion:
    """One ``retrieval.jsonl`` row → ``RetrievalQuestion`` (``ValueError`` says what is wrong)."""
    evidence = _evidence(row, where)
    return RetrievalQuestion(
        id=_str(row, "id", where),
        question=_str(row, "question", where),
        kind=_str(row, "kind", where),
        evidence=evidence,
        guides=_strings(row, "guides", where) or tuple(dict.fromkeys(e.source for e in evidence)),
    )


def parse_answer_question(row: Mapping[str, Any], where: str = "row") -> AnswerQuestion:
    """One ``questions.jsonl`` row → ``AnswerQuestion`` (``ValueError`` says what is wrong)."""
    base = parse_retrieval_question(row, where)
    expected = row.get("expected", "answer" if base.evidence else "abstain")
    if expected not in EXPECTED:
        raise ValueError(f"{where}: 'expected' must be one of {EXPECTED}, got {expected!r}")
    answerable = row.get("answerable", expected != "abstain")
    if not isinstance(answerable, bool):
        raise ValueError(f"{where}: 'answerable' must be true or false, got {answerable!r}")
    turns = row.get("turns") or []
    if not isinstance(turns, list):
        raise ValueError(f"{where}: 'turns' must be a list of {{question}} objects")
    asked = [
        _str(t, "question", f"{where} turn {i + 1}") if isinstance(t, Mapping) else t
        for i, t in enumerate(turns)
    ]
    if asked and asked[-1] != base.question:
        # the scored question is the last turn; a mismatch means the row was edited by half
        raise ValueError(
            f"{where}: the last turn must repeat 'question' ({base.question!r}), got {asked[-1]!r}"
        )
    reference = row.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise ValueError(f"{where}: 'reference' must be a string or null")
    return AnswerQuestion(
        id=base.id,
        question=base.question,
        kind=base.kind,
        evidence=base.evidence,
        guides=base.guides,
        answerable=answerable,
        expected=expected,
        reference=reference,
        key_facts=_strings(row, "key_facts", where),
        history=tuple(asked[:-1]),
        standalone=row.get("standalone") or None,
        note=str(row.get("note") or ""),
    )


T = TypeVar("T", RetrievalQuestion, AnswerQuestion)


def _load(path: Path, parse) -> list:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigError(
            f"cannot read the question set {path} ({e}): restore it from git or pass another eval dir"
        ) from e
    out, seen = [], set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path.name} line {n}"
        try:
            item = parse(json.loads(line), where)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{where} is not valid JSON ({e.msg}): fix that line") from e
        except ValueError as e:
            raise ConfigError(f"{e}: fix that line (scripts/check_eval_data.py checks the whole file)") from e
        if item.id in seen:
            raise ConfigError(f"{where}: duplicate id {item.id!r}: ids must be unique")
        seen.add(item.id)
        out.append(item)
    if not out:
        raise ConfigError(f"the question set {path} is empty: add questions (one JSON object per line)")
    return out


def load_retrieval(path: str | Path) -> list[RetrievalQuestion]:
    """Every question of a ``retrieval.jsonl`` file, in file order."""
    return _load(Path(path), parse_retrieval_question)


def load_questions(path: str | Path) -> list[AnswerQuestion]:
    """Every question of a ``questions.jsonl`` file, in file order."""
    return _load(Path(path), parse_answer_question)


def take(items: Sequence[T], limit: int | None, *, stratify: bool = False) -> list[T]:
    """The first ``limit`` items (all when ``limit`` is None); deterministic.

    With ``stratify`` the items are dealt round-robin over kinds (in the order kinds first appear),
    so a small limit still samples every kind.

    >>> qs = [RetrievalQuestion(str(i), "q", k) for i, k in enumerate("aaabbc")]
    >>> [q.id for q in take(qs, 4)], [q.id for q in take(qs, 4, stratify=True)]
    (['0', '1', '2', '3'], ['0', '3', '5', '1'])
    """
    if limit is not None and limit < 0:
        raise ConfigError(f"--limit must be a positive number, got {limit}")
    if not stratify:
        return list(items if limit is None else items[:limit])
    by_kind: dict[str, list[T]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    dealt: list[T] = []
    for i in range(max((len(v) for v in by_kind.values()), default=0)):
        dealt.extend(group[i] for group in by_kind.values() if i < len(group))
    return dealt if limit is None else dealt[:limit]
