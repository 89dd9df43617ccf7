"""Ranked lists and their fusion (pure functions, no models): z-score or reciprocal rank.

Z-score fusion (the default) puts each retriever's score on a common scale, (score − mean) /
std over the whole index for this query, and adds the weighted results. A chunk that BM25 scores
far above the rest keeps that lead, where rank fusion would count it one place ahead of the next.
On eval/retrieval.jsonl it beats RRF (MRR@10 0.838 against 0.823; eval/reports/zscore-retrieval).

RRF (Cormack et al., 2009) adds ``weight / (rrf_k + rank)`` over the retrievers that found a chunk.
It needs no score statistics, only the ranks.

>>> {i: round(s, 4) for i, s in rrf_scores({"bm25": [7, 3], "dense": [3, 9]}, rrf_k=60).items()}
{3: 0.0325, 7: 0.0164, 9: 0.0161}
>>> spreads = {"bm25": Spread(mean=1.0, std=2.0, floor=0.0), "dense": Spread(mean=0.2, std=0.1, floor=0.3)}
>>> lists = {"bm25": [Scored(7, 9.0), Scored(3, 5.0)], "dense": [Scored(3, 0.6), Scored(9, 0.5)]}
>>> {i: round(s, 2) for i, s in zscore_scores(lists, spreads).items()}
{3: 6.0, 7: 5.0, 9: 2.5}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .records import Chunk, Hit

__all__ = ["FUSIONS", "Scored", "Spread", "rrf_scores", "zscore_scores", "fuse", "to_hits"]

FUSIONS = ("zscore", "rrf")


@dataclass(frozen=True)
class Scored:
    """One entry of a retriever's ranked list: a chunk position in the index and its score."""

    index: int
    score: float


@dataclass(frozen=True)
class Spread:
    """How one retriever's scores spread over the whole index for one query (``mean``, ``std``),
    and ``floor``: the score assumed for a chunk it did not list (its last listed score, or 0 for
    BM25 when it listed every chunk sharing a term with the query)."""

    mean: float
    std: float
    floor: float


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


def zscore_scores(
    lists: Mapping[str, Sequence[Scored]],
    spreads: Mapping[str, Spread],
    *,
    weights: Mapping[str, float] | None = None,
) -> dict[int, float]:
    """Fused score per item, best first: Σ weight · (score − mean) / std over the retrievers, an
    item a retriever did not list counting as its ``floor``.

    >>> zscore_scores({"a": [Scored(1, 3.0)], "b": [Scored(2, 1.0)]},
    ...               {"a": Spread(1.0, 1.0, 0.0), "b": Spread(0.0, 0.5, 0.0)})
    {1: 2.0, 2: 1.0}
    """
    weights = weights or {}
    items = {s.index for ranked in lists.values() for s in ranked}
    fused = dict.fromkeys(sorted(items), 0.0)
    for name, ranked in lists.items():
        spread, w = spreads[name], weights.get(name, 1.0)
        listed = {s.index: s.score for s in ranked}
        std = spread.std if spread.std > 0 else 1.0  # every chunk scored alike: no spread to scale by
        for item in fused:
            fused[item] += w * (listed.get(item, spread.floor) - spread.mean) / std
    return dict(sorted(fused.items(), key=lambda kv: -kv[1]))


def fuse(
    bm25: Sequence[Scored],
    dense: Sequence[Scored],
    chunks: Sequence[Chunk],
    *,
    method: str = "rrf",
    rrf_k: int = 60,
    spreads: Mapping[str, Spread] | None = None,
    bm25_weight: float = 1.0,
    dense_weight: float = 1.0,
    k: int | None = None,
) -> list[Hit]:
    """Fuse two ranked lists into ``Hit``s that keep each retriever's rank and score.

    ``method`` is ``"rrf"`` (uses ``rrf_k``) or ``"zscore"`` (uses ``spreads``, keyed "bm25" and
    "dense"). Ties on the fused score go to the chunk with the best single rank, then the lower
    index, so the order is deterministic.

    >>> cs = [Chunk(id=str(i), source="g.md", path=("S",), text=f"t{i}", start=0, end=2) for i in range(3)]
    >>> hits = fuse([Scored(2, 7.5), Scored(0, 1.0)], [Scored(0, 0.8), Scored(1, 0.6)], cs, rrf_k=60)
    >>> [(h.rank, h.chunk.id, h.bm25_rank, h.dense_rank, round(h.score, 4)) for h in hits]
    [(1, '0', 2, 1, 0.0325), (2, '2', 1, None, 0.0164), (3, '1', None, 2, 0.0161)]
    """
    b = {s.index: (r, s.score) for r, s in enumerate(bm25, start=1)}
    d = {s.index: (r, s.score) for r, s in enumerate(dense, start=1)}
    weights = {"bm25": bm25_weight, "dense": dense_weight}
    if method == "rrf":
        fused = rrf_scores({"bm25": [s.index for s in bm25], "dense": [s.index for s in dense]}, rrf_k=rrf_k, weights=weights)
    elif method == "zscore":
        if spreads is None:
            raise ValueError("z-score fusion needs each retriever's score spread")
        fused = zscore_scores({"bm25": bm25, "dense": dense}, spreads, weights=weights)
    else:
        raise ValueError(f"unknown fusion {method!r}; choose one of {', '.join(FUSIONS)}")

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
