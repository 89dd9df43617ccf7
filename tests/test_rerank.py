"""Cross-encoder reranking: a tiny real cross-encoder through the real loading, scoring and training
code; reordering keeps component scores; a broken reranker degrades to fused order with a warning;
the committed training set is clean of evaluation questions."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from studyrag import rerank, rerank_train
from studyrag.cli_output import hit_json
from studyrag.config import Settings, project_root
from studyrag.errors import ModelNotFoundError
from studyrag.fakes import FakeReranker
from studyrag.pipeline import _load_reranker
from studyrag.records import Chunk, Hit
from studyrag.rerank_train import Recipe, TrainingQuery
from tiny_bert import save_tiny_bert

TRAIN_SET = project_root() / rerank_train.DEFAULT_TRAIN_FILE


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT cross-encoder with the packaged MiniLM tokenizer, saved to disk."""
    from transformers import BertForSequenceClassification

    pytest.importorskip("torch")
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-cross-encoder"), BertForSequenceClassification, num_labels=1)


@pytest.fixture(scope="session")
def tiny(tiny_base: Path) -> rerank.CrossEncoderReranker:
    return rerank.CrossEncoderReranker(tiny_base, batch_size=2, max_length=64)


def _chunk(i: str, text: str, path: tuple[str, ...] = ("Section",)) -> Chunk:
    return Chunk(id=i, source="guide.md", path=path, text=text, start=0, end=len(text), title="Guide")


def _hits() -> list[Hit]:
    texts = ["GPUs multiply matrices", "LoRA adds low-rank adapters", "Adapters and LoRA freeze weights"]
    return [
        Hit(
            _chunk(str(r), t),
            score=1.0 / r,
            rank=r,
            bm25_score=10.0 - r,
            bm25_rank=r,
            dense_score=0.5 / r,
            dense_rank=4 - r,
            fused_score=1.0 / r,
        )
        for r, t in enumerate(texts, 1)
    ]


class FixedReranker:
    """Scores from a table, so reordering can be checked exactly."""

    id = "fixed"

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.seen: list[str] = []

    def score(self, query: str, texts) -> np.ndarray:
        self.seen = list(texts)
        return np.array([next(v for k, v in self.scores.items() if k in t) for t in texts], dtype=np.float32)


# ------------------------------------------------------------------------------------ rerank_hits
def test_rerank_hits_reorders_by_score_and_keeps_component_scores() -> None:
    hits = _hits()
    r = FixedReranker({"GPUs": -2.0, "LoRA adds": 3.0, "freeze": 1.0})
    out = rerank.rerank_hits(r, "what is LoRA", hits, top_n=3)
    assert [h.chunk.id for h in out] == ["2", "3", "1"]
    assert [h.rank for h in out] == [1, 2, 3]
    assert [h.score for h in out] == [3.0, 1.0, -2.0]
    assert [h.rerank_score for h in out] == [3.0, 1.0, -2.0]
    before = {h.chunk.id: h for h in hits}
    for h in out:
        old = before[h.chunk.id]
        assert (h.bm25_score, h.bm25_rank, h.dense_score, h.dense_rank, h.fused_score) == (
            old.bm25_score,
            old.bm25_rank,
            old.dense_score,
            old.dense_rank,
            old.fused_score,
        )


def test_rerank_hits_cuts_to_top_n_and_reads_heading_plus_text() -> None:
    r = FixedReranker({"GPUs": 5.0, "LoRA adds": 3.0, "freeze": 4.0})
    out = rerank.rerank_hits(r, "q", _hits(), top_n=2)
    assert [(h.chunk.id, h.rank) for h in out] == [("1", 1), ("3", 2)]
    assert r.seen[0] == "Guide › Section\nGPUs multiply matrices"
    out = rerank.rerank_hits(r, "q", _hits(), top_n=2, text_of=lambda c: c.text)
    assert r.seen[0] == "GPUs multiply matrices"


def test_rerank_hits_ties_keep_fused_order_and_empty_input_is_empty() -> None:
    r = FixedReranker({"GPUs": 1.0, "LoRA adds": 1.0, "freeze": 1.0})
    assert [h.chunk.id for h in rerank.rerank_hits(r, "q", _hits(), top_n=3)] == ["1", "2", "3"]
    assert rerank.rerank_hits(r, "q", [], top_n=3) == []


def test_rerank_hits_rejects_a_wrong_number_of_scores() -> None:
    class Broken:
        id = "broken"

        def score(self, query, texts):
            return np.zeros(len(texts) + 1)

    with pytest.raises(ValueError, match="broken"):
        rerank.rerank_hits(Broken(), "q", _hits(), top_n=2)


