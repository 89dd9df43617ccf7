"""FAISS index types behind DenseIndex, and the real MiniLM embedder behind the Embedder protocol."""

from __future__ import annotations

import numpy as np
import pytest

from studyrag.dense import (
    DenseIndex,
    Embedder,
    SentenceTransformerEmbedder,
    embedder_id,
    normalize,
    torch_device,
)
from studyrag.errors import IndexError_, ModelNotFoundError
from studyrag.fakes import FakeEmbedder


def _unit(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    return normalize(np.random.default_rng(seed).standard_normal((n, dim)))


@pytest.mark.parametrize("factory", ["Flat", "HNSW32", "IVF256,Flat", "IVF8,Flat"])
def test_every_factory_type_finds_a_stored_vector_first(factory: str) -> None:
    v = _unit(600)
    idx = DenseIndex.build(v, factory)
    assert idx.size == 600 and idx.dim == 32
    for i in (0, 123, 599):
        top = idx.search(v[i], k=5)
        assert top[0].index == i
        assert top[0].score == pytest.approx(1.0, abs=1e-5)
        assert all(a.score >= b.score for a, b in zip(top, top[1:], strict=False))


def test_flat_scores_are_cosine_similarities() -> None:
    v = _unit(50)
    q = _unit(1, seed=9)[0]
    got = {s.index: s.score for s in DenseIndex.build(v).search(q, k=50)}
    want = v @ q
    assert got.keys() == set(range(50))
    np.testing.assert_allclose([got[i] for i in range(50)], want, rtol=1e-5, atol=1e-6)


def test_ivf_with_fewer_vectors_than_lists_still_builds() -> None:
    v = _unit(30)
    idx = DenseIndex.build(v, "IVF256,Flat")
    assert idx.factory != "IVF256,Flat" and idx.factory.startswith("IVF")
    assert idx.search(v[7], k=3)[0].index == 7


def test_k_larger_than_the_index_returns_what_exists() -> None:
    v = _unit(4)
    assert len(DenseIndex.build(v, "HNSW32").search(v[0], k=10)) == 4


def test_unknown_factory_string_says_how_to_fix() -> None:
    with pytest.raises(IndexError_, match="STUDYRAG_FAISS_INDEX"):
        DenseIndex.build(_unit(10), "NoSuchIndex42")


def test_save_and_load_round_trip(tmp_path) -> None:
    v = _unit(300)
    idx = DenseIndex.build(v, "IVF16,Flat")
    idx.save(tmp_path / "d.faiss")
    back = DenseIndex.load(tmp_path / "d.faiss", idx.factory)
    assert back.size == 300
    assert [s.index for s in back.search(v[5], k=5)] == [s.index for s in idx.search(v[5], k=5)]
    (tmp_path / "bad.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexError_, match="--rebuild"):
        DenseIndex.load(tmp_path / "bad.faiss", "Flat")


@pytest.mark.parametrize("factory", ["Flat", "HNSW32"])
def test_an_item_with_several_vectors_scores_its_best_one(factory: str, tmp_path) -> None:
    v = _unit(400)
    owners = np.concatenate([np.arange(100), np.arange(100).repeat(3)])  # own vector + 3 extra each
    idx = DenseIndex.build(v, factory, owners)
    assert idx.size == 100 and idx.n_vectors == 400
    q = v[100 + 3 * 37 + 1]  # the second extra vector of item 37
    top = idx.search(q, k=10)
    assert top[0].index == 37 and top[0].score == pytest.approx(1.0, abs=1e-5)
    assert len({s.index for s in top}) == 10  # items, not vectors: no item twice
    own = idx.search(q, k=10, own=True)  # as if the extra vectors were not there
    assert [s.index for s in own] == [s.index for s in DenseIndex.build(v[:100], factory).search(q, k=10)]
    if factory == "Flat":  # exact: an item's score is the best cosine among its vectors
        want = np.maximum(v[:100] @ q, (v[100:] @ q).reshape(100, 3).max(axis=1))
        got = {s.index: s.score for s in idx.search(q, k=100)}
        assert got.keys() == set(range(100))
        np.testing.assert_allclose([got[i] for i in range(100)], want, rtol=1e-5, atol=1e-6)
    idx.save(tmp_path / "d.faiss")
    back = DenseIndex.load(tmp_path / "d.faiss", idx.factory, owners=True)
    assert back.size == 100 and [s.index for s in back.search(q, k=5)] == [s.index for s in top[:5]]
    with pytest.raises(IndexError_, match="owners"):
        DenseIndex(idx.index, "Flat", owners[:10])
    with pytest.raises(IndexError_, match="own, in order"):
        DenseIndex(idx.index, "Flat", owners[::-1].copy())


@pytest.mark.parametrize("factory", ["Flat", "HNSW32", "IVF8,Flat"])
def test_moments_are_the_mean_and_spread_of_the_own_vectors_cosines(factory: str, tmp_path) -> None:
    v = normalize(_unit(300) + 0.2)  # off-centre, so the mean cosine is not ~0
    owners = np.concatenate([np.arange(100), np.arange(100).repeat(2)])
    q = _unit(1, seed=5)[0] * 3.0  # the query need not be unit length
    want = v[:100] @ normalize(q)[0]  # extra (sentence) vectors do not count
    idx = DenseIndex.build(v, factory, owners)
    idx.save(tmp_path / "d.faiss")
    for index in (idx, DenseIndex.load(tmp_path / "d.faiss", idx.factory, owners=True)):
        mean, std = index.moments(q)
        assert mean == pytest.approx(want.mean(), abs=1e-5) and std == pytest.approx(want.std(), rel=1e-4)


def test_an_extra_vector_must_beat_the_own_vectors_by_the_margin() -> None:
    own = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    extra = np.array([[0.0, 0.0, 1.0]], dtype=np.float32)  # a sentence of item 0
    q = np.array([0.0, 0.7, 0.72])  # a little closer to item 0's sentence than to item 1
    v, owners = np.concatenate([own, extra]), np.array([0, 1, 0])
    assert DenseIndex.build(v, owners=owners).search(q, k=1)[0].index == 0
    margined = DenseIndex.build(v, owners=owners, extra_margin=0.05).search(q, k=2)
    assert [s.index for s in margined] == [1, 0]
    assert margined[1].score == pytest.approx(0.72 / np.linalg.norm(q) - 0.05, abs=1e-5)


@pytest.mark.parametrize("factory", ["Flat", "HNSW32", "IVF8,Flat"])
def test_a_search_kept_to_some_items_finds_the_best_of_them_by_any_of_their_vectors(factory: str) -> None:
    v = _unit(400)
    owners = np.concatenate([np.arange(100), np.arange(100).repeat(3)])
    idx = DenseIndex.build(v, factory, owners)
    items = np.arange(0, 100, 2)  # the even items
    q = v[100 + 3 * 38 + 2]  # an extra vector of item 38, an even one
    top = idx.search(q, k=10, items=items)
    assert top[0].index == 38 and len(top) == 10 and all(s.index % 2 == 0 for s in top)
    assert idx.search(v[100 + 3 * 37], k=1, items=items)[0].index != 37  # an odd item is never found
    own = idx.search(q, k=5, own=True, items=items)
    assert len(own) == 5 and all(s.index % 2 == 0 for s in own)
    if factory == "Flat":  # by their own vectors alone
        assert [s.index for s in own] == [int(i) for i in items[np.argsort(-(v[items] @ q))][:5]]
    if factory == "Flat":  # exact: the same order as over the even items' vectors alone
        scores = np.maximum(v[:100] @ q, (v[100:] @ q).reshape(100, 3).max(axis=1))
        assert [s.index for s in top] == [int(i) for i in items[np.argsort(-scores[items])][:10]]
    assert idx.search(q, k=5, items=np.zeros(0, dtype=np.int64)) == []


def test_own_vector_search_works_for_ivf() -> None:
    v = _unit(2000)
    owners = np.concatenate([np.arange(1000), np.arange(1000)])
    idx = DenseIndex.build(v, "IVF16,Flat", owners)
    assert all(s.index < 1000 for s in idx.search(v[1500], k=5, own=True))
    assert idx.search(v[1500], k=1)[0].index == 500


def test_fake_embedder_follows_the_protocol() -> None:
    assert isinstance(FakeEmbedder(), Embedder)


def test_embedder_id_of_a_hub_id_is_itself_and_of_a_folder_tracks_its_files(tmp_path) -> None:
    assert embedder_id("org/model") == "org/model"
    (tmp_path / "config.json").write_text("{}")
    first = embedder_id(str(tmp_path))
    assert first.startswith(tmp_path.name + "@")
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    assert embedder_id(str(tmp_path)) != first


# ------------------------------------------------------------------------------- real model
@pytest.fixture(scope="session")
def minilm() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder("default")


def test_real_embedder_shape_norm_and_protocol(minilm: SentenceTransformerEmbedder) -> None:
    assert isinstance(minilm, Embedder)
    assert (minilm.dim, minilm.max_tokens) == (384, 256)
    v = minilm.embed(["mixture of experts routing", "a router sends tokens to experts", "a recipe for bread"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]  # related ML phrases are closer than bread
    assert minilm.embed([]).shape == (0, 384)


def test_real_embedder_counts_word_pieces_with_special_tokens(minilm: SentenceTransformerEmbedder) -> None:
    assert minilm.count_tokens("") == 2  # [CLS] [SEP]
    assert minilm.count_tokens("hello") == 3
    long = "quantization " * 400
    assert minilm.count_tokens(long) > minilm.max_tokens  # counts past the window, no truncation


def test_real_embedder_id_is_stable(minilm: SentenceTransformerEmbedder) -> None:
    assert minilm.id == embedder_id(minilm.path)
    # the default is the packaged MiniLM with the shipped adapter merged in (studyrag.embed_tune)
    assert minilm.id.startswith("studyrag-minilm-lora-")


def test_missing_model_folder_raises_model_not_found(tmp_path) -> None:
    with pytest.raises(ModelNotFoundError, match="STUDYRAG_EMBEDDER"):
        SentenceTransformerEmbedder(str(tmp_path / "nope"))


@pytest.mark.parametrize(("factory", "stored"), [("Flat", True), ("HNSW32", True), ("IVF2,Flat", False)])
def test_extra_vectors_come_back_where_the_index_keeps_them(factory: str, stored: bool) -> None:
    rng = np.random.default_rng(0)
    vectors = normalize(rng.normal(size=(120, 8)).astype(np.float32))
    owners = np.array(list(range(100)) + [3] * 12 + [7] * 8)
    idx = DenseIndex.build(vectors, factory, owners=owners)
    extra = idx.extra_vectors(3)
    if stored:
        assert extra.shape == (12, 8) and np.allclose(extra, vectors[100:112], atol=1e-5)
        assert idx.extra_vectors(5).shape == (0, 8)
    else:  # IVF keeps no row-addressable copy: callers embed the sentences instead
        assert extra is None
    assert DenseIndex.build(vectors[:100], factory).extra_vectors(3) is None


def test_auto_embed_device_is_cuda_only_when_torch_sees_a_gpu(monkeypatch) -> None:
    import torch

    for seen, device in ((False, "cpu"), (True, "cuda")):
        monkeypatch.setattr(torch.cuda, "is_available", lambda seen=seen: seen)
        assert torch_device("auto") == device
    assert torch_device("cpu") == "cpu" and torch_device("cuda") == "cuda"


def test_cuda_where_torch_sees_no_gpu_is_refused_with_the_fix(monkeypatch) -> None:
    import torch

    from studyrag.errors import ConfigError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="sees no GPU.*set STUDYRAG_EMBED_DEVICE to cpu or auto"):
        torch_device("cuda")


def test_the_settings_embedder_runs_where_embed_device_says(monkeypatch, tmp_path) -> None:
    from types import SimpleNamespace

    from studyrag import dense
    from studyrag.config import Settings

    loaded = []

    def load(path: str, device: str):
        loaded.append((path, device))
        return SimpleNamespace(get_embedding_dimension=lambda: 8, max_seq_length=256, tokenizer=None)

    monkeypatch.setattr(dense, "_load_model", load)
    monkeypatch.setattr("studyrag.models.resolve_embedder", lambda spec, cache: str(tmp_path))
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)  # as on a GPU machine
    emb = SentenceTransformerEmbedder.from_settings(Settings(embed_device="cuda", cache_dir=tmp_path))
    assert loaded == [(str(tmp_path), "cuda")] and emb.device == "cuda" and emb.dim == 8


def test_hnsw_searches_broadly_enough_to_find_the_exact_neighbours(tmp_path) -> None:
    import faiss

    idx = DenseIndex.build(normalize(np.random.default_rng(0).standard_normal((300, 8)).astype(np.float32)), "HNSW32")
    idx.save(tmp_path / "d.faiss")
    back = DenseIndex.load(tmp_path / "d.faiss", idx.factory)
    assert [faiss.downcast_index(i.index).hnsw.efSearch for i in (idx, back)] == [256, 256]
