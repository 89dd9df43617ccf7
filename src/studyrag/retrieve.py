"""Hybrid retrieval: BM25 and dense search over one index, their scores fused (``fusion.py``).

>>> from studyrag.fakes import FakeEmbedder
>>> from studyrag.dense import DenseIndex
>>> from studyrag.lexical import BM25Index
>>> from studyrag.records import Chunk
>>> texts = ["Mixture of experts routes tokens", "LoRA adds low-rank adapters", "GPT-4 is a model"]
>>> chunks = tuple(Chunk(id=str(i), source="g.md", path=("S",), text=t, start=0, end=len(t))
...                for i, t in enumerate(texts))
>>> emb = FakeEmbedder()
>>> r = HybridRetriever.from_parts(chunks, BM25Index.build(texts), DenseIndex.build(emb.embed(texts)), emb)
>>> [(h.rank, h.chunk.id, h.bm25_rank, h.dense_rank) for h in r.search("low-rank adapters", k=1)]
[(1, '1', 1, 1)]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .asking import asked_subject, compared
from .config import Settings
from .errors import BadQuestionError, StaleIndexError
from .fusion import Scored, Spread, fuse, to_hits
from .labels import acronym_aliases, chunk_names, each_named_first, named_first, path_names
from .lexical import STOP_WORDS, score_moments, tokenize, top_k
from .spelling import is_english, respell

if TYPE_CHECKING:
    from .dense import DenseIndex, Embedder
    from .lexical import BM25Index
    from .records import Chunk, Hit
    from .store import Index

__all__ = ["HybridRetriever", "MIN_CANDIDATES", "GATE_DOCS"]

# Each retriever contributes at least this many candidates to fusion: a chunk ranked 40th by
# one retriever and 3rd by the other must still be seen by fusion.
MIN_CANDIDATES = 50
# BM25's weight follows how much of the question the best of its first GATE_DOCS matches covers.
GATE_DOCS = 5
# the words a typing slip may be read as (``spelling.respell``)
_LETTERS = re.compile(r"[a-z]{4,}")


@dataclass(frozen=True)
class _Parts:
    chunks: tuple[Chunk, ...]
    bm25: BM25Index
    dense: DenseIndex


class HybridRetriever:
    """``search`` fuses BM25 and dense results; ``search_bm25``/``search_dense`` give each alone."""

    def __init__(
        self,
        index: Index | _Parts,
        embedder: Embedder,
        settings: Settings | None = None,
        *,
        query_cache: int = 256,
    ) -> None:
        self.index = index
        self.chunks: tuple[Chunk, ...] = tuple(index.chunks)
        self.embedder = embedder
        self.settings = settings or Settings()
        if embedder.dim != index.dense.dim:
            raise StaleIndexError(
                f"the index holds {index.dense.dim}-d vectors but the embedder {embedder.id} makes "
                f"{embedder.dim}-d ones; run `studyrag index --rebuild`"
            )
        self._positions = {c.id: i for i, c in enumerate(self.chunks)}
        # Evaluation asks search, search_dense (and the app re-asks) the same query: embed it once.
        self._embed_query = lru_cache(maxsize=query_cache)(self._embed_query_uncached)
        self._respell = lru_cache(maxsize=query_cache)(self._respell_uncached)

    @classmethod
    def from_parts(
        cls,
        chunks: Sequence[Chunk],
        bm25: BM25Index,
        dense: DenseIndex,
        embedder: Embedder,
        settings: Settings | None = None,
        *,
        query_cache: int = 256,
    ) -> HybridRetriever:
        """A retriever over in-memory parts (benchmarks, tests) instead of an index directory."""
        return cls(_Parts(tuple(chunks), bm25, dense), embedder, settings, query_cache=query_cache)

    def _query(self, query: str) -> str:
        if not isinstance(query, str) or not query.strip():
            raise BadQuestionError("the query is empty: type a question or some keywords")
        return self.respell(query)

    def respell(self, query: str) -> str:
        """``query`` with its typing slips read as the guides' words (``spelling.respell``) when
        ``Settings.respell`` is on: "what is paged atention?" searches for "paged attention"."""
        return self._respell(query) if self.settings.respell else query

    def _respell_uncached(self, query: str) -> str:
        return respell(query, self._words.__getitem__, is_word=self._is_word)

    def _is_word(self, word: str) -> bool:
        """An English word, or one whose search term the guides use ("maths", "denoiser"): a word
        of its own, not a slip."""
        return is_english(word) or all(t in self.index.vocabulary for t in tokenize(word))

    @cached_property
    def _words(self) -> Counter[str]:
        """How many chunks use each word of four letters or more, lower case, as written (read on
        the first question: 4 ms for the shipped guides' 404 chunks, about 1 s at 100k); a stop
        word counts as used by all, so "expalin" is read as "explain"."""
        from .store import lexical_text  # what BM25 reads: the headings too

        words: Counter[str] = Counter()
        for c in self.chunks:
            words.update(set(_LETTERS.findall(lexical_text(c).lower())))
        words.update(dict.fromkeys(STOP_WORDS, len(self.chunks)))
        return words

    def _bm25(self, query: str, n: int):
        return self.index.bm25.search(query, n)

    def _embed_query_uncached(self, query: str) -> np.ndarray:
        # the query as typed: MiniLM was trained on raw questions, no instruction prefix
        return self.embedder.embed([query])[0]

    def _dense(self, query: str, n: int):
        return self.index.dense.search(self._embed_query(query), n)

    def query_vector(self, query: str, expansion: str = "") -> np.ndarray:
        """The dense query: the question's vector, or with an ``expansion`` (a hypothetical passage,
        ``hyde.py``) the normalized mean of the question's and the passage's vectors."""
        vector = self._embed_query(self._query(query))
        if not expansion.strip():
            return vector
        from .dense import normalize

        return normalize((vector + self._embed_query(expansion))[None])[0]

    def items(self, guides: Collection[str] | None) -> np.ndarray | None:
        """The positions of the chunks of ``guides`` (source names), or ``None`` for every guide.

        >>> from studyrag.fakes import FakeEmbedder
        >>> from studyrag.dense import DenseIndex
        >>> from studyrag.lexical import BM25Index
        >>> from studyrag.records import Chunk
        >>> chunks = [Chunk(id=str(i), source=s, path=("S",), text="t", start=0, end=1) for i, s in enumerate("aba")]
        >>> emb = FakeEmbedder()
        >>> r = HybridRetriever.from_parts(chunks, BM25Index.build(["t"] * 3), DenseIndex.build(emb.embed(["t"] * 3)), emb)
        >>> r.items(["a"]).tolist(), r.items(None)
        ([0, 2], None)
        """
        if guides is None:
            return None
        parts = [self.by_source[g] for g in set(guides) if g in self.by_source]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    @cached_property
    def by_source(self) -> dict[str, np.ndarray]:
        """Each guide's (source name's) chunk positions, in chunk order; made on first use."""
        rows: dict[str, list[int]] = {}
        for i, c in enumerate(self.chunks):
            rows.setdefault(c.source, []).append(i)
        return {g: np.array(r, dtype=np.int64) for g, r in rows.items()}

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        candidates: int | None = None,
        expansion: str = "",
        guides: Collection[str] | None = None,
    ) -> list[Hit]:
        """Top ``k`` chunks by fusing ``candidates`` from each retriever (default ``max(k, 50)``)
        as ``Settings.fusion`` says. Each ``Hit`` carries both component ranks and scores.
        ``expansion`` joins the dense query only (:meth:`query_vector`); BM25 reads the question.
        ``guides`` (source names) keeps the search to their chunks (each retriever's scores are
        still standardised over the whole index)."""
        query = self._query(query)
        n = max(k, candidates if candidates is not None else MIN_CANDIDATES)
        s = self.settings
        items = self.items(guides)
        vector, scores = self.query_vector(query, expansion), self.index.bm25.scores(query)
        bm25, dense = top_k(_only(scores, items), n), self.index.dense.search(vector, n, items=items)
        spreads = self._spreads(scores, vector, bm25, dense, n) if s.fusion == "zscore" else None
        pair = compared(query) if s.label_first else None
        subject = asked_subject(query) if s.label_first and not pair else None
        hits = fuse(
            bm25,
            dense,
            self.chunks,
            method=s.fusion,
            rrf_k=s.rrf_k,
            spreads=spreads,
            bm25_weight=self.bm25_weight(query, bm25),
            dense_weight=s.dense_weight,
            k=n if subject or pair else k,  # a chunk named what the question asks about may sit below k
        )
        if subject:
            hits = named_first(hits, subject, lambda h: self.names[h.chunk.id], self.aliases)[:k]
        elif pair:
            hits = each_named_first(hits, pair, lambda h: self.names[h.chunk.id])[:k]
        return hits

    @cached_property
    def names(self) -> dict[str, frozenset[str]]:
        """Each chunk's names (its bold label's, ``labels.chunk_names``, and its headings',
        ``labels.path_names``), by chunk id; made on first use."""
        return {c.id: chunk_names(c.text) | path_names(c.path) for c in self.chunks}

    @cached_property
    def aliases(self) -> dict[str, str]:
        """The acronym the guides' headings give each spelt-out name ("mixture of experts": "moe"),
        ``labels.acronym_aliases``: "What is a mixture of experts?" also finds the passages named
        MoE. Made on first use."""
        return acronym_aliases(heading for c in self.chunks for heading in c.path)

    def bm25_weight(self, query: str, bm25: Sequence[Scored]) -> float:
        """BM25's fusion weight for ``query`` given its BM25 list: ``Settings.bm25_weight``, times
        ``BM25Index.coverage`` over the list's first ``GATE_DOCS`` when ``Settings.bm25_gate``."""
        s = self.settings
        if not s.bm25_gate:
            return s.bm25_weight
        return s.bm25_weight * self.index.bm25.coverage(query, [h.index for h in bm25[:GATE_DOCS]])

    def _spreads(
        self, bm25_scores: np.ndarray, vector: np.ndarray, bm25: Sequence[Scored], dense: Sequence[Scored], n: int
    ) -> dict[str, Spread]:
        """Each retriever's score statistics over the whole index, for z-score fusion. A chunk
        missing from a list is assumed to score that list's last score (an upper bound), or 0 for
        BM25 when its list is short because no other chunk shares a term with the query."""
        b_mean, b_std = score_moments(bm25_scores)
        d_mean, d_std = self.index.dense.moments(vector)
        b_floor = bm25[-1].score if len(bm25) >= n else 0.0
        d_floor = dense[-1].score if dense else d_mean
        return {"bm25": Spread(b_mean, b_std, b_floor), "dense": Spread(d_mean, d_std, d_floor)}

    def confidence(self, query: str, guides: Collection[str] | None = None) -> float | None:
        """The best cosine between ``query`` and a chunk's own vector (not its sentences'): what
        the abstention threshold is calibrated on. Sentence vectors rank chunks better, but a short
        sentence also matches questions the guides do not answer, so the best sentence separates
        answerable from unanswerable questions less well. ``None`` for an empty index (or scope)."""
        vector = self._embed_query(self._query(query))
        top = self.index.dense.search(vector, 1, own=True, items=self.items(guides))
        return top[0].score if top else None

    def asked_before(self, query: str, guides: Collection[str] | None = None) -> float:
        """The best cosine between ``query`` and a question filed beside one of ``guides``
        (``questions.py``; all guides for ``None``); 0 when they have none. A student's question
        that reads like one a guide's authors asked about a passage is one the guide answers, even
        when its words sit far from the passage's (``pipeline`` does not decline it)."""
        filed = getattr(self.index, "filed_questions", None)  # in-memory parts have none
        if filed is None or not len(filed.chunks):
            return 0.0
        sims = filed.vectors @ self._embed_query(self._query(query))
        items = self.items(guides)
        if items is not None:
            sims = sims[np.isin(filed.chunks, items)]
        return float(sims.max()) if sims.size else 0.0

    def key_sentences(self, query: str, hits: Sequence[Hit]) -> dict[str, str]:
        """For each hit whose chunk has several sentences (``store.chunk_sentences``), the one to
        mark, keyed by chunk id. The prompt sets it in bold (``prompt.highlight``): the 1.5B model
        then reads the answer from the right line of a list instead of a look-alike line of another
        source.

        A hit labelled what the question asks about (``Hit.named``) that opens its entry gets its
        first sentence, the one its label or heading introduces: asked "What is LoRA?", every
        sentence of LoRA's entry sat 0.0-0.12 from the question, and the closest was "- A:
        trainable matrix (r × k)". A comparison keeps the closest sentences: what it asks is the
        difference ("What makes ORPO different from DPO?": "Eliminates DPO's reference-model
        requirement"), not each side's definition. Every other hit gets its sentence closest to
        ``query`` (:meth:`closest_sentences`)."""
        from .store import chunk_sentences

        firsts: dict[str, str] = {}
        if not compared(self.respell(query)):  # read as search read it, typing slips mended
            for h in hits:
                if h.named and self._opens_entry(h.chunk) and (sentences := chunk_sentences(h.chunk)):
                    firsts[h.chunk.id] = sentences[0]
        rest = [h for h in hits if h.chunk.id not in firsts]
        return {**self.closest_sentences(query, rest), **firsts}

    def _opens_entry(self, chunk: Chunk) -> bool:
        """The chunk starts with a bold label, or is the first chunk of its section."""
        return bool(chunk_names(chunk.text)) or self._section_starts.get((chunk.source, chunk.path)) == chunk.start

    @cached_property
    def _section_starts(self) -> dict[tuple[str, tuple[str, ...]], int]:
        """Where each section's first chunk starts, by (guide, section path)."""
        starts: dict[tuple[str, tuple[str, ...]], int] = {}
        for c in self.chunks:
            key = (c.source, c.path)
            starts[key] = min(starts.get(key, c.start), c.start)
        return starts

    def closest_sentences(self, query: str, hits: Sequence[Hit]) -> dict[str, str]:
        """For each hit whose chunk has several sentences, the one closest to ``query``, keyed by
        chunk id. Embedded as the index embeds sentences (after the section path), so it is the
        sentence that lifted the chunk when one did."""
        from .dense import normalize
        from .store import chunk_sentences, sentence_texts

        vector = self._embed_query(self._query(query))
        out: dict[str, str] = {}
        unstored: list[tuple[Chunk, list[str]]] = []
        for h in hits:
            sentences = chunk_sentences(h.chunk)
            if not sentences:
                continue
            # the index's own sentence vectors when it has them: no embedding on the answer path
            pos = self._positions.get(h.chunk.id)
            stored = None if pos is None or self.chunks[pos] != h.chunk else self.index.dense.extra_vectors(pos)
            if stored is not None:
                stored = stored[: len(sentences)]  # a chunk's sentence rows come before its questions'
            if stored is None or len(stored) != len(sentences):
                unstored.append((h.chunk, sentences))
            else:
                out[h.chunk.id] = sentences[int(np.argmax(stored @ vector))]
        if unstored:
            vectors = normalize(self.embedder.embed([t for c, _ in unstored for t in sentence_texts(c)]))
            start = 0
            for c, sentences in unstored:
                out[c.id] = sentences[int(np.argmax(vectors[start : start + len(sentences)] @ vector))]
                start += len(sentences)
        return out

    def search_bm25(self, query: str, k: int = 10) -> list[Hit]:
        """BM25 alone (``score`` = BM25 score); chunks sharing no term with the query are left out."""
        return to_hits(self._bm25(self._query(query), k), self.chunks, kind="bm25")

    def search_dense(self, query: str, k: int = 10) -> list[Hit]:
        """Dense alone (``score`` = cosine similarity)."""
        return to_hits(self._dense(self._query(query), k), self.chunks, kind="dense")


def _only(scores: np.ndarray, items: np.ndarray | None) -> np.ndarray:
    """``scores`` with every position outside ``items`` zeroed (``None``: all kept).

    >>> _only(np.array([1.0, 2.0, 3.0]), np.array([0, 2])).tolist()
    [1.0, 0.0, 3.0]
    """
    if items is None:
        return scores
    kept = np.zeros_like(scores)
    kept[items] = scores[items]
    return kept
