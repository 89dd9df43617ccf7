"""Deterministic stand-ins for the models, for fast unit tests (real-model tests exist beside them).

>>> e = FakeEmbedder()
>>> v = e.embed(["mixture of experts", "mixture of experts routing"])
>>> v.shape, round(float((v[0] ** 2).sum()), 3)
((2, 64), 1.0)
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

__all__ = ["FakeEmbedder", "FakeReranker"]

_WORD = re.compile(r"\w+", re.UNICODE)


def _bucket(token: str, dim: int) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "little") % dim


class FakeEmbedder:
    """Hashed bag-of-words vectors: texts sharing words are close. Same ``Embedder`` protocol as
    the real one (see ``dense.py``)."""

    def __init__(self, dim: int = 64, max_tokens: int = 256) -> None:
        self.id = f"fake-embedder-{dim}"
        self.dim = dim
        self.max_tokens = max_tokens

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text)) + 2  # +2 mimics [CLS]/[SEP]

    def embed(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for tok in _WORD.findall(text.lower()):
                out[i, _bucket(tok, self.dim)] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


class FakeReranker:
    """Scores a (query, text) pair by the share of query words found in the text."""

    id = "fake-reranker"

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        q = set(_WORD.findall(query.lower()))
        scores = [len(q & set(_WORD.findall(t.lower()))) / max(len(q), 1) for t in texts]
        return np.asarray(scores, dtype=np.float32)


class FakeGenerator:
    """A deterministic stand-in for the LLM (the ``Generator`` protocol of ``generate.py``).

    It reads the numbered source blocks (lines starting ``[n]``) of the last user message and
    answers with the first claim sentence of source 1 and of source 2, cited, or with the abstention
    phrase when there are no sources or none shares a content word with the question.
    ``reply`` forces a fixed answer; ``delay`` sleeps before each streamed piece (UI tests).

    >>> from studyrag.generate import Message
    >>> msg = Message("user", "<sources>\\n[1] G › LoRA\\nLoRA trains adapters. It is cheap.\\n</sources>\\n"
    ...               "Question: What does LoRA train?")
    >>> FakeGenerator().generate([msg], max_tokens=50, temperature=0)
    'LoRA trains adapters [1].'
    >>> FakeGenerator().generate([msg], max_tokens=5, temperature=0, json_schema={
    ...     "type": "object", "properties": {"supported": {"type": "boolean"}}})
    '{"supported": true}'
    """

    name = "fake-generator"

    def __init__(self, reply: str | None = None, *, delay: float = 0.0, n_ctx: int = 4096) -> None:
        self.reply = reply
        self.delay = delay
        self.n_ctx = n_ctx
        self.calls = 0

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def count_messages(self, messages: Sequence) -> int:
        return sum(self.count_tokens(m.content) + 4 for m in messages) + 2  # +4/+2 mimic a chat template

    def answer_for(self, messages: Sequence) -> str:
        """The full reply this generator gives to ``messages``."""
        from .citations import is_trivial, split_sentences
        from .prompt import ABSTAIN_PHRASE, QUESTION_PREFIX, SOURCES_CLOSE
        from .support import content_words

        if self.reply is not None:
            return self.reply
        user = next((m.content for m in reversed(messages) if m.role == "user"), "")
        blocks: list[tuple[str, list[str]]] = []  # (heading, text lines)
        question_lines: list[str] = []
        in_block = False
        for line in user.splitlines():
            m = re.match(r"\[(\d+)\]\s*(.*)$", line)
            if m:
                blocks.append((m.group(2), []))
                in_block = True
            elif line.strip() == SOURCES_CLOSE or line.startswith(QUESTION_PREFIX):
                in_block = False
                question_lines.append(line.removeprefix(QUESTION_PREFIX).replace(SOURCES_CLOSE, ""))
            elif in_block:
                blocks[-1][1].append(line)
            else:
                question_lines.append(line)
        sources = [(head, "\n".join(lines).strip()) for head, lines in blocks]
        question = content_words(" ".join(question_lines))
        if not sources or not any(question & content_words(f"{h} {t}") for h, t in sources):
            return ABSTAIN_PHRASE
        parts = []
        for n, (_, text) in enumerate(sources[:2], 1):
            # the first sentence that makes a claim (not a heading or a lead-in), bullets unmarked
            first = next((s for s in split_sentences(text) if not is_trivial(s)), "")
            first = re.sub(r"^(?:[-*+>]|\d{1,2}[.)])\s+|[*_`#]+", "", first).strip().rstrip(".!?:")
            if first:
                parts.append(f"{first} [{n}].")
        return " ".join(parts) or ABSTAIN_PHRASE

    def _pieces(self, messages: Sequence, max_tokens: int, stop: Sequence[str]) -> Iterator[str]:
        text = self.answer_for(messages)
        for s in stop:
            if s and s in text:
                text = text[: text.index(s)]
        for i, word in enumerate(text.split(" ")[: max(max_tokens, 0)]):
            if self.delay:
                time.sleep(self.delay)
            yield word if i == 0 else f" {word}"

    def stream(
        self,
        messages: Sequence,
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        seed: int | None = None,
    ) -> Iterator[str]:
        self.calls += 1
        yield from self._pieces(messages, max_tokens, stop)

    def generate(
        self,
        messages: Sequence,
        *,
        max_tokens: int,
        temperature: float,
        json_schema: dict | None = None,
        grammar: str | None = None,
    ) -> str:
        self.calls += 1
        if json_schema is not None:
            return json.dumps(_schema_example(json_schema))
        return "".join(self._pieces(messages, max_tokens, ()))


def _schema_example(schema: dict) -> object:
    """A value valid for a simple JSON schema: ``true`` for booleans, the first enum value..."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        return {k: _schema_example(v) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_schema_example(schema["items"])] * schema.get("minItems", 0) if "items" in schema else []
    return {"boolean": True, "integer": 1, "number": 1.0, "string": "yes", "null": None}.get(kind, True)


__all__ += ["FakeGenerator"]


class KeepsCache:
    """Mix into a fake generator to see which of its generations ran ``aside``: ``inside`` is true
    within ``keep_cache``, as a ``LlamaGenerator`` keeps its KV cache there.

    >>> from studyrag.generate import aside
    >>> class Gen(KeepsCache, FakeGenerator): ...
    >>> gen = Gen()
    >>> with aside(gen):
    ...     gen.inside
    True
    >>> gen.inside
    False
    """

    inside = False

    @contextmanager
    def keep_cache(self) -> Iterator[None]:
        self.inside = True
        try:
            yield
        finally:
            self.inside = False


__all__ += ["KeepsCache"]
