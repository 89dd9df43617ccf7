"""Ranked lists and their reciprocal rank fusion (pure functions, no models).

RRF (Cormack et al., 2009) adds ``weight / (rrf_k + rank)`` over the retrievers that found a chunk.
It needs no score calibration between BM25 (unbounded) and cosine similarity (-1..1).

>>> {i: round(s, 4) for i, s in rrf_scores({"bm25": [7, 3], "dense": [3, 9]}, rrf_k=60).items()}
{3: 0.0325, 7: 0.0164, 9: 0.0161}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .records import Chunk, Hit

__all__ = ["Scored", "rrf_scores", "fuse", "to_hits"]


@dataclass(frozen=True)
class Scored:
    """One entry of a retriever's ranked list: a chunk position in the index and its score."""

    index: int
    score: float


def rrf_scores(
    rankings: Mapping[str, Sequence[int]],
    *,
    rrf_k: int = 60,
    weights: Mapping[str, float] | None = None,
) -> dict[int, float]:
    """Fused score per item, best first; each ranking lists items best first (rank 1 = first).

    >>> rrf_scores({"a": [1, 2], "b": [2]}, rrf_k=0, weights={"a": 1.0, "b": 0.5})
    {1: 1.0, 2: 1.0}
    """
    weights = weights or {}
    fused: dict[int, float] = {}
    for name, items in rankings.items():
        w = weights.get(name, 1.0)
        for rank, item in enumerate(items, start=1):
            fused[item] = fused.get(item, 0.0) + w / (rrf_k + rank)
    return dict(sorted(fused.items(), key=lambda kv: -kv[1]))


def fuse(
    bm25: Sequence[Scored],
    dense: Sequence[Scored],
    chunks: Sequence[Chunk],
    *,
    rrf_k: int = 60,
    bm25_weight: float = 1.0,
    dense_weight: float = 1.0,
    k: int | None = None,
) -> list[Hit]:
    """Fuse two ranked lists into ``Hit``s that keep each retriever's rank and score.

    Ties on the fused score go to the chunk with the best single rank, then the lower index, so
    the order is deterministic.

    >>> cs = [Chunk(id=str(i), source="g.md", path=("S",), text=f"t{i}", start=0, end=2) for i in range(3)]
    >>> hits = fuse([Scored(2, 7.5), Scored(0, 1.0)], [Scored(0, 0.8), Scored(1, 0.6)], cs, rrf_k=60)
    >>> [(h.rank, h.chunk.id, h.bm25_rank, h.dense_rank, round(h.score, 4)) for h in hits]
    [(1, '0', 2, 1, 0.0325), (2, '2', 1, None, 0.0164), (3, '1', None, 2, 0.0161)]
    """
    b = {s.index: (r, s.score) for r, s in enumerate(bm25, start=1)}
    d = {s.index: (r, s.score) for r, s in enumerate(dense, start=1)}
    fused = rrf_scores(
        {"bm25": [s.index for s in bm25], "dense": [s.index for s in dense]},
        rrf_k=rrf_k,
        weights={"bm25": bm25_weight, "dense": dense_weight},
    )

    def best_rank(i: int) -> int:
        return min(b.get(i, (1 << 30,))[0], d.get(i, (1 << 30,))[0])

    order = sorted(fused, key=lambda i: (-fused[i], best_rank(i), i))[:k]
    hits = []
    for rank, i in enumerate(order, start=1):
        br, bs = b.get(i, (None, None))
        dr, ds = d.get(i, (None, None))
        hits.append(
            Hit(
                chunk=chunks[i],
                score=fused[i],
                rank=rank,
                bm25_score=bs,
                bm25_rank=br,
                dense_score=ds,
                dense_rank=dr,
                fused_score=fused[i],
            )
        )
    return hits


def to_hits(ranked: Sequence[Scored], chunks: Sequence[Chunk], *, kind: str) -> list[Hit]:
    """One retriever's list as ``Hit``s (score = that retriever's score); ``kind`` is bm25|dense.

    >>> cs = [Chunk(id="a", source="g.md", path=(), text="x", start=0, end=1)]
    >>> h = to_hits([Scored(0, 2.5)], cs, kind="bm25")[0]
    >>> (h.rank, h.score, h.bm25_rank, h.dense_rank)
    (1, 2.5, 1, None)
    """
    if kind not in ("bm25", "dense"):
        raise ValueError(f"kind must be 'bm25' or 'dense', not {kind!r}")
    return [
        Hit(chunk=chunks[s.index], score=s.score, rank=r, **{f"{kind}_score": s.score, f"{kind}_rank": r})
        for r, s in enumerate(ranked, start=1)
    ]
