"""The index directory: build/load, staleness, incremental re-embedding, atomic swaps and crashes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from studyrag.config import Settings, project_root
from studyrag.errors import ConfigError, CorpusError, IndexError_, StaleIndexError
from studyrag.fakes import FakeEmbedder
from studyrag.store import index_status, open_index, read_manifest, sentence_texts

GUIDES = [
    "ai-ml-deep-learning-genai-overview.md",
    "comprehensive-llm-study-guide.md",
    "advanced-ai-knowledge-cheatsheet.md",
]


class CountingEmbedder(FakeEmbedder):
    """FakeEmbedder that remembers every text it embedded; ``fail_after`` simulates a crash."""

    def __init__(self, dim: int = 64, fail_after: int | None = None) -> None:
        super().__init__(dim=dim)
        self.texts: list[str] = []
        self.fail_after = fail_after

    def embed(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        out = []
        for i in range(0, len(texts), batch_size):  # batch by batch, like the real model
            batch = list(texts[i : i + batch_size])
            if self.fail_after is not None and len(self.texts) + len(batch) > self.fail_after:
                raise RuntimeError("simulated crash while embedding")
            self.texts += batch
            out.append(super().embed(batch))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    for name in GUIDES:
        shutil.copy(project_root() / "corpus" / name, d / name)
    return d


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "indexes", index_name="test")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_build_then_reopen_loads_without_building(settings: Settings) -> None:
    emb = CountingEmbedder()
    first = open_index(settings, emb, progress=False)
    assert first.stats.built and first.stats.embedded == len(first.chunks) > 0
    assert {c.source for c in first.chunks} == set(GUIDES)
    files = {p.name for p in first.path.iterdir()}
    assert {
        "manifest.json",
        "chunks.jsonl",
        "embeddings.npy",
        "sentence_embeddings.npy",
        "dense.faiss",
        "dense.faiss.owners.npy",
        "bm25.npz",
        "bm25.json",
    } <= files
    m = first.manifest
    assert m["chunk_count"] == len(first.chunks) and m["embedder"] == emb.id and m["dim"] == emb.dim
    assert set(m["fingerprint"]["corpus"]) == set(GUIDES) and m["settings"]["chunk_tokens"] == settings.chunk_tokens
    n_sentences = sum(len(sentence_texts(c)) for c in first.chunks)
    assert first.stats.sentences == first.stats.sentences_embedded == n_sentences > len(first.chunks)
    assert first.dense.n_vectors == len(first.chunks) + n_sentences

    n_embedded = len(emb.texts)
    again = open_index(settings, emb, progress=False)
    assert not again.stats.built and len(emb.texts) == n_embedded
    assert again.chunks == first.chunks
    assert again.bm25.n_docs == again.dense.size == len(again.chunks)


def test_editing_one_file_reembeds_only_its_changed_chunks(settings: Settings, corpus: Path) -> None:
    emb = CountingEmbedder()
    old = open_index(settings, emb, progress=False)
    old_keys = {(c.id, c.embed_text) for c in old.chunks}
    emb.texts.clear()

    edited = "comprehensive-llm-study-guide.md"
    _edit(corpus / edited, "LoRA", "LoRA (low-rank adaptation, edited)")
    new = open_index(settings, emb, progress=False)

    assert new.stats.built and "corpus file changed: comprehensive-llm-study-guide.md" in new.stats.reason
    changed = [c for c in new.chunks if (c.id, c.embed_text) not in old_keys]
    assert 0 < len(changed) < sum(c.source == edited for c in new.chunks)
    # only the changed chunks and their new sentences are embedded
    old_sentences = {t for c in old.chunks for t in sentence_texts(c)}
    new_sentences = [t for c in changed for t in sentence_texts(c) if t not in old_sentences]
    assert sorted(emb.texts) == sorted([c.embed_text for c in changed] + new_sentences)
    assert new.stats.embedded == len(changed) and new.stats.reused == len(new.chunks) - len(changed)
    assert new.stats.sentences_embedded == len(new_sentences) < new.stats.sentences
    assert any("edited" in c.text for c in new.chunks)
    # reused vectors are the ones a fresh embedding would give
    fresh = FakeEmbedder().embed([c.embed_text for c in new.chunks])
    np.testing.assert_allclose(np.load(new.path / "embeddings.npy"), fresh, atol=1e-6)
    fresh = FakeEmbedder().embed([t for c in new.chunks for t in sentence_texts(c)])
    np.testing.assert_allclose(np.load(new.path / "sentence_embeddings.npy"), fresh, atol=1e-6)


def test_sentence_vectors_off_rebuilds_reusing_every_chunk_vector(settings: Settings) -> None:
    emb = CountingEmbedder()
    with_sentences = open_index(settings, emb, progress=False)
    emb.texts.clear()
    plain = open_index(settings.replace(sentence_vectors=False), emb, progress=False)
    assert plain.stats.built and "dense" in plain.stats.reason
    assert emb.texts == [] and plain.stats.reused == len(plain.chunks) and plain.stats.sentences == 0
    assert plain.dense.n_vectors == plain.dense.size == len(plain.chunks)
    assert not (plain.path / "dense.faiss.owners.npy").exists()
    assert with_sentences.dense.n_vectors > plain.dense.n_vectors


def test_stale_index_with_on_stale_error_names_the_change_and_the_fix(
    settings: Settings, corpus: Path
) -> None:
    open_index(settings, CountingEmbedder(), progress=False)
    (corpus / "new-guide.md").write_text(
        "# New\n\nSome new material about RLHF reward models.\n", encoding="utf-8"
    )
    with pytest.raises(StaleIndexError, match=r"corpus file added: new-guide\.md.*run `studyrag index` \(it re-embeds only what changed\)"):
        open_index(settings, CountingEmbedder(), on_stale="error", progress=False)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"chunk_tokens": 120}, "chunk_tokens changed: 256 → 120"),
        ({"chunk_overlap": 0}, "chunk_overlap changed"),
        ({"faiss_index": "HNSW32"}, "faiss_index changed: Flat → HNSW32"),
    ],
)
def test_setting_changes_make_the_index_stale(settings: Settings, change: dict, reason: str) -> None:
    open_index(settings, CountingEmbedder(), progress=False)
    changed = settings.replace(**change)
    status = index_status(changed, CountingEmbedder().id)
    assert status.state == "stale" and any(reason in r for r in status.reasons)
    with pytest.raises(StaleIndexError, match=reason):
        open_index(changed, CountingEmbedder(), on_stale="error", progress=False)
    rebuilt = open_index(changed, CountingEmbedder(), progress=False)
    assert rebuilt.stats.built and reason in rebuilt.stats.reason


def test_faiss_type_change_reuses_every_embedding(settings: Settings) -> None:
    open_index(settings, CountingEmbedder(), progress=False)
    emb = CountingEmbedder()
    idx = open_index(settings.replace(faiss_index="IVF256,Flat"), emb, progress=False)
    assert idx.stats.built and idx.stats.embedded == 0 and emb.texts == []
    assert idx.manifest["faiss_index"].startswith("IVF")  # lists shrink to fit a small corpus


def test_an_unknown_faiss_type_is_refused_before_anything_is_embedded(settings: Settings) -> None:
    emb = CountingEmbedder()
    with pytest.raises(IndexError_, match="cannot make an index of type 'HNSW-32'.*STUDYRAG_FAISS_INDEX"):
        open_index(settings.replace(faiss_index="HNSW-32"), emb, progress=False)
    assert emb.texts == []  # failed in a blink, not after minutes of embedding
    first = open_index(settings, CountingEmbedder(), progress=False)
    with pytest.raises(IndexError_):
        open_index(settings.replace(faiss_index="HNSW-32"), CountingEmbedder(), progress=False)
    again = open_index(settings, CountingEmbedder(), progress=False)
    assert not again.stats.built and again.manifest == first.manifest  # the previous index is untouched


def test_another_embedder_reembeds_everything(settings: Settings) -> None:
    open_index(settings, CountingEmbedder(dim=64), progress=False)
    emb = CountingEmbedder(dim=32)
    idx = open_index(settings, emb, progress=False)
    assert "embedder changed" in idx.stats.reason
    assert idx.stats.embedded == len(idx.chunks) and idx.dense.dim == 32


def test_rebuild_flag_rebuilds_but_reuses_vectors(settings: Settings) -> None:
    open_index(settings, CountingEmbedder(), progress=False)
    emb = CountingEmbedder()
    idx = open_index(settings, emb, rebuild=True, progress=False)
    assert idx.stats.built and idx.stats.reason == "rebuild requested" and emb.texts == []


def test_crash_mid_build_leaves_previous_index_usable(settings: Settings, corpus: Path) -> None:
    before = open_index(settings, CountingEmbedder(), progress=False)
    _edit(corpus / "comprehensive-llm-study-guide.md", "LoRA", "LoRA (edited)")
    with pytest.raises(RuntimeError, match="simulated crash"):
        open_index(settings, CountingEmbedder(fail_after=0), rebuild=True, progress=False)

    # the old index is intact (complete manifest, same chunks) and no half index is left around
    assert read_manifest(before.path) is not None
    assert [p.name for p in settings.index_dir.iterdir() if p.is_dir()] == ["test"]
    with pytest.raises(StaleIndexError):  # loadable, and honestly reported as stale
        open_index(settings, CountingEmbedder(), on_stale="error", progress=False)
    assert index_status(settings, CountingEmbedder().id).state == "stale"
    after = open_index(settings, CountingEmbedder(), progress=False)
    assert after.stats.built and any("edited" in c.text for c in after.chunks)


def test_a_killed_build_leaves_no_index_that_loads(settings: Settings) -> None:
    good = open_index(settings, CountingEmbedder(), progress=False)
    # a process killed mid-build leaves a temp dir with everything but the manifest
    leftover = settings.index_dir / ".test.tmp-dead"
    shutil.copytree(good.path, leftover)
    (leftover / "manifest.json").unlink()
    # and a target whose manifest never finished is not an index
    (good.path / "manifest.json").write_text('{"format": 1, "chunk_count": 3', encoding="utf-8")
    assert index_status(settings, CountingEmbedder().id).state == "missing"
    emb = CountingEmbedder()
    idx = open_index(settings, emb, on_stale="error", progress=False)
    assert idx.stats.built and "incomplete" in idx.stats.reason
    assert not leftover.exists()


def test_damaged_file_is_detected_and_rebuilt(settings: Settings) -> None:
    good = open_index(settings, CountingEmbedder(), progress=False)
    with open(good.path / "dense.faiss", "r+b") as f:
        f.truncate(100)
    status = index_status(settings, CountingEmbedder().id)
    assert status.state == "missing" and "dense.faiss has 100 bytes" in str(status)
    idx = open_index(settings, CountingEmbedder(), progress=False)
    assert idx.stats.built and idx.dense.size == len(idx.chunks)
    assert idx.stats.reason.startswith("damaged (dense.faiss has 100 bytes; the manifest says ")


def test_interrupted_swap_is_recovered(settings: Settings) -> None:
    good = open_index(settings, CountingEmbedder(), progress=False)
    # crash between "move the old index aside" and "move the new one in"
    good.path.rename(settings.index_dir / ".test.old-123-456")
    emb = CountingEmbedder()
    idx = open_index(settings, emb, on_stale="error", progress=False)
    assert not idx.stats.built and emb.texts == [] and idx.chunks == good.chunks
    assert not (settings.index_dir / ".test.old-123-456").exists()


def test_index_status_missing_fresh_stale(settings: Settings, corpus: Path) -> None:
    eid = CountingEmbedder().id
    missing = index_status(settings, eid)
    assert missing.state == "missing" and "studyrag index" in str(missing)
    open_index(settings, CountingEmbedder(), progress=False)
    fresh = index_status(settings, eid)
    assert fresh.state == "fresh" and fresh.chunks > 0 and fresh.reasons == ()
    # the guides it holds, each with its title and share of the chunks (studyrag info lists them)
    assert [g.source for g in fresh.guides] == sorted(GUIDES) and sum(g.chunks for g in fresh.guides) == fresh.chunks
    assert all(g.title and g.chunks > 0 for g in fresh.guides)
    (corpus / GUIDES[0]).unlink()
    stale = index_status(settings, eid)
    assert stale.state == "stale" and stale.reasons == (f"corpus file removed: {GUIDES[0]}",)
    assert str(stale).endswith("run `studyrag index` (it re-embeds only what changed)")
    assert json.loads(json.dumps(stale.__dict__, default=str))["state"] == "stale"


def test_empty_or_missing_corpus_raises_corpus_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "slides.pptx").write_bytes(b"PK")
    for corpus_dir in (empty, tmp_path / "absent"):
        s = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "ix")
        with pytest.raises(CorpusError):
            open_index(s, CountingEmbedder(), progress=False)



def test_a_file_where_a_folder_belongs_is_named_as_such(tmp_path: Path, corpus: Path) -> None:
    guide = corpus / GUIDES[0]
    with pytest.raises(CorpusError, match=f"corpus {guide} is a file, not a folder.*--corpus {corpus}"):
        open_index(Settings(corpus_dir=guide, index_dir=tmp_path / "ix"), CountingEmbedder(), progress=False)
    (tmp_path / "ixfile").write_text("")
    with pytest.raises(IndexError_, match="index folder .*ixfile is a file"):
        open_index(Settings(corpus_dir=corpus, index_dir=tmp_path / "ixfile"), CountingEmbedder(), progress=False)


def test_chunks_longer_than_the_embedder_reads_are_refused(settings: Settings) -> None:
    too_long = settings.replace(chunk_tokens=CountingEmbedder().max_tokens + 1)
    with pytest.raises(ConfigError, match="STUDYRAG_CHUNK_TOKENS"):
        open_index(too_long, CountingEmbedder(), progress=False)


def test_damaged_contents_of_the_same_size_are_rebuilt(settings: Settings) -> None:
    good = open_index(settings, CountingEmbedder(), progress=False)
    size = (good.path / "dense.faiss").stat().st_size
    (good.path / "dense.faiss").write_bytes(b"\0" * size)  # same size: the manifest check passes
    idx = open_index(settings, CountingEmbedder(), progress=False)
    assert idx.stats.built and idx.stats.reason.startswith("unreadable")
    assert idx.dense.size == len(idx.chunks)


def test_index_status_without_an_embedder_id_uses_the_configured_model(settings: Settings) -> None:
    # what `studyrag info` calls: no model is loaded, the id comes from the model folder
    status = index_status(settings)
    assert status.state == "missing" and status.path == settings.index_dir / "test"


def test_a_process_that_waited_for_another_build_loads_it_and_says_so(settings: Settings, monkeypatch) -> None:
    import threading

    from studyrag import store

    checked = threading.Event()
    real_check = store._check

    def check(directory, fp):
        result = real_check(directory, fp)
        checked.set()
        return result

    monkeypatch.setattr(store, "_check", check)
    waiter = CountingEmbedder()
    result: list = []
    # this thread plays a second process: it finds no index, then waits for the build lock
    with store._build_lock(settings.index_dir, settings.index_name):
        thread = threading.Thread(target=lambda: result.append(open_index(settings, waiter, progress=False)))
        thread.start()
        assert checked.wait(10)
        builder = CountingEmbedder()
        fp = store.fingerprint(settings, builder.id)
        store._build(settings, builder, fp, "missing", False)  # the first process, holding the lock
    thread.join(10)
    (idx,) = result
    assert not idx.stats.built and idx.stats.reason == store.WAITED and waiter.texts == []
    assert idx.stats.describe().endswith("(another process built it meanwhile)")
    assert idx.chunks and builder.texts  # built once, by the lock holder


def test_a_full_disk_is_a_clear_error_and_keeps_the_previous_index(settings: Settings, corpus: Path, monkeypatch) -> None:
    from studyrag import store
    from studyrag.errors import IndexError_

    good = open_index(settings, CountingEmbedder(), progress=False)
    _edit(corpus / GUIDES[0], "Machine Learning", "Machine-Learning")

    def full(*args, **kwargs):
        raise OSError("561024 requested and 168928 written")  # what numpy says when the disk fills

    monkeypatch.setattr(store.np, "save", full)
    with pytest.raises(IndexError_, match=r"could not write the index .*If the disk is full, free some space"):
        open_index(settings, CountingEmbedder(), progress=False)
    monkeypatch.undo()
    assert not list(settings.index_dir.glob(".test.tmp-*"))  # no half-written directory left behind
    assert read_manifest(good.path) is not None  # the previous index is still there, whole


def test_an_index_folder_that_cannot_be_written_is_a_clear_error(settings: Settings, monkeypatch) -> None:
    from studyrag import store
    from studyrag.errors import IndexError_

    def read_only(path):
        raise OSError(30, "Read-only file system", str(path))

    monkeypatch.setattr(store, "exclusive", read_only)
    with pytest.raises(IndexError_, match=r"cannot write an index in .*Read-only file system.*STUDYRAG_INDEX_DIR"):
        open_index(settings, CountingEmbedder(), progress=False)
