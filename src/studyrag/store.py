"""The index directory: build, check freshness, load; written atomically.

``<index_dir>/<index_name>/`` holds ``chunks.jsonl``, ``embeddings.npy`` (row i = chunk i),
``sentence_embeddings.npy`` (the chunks' sentences, see :func:`sentence_texts`), ``dense.faiss``
(with ``dense.faiss.owners.npy``: the chunk of each vector), ``bm25.npz`` + ``bm25.json``, with
question files beside the guides ``question_embeddings.npy`` + ``questions.json`` (each question and
the chunk it asks about, see ``questions.py``) and, written last, ``manifest.json``. The manifest
records a *fingerprint* (corpus file hashes, chunker budgets, embedder id, FAISS type, sentence
vectors, tokenizer) that is compared with the current corpus and settings on every open: a stale
index is rebuilt (or ``StaleIndexError`` names the change). A rebuild embeds only texts that are new.

Builds happen in ``.<name>.tmp-*`` next to the target and are swapped in with renames once every
file is fsynced, so a crash mid-build leaves the previous index in place, and a directory without
a complete manifest is never loaded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .config import Settings
from .dense import DenseIndex, Embedder, check_factory, embedder_id
from .errors import ConfigError, CorpusError, IndexError_, StaleIndexError
from .lexical import TOKENIZER_VERSION, BM25Index, tokenize
from .locking import exclusive
from .questions import SUFFIX as QUESTIONS_SUFFIX
from .questions import attach, questions_file, read_questions
from .records import Chunk

__all__ = [
    "FORMAT_VERSION",
    "BuildStats",
    "FiledQuestions",
    "Index",
    "IndexStatus",
    "IndexedGuide",
    "corpus_chunks",
    "corpus_files",
    "diff_fingerprints",
    "fingerprint",
    "index_status",
    "lexical_text",
    "open_index",
    "read_manifest",
    "chunk_sentences",
    "sentence_texts",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# the guide questions' vectors (row i asks about chunk row ``chunks[i]`` of the list file)
QUESTION_VECTORS = "question_embeddings.npy"
QUESTION_LIST = "questions.json"
_FIX = "run `studyrag index --rebuild`"
# a stale index needs no rebuild from scratch: `studyrag index` re-embeds only what changed
_UPDATE = "run `studyrag index` (it re-embeds only what changed)"
_WRITE_FIX = (
    "free some space, or set STUDYRAG_INDEX_DIR to a writable folder with room (the shipped guides need "
    "about 6 MB), then run `studyrag index`"
)


# Sentences shorter than this add a vector that matches anything ("See below.", "Key ideas:").
MIN_SENTENCE_WORDS = 4


def chunk_sentences(chunk: Chunk) -> list[str]:
    """The sentences of a chunk that get vectors of their own: those of at least
    ``MIN_SENTENCE_WORDS`` words, when there are two or more (a lone sentence is the chunk itself).

    >>> c = Chunk(id="x", source="g.md", path=("MoE",), text="Routers pick two experts. A balance "
    ...           "loss spreads tokens evenly. See below.", start=0, end=70)
    >>> chunk_sentences(c)
    ['Routers pick two experts.', 'A balance loss spreads tokens evenly.']
    """
    return list(_long_sentences(chunk.text))


# A rebuild splits the old index's chunks and the new ones, mostly the same texts; pysbd takes
# ~0.5 ms a line, so a corpus of a few thousand chunks would spend seconds splitting them twice.
@lru_cache(maxsize=20_000)
def _long_sentences(text: str) -> tuple[str, ...]:
    from .citations import split_sentences

    found = [s.strip() for s in split_sentences(text)]
    found = [s for s in found if len(s.split()) >= MIN_SENTENCE_WORDS]
    return tuple(found) if len(found) >= 2 else ()


def sentence_texts(chunk: Chunk) -> list[str]:
    """The extra texts embedded for a chunk: each of its :func:`chunk_sentences` after its section
    path.

    >>> c = Chunk(id="x", source="g.md", path=("MoE",), text="Routers pick two experts. A balance "
    ...           "loss spreads tokens evenly. See below.", start=0, end=70)
    >>> sentence_texts(c)
    ['MoE: Routers pick two experts.', 'MoE: A balance loss spreads tokens evenly.']
    """
    head = f"{chunk.section}: " if chunk.path else ""
    return [head + s for s in chunk_sentences(chunk)]


def lexical_text(chunk: Chunk) -> str:
    """What BM25 indexes: the heading path and the text (the guide title would add the same words
    to every chunk of a guide).

    >>> lexical_text(Chunk(id="x", source="g.md", path=("MoE", "Routing"), text="Top-k gates.",
    ...                    start=0, end=12, title="Guide"))
    'MoE › Routing\\nTop-k gates.'
    """
    return f"{chunk.section}\n{chunk.text}" if chunk.path else chunk.text


# ------------------------------------------------------------------------------------ records
@dataclass(frozen=True)
class BuildStats:
    """What ``open_index`` did: ``built`` False means the index was loaded as it was."""

    built: bool
    reason: str
    chunks: int
    embedded: int = 0  # chunks embedded by this build
    reused: int = 0  # chunk embeddings carried over from the previous index
    sentences: int = 0  # sentence vectors in the index (``Settings.sentence_vectors``)
    sentences_embedded: int = 0  # of which embedded by this build
    seconds: float = 0.0  # the whole open (build or load)
    embed_seconds: float = 0.0
    questions: int = 0  # guide questions added to BM25's text (``questions.py``)
    questions_lost: int = 0  # guide questions whose anchor no chunk holds
    questions_embedded: int = 0  # of ``questions``, embedded by this build (the rest reused)

    def describe(self) -> str:
        """One line for people: what was done, why, and what was re-embedded.

        >>> BuildStats(built=True, reason="corpus changed: notes.md", chunks=404, embedded=1, reused=403,
        ...            sentences=1461, sentences_embedded=3, seconds=2.5).describe()
        'rebuilt in 2.5 s (corpus changed: notes.md): embedded 1 chunk and 3 sentences, reused 403 chunks'
        >>> BuildStats(built=True, reason="missing", chunks=2, embedded=2, seconds=1.0).describe()
        'built in 1 s (missing): embedded 2 chunks, reused 0 chunks'
        >>> BuildStats(built=True, reason="missing", chunks=2, embedded=2, sentences=5, sentences_embedded=5,
        ...            questions=3, questions_embedded=3, seconds=1.0).describe()
        'built in 1 s (missing): embedded 2 chunks, 5 sentences and 3 guide questions, reused 0 chunks'
        >>> BuildStats(built=False, reason="fresh", chunks=404, seconds=0.4).describe()
        'loaded 404 chunks in 0.4 s (fresh)'
        """
        if not self.built:
            return f"loaded {self.chunks} chunks in {self.seconds:g} s ({self.reason})"
        parts = [f"{self.embedded} chunk{'s' * (self.embedded != 1)}"]
        if self.sentences:
            parts.append(f"{self.sentences_embedded} sentence{'s' * (self.sentences_embedded != 1)}")
        if self.questions_embedded:
            parts.append(f"{self.questions_embedded} guide question{'s' * (self.questions_embedded != 1)}")
        embedded = "embedded " + (f"{', '.join(parts[:-1])} and {parts[-1]}" if len(parts) > 1 else parts[0])
        verb = "built" if self.reason == "missing" else "rebuilt"
        return f"{verb} in {self.seconds:g} s ({self.reason}): {embedded}, reused {self.reused} chunks"


# ``BuildStats.reason`` of an index that another process built while this one waited for the lock
WAITED = "another process built it meanwhile"


@dataclass(frozen=True)
class Index:
    """A loaded index: chunk i is row i of the dense index and document i of BM25."""

    path: Path
    chunks: tuple[Chunk, ...]
    manifest: Mapping[str, Any]
    bm25: BM25Index
    dense: DenseIndex
    stats: BuildStats

    @cached_property
    def vocabulary(self) -> AbstractSet[str]:
        """The search terms the guides' own text uses: BM25's, less those only their question
        files use (``questions.py``), so a name that only a question mentions stays unknown.
        Without question files it is BM25's vocabulary itself, not a copy."""
        only = self.manifest.get("question_terms")
        return frozenset(self.bm25.vocab).difference(only) if only else self.bm25.vocab.keys()

    @cached_property
    def filed_questions(self) -> FiledQuestions:
        """The guide questions' vectors and the chunks they ask about (none without question files)."""
        if QUESTION_VECTORS not in self.manifest.get("files", {}):
            return FiledQuestions(np.zeros((0, self.dense.dim), dtype=np.float32), np.zeros(0, dtype=np.int64))
        try:
            _, rows, vectors = _read_questions(self.path)
            return FiledQuestions(vectors, rows)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise IndexError_(f"the guide questions of index {self.path} are unreadable ({e}); {_FIX}") from e


