"""Lexical retrieval: a tokenizer fit for ML study guides and a BM25 (Okapi) index.

The tokenizer keeps technical tokens whole *and* emits their parts, so ``Q4_K_M``, ``GPT-4`` and
``ZeRO-3`` match exactly while ``GPT 4`` or ``zero 3`` still meet them; it stems plain words
(``quantized`` meets ``quantization``) and drops stop words so "what is the" ranks nothing.

>>> tokenize("What is the Q4_K_M quantized GPT-4?")
['q4_k_m', 'q4', 'quantiz', 'gpt-4', 'gpt', '4']

Scores follow ``rank_bm25.BM25Okapi`` exactly (its idf, k1, b and epsilon floor); the index keeps
them as a sparse term x document weight matrix so a query costs a sparse row sum, not a Python
loop over every document (that loop is ~100 ms per query at 100k chunks).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import snowballstemmer
from rank_bm25 import BM25Okapi
from scipy import sparse

from .errors import IndexError_
from .fusion import Scored

__all__ = ["TOKENIZER_VERSION", "STOP_WORDS", "tokenize", "BM25Index", "top_k", "score_moments"]

# Bump when tokenize() changes: the index manifest records it, so old indexes are rebuilt.
TOKENIZER_VERSION = "2"  # 2: Chinese and Japanese runs become overlapping character pairs

# English function words (contractions as the tokenizer cuts them: don't -> don) plus question
# boilerplate ("explain", "tell me"): words that say nothing about *which* passage answers.
# Domain words are deliberately absent.
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn
    doing don down during each either etc few for from further had has have having he her here
    hers herself him himself his how i if in into is isn it its itself just let me more
    most my myself no nor not now of off on once only or other ought our ours ourselves out over
    own per same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up upon us very via was we were what when
    where which while who whom whose why will with within without would you your yours yourself
    yourselves vs versus explain describe tell please give show mean means meant define definition
    """.split()  # noqa: SIM905
)

_GREEK = "αβγδεζηθικλμνξοπρστυφχψω"
_GREEK_NAMES = (
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
)
_GREEK_TO_NAME = dict(zip(_GREEK, _GREEK_NAMES, strict=True))
# A Greek letter standing alone as a symbol (β in β-VAE: no letter either side), not inside a
# word, is spelled out so that "beta-VAE" and "β-VAE" meet.
_GREEK_SYMBOL = re.compile(rf"(?<![^\W\d_])([{_GREEK}])(?![^\W\d_])")
_POSSESSIVE = re.compile(r"['’]s\b")
# Letters/digits joined by - _ . : a "compound" like gpt-4, q4_k_m, zero_point, llama-3.1.
_COMPOUND = re.compile(r"[^\W_]+(?:[-_.][^\W_]+)*")
_PART = re.compile(r"[^\W_]+")
_HAS_ALPHA = re.compile(r"[^\W\d_]")