def test_search_json_shows_the_rerank_score() -> None:
    out = rerank.rerank_hits(FakeReranker(), "LoRA adapters", _hits(), top_n=2)
    row = hit_json(out[0])
    assert row["score"] == out[0].rerank_score
    assert row["scores"]["rerank"] == out[0].rerank_score
    assert row["scores"]["fused"] == out[0].fused_score is not None
    assert json.loads(json.dumps(row))["scores"]["rerank"] == pytest.approx(row["score"])


# ------------------------------------------------------------------------------------ the real model
def test_cross_encoder_reranker_scores_every_text_independently_of_batching(
    tiny: rerank.CrossEncoderReranker,
) -> None:
    texts = ["LoRA adds low-rank adapters", "GPUs", "a much longer passage " * 10]
    assert isinstance(tiny, rerank.Reranker)
    scores = tiny.score("what is LoRA", texts)
    assert scores.shape == (3,) and scores.dtype == np.float32 and np.isfinite(scores).all()
    alone = [tiny.score("what is LoRA", [t])[0] for t in texts]
    np.testing.assert_allclose(scores, alone, rtol=1e-4, atol=1e-5)
    assert tiny.score("q", []).shape == (0,)
    assert tiny.id == f"cross-encoder:{Path(tiny.path).name}"


def test_cross_encoder_scores_are_raw_logits_not_probabilities(tiny: rerank.CrossEncoderReranker) -> None:
    import torch

    enc = tiny.model.tokenizer([("q", "LoRA")], return_tensors="pt")
    with torch.inference_mode():
        logit = tiny.model.model(**enc).logits.item()
    assert tiny.score("q", ["LoRA"])[0] == pytest.approx(logit, abs=1e-4)


def test_a_missing_reranker_path_raises_a_helpful_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="STUDYRAG_RERANKER"):
        rerank.CrossEncoderReranker(tmp_path / "nope")
    with pytest.raises(ModelNotFoundError):
        rerank.load_reranker(Settings(reranker=str(tmp_path / "nope"), cache_dir=tmp_path))


def test_pipeline_turns_a_missing_reranker_into_a_warning(tmp_path: Path, caplog) -> None:
    settings = Settings(reranker=str(tmp_path / "no-such-model"), cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="studyrag"):
        assert _load_reranker(settings) is None
    assert "reranker unavailable" in caplog.text and "no-such-model" in caplog.text


def test_load_reranker_loads_a_local_folder(tiny_base: Path, tmp_path: Path) -> None:
    r = rerank.load_reranker(Settings(reranker=str(tiny_base), cache_dir=tmp_path))
    assert r.score("LoRA", ["adapters", "GPUs"]).shape == (2,)


