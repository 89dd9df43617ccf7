"""What a report must record to be reproducible: git commit, models (ids, sizes, hashes), index,
data, and the machine (answers at temperature 0 still differ between CPUs).

Everything here is cheap: no model is loaded or hashed (the GGUF's sha256 is read from the
``.sha256-ok`` stamp that ``studyrag.models`` writes next to the file it verified).

>>> read_stamp(Path("/no/such/model.gguf")) is None
True
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import project_root

if TYPE_CHECKING:
    from ..pipeline import StudyRAG

__all__ = ["cpu_name", "git_info", "machine_info", "model_name", "model_info", "index_info", "file_hashes", "read_stamp"]


def git_info(root: Path | None = None) -> dict[str, Any]:
    """``{"commit": full hash or None, "dirty": bool or None}`` of the checkout at ``root``."""
    root = root or project_root()

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def cpu_name(cpuinfo: str | None = None) -> str:
    """The processor's model name, from ``/proc/cpuinfo`` (read when ``cpuinfo`` is None) where
    there is one, else what ``platform`` knows.

    >>> cpu_name("processor\\t: 0\\nmodel name\\t: AMD EPYC 9654 96-Core Processor\\nflags\\t: fpu")
    'AMD EPYC 9654 96-Core Processor'
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return m.group(1).strip() if m else platform.processor() or platform.machine() or "unknown"


def machine_info() -> dict[str, Any]:
    """The CPU, its core count, the OS and the llama.cpp build a run was made on. Greedy decoding
    is not the same everywhere: llama.cpp's arithmetic follows the CPU's features, and `eval/`
    answered on two 2-core machines with the same code changed 5 of 227 outcomes (``c34-full``,
    ``c35-full``). So a report says where it ran, and ``--compare`` says when two did not match."""
    from ..models import llama_cpp_build

    build = llama_cpp_build()
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "llama_cpp_python": build.get("version"),
        "llama_cpp_system_info": build.get("system_info"),
    }


def model_name(rag: StudyRAG) -> str:
    """The generator's name, without loading a 1 GB model just to learn it.

    Same as ``Generator.name``: the GGUF file name for llama-cpp, ``openai:<model>`` for a server.
    """
    loaded = getattr(rag, "_generator", None)  # set when a generator was passed in or already loaded
    if loaded is not None:
        return str(loaded.name)
    s = rag.settings
    if s.backend == "openai":
        return f"openai:{s.openai_model or 'server-default'}"
    from ..models import DEFAULT_LLM_FILE, SMALL_LLM_FILE

    return {"default": DEFAULT_LLM_FILE, "small": SMALL_LLM_FILE}.get(s.llm, Path(s.llm).name)


def read_stamp(model: Path) -> str | None:
    """The sha256 recorded in ``<model>.sha256-ok`` if the stamp still matches the file's size."""
    from ..models import STAMP_SUFFIX

    try:
        fields = model.with_name(model.name + STAMP_SUFFIX).read_text(encoding="ascii").split()
        size = model.stat().st_size
    except OSError:
        return None
    return fields[0] if len(fields) >= 2 and fields[1] == str(size) else None


def model_info(rag: StudyRAG) -> dict[str, Any]:
    """Ids, locations, sizes and (when known) sha256 of the embedder, generator and reranker."""
    from ..models import describe_models

    info: dict[str, Any] = {
        "embedder_id": getattr(rag.embedder, "id", type(rag.embedder).__name__),
        "generator": model_name(rag),
        "reranker_id": getattr(rag.reranker, "id", type(rag.reranker).__name__) if rag.reranker else None,
        "files": [],
    }
    try:
        described = describe_models(rag.settings)
    except Exception as e:  # provenance must never stop a finished evaluation from being written
        info["files_error"] = str(e)
        return info
    for m in described:
        row = {
            "role": m.role,
            "spec": m.spec,
            "location": m.location,
            "size_bytes": m.size_bytes,
            "note": m.note,
        }
        if m.role == "llm" and m.location and Path(m.location).is_file():
            row["sha256"] = read_stamp(Path(m.location))
        info["files"].append(row)
    return info


def index_info(rag: StudyRAG) -> dict[str, Any]:
    """Chunk count, embedder, fingerprint and build time of the index the run used."""
    index = rag.index
    manifest = dict(getattr(index, "manifest", {}) or {})
    stats = getattr(index, "stats", None)
    return {
        "path": str(getattr(index, "path", "")),
        "chunks": len(rag.chunks),
        "created": manifest.get("created"),
        "embedder": manifest.get("embedder"),
        "faiss_index": manifest.get("faiss_index"),
        "build": manifest.get("stats"),  # the build that wrote this index (seconds, embed_seconds...)
        "this_open": stats.__dict__ if hasattr(stats, "__dict__") else None,  # built now, or loaded
        "fingerprint": manifest.get("fingerprint"),
    }


def file_hashes(folder: Path, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """sha256 and size of each named file that exists in ``folder``."""
    out = {}
    for name in names:
        p = Path(folder) / name
        if p.is_file():
            data = p.read_bytes()
            out[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return out