@dataclass(frozen=True)
class FiledQuestions:
    """The questions filed beside the guides (``questions.py``), embedded: row i of ``vectors``
    (normalized) asks about chunk row ``chunks[i]``."""

    vectors: np.ndarray
    chunks: np.ndarray


@dataclass(frozen=True)
class IndexedGuide:
    """One guide in an index: its file, its title and how many chunks it gave."""

    source: str
    title: str
    chunks: int


@dataclass(frozen=True)
class IndexStatus:
    """For ``studyrag info``: ``state`` is missing, fresh or stale (``reasons`` say why), and the
    guides the index holds. A directory that holds no usable index (half-written, damaged) is
    missing, with the reason.

    >>> print(IndexStatus("missing", Path("indexes/default"), ("damaged (dense.faiss is missing)",)))
    missing (indexes/default): damaged (dense.faiss is missing); run `studyrag index` to build it
    """

    state: Literal["missing", "fresh", "stale"]
    path: Path
    reasons: tuple[str, ...] = ()
    chunks: int = 0
    created: str = ""
    embedder: str = ""
    guides: tuple[IndexedGuide, ...] = ()

    def __str__(self) -> str:
        if self.state == "missing":
            why = "".join(f"{r}; " for r in self.reasons if r != "missing")
            return f"missing ({self.path}): {why}run `studyrag index` to build it"
        head = f"{self.state}: {self.chunks} chunks, built {self.created} with {self.embedder} ({self.path})"
        return head if self.state == "fresh" else f"{head}; {'; '.join(self.reasons)}; {_UPDATE}"


