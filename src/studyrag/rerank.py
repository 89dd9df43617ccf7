"""Cross-encoder reranking: read each (question, passage) pair together and reorder the fused hits.

The hybrid retriever ranks passages by matching words and by comparing two separately made vectors;
a cross-encoder reads the question and the passage *together*, which sorts the last few candidates
much better. ``rerank_hits`` is pure given a ``Reranker``; ``load_reranker`` is the only I/O.

>>> from studyrag.fakes import FakeReranker
>>> from studyrag.records import Chunk, Hit
>>> hits = [Hit(Chunk(id=i, source="g.md", path=("S",), text=t, start=0, end=1), score=s, rank=r,
...             fused_score=s) for r, (i, t, s) in enumerate([("a", "GPUs are fast", 0.9),
...                                                           ("b", "LoRA adds adapters", 0.8)], 1)]
>>> [(h.rank, h.chunk.id, h.fused_score, h.rerank_score) for h in rerank_hits(FakeReranker(), "LoRA adapters", hits, 2)]
[(1, 'b', 0.8, 1.0), (2, 'a', 0.9, 0.0)]
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from .errors import ModelCorruptError, ModelNotFoundError

if TYPE_CHECKING:
    from .config import Settings
    from .records import Chunk, Hit

__all__ = ["Reranker", "CrossEncoderReranker", "rerank_text", "rerank_hits", "load_reranker"]

log = logging.getLogger(__name__)


@runtime_checkable
class Reranker(Protocol):
    """Scores passages for a query; higher is more relevant. ``id`` names the model (for reports)."""

    id: str

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray: ...


def rerank_text(chunk: Chunk) -> str:
    """What the cross-encoder reads for a chunk: guide title and heading path, then the text.

    The heading often names the concept the text only describes ("Speculative Decoding" over a
    paragraph about draft models); on the evaluation set it scored better than the bare text
    (see docs/reranker.md).
    """
    return chunk.embed_text


def rerank_hits(
    reranker: Reranker,
    query: str,
    hits: Sequence[Hit],
    top_n: int,
    *,
    text_of: Callable[[Chunk], str] | None = None,
) -> list[Hit]:
    """The ``top_n`` best of ``hits`` by reranker score, renumbered 1..n.

    Each returned hit keeps its component scores (bm25, dense, fused); ``rerank_score`` and ``score``
    become the reranker's score. Ties keep the fused order. ``text_of`` picks what is scored
    (default ``rerank_text``).
    """
    if not hits or top_n <= 0:
        return []
    scores = np.asarray(
        reranker.score(query, [(text_of or rerank_text)(h.chunk) for h in hits]), dtype=np.float64
    )
    if scores.shape != (len(hits),):
        raise ValueError(f"reranker {reranker.id} returned {scores.shape} scores for {len(hits)} passages")
    order = sorted(range(len(hits)), key=lambda i: (-scores[i], i))[:top_n]
    return [
        dataclasses.replace(hits[i], score=float(scores[i]), rerank_score=float(scores[i]), rank=rank)
        for rank, i in enumerate(order, 1)
    ]


def _identity(x):  # a module-level function, so the model stays picklable
    return x


class CrossEncoderReranker:
    """A sentence-transformers ``CrossEncoder`` (a local folder or a hub id) as a ``Reranker``.

    Scores are the model's raw logits (no sigmoid): a sigmoid squashes the best candidates into ties
    near 1.0.
    """

    def __init__(
        self, path_or_id: str | Path, *, batch_size: int = 32, max_length: int = 256, device: str = "cpu"
    ):
        spec = str(path_or_id)
        path = Path(spec).expanduser()
        looks_local = path.is_absolute() or spec.startswith((".", "~")) or path.exists()
        if looks_local and not path.is_dir():
            raise ModelNotFoundError(
                f"no cross-encoder folder at {spec}: set STUDYRAG_RERANKER to 'default', an existing "
                f"sentence-transformers CrossEncoder folder or a hub id, or STUDYRAG_RERANK=false"
            )
        if not looks_local:
            from .models import require_hub_model

            require_hub_model(spec, "cross-encoder", "set STUDYRAG_RERANKER to 'default' or a CrossEncoder folder")
        try:
            from sentence_transformers import CrossEncoder

            self.model = CrossEncoder(
                str(path) if looks_local else spec, max_length=max_length, device=device
            )
        except Exception as e:  # hub unreachable, damaged weights, not a cross-encoder...
            cls = ModelCorruptError if looks_local else ModelNotFoundError
            raise cls(
                f"could not load the cross-encoder {spec} ({type(e).__name__}: {e}): point STUDYRAG_RERANKER at "
                f"a working CrossEncoder folder, use 'default', or set STUDYRAG_RERANK=false"
            ) from e
        self.id = f"cross-encoder:{path.name if looks_local else spec}"
        self.path = spec
        self.batch_size = batch_size
        self.max_length = max_length

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        # sentence-transformers sorts the pairs by length before batching, so little goes into padding
        raw = self.model.predict(
            [(query, t) for t in texts],
            batch_size=self.batch_size,
            show_progress_bar=False,
            activation_fn=_identity,
            convert_to_numpy=True,
        )
        return np.asarray(raw, dtype=np.float32).reshape(len(texts), -1)[:, 0]


def load_reranker(settings: Settings, *, progress: bool = True) -> Reranker:
    """The reranker ``settings.reranker`` names; raises ``ModelNotFoundError``/``ModelCorruptError``.

    ``"default"`` is StudyRAG's own MiniLM cross-encoder, adapted to the guides. No package ships its
    weights, so the first call trains it from the packaged MiniLM encoder and the committed synthetic
    training set (a few minutes on a laptop CPU) and keeps it in the cache directory.
    """
    if settings.reranker == "default":
        from .rerank_train import ensure_default_reranker

        path = ensure_default_reranker(settings, progress=progress)
        return CrossEncoderReranker(path, max_length=DEFAULT_MAX_LENGTH)
    return CrossEncoderReranker(settings.reranker)


DEFAULT_MAX_LENGTH = 256
