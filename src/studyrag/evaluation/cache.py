"""The generation cache: answers kept on disk so that re-scoring a run costs no LLM time.

One JSON object per line in ``<report>/cache/generations.jsonl``, keyed by sha256 of (question id,
question text and earlier turns, settings hash, model name). The settings hash covers what shapes an
answer: the answer-relevant settings, the index fingerprint (corpus, chunker, embedder), the
reranker, and the source code of the answering stages, so a changed prompt or pipeline never
reuses a stale answer while a changed metric or report reuses them all.

>>> from studyrag.records import Answer, Chunk, Hit, Citation
>>> c = Chunk("c1", "g.md", ("LoRA",), "LoRA adds adapters.", 0, 19)
>>> a = Answer("What is LoRA?", "LoRA adds adapters [1].", (Citation(1, c),), sources=(Hit(c, 0.9, 1),))
>>> answer_from_json(answer_to_json(a), {"c1": c}) == a
True
>>> answer_from_json(answer_to_json(a), {}) is None  # the chunk is gone: regenerate
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..records import Answer, Chunk, Citation, Hit

if TYPE_CHECKING:
    from ..pipeline import StudyRAG
    from .datasets import AnswerQuestion

__all__ = ["GenerationCache", "answer_to_json", "answer_from_json", "settings_hash", "code_hash"]

# Settings that do not change what is answered (where files live, how many threads decode).
_NOT_ANSWER_SHAPING = {"corpus_dir", "index_dir", "index_name", "cache_dir", "n_threads"}
# Modules that play no part in answering a question; every other module of the package does.
_NOT_ANSWERING = {"cli.py", "app.py", "ui_html.py", "bench.py", "__main__.py"}


def _hit_to_json(hit: Hit) -> dict[str, Any]:
    d = {f.name: getattr(hit, f.name) for f in dataclasses.fields(hit) if f.name != "chunk"}
    return {"chunk_id": hit.chunk.id, **d}


def _hit_from_json(d: Mapping[str, Any], chunks: Mapping[str, Chunk]) -> Hit | None:
    chunk = chunks.get(d["chunk_id"])
    if chunk is None:
        return None
    return Hit(chunk=chunk, **{k: v for k, v in d.items() if k != "chunk_id"})


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """An ``Answer`` as JSON, chunks by id (the index holds their text)."""
    return {
        "question": answer.question,
        "text": answer.text,
        "citations": [{"n": c.n, "chunk_id": c.chunk.id} for c in answer.citations],
        "abstained": answer.abstained,
        "abstain_reason": answer.abstain_reason,
        "draft": answer.draft,
        "sources": [_hit_to_json(h) for h in answer.sources],
        "see_also": [_hit_to_json(h) for h in answer.see_also],
        "uncited_sentences": list(answer.uncited_sentences),
        "invalid_citations": list(answer.invalid_citations),
        "timings": dict(answer.timings),
        "model": answer.model,
        "standalone_question": answer.standalone_question,
    }


def answer_from_json(d: Mapping[str, Any], chunks: Mapping[str, Chunk]) -> Answer | None:
    """The ``Answer`` back, or None when a chunk it names is no longer in the index."""
    sources = [_hit_from_json(h, chunks) for h in d["sources"]]
    see_also = [_hit_from_json(h, chunks) for h in d["see_also"]]
    cited = [(c["n"], chunks.get(c["chunk_id"])) for c in d["citations"]]
    if any(h is None for h in sources + see_also) or any(c is None for _, c in cited):
        return None
    return Answer(
        question=d["question"],
        text=d["text"],
        citations=tuple(Citation(n, c) for n, c in cited),
        abstained=d["abstained"],
        abstain_reason=d.get("abstain_reason", ""),
        draft=d.get("draft", ""),
        sources=tuple(sources),
        see_also=tuple(see_also),
        uncited_sentences=tuple(d["uncited_sentences"]),
        invalid_citations=tuple(d["invalid_citations"]),
        timings=d["timings"],
        model=d["model"],
        standalone_question=d["standalone_question"],
    )


def code_hash() -> str:
    """sha256 over the source of every package module that takes part in answering."""
    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(package.glob("*.py")):
        if path.name not in _NOT_ANSWERING:
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def settings_hash(rag: StudyRAG) -> str:
    """16 hex digits naming everything but the model that shapes an answer (see module doc)."""
    settings = {k: v for k, v in rag.settings.as_dict().items() if k not in _NOT_ANSWER_SHAPING}
    payload = {
        "settings": settings,
        "index": dict(getattr(rag.index, "manifest", {}) or {}).get("fingerprint"),
        "embedder": getattr(rag.embedder, "id", type(rag.embedder).__name__),
        "reranker": getattr(rag.reranker, "id", type(rag.reranker).__name__) if rag.reranker else None,
        "code": code_hash(),
        "pipeline": f"{type(rag).__module__}.{type(rag).__qualname__}",  # a wrapped pipeline answers differently
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


class GenerationCache:
    """Append-only answer cache: ``path`` is written, ``extra`` files (earlier runs) only read.

    Entries in ``path`` win over ``extra``; among ``extra`` files the first listed wins. An entry
    found only in ``extra`` is copied into ``path`` when used, so every report directory holds the
    generations it was scored on.
    """

    def __init__(self, path: Path, extra: Sequence[Path] = ()) -> None:
        self.path = Path(path)
        self.entries: dict[str, dict[str, Any]] = {}
        for p in reversed(list(extra)):  # later reads overwrite: the first listed is read last
            self.entries.update(self._read(Path(p)))
        self.own = self._read(self.path)
        self.entries.update(self.own)

    @staticmethod
    def _read(path: Path) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return out
        for line in lines:
            try:
                entry = json.loads(line)
                out[entry["key"]] = entry
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash: that answer is simply generated again
        return out

    @staticmethod
    def key(q: AnswerQuestion, settings_key: str, model: str) -> str:
        payload = [q.id, q.question, list(q.history), settings_key, model]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        entry = self.entries.get(key)
        if entry is not None and key not in self.own:
            self._append(entry)
        return entry

    def _append(self, entry: dict[str, Any]) -> None:
        self.own[entry["key"]] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def put(
        self,
        key: str,
        q: AnswerQuestion,
        settings_key: str,
        model: str,
        answer: dict[str, Any],
        history: Sequence[Mapping[str, str]] = (),
    ) -> None:
        """Record one generation, flushed at once so an interrupted run keeps what it paid for."""
        entry = {
            "key": key,
            "id": q.id,
            "settings_hash": settings_key,
            "model": model,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "history": list(history),
            "answer": answer,
        }
        self.entries[key] = entry
        self._append(entry)