# ------------------------------------------------------------------------------ fingerprints
def corpus_files(corpus_dir: Path) -> list[Path]:
    """The guide files ``load_corpus`` reads from ``corpus_dir`` (non-hidden, of a ``loaders.SUFFIXES`` type), by name."""
    from .loaders import guide_files  # exactly the files load_corpus reads

    return guide_files(Path(corpus_dir))[0]


def _indexed_files(settings: Settings) -> list[Path]:
    """The guides, and the question files beside them when ``Settings.guide_questions`` is on."""
    guides = corpus_files(settings.corpus_dir)
    extra = [questions_file(p) for p in guides] if settings.guide_questions else []
    return guides + [p for p in extra if p.is_file()]


@dataclass(frozen=True)
class _LexicalDocs:
    """BM25's documents: each chunk's terms (``lexical_text``'s, then its guide's questions' about
    it), the terms only the questions use, and how many questions were attached or found no chunk
    holding their anchor."""

    terms: list[list[str]]
    question_terms: list[str]
    lost: int = 0
    asked: tuple[tuple[int, str], ...] = ()  # (chunk row, question) for each attached question

    @property
    def questions(self) -> int:
        return len(self.asked)


def _lexical_docs(settings: Settings, chunks: Sequence[Chunk]) -> _LexicalDocs:
    """BM25's documents for ``chunks``, with their guides' questions when ``Settings.guide_questions``."""
    terms = [tokenize(lexical_text(c)) for c in chunks]
    if not settings.guide_questions:
        return _LexicalDocs(terms, [])
    sources = sorted({c.source for c in chunks})
    attached, lost = attach(chunks, {s: read_questions(questions_file(Path(settings.corpus_dir) / s)) for s in sources})
    if not attached:  # no questions files (a user's own guides): skip the passes below
        return _LexicalDocs(terms, [], lost)
    asked = [tokenize("\n".join(attached.get(c.id, ()))) for c in chunks]
    only = {t for a in asked for t in a}.difference(t for d in terms for t in d)
    rows = tuple((i, q) for i, c in enumerate(chunks) for q in attached.get(c.id, ()))
    return _LexicalDocs([d + a for d, a in zip(terms, asked, strict=True)], sorted(only), lost, rows)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _chunker_version() -> str | None:
    from . import chunking

    return getattr(chunking, "CHUNKER_VERSION", getattr(chunking, "VERSION", None))


