"""Embedder adaptation: a tiny real sentence-transformers BERT through the real LoRA training,
saving and merging code; the default embedder is the shipped adapter merged once into the cache."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from studyrag import embed_tune, models
from studyrag.config import project_root
from studyrag.dense import embedder_id
from studyrag.embed_tune import AdapterRecipe, adapter_info, merge_adapter, save_adapter, train_adapter
from studyrag.models import resolve_embedder
from studyrag.rerank_train import DEFAULT_TRAIN_FILE, load_training_set, sha256_file
from tiny_bert import save_tiny_bert

torch = pytest.importorskip("torch")

TOPICS = {
    "lora": "Low-rank adapters freeze the base weights and learn two small matrices per layer.",
    "moe": "A router sends each token to a few experts; a balancing loss keeps the load even.",
    "rag": "Retrieval-augmented generation puts retrieved passages into the prompt before answering.",
    "kv": "The key-value cache stores attention keys and values so decoding skips recomputation.",
}
QUERIES = {
    "lora": ["how to fine-tune cheaply with small matrices", "frozen weights plus tiny trainable parts"],
    "moe": ["how do tokens get spread over specialist sub-networks", "keep every expert busy"],
    "rag": ["look up documents and then write the answer", "put search results in the prompt"],
    "kv": ["why is generating the next word fast", "reuse earlier attention work while decoding"],
}


@pytest.fixture(scope="session")
def tiny_st(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer, 32-wide BERT with mean pooling and the MiniLM tokenizer, as a sentence-transformers folder."""
    from sentence_transformers import SentenceTransformer
    from transformers import BertModel

    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Pooling, Transformer

    raw = save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), BertModel)
    word = Transformer(str(raw), max_seq_length=64)
    folder = tmp_path_factory.mktemp("tiny-st")
    SentenceTransformer(modules=[word, Pooling(32, "mean")], device="cpu").save(str(folder))
    return str(folder)


@pytest.fixture(scope="session")
def train_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    rows = [
        {"type": "passage", "pid": k, "title": "Guide", "path": [k], "text": t} for k, t in TOPICS.items()
    ]
    for k, qs in QUERIES.items():
        negs = [o for o in TOPICS if o != k]
        rows += [{"type": "query", "query": q, "origin": "test", "pos": k, "negs": negs} for q in qs]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _positive_ranks(model_dir: str, train_file: Path) -> list[int]:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu")
    queries = load_training_set(train_file)
    passages = sorted({q.positive for q in queries})
    p = model.encode(passages, normalize_embeddings=True)
    q = model.encode([x.query for x in queries], normalize_embeddings=True)
    order = np.argsort(-(q @ p.T), axis=1)
    return [int(np.where(order[i] == passages.index(x.positive))[0][0]) for i, x in enumerate(queries)]


def test_batches_use_every_query_once_per_epoch_and_never_repeat_a_positive():
    queries = load_training_set(project_root() / DEFAULT_TRAIN_FILE)
    plan = list(embed_tune.batches(queries, AdapterRecipe(batch=32, epochs=2)))
    assert sum(len(b) for b in plan) == 2 * len(queries)
    assert all(len({p for _, p, _ in b}) == len(b) <= 32 for b in plan)


def test_training_moves_positives_up_and_the_merged_model_keeps_that(tiny_st, train_file, tmp_path):
    recipe = AdapterRecipe(rank=4, epochs=30, batch=8, lr=5e-3, max_length=64)
    adapter = train_adapter(train_file, tmp_path / "a.safetensors", recipe, base=tiny_st, progress=False)
    info = adapter_info(adapter)
    assert info["base"] == embedder_id(tiny_st) and info["recipe"]["rank"] == 4
    assert info["data_sha256"] == sha256_file(train_file) and info["queries"] == 8
    merged = merge_adapter(tiny_st, adapter, tmp_path / "merged")
    before, after = _positive_ranks(tiny_st, train_file), _positive_ranks(str(merged), train_file)
    assert sum(after) < sum(before), (before, after)
    assert (merged / "studyrag-adapter.json").is_file()


