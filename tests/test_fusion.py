"""Fusion (z-score and reciprocal rank): scores, weights, kept component ranks/scores, ordering."""

from __future__ import annotations

import pytest

from studyrag.fusion import Scored, Spread, fuse, rrf_scores, to_hits, zscore_scores
from studyrag.records import Chunk

CHUNKS = [Chunk(id=f"c{i}", source="g.md", path=("S",), text=f"text {i}", start=0, end=6) for i in range(6)]
BM25 = [Scored(0, 9.0), Scored(1, 7.0), Scored(2, 3.0)]
DENSE = [Scored(2, 0.9), Scored(3, 0.8), Scored(0, 0.5)]


def test_rrf_scores_sum_weighted_reciprocal_ranks() -> None:
    s = rrf_scores({"a": [10, 20], "b": [20]}, rrf_k=60, weights={"a": 2.0, "b": 1.0})
    assert s[10] == pytest.approx(2 / 61)
    assert s[20] == pytest.approx(2 / 62 + 1 / 61)
    assert list(s) == [20, 10]  # best first


def test_fused_hits_keep_both_components_and_ranks_are_one_based() -> None:
    hits = fuse(BM25, DENSE, CHUNKS, rrf_k=60)
    by_id = {h.chunk.id: h for h in hits}
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    c0 = by_id["c0"]
    assert (c0.bm25_rank, c0.bm25_score, c0.dense_rank, c0.dense_score) == (1, 9.0, 3, 0.5)
    assert c0.fused_score == pytest.approx(1 / 61 + 1 / 63)
    assert c0.score == c0.fused_score
    c3 = by_id["c3"]  # only the dense retriever found it
    assert (c3.bm25_rank, c3.bm25_score, c3.dense_rank) == (None, None, 2)
    assert set(by_id) == {"c0", "c1", "c2", "c3"}


def test_fused_order_is_by_fused_score() -> None:
    hits = fuse(BM25, DENSE, CHUNKS, rrf_k=60)
    assert [h.chunk.id for h in hits] == ["c0", "c2", "c1", "c3"]
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))


def test_weights_change_the_winner() -> None:
    dense_only = fuse(BM25, DENSE, CHUNKS, rrf_k=60, bm25_weight=0.0, dense_weight=1.0)
    assert dense_only[0].chunk.id == "c2"
    bm25_only = fuse(BM25, DENSE, CHUNKS, rrf_k=60, bm25_weight=1.0, dense_weight=0.0)
    assert [h.chunk.id for h in bm25_only[:3]] == ["c0", "c1", "c2"]
    # dense votes count three times: c2 (dense #1, bm25 #3) overtakes c0 (bm25 #1, dense #3)
    dense_heavy = fuse(BM25, DENSE, CHUNKS, rrf_k=60, dense_weight=3.0)
    assert dense_heavy[0].chunk.id == "c2"
    assert fuse(BM25, DENSE, CHUNKS, rrf_k=60)[0].chunk.id == "c0"


def test_rrf_k_controls_how_much_top_ranks_dominate() -> None:
    # with a small constant, one first place beats two middling ranks; with a large one, not
    bm25 = [Scored(0, 1.0), Scored(1, 0.9)]
    dense = [Scored(2, 1.0), Scored(3, 0.9), Scored(1, 0.8)]
    assert fuse(bm25, dense, CHUNKS, rrf_k=0)[0].chunk.id in ("c0", "c2")
    assert fuse(bm25, dense, CHUNKS, rrf_k=60)[0].chunk.id == "c1"


def test_ties_are_broken_deterministically() -> None:
    # c0 first in bm25 and c2 first in dense: equal fused scores, lower index wins
    hits = fuse([Scored(0, 1.0)], [Scored(2, 1.0)], CHUNKS, rrf_k=60)
    assert [h.chunk.id for h in hits] == ["c0", "c2"]
    assert hits[0].score == hits[1].score


def test_k_truncates_and_empty_inputs_give_nothing() -> None:
    assert len(fuse(BM25, DENSE, CHUNKS, k=2)) == 2
    assert fuse([], [], CHUNKS) == []
    only_dense = fuse([], DENSE, CHUNKS)
    assert [h.chunk.id for h in only_dense] == ["c2", "c3", "c0"]


def test_to_hits_fills_only_its_component() -> None:
    hits = to_hits(DENSE, CHUNKS, kind="dense")
    assert [(h.rank, h.chunk.id, h.score, h.dense_rank, h.bm25_rank) for h in hits][0] == (
        1,
        "c2",
        0.9,
        1,
        None,
    )
    with pytest.raises(ValueError):
        to_hits(DENSE, CHUNKS, kind="sparse")


SPREADS = {"bm25": Spread(mean=2.0, std=2.0, floor=3.0), "dense": Spread(mean=0.3, std=0.1, floor=0.5)}


def test_zscore_standardises_each_score_and_counts_an_unlisted_chunk_at_its_floor() -> None:
    hits = {h.chunk.id: h for h in fuse(BM25, DENSE, CHUNKS, method="zscore", spreads=SPREADS)}
    assert hits["c0"].fused_score == pytest.approx((9 - 2) / 2 + (0.5 - 0.3) / 0.1)  # 3.5 + 2
    assert hits["c3"].fused_score == pytest.approx((3 - 2) / 2 + (0.8 - 0.3) / 0.1)  # BM25 floor: 0.5 + 5
    assert hits["c1"].fused_score == pytest.approx((7 - 2) / 2 + (0.5 - 0.3) / 0.1)  # dense floor
    assert (hits["c3"].bm25_rank, hits["c3"].bm25_score) == (None, None)  # the floor is not reported
    assert list(hits) == ["c2", "c0", "c3", "c1"]  # c0 and c3 tie at 5.5: c0 has the better single rank


def test_zscore_keeps_a_large_lead_that_rank_fusion_flattens() -> None:
    # BM25 scores c1 far above everything; dense barely prefers c2. RRF sees two first places.
    bm25, dense = [Scored(1, 20.0), Scored(2, 2.1)], [Scored(2, 0.41), Scored(1, 0.40)]
    spreads = {"bm25": Spread(2.0, 1.0, 0.0), "dense": Spread(0.3, 0.1, 0.0)}
    assert fuse(bm25, dense, CHUNKS, method="zscore", spreads=spreads)[0].chunk.id == "c1"
    assert [h.fused_score for h in fuse(bm25, dense, CHUNKS, method="rrf")][:2] == pytest.approx([1 / 61 + 1 / 62] * 2)


def test_zscore_weights_and_a_flat_retriever() -> None:
    no_bm25 = fuse(BM25, DENSE, CHUNKS, method="zscore", spreads=SPREADS, bm25_weight=0.0)
    assert [h.chunk.id for h in no_bm25][:2] == ["c2", "c3"]  # dense order
    flat = {"a": Spread(1.0, 0.0, 1.0)}  # every chunk scored alike: divide by 1, not by 0
    assert zscore_scores({"a": [Scored(0, 1.0)]}, flat) == {0: 0.0}


def test_fuse_needs_spreads_for_zscore_and_a_known_method() -> None:
    with pytest.raises(ValueError, match="spread"):
        fuse(BM25, DENSE, CHUNKS, method="zscore")
    with pytest.raises(ValueError, match="zscore, rrf"):
        fuse(BM25, DENSE, CHUNKS, method="max")