def fingerprint(settings: Settings, embedder_id_: str) -> dict[str, Any]:
    """Everything an index depends on; any difference from the manifest makes it stale."""
    return {
        "format": FORMAT_VERSION,
        "corpus": {p.name: _sha256(p) for p in _indexed_files(settings)},
        "chunker": {
            "chunk_tokens": settings.chunk_tokens,
            "chunk_overlap": settings.chunk_overlap,
            "min_chunk_tokens": settings.min_chunk_tokens,
            "version": _chunker_version(),
        },
        "embedder": embedder_id_,
        "faiss_index": settings.faiss_index,
        "dense": {
            "sentences": settings.sentence_vectors,
            "min_words": MIN_SENTENCE_WORDS,
            "margin": settings.sentence_margin if settings.sentence_vectors else 0.0,
            "questions": settings.guide_questions,  # the guide questions are embedded too
            # ...and lift the chunk they ask about in dense retrieval, like its sentences
            "question_vectors": settings.guide_questions and settings.question_vectors,
        },
        "lexical": {
            "tokenizer": TOKENIZER_VERSION,
            "text": "section+text+questions" if settings.guide_questions else "section+text",
        },
    }


def diff_fingerprints(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Human-readable differences, [] when equal.

    >>> diff_fingerprints({"corpus": {"a.md": "1", "b.md": "2"}, "embedder": "x"},
    ...                   {"corpus": {"a.md": "9", "c.md": "3"}, "embedder": "y"})
    ['corpus file changed: a.md', 'corpus file added: c.md', 'corpus file removed: b.md', 'embedder changed: x → y']
    """
    reasons: list[str] = []
    oc, nc = old.get("corpus", {}), new.get("corpus", {})
    reasons += [f"corpus file changed: {n}" for n in sorted(set(oc) & set(nc)) if oc[n] != nc[n]]
    reasons += [f"corpus file added: {n}" for n in sorted(set(nc) - set(oc))]
    reasons += [f"corpus file removed: {n}" for n in sorted(set(oc) - set(nc))]
    for key in sorted((set(old) | set(new)) - {"corpus"}):
        a, b = old.get(key), new.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            reasons += [
                f"{key} {k} changed: {a.get(k)} → {b.get(k)}"
                for k in sorted(set(a) | set(b))
                if a.get(k) != b.get(k)
            ]
        elif a != b:
            reasons.append(f"{key} changed: {a} → {b}")
    return reasons


# ------------------------------------------------------------------------------- directories
def _fsync(path: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:  # directories cannot be opened on Windows; nothing to sync there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of a complete index directory, else None (missing, half-written, foreign)."""
    return _read_manifest(directory)[0]


def _read_manifest(directory: Path) -> tuple[dict[str, Any] | None, str]:
    """``(manifest, "")`` for a complete index directory, else ``(None, why it is not one)``."""
    if not directory.exists():
        return None, "missing"
    try:
        m = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except OSError:
        return None, "incomplete (no finished manifest)"
    except ValueError:
        return None, f"incomplete or damaged ({MANIFEST} is not valid JSON)"
    if not isinstance(m, dict) or m.get("complete") is not True:
        return None, "incomplete (no finished manifest)"
    if m.get("format") != FORMAT_VERSION:
        return None, f"written in index format {m.get('format')!r}; this version reads {FORMAT_VERSION}"
    files = m.get("files", {})
    if not files:
        return None, "incomplete (its manifest lists no files)"
    for name, size in files.items():
        path = directory / name
        if not path.is_file():
            return None, f"damaged ({name} is missing)"
        if path.stat().st_size != size:
            return None, f"damaged ({name} has {path.stat().st_size:,} bytes; the manifest says {size:,})"
    return m, ""


@contextlib.contextmanager
def _build_lock(index_dir: Path, name: str) -> Iterator[None]:
    """One builder per index at a time (POSIX advisory lock; no-op where fcntl is missing)."""
    with contextlib.ExitStack() as stack:
        try:
            index_dir.mkdir(parents=True, exist_ok=True)
            stack.enter_context(exclusive(index_dir / f".{name}.lock"))
        except OSError as e:  # a read-only or full disk, a folder we may not write to
            if index_dir.exists() and not index_dir.is_dir():
                raise IndexError_(
                    f"the index folder {index_dir} is a file: set STUDYRAG_INDEX_DIR (or --index-dir) to a folder"
                ) from e
            raise IndexError_(f"cannot write an index in {index_dir} ({e}): {_WRITE_FIX}") from e
        yield


def _recover(index_dir: Path, name: str) -> None:
    """Under the build lock: put back an index left aside by a swap that crashed half-way, and
    delete leftovers of crashed builds."""
    target = index_dir / name
    olds = sorted(index_dir.glob(f".{name}.old-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    if not target.exists():
        for old in olds:
            if read_manifest(old) is not None:
                os.replace(old, target)
                log.warning("restored index %s from an interrupted swap", target)
                break
    for junk in [*index_dir.glob(f".{name}.tmp-*"), *index_dir.glob(f".{name}.old-*")]:
        shutil.rmtree(junk, ignore_errors=True)


def _swap_in(tmp: Path, target: Path) -> None:
    """Replace ``target`` with the complete directory ``tmp``; the old one is kept until then."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(target, old)
    os.replace(tmp, target)
    _fsync(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------------- building
def _chunk_to_json(c: Chunk) -> str:
    return json.dumps(dataclasses.asdict(c), ensure_ascii=False)


def _chunk_from_json(line: str) -> Chunk:
    d = json.loads(line)
    d["path"] = tuple(d["path"])
    return Chunk(**d)


def _load_chunks(directory: Path) -> tuple[Chunk, ...]:
    with open(directory / "chunks.jsonl", encoding="utf-8") as f:
        return tuple(_chunk_from_json(line) for line in f if line.strip())


def _dense_layout(fp: Mapping[str, Any]) -> tuple[bool, float]:
    """(sentence vectors?, their margin) as a fingerprint records them (older indexes: neither)."""
    dense = fp.get("dense", {})
    return bool(dense.get("sentences")), float(dense.get("margin", 0.0))


def _dense_texts(chunks: Sequence[Chunk], sentences: bool) -> tuple[list[str], np.ndarray]:
    """Every text the dense index embeds, in row order: the chunks' ``embed_text`` (row i = chunk
    i), then, with ``sentences``, each chunk's :func:`sentence_texts`; and the chunk of each row."""
    texts = [c.embed_text for c in chunks]
    owners = list(range(len(chunks)))
    if sentences:
        for i, c in enumerate(chunks):
            extra = sentence_texts(c)
            texts += extra
            owners += [i] * len(extra)
    return texts, np.asarray(owners, dtype=np.int64)


def _previous_vectors(directory: Path, emb_id: str, dim: int) -> dict[str, np.ndarray]:
    """Embedded text → vector, from an existing index built with the same embedder."""
    m = read_manifest(directory)
    if m is None or m["fingerprint"].get("embedder") != emb_id or m.get("dim") != dim:
        return {}
    try:
        chunks = _load_chunks(directory)
        vecs = np.load(directory / "embeddings.npy")
        sentences, _ = _dense_layout(m["fingerprint"])
        if sentences:
            vecs = np.concatenate([vecs, np.load(directory / "sentence_embeddings.npy")])
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    texts, _ = _dense_texts(chunks, sentences)
    if len(vecs) != len(texts):
        return {}
    known = dict(zip(texts, vecs, strict=True))
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):  # none, or unreadable: embed them again
        asked, _, vecs = _read_questions(directory)
        known.update(zip(asked, vecs, strict=True))
    return known


def _read_questions(directory: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The guide questions an index directory holds: their texts, the chunk row each asks about,
    and their vectors. Raises ``OSError``/``ValueError``/``KeyError`` when they are missing,
    unreadable or of different lengths."""
    listed = json.loads((directory / QUESTION_LIST).read_text(encoding="utf-8"))
    asked, rows = listed["questions"], np.asarray(listed["chunks"], dtype=np.int64)
    vectors = np.load(directory / QUESTION_VECTORS)
    if not len(asked) == len(rows) == len(vectors):
        raise ValueError(f"{len(asked)} questions, {len(rows)} chunk rows and {len(vectors)} vectors")
    return asked, rows, vectors


def corpus_chunks(settings: Settings, embedder: Embedder) -> list[Chunk]:
    """The chunks an index of ``settings.corpus_dir`` holds, made without embedding anything."""
    from .chunking import chunk_corpus
    from .loaders import load_corpus

    if not 0 < settings.chunk_tokens <= embedder.max_tokens:
        raise ConfigError(
            f"chunk_tokens={settings.chunk_tokens} is outside 1-{embedder.max_tokens} (the embedder reads at"
            f" most {embedder.max_tokens} word pieces): set STUDYRAG_CHUNK_TOKENS in that range"
        )
    docs = load_corpus(settings.corpus_dir)
    if not docs:
        raise CorpusError(
            f"no guides (.md/.txt/.pdf/.docx/.html) in {settings.corpus_dir}: add files or set STUDYRAG_CORPUS_DIR"
        )
    chunks = chunk_corpus(
        docs,
        embedder.count_tokens,
        max_tokens=settings.chunk_tokens,
        overlap=settings.chunk_overlap,
        min_tokens=settings.min_chunk_tokens,
        window=embedder.max_tokens,
    )
    if not chunks:
        raise CorpusError(f"the guides in {settings.corpus_dir} hold no text to index: add content")
    return list(chunks)


def _build(
    settings: Settings, embedder: Embedder, fp: dict[str, Any], reason: str, progress: bool
) -> BuildStats:
    t0 = time.perf_counter()
    index_dir, name = Path(settings.index_dir), settings.index_name
    target = index_dir / name
    check_factory(embedder.dim, settings.faiss_index)
    chunks = corpus_chunks(settings, embedder)

    known = _previous_vectors(target, embedder.id, embedder.dim)
    sentences, margin = _dense_layout(fp)
    texts, owners = _dense_texts(chunks, sentences)
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    todo = []
    for i, text in enumerate(texts):
        v = known.get(text)
        if v is None:
            todo.append(i)
        else:
            vectors[i] = v
    t_embed = time.perf_counter()
    if todo:
        vectors[todo] = embedder.embed([texts[i] for i in todo], progress=progress)
    embed_s = time.perf_counter() - t_embed
    n = len(chunks)
    chunks_embedded = sum(1 for i in todo if i < n)

    lexical = _lexical_docs(settings, chunks)
    if lexical.lost:
        log.warning(
            "%d guide question(s) no longer match their guide's text and were left out: fix their "
            "\"anchor\" in the *%s files (a verbatim piece of the passage)",
            lexical.lost,
            QUESTIONS_SUFFIX,
        )
    asked = [q for _, q in lexical.asked]
    asked_rows = np.asarray([i for i, _ in lexical.asked], dtype=np.int64)  # the chunk each asks about
    fresh = [q for q in dict.fromkeys(asked) if q not in known]
    t_embed = time.perf_counter()
    if fresh:
        known.update(zip(fresh, embedder.embed(fresh, progress=progress), strict=True))
    embed_s += time.perf_counter() - t_embed
    asked_vectors = np.stack([known[q] for q in asked]).astype(np.float32) if asked else None
    bm25 = BM25Index.from_tokens(lexical.terms)
    dense_vectors, dense_owners = vectors, owners
    if asked_vectors is not None and fp["dense"]["question_vectors"]:  # after the sentences' rows
        dense_vectors = np.concatenate([vectors, asked_vectors])
        dense_owners = np.concatenate([owners, asked_rows])
    extras = len(dense_vectors) > n
    dense = DenseIndex.build(dense_vectors, settings.faiss_index, dense_owners if extras else None, extra_margin=margin)

    tmp: Path | None = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=index_dir))
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            f.writelines(_chunk_to_json(c) + "\n" for c in chunks)
        np.save(tmp / "embeddings.npy", vectors[:n])
        if sentences:
            np.save(tmp / "sentence_embeddings.npy", vectors[n:])
        dense.save(tmp / "dense.faiss")
        bm25.save(tmp)
        if asked_vectors is not None:
            np.save(tmp / QUESTION_VECTORS, asked_vectors)
            listed = {"questions": asked, "chunks": asked_rows.tolist()}
            (tmp / QUESTION_LIST).write_text(json.dumps(listed, ensure_ascii=False), encoding="utf-8")
        stats = BuildStats(
            built=True,
            reason=reason,
            chunks=len(chunks),
            embedded=chunks_embedded,
            reused=n - chunks_embedded,
            sentences=len(texts) - n,
            sentences_embedded=len(todo) - chunks_embedded,
            seconds=round(time.perf_counter() - t0, 3),
            embed_seconds=round(embed_s, 3),
            questions=lexical.questions,
            questions_lost=lexical.lost,
            questions_embedded=len(fresh),
        )
        manifest = {
            "format": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "fingerprint": fp,
            "embedder": embedder.id,
            "dim": embedder.dim,
            "faiss_index": dense.factory,
            "chunk_count": len(chunks),
            "dense_extras": extras,  # the dense index holds sentence or question vectors besides the chunks'
            "sources": sorted({c.source for c in chunks}),
            "question_terms": lexical.question_terms,
            "settings": settings.as_dict(),
            "stats": dataclasses.asdict(stats),
            "files": {p.name: p.stat().st_size for p in sorted(tmp.iterdir())},
            "complete": True,
        }
        for p in tmp.iterdir():
            _fsync(p)
        # the manifest goes last: until it exists (fsynced) the directory is not an index
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _fsync(tmp / MANIFEST)
        _fsync(tmp)
        _swap_in(tmp, target)
    except (OSError, RuntimeError) as e:  # a full disk: numpy and FAISS report it with these
        raise IndexError_(
            f"could not write the index {target} ({e}); the previous index, if any, is untouched. "
            f"If the disk is full, {_WRITE_FIX}"
        ) from e
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info(
        "built index %s: %d chunks (%d embedded, %d reused)",
        target,
        stats.chunks,
        stats.embedded,
        stats.reused,
    )
    return stats


def _load(directory: Path, manifest: dict[str, Any], stats: BuildStats) -> Index:
    try:
        chunks = _load_chunks(directory)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IndexError_(f"chunks of index {directory} are unreadable ({e}); {_FIX}") from e
    bm25 = BM25Index.load(directory)
    sentences, margin = _dense_layout(manifest["fingerprint"])
    dense = DenseIndex.load(
        directory / "dense.faiss",
        manifest["faiss_index"],
        owners=manifest.get("dense_extras", sentences),
        extra_margin=margin,
    )
    if not (len(chunks) == bm25.n_docs == dense.size == manifest["chunk_count"]):
        raise IndexError_(f"index {directory} is inconsistent (chunk counts differ); {_FIX}")
    return Index(path=directory, chunks=chunks, manifest=manifest, bm25=bm25, dense=dense, stats=stats)


def _check(directory: Path, fp: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    m, problem = _read_manifest(directory)
    if m is None:
        return None, [problem]
    return m, diff_fingerprints(m.get("fingerprint", {}), fp)


# ------------------------------------------------------------------------------------ public
def open_index(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    on_stale: Literal["rebuild", "error"] = "rebuild",
    progress: bool = True,
) -> Index:
    """Load the index named by ``settings``, building it first when missing, stale or ``rebuild``.

    ``on_stale="error"`` raises ``StaleIndexError`` (naming what changed) instead of rebuilding a
    stale index; a missing index is always built.
    """
    if on_stale not in ("rebuild", "error"):
        raise ValueError(f"on_stale must be 'rebuild' or 'error', not {on_stale!r}")
    t0 = time.perf_counter()
    index_dir, name = Path(settings.index_dir), settings.index_name
    target = index_dir / name
    fp = fingerprint(settings, embedder.id)
    forced = "rebuild requested" if rebuild else None
    m, reasons = _check(target, fp)
    if m is not None and not reasons and forced is None:
        try:
            return _timed(_load(target, m, _loaded(m, "fresh")), t0)
        except IndexError_ as e:  # same sizes but damaged contents: rebuild rather than fail
            log.warning("%s", e)
            forced = f"unreadable: {e}"
    def refuse_if_stale() -> None:
        if m is not None and reasons and forced is None and on_stale == "error":
            raise StaleIndexError(f"index {target} is stale: {'; '.join(reasons)}. To update it, {_UPDATE}")

    refuse_if_stale()
    with _build_lock(index_dir, name):
        _recover(index_dir, name)
        m, reasons = _check(target, fp)  # another process may have built it while we waited
        if m is not None and not reasons and forced is None:
            return _timed(_load(target, m, _loaded(m, WAITED)), t0)
        refuse_if_stale()
        stats = _build(settings, embedder, fp, forced or "; ".join(reasons), progress)
        m = read_manifest(target)
        if m is None:
            raise IndexError_(f"index {target} was built but cannot be read back; check the disk and {_FIX}")
        return _timed(_load(target, m, stats), t0)


def _loaded(manifest: Mapping[str, Any], reason: str) -> BuildStats:
    """The stats of an index loaded as it was: nothing embedded, and what it holds as its build said.

    >>> _loaded({"chunk_count": 3, "stats": {"sentences": 9, "questions": 2, "embedded": 3}}, "fresh")
    BuildStats(built=False, reason='fresh', chunks=3, embedded=0, reused=0, sentences=9, sentences_embedded=0, seconds=0.0, embed_seconds=0.0, questions=2, questions_lost=0, questions_embedded=0)
    """
    built = manifest.get("stats", {})
    held = {k: built[k] for k in ("sentences", "questions", "questions_lost") if k in built}
    return BuildStats(built=False, reason=reason, chunks=manifest["chunk_count"], **held)


def _timed(index: Index, t0: float) -> Index:
    """``index`` with the wall time since ``t0`` recorded in its stats."""
    return dataclasses.replace(
        index, stats=dataclasses.replace(index.stats, seconds=round(time.perf_counter() - t0, 3))
    )


def index_status(settings: Settings, embedder_id_: str | None = None) -> IndexStatus:
    """Missing, fresh or stale (and why), without loading any model.

    ``embedder_id_`` defaults to the id of ``settings.embedder`` (see ``dense.embedder_id``).
    """
    if embedder_id_ is None:
        from .models import resolve_embedder

        embedder_id_ = embedder_id(resolve_embedder(settings.embedder, settings.cache_dir))
    target = Path(settings.index_dir) / settings.index_name
    m, reasons = _check(target, fingerprint(settings, embedder_id_))
    if m is None:
        return IndexStatus(state="missing", path=target, reasons=tuple(reasons))
    return IndexStatus(
        state="stale" if reasons else "fresh",
        path=target,
        reasons=tuple(reasons),
        chunks=m.get("chunk_count", 0),
        created=m.get("created", ""),
        embedder=m.get("embedder", ""),
        guides=_indexed_guides(target),
    )


def _indexed_guides(directory: Path) -> tuple[IndexedGuide, ...]:
    """The guides of the index in ``directory``, by file name (none if its chunks cannot be read)."""
    try:
        chunks = _load_chunks(directory)
    except (OSError, ValueError, KeyError, TypeError):
        return ()
    counts: dict[str, int] = {}
    titles: dict[str, str] = {}
    for c in chunks:
        counts[c.source] = counts.get(c.source, 0) + 1
        titles.setdefault(c.source, c.title)
    return tuple(IndexedGuide(source, titles[source], counts[source]) for source in sorted(counts))