def test_merge_adds_exactly_the_low_rank_delta(tiny_st, tmp_path):
    """The merged weights compute what the base model plus the hooked deltas computes."""
    from sentence_transformers import SentenceTransformer

    recipe = AdapterRecipe(rank=2, alpha=4.0)
    hooked = SentenceTransformer(tiny_st, device="cpu")
    deltas = embed_tune._attach(hooked, recipe)
    gen = torch.Generator().manual_seed(1)
    for _, b in deltas.values():
        b.data = torch.randn(b.shape, generator=gen) * 0.05
    adapter = save_adapter(deltas, {"recipe": {"rank": 2, "alpha": 4.0}}, tmp_path / "a.safetensors")
    merged = SentenceTransformer(str(merge_adapter(tiny_st, adapter, tmp_path / "m")), device="cpu")
    texts = ["low-rank adapters", "a router and its experts"]
    hooked.eval()
    with torch.no_grad():
        want = hooked.encode(texts, convert_to_numpy=True)
    got = merged.encode(texts, convert_to_numpy=True)
    base = SentenceTransformer(tiny_st, device="cpu").encode(texts, convert_to_numpy=True)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert not np.allclose(got, base, atol=1e-3)


def test_merge_refuses_an_adapter_for_another_model(tiny_st, tmp_path):
    a = torch.zeros(2, 32, requires_grad=True)
    b = torch.zeros(32, 2, requires_grad=True)
    adapter = save_adapter({"encoder.layer.0.attention.self.query": (a, b)}, {"recipe": {}}, tmp_path / "x")
    with pytest.raises(ValueError, match="does not fit"):
        merge_adapter(tiny_st, adapter, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_default_embedder_is_merged_once_into_the_cache(tiny_st, train_file, tmp_path, monkeypatch):
    adapter = train_adapter(
        train_file, tmp_path / "a.safetensors", AdapterRecipe(rank=2, epochs=1), base=tiny_st, progress=False
    )
    monkeypatch.setattr(embed_tune, "ADAPTER_FILE", adapter)
    monkeypatch.setattr(models, "_base_embedder", lambda: tiny_st)
    earlier = tmp_path / "cache" / "models" / "studyrag-minilm-lora-0123456789ab"  # an older adapter's
    earlier.mkdir(parents=True)
    (earlier / "model.safetensors").write_bytes(b"x" * 100)
    (earlier.parent / f".{earlier.name}.lock").touch()
    first = resolve_embedder("default", tmp_path / "cache")
    assert Path(first).parent == tmp_path / "cache" / "models" and Path(first).name.startswith(
        "studyrag-minilm-lora-"
    )
    assert sorted(p.name for p in earlier.parent.iterdir()) == sorted([Path(first).name, f".{Path(first).name}.lock"])

    def boom(*args: object) -> None:
        raise AssertionError("merged again")

    monkeypatch.setattr(embed_tune, "merge_adapter", boom)
    assert resolve_embedder("default", tmp_path / "cache") == first
    assert resolve_embedder("minilm", tmp_path / "cache") == tiny_st


def test_default_embedder_falls_back_to_the_base_model_when_the_adapter_does_not_fit(
    tiny_st, tmp_path, monkeypatch, caplog
):
    adapter = save_adapter({}, {"recipe": {}, "base": "some-other-model@123"}, tmp_path / "a.safetensors")
    monkeypatch.setattr(embed_tune, "ADAPTER_FILE", adapter)
    monkeypatch.setattr(models, "_base_embedder", lambda: tiny_st)
    with caplog.at_level(logging.WARNING):
        assert resolve_embedder("default", tmp_path / "cache") == tiny_st
    assert "trained on some-other-model@123" in caplog.text


def test_the_shipped_adapter_fits_the_packaged_minilm_and_the_committed_training_set():
    info = adapter_info(embed_tune.ADAPTER_FILE)
    assert info["base"] == embedder_id(resolve_embedder("minilm"))
    assert info["data_sha256"] == sha256_file(project_root() / DEFAULT_TRAIN_FILE)
