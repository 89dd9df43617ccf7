"""Deterministic stand-ins for the models, for fast unit tests (real-model tests exist beside them).

>>> e = FakeEmbedder()
>>> v = e.embed(["mixture of experts", "mixture of experts routing"])
>>> v.shape, round(float((v[0] ** 2).sum()), 3)
((2, 64), 1.0)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

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