# Chinese and Japanese write no spaces: a run of these characters would be one "word" the length
# of a sentence, matching nothing. Each run is indexed as its overlapping pairs of characters
# instead (as Lucene's CJK analyzer does), so 过拟合 in a question meets 过拟合 in a guide.
_CJK = re.compile("[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def _norm_word(word: str) -> str:
    """Stem a plain alphabetic word; leave words with digits (``4bit``, ``8x7b``) as they are."""
    if len(word) > 3 and word.isalpha():
        return _stemmer.stemWord(word)
    return word


def _keep(part: str) -> bool:
    # Single letters (the k of top-k, the x of x_t) are noise; single digits (Llama 3) are not.
    return part not in STOP_WORDS and (len(part) > 1 or part.isdigit() or not part.isascii())


def tokenize(text: str) -> list[str]:
    """Lowercased, NFKC-normalized, stemmed search terms of ``text`` with stop words removed.

    A compound token is emitted whole (last part stemmed) and then as its parts:

    >>> tokenize("ZeRO-3 shards optimizer states; Mixtral 8x7B")
    ['zero-3', 'zero', '3', 'shard', 'optim', 'state', 'mixtral', '8x7b']
    >>> tokenize("β-VAE versus beta-VAE")
    ['beta-vae', 'beta', 'vae', 'beta-vae', 'beta', 'vae']
    >>> tokenize("Quantization quantized QUANTIZING")
    ['quantiz', 'quantiz', 'quantiz']
    >>> tokenize("How do I fine-tune a model's state-of-the-art LoRA?")
    ['fine-tune', 'fine', 'tune', 'model', 'state-of-the-art', 'state', 'art', 'lora']
    >>> tokenize("what is the")
    []
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _POSSESSIVE.sub("", text)
    text = _GREEK_SYMBOL.sub(lambda m: _GREEK_TO_NAME[m.group(1)], text)
    out: list[str] = []
    for m in _COMPOUND.finditer(text):
        whole = m.group()
        if _CJK.search(whole):
            out.extend(_cjk_terms(whole))
            continue
        parts = _PART.findall(whole)
        if len(parts) == 1:
            if _keep(whole):
                out.append(_norm_word(whole))
            continue
        # Stem the head word of the compound so fine-tuned and fine-tuning meet.
        out.append(whole[: len(whole) - len(parts[-1])] + _norm_word(parts[-1]))
        if _HAS_ALPHA.search(whole):  # 1.5 is a number, not a compound of 1 and 5
            out.extend(_norm_word(p) for p in parts if _keep(p))
    return out


def top_k(scores: np.ndarray, k: int) -> list[Scored]:
    """The ``k`` best positive ``scores``, best first (ties: lower index first).

    >>> [(s.index, s.score) for s in top_k(np.array([0.5, 2.0, 0.0, 2.0]), 3)]
    [(1, 2.0), (3, 2.0), (0, 0.5)]
    """
    k = min(k, scores.size)
    if k <= 0:
        return []
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.lexsort((top, -scores[top]))]
    return [Scored(int(i), float(scores[i])) for i in top if scores[i] > 0]


def score_moments(scores: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of every document's score, matched or not (z-score fusion).

    >>> score_moments(np.array([0.0, 0.0, 3.0, 1.0]))
    (1.0, 1.224744871391589)
    """
    return (float(scores.mean()), float(scores.std())) if scores.size else (0.0, 0.0)


def _cjk_terms(word: str) -> list[str]:
    """A word with Chinese or Japanese characters → each such run as overlapping character pairs
    (a lone character as itself), the rest tokenized as usual.

    >>> _cjk_terms("什么是过拟合"), _cjk_terms("GPT模型")
    (['什么', '么是', '是过', '过拟', '拟合'], ['gpt', '模型'])
    """
    out: list[str] = []
    end = 0
    for m in _CJK.finditer(word):
        out += tokenize(word[end : m.start()])
        run = m.group()
        out += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
        end = m.end()
    return out + tokenize(word[end:])


class BM25Index:
    """BM25 Okapi over tokenized texts; scores equal ``rank_bm25.BM25Okapi.get_scores``.

    >>> idx = BM25Index.build(["mixture of experts routing", "low-rank adaptation LoRA", "GPT-4 model"])
    >>> [(s.index, round(s.score, 3)) for s in idx.search("LoRA adapters", k=2)]
    [(1, 0.918)]
    """

    def __init__(
        self,
        vocab: dict[str, int],
        weights: sparse.csr_matrix,
        *,
        k1: float,
        b: float,
        epsilon: float,
        tokenizer: str = TOKENIZER_VERSION,
    ) -> None:
        self.vocab = vocab  # term -> row of ``weights``
        self.weights = weights  # (n_terms, n_docs): idf * saturated term frequency
        self.k1, self.b, self.epsilon, self.tokenizer = k1, b, epsilon, tokenizer

    @property
    def n_docs(self) -> int:
        return int(self.weights.shape[1])

    @classmethod
    def build(
        cls, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25
    ) -> BM25Index:
        """Tokenize ``texts`` and index them (k1, b, epsilon are BM25Okapi's defaults)."""
        return cls.from_tokens([tokenize(t) for t in texts], k1=k1, b=b, epsilon=epsilon)

    @classmethod
    def from_tokens(
        cls, docs: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25
    ) -> BM25Index:
        """Index already-tokenized documents."""
        if not docs:
            raise IndexError_("cannot build a BM25 index over zero documents: add text to the corpus")
        # BM25Okapi divides by the mean length: an all-empty corpus would divide by zero.
        if not any(len(d) for d in docs):
            docs = [["\0"] for _ in docs]
        # rank_bm25 is the reference for idf (with its epsilon floor for very common terms) and the
        # mean length; the per-document weights are then computed for all documents at once.
        ref = BM25Okapi([list(d) for d in docs], k1=k1, b=b, epsilon=epsilon)
        vocab = {t: i for i, t in enumerate(sorted(ref.idf))}
        idf = np.fromiter((ref.idf[t] for t in vocab), dtype=np.float64, count=len(vocab))
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        term_ids = np.fromiter((vocab[t] for d in docs for t in d), dtype=np.int64, count=int(lengths.sum()))
        doc_ids = np.repeat(np.arange(len(docs)), lengths)
        # (term, doc) pairs summed: the term frequencies, one row per term
        tf = sparse.csr_matrix((np.ones(len(term_ids)), (term_ids, doc_ids)), shape=(len(vocab), len(docs)))
        tf.sum_duplicates()
        rows = np.repeat(np.arange(len(vocab)), np.diff(tf.indptr))
        f, norm = tf.data, k1 * (1 - b + b * lengths / ref.avgdl)
        tf.data = (idf[rows] * f * (k1 + 1) / (f + norm[tf.indices])).astype(np.float32)
        return cls(vocab, tf, k1=k1, b=b, epsilon=epsilon)

    def _term_counts(self, query: str) -> dict[int, float]:
        """Row of each query term the index knows -> how often the query uses it, in query order."""
        counts: dict[int, float] = {}
        for tok in tokenize(query):
            row = self.vocab.get(tok)
            if row is not None:
                counts[row] = counts.get(row, 0.0) + 1.0
        return counts

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (float32, one per document)."""
        counts = self._term_counts(query)  # a repeated term counts again, as in BM25Okapi
        if not counts:
            return np.zeros(self.n_docs, dtype=np.float32)
        # Only the query terms' rows are touched: cost follows their posting lists, not the corpus.
        rows = self.weights[list(counts)]
        weights = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        return np.asarray(rows.T @ weights, dtype=np.float32).ravel()

    def coverage(self, query: str, docs: Sequence[int]) -> float:
        """The largest share of the query's idf mass that one of ``docs`` contains, in [0, 1].

        Only terms the index knows count; each is weighted by ``log(1 + (N - df + 0.5) / (df + 0.5))``.
        A question that names its topic scores near 1 on its best BM25 match; one that describes
        the topic in other words shares only common words with it and scores low, which is when
        BM25's ranking deserves less weight in fusion.

        >>> idx = BM25Index.build(["mixture of experts routing", "load balancing loss", "experts"])
        >>> idx.coverage("load balancing for experts", [1]) > 0.5 > idx.coverage("load balancing for experts", [2])
        True
        >>> idx.coverage("load balancing", [1]), idx.coverage("unknown words", [1])
        (1.0, 0.0)
        """
        rows = list(self._term_counts(query))  # each distinct term once
        if not rows or not len(docs):
            return 0.0
        present = self.weights[rows][:, list(docs)].toarray() > 0  # (terms, docs)
        idf = self._idf[rows]
        return float((idf @ present).max() / idf.sum())

    @cached_property
    def _idf(self) -> np.ndarray:
        df = np.diff(self.weights.tocsr().indptr)
        return np.log1p((self.n_docs - df + 0.5) / (df + 0.5))

    def search(self, query: str, k: int = 10) -> list[Scored]:
        """The ``k`` best documents with a positive score, best first (ties: lower index first)."""
        return top_k(self.scores(query), k)

    # --- persistence: the weight matrix and vocabulary, so loading needs no re-tokenizing
    def save(self, directory: Path, stem: str = "bm25") -> list[Path]:
        """Write ``<stem>.npz`` (matrix) and ``<stem>.json`` (vocab, params); return the paths."""
        w = self.weights.tocsr()
        npz, meta = directory / f"{stem}.npz", directory / f"{stem}.json"
        with npz.open("wb") as f:
            np.savez(f, data=w.data, indices=w.indices, indptr=w.indptr, shape=np.asarray(w.shape))
        vocab = sorted(self.vocab, key=self.vocab.__getitem__)
        state = {"k1": self.k1, "b": self.b, "epsilon": self.epsilon, "tokenizer": self.tokenizer}
        meta.write_text(json.dumps({**state, "vocab": vocab}, ensure_ascii=False), encoding="utf-8")
        return [npz, meta]

    @classmethod
    def load(cls, directory: Path, stem: str = "bm25") -> BM25Index:
        try:
            meta = json.loads((directory / f"{stem}.json").read_text(encoding="utf-8"))
            with np.load(directory / f"{stem}.npz") as z:
                shape = tuple(int(x) for x in z["shape"])
                weights = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
        except (OSError, ValueError, KeyError) as e:
            raise IndexError_(
                f"BM25 state in {directory} is unreadable ({e}); rebuild with `studyrag index --rebuild`"
            ) from e
        vocab = {t: i for i, t in enumerate(meta["vocab"])}
        return cls(
            vocab, weights, k1=meta["k1"], b=meta["b"], epsilon=meta["epsilon"], tokenizer=meta["tokenizer"]
        )
