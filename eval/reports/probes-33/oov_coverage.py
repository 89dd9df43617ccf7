"""Ad hoc: should a question word no guide uses count against BM25's coverage? BM25's fusion weight
is scaled by the share of the question's idf mass its best match covers (``BM25Index.coverage``),
and only terms the index knows count. "how do i run a model on my laptop": "laptop" is in no guide,
so "run" and "model" alone make a full coverage and BM25's generic matches (Lookahead Decoding)
take the top 3 over dense's quantization example. Here an unknown term counts with the largest idf
(that of a term in no document). Prints the pooled row of ``probes-31/pooled.py`` both ways.

    python eval/reports/probes-33/oov_coverage.py > eval/reports/probes-33/oov_coverage.txt
"""

import sys
from pathlib import Path

import numpy as np

from studyrag.config import Settings
from studyrag.lexical import BM25Index, tokenize
from studyrag.pipeline import StudyRAG

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "probes-31"))
from pooled import gold_sets, pooled  # noqa: E402

settings = Settings.from_env()
rag = StudyRAG.load(settings, progress=False)
sets = gold_sets(rag, settings)
shipped = BM25Index.coverage


def with_unknown(self, query, docs):
    rows = list(self._term_counts(query))
    unknown = {t for t in tokenize(query) if t not in self.vocab}
    if not len(docs) or not (rows or unknown):
        return 0.0
    top_idf = float(np.log1p((self.n_docs + 0.5) / 0.5))
    covered = (self._idf[rows] @ (self.weights[rows][:, list(docs)].toarray() > 0)).max() if rows else 0.0
    return float(covered / (self._idf[rows].sum() + top_idf * len(unknown)))


pooled("shipped", rag.retriever, sets)
for q in ("how do i run a model on my laptop", "my model is overfitting, what should I do"):
    print(" ", q, [h.chunk.full_section[-32:] for h in rag.retriever.search(q, k=3)])
BM25Index.coverage = with_unknown
pooled("unknown terms count", rag.retriever, sets)
for q in ("how do i run a model on my laptop", "my model is overfitting, what should I do"):
    print(" ", q, [h.chunk.full_section[-32:] for h in rag.retriever.search(q, k=3)])