# ------------------------------------------------------------------------------------ training
def _write_training_set(path: Path) -> Path:
    passages = {
        "p1": ("LoRA",),
        "p2": ("Speculative decoding",),
        "p3": ("PagedAttention",),
        "p4": ("Mixture of experts",),
    }
    rows = [
        {
            "type": "passage",
            "pid": pid,
            "source": "g.md",
            "title": "Guide",
            "path": list(p),
            "text": f"{p[0]} text",
        }
        for pid, p in passages.items()
    ]
    for pid, p in passages.items():
        negs = [o for o in passages if o != pid]
        rows.append(
            {"type": "query", "query": f"what is {p[0]}", "origin": "template", "pos": pid, "negs": negs}
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_load_training_set_resolves_passages(tmp_path: Path) -> None:
    data = rerank_train.load_training_set(_write_training_set(tmp_path / "t.jsonl"))
    assert len(data) == 4
    assert data[0] == TrainingQuery(
        "what is LoRA",
        "template",
        "Guide › LoRA\nLoRA text",
        (
            "Guide › Speculative decoding\nSpeculative decoding text",
            "Guide › PagedAttention\nPagedAttention text",
            "Guide › Mixture of experts\nMixture of experts text",
        ),
    )
    bare = rerank_train.load_training_set(tmp_path / "t.jsonl", headings=False)
    assert bare[0].positive == "LoRA text"


def test_training_writes_a_loadable_model_and_a_stamp_and_runs_once(
    tiny_base: Path, tmp_path: Path, caplog
) -> None:
    data = _write_training_set(tmp_path / "t.jsonl")
    settings = Settings(cache_dir=tmp_path / "cache")
    recipe = Recipe(max_length=32, negatives=2, queries_per_step=2, seed=3)
    with caplog.at_level(logging.WARNING, logger="studyrag.rerank_train"):
        path = rerank_train.ensure_default_reranker(
            settings, data=data, recipe=recipe, base=str(tiny_base), progress=False
        )
    assert path == tmp_path / "cache" / "models" / rerank_train.MODEL_NAME
    assert "training the default reranker" in caplog.text
    stamp = json.loads((path / rerank_train.STAMP).read_text())
    assert stamp["data_sha256"] == rerank_train.sha256_file(data) and stamp["recipe"]["seed"] == 3
    assert stamp["steps"] == 2
    scores = rerank.CrossEncoderReranker(path).score("what is LoRA", ["LoRA text", "GPUs"])
    assert scores.shape == (2,) and np.isfinite(scores).all()
    mtime = (path / rerank_train.STAMP).stat().st_mtime_ns
    caplog.clear()
    again = rerank_train.ensure_default_reranker(settings, data=data, recipe=recipe, base=str(tiny_base))
    assert again == path and (path / rerank_train.STAMP).stat().st_mtime_ns == mtime
    assert "training" not in caplog.text
    # other training data → retrained
    data.write_text(data.read_text() + "\n", encoding="utf-8")
    rerank_train.ensure_default_reranker(
        settings, data=data, recipe=recipe, base=str(tiny_base), progress=False
    )
    assert json.loads((path / rerank_train.STAMP).read_text())["data_sha256"] == rerank_train.sha256_file(
        data
    )


def test_training_is_reproducible(tiny_base: Path, tmp_path: Path) -> None:
    data = _write_training_set(tmp_path / "t.jsonl")
    recipe = Recipe(max_length=32, negatives=2, queries_per_step=2)
    a = rerank_train.train(data, tmp_path / "a", recipe, base=str(tiny_base), progress=False)
    b = rerank_train.train(data, tmp_path / "b", recipe, base=str(tiny_base), progress=False)
    texts = ["LoRA text", "PagedAttention text"]
    np.testing.assert_allclose(
        rerank.CrossEncoderReranker(a).score("what is LoRA", texts),
        rerank.CrossEncoderReranker(b).score("what is LoRA", texts),
        rtol=1e-5,
    )


def test_training_on_some_query_origins_only(tiny_base: Path, tmp_path: Path) -> None:
    data = _write_training_set(tmp_path / "t.jsonl")
    recipe = Recipe(max_length=32, negatives=2, queries_per_step=2, origins="template")
    out = rerank_train.train(data, tmp_path / "m", recipe, base=str(tiny_base), progress=False)
    stamp = json.loads((out / rerank_train.STAMP).read_text())
    assert stamp["steps"] == 2 and stamp["recipe"]["origins"] == "template"
    with pytest.raises(ValueError, match="no training query has an origin"):
        rerank_train.train(
            data, tmp_path / "n", Recipe(origins="llm-direct"), base=str(tiny_base), progress=False
        )


def test_without_training_data_the_default_reranker_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="rerank_train"):
        rerank_train.ensure_default_reranker(Settings(cache_dir=tmp_path), data=tmp_path / "missing.jsonl")


# ------------------------------------------------------------------------------------ the committed set
def test_near_duplicate_detection() -> None:
    assert rerank_train.is_near_duplicate("What is LoRA?", ["what is lora"])
    assert rerank_train.is_near_duplicate(
        "How does LoRA freeze the base weights?", ["How does LoRA freeze base weights"]
    )
    assert not rerank_train.is_near_duplicate(
        "What is LoRA?", ["How does PagedAttention store the KV cache?"]
    )


@pytest.mark.skipif(not TRAIN_SET.exists(), reason="the training set is not built yet")
def test_committed_training_set_is_small_valid_and_free_of_evaluation_questions() -> None:
    assert TRAIN_SET.stat().st_size < 5_000_000
    data = rerank_train.load_training_set(TRAIN_SET)
    assert len(data) >= 500
    assert all(q.positive not in q.negatives and q.negatives for q in data)
    root = project_root() / "eval"
    banned = rerank_train.eval_questions(root)
    assert len(banned) > 300  # the main set was found
    assert [q.query for q in data if rerank_train.is_near_duplicate(q.query, banned)] == []
    # the agent-written questions came last, so they are checked against every gold set; two older
    # LLM questions resemble dev's h001 and unseen2's v007, which were written after them
    every = rerank_train.gold_questions(root)
    assert len(every) > len(banned) + 200  # every extra set under eval/ (dev, held-out, unseen, ...)
    agent = [q.query for q in data if q.origin == "agent-paraphrase"]
    assert len(agent) > 800
    assert [q for q in agent if rerank_train.is_near_duplicate(q, every)] == []
