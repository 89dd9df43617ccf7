"""Ad hoc: the guide questions as a third retriever in z-score fusion. Each chunk scores the best
cosine between the query and a question filed about it (``Index.filed_questions``); its top 50 join
BM25's and the dense list, standardised over the chunks that have questions, with weight W. Session
38 put the questions among the dense rows instead (``Settings.question_vectors``): paraphrases
gained pooled, but eval/ lost Recall@5 and three more unanswerable questions got answers. A weight
below 1 lets them push without taking over.

    python eval/reports/probes-39/asked_list.py W OUT   # e.g. 0.5 /tmp/p39/asked-0.5

Builds a separate index under OUT/indexes and runs `studyrag eval --suite retrieval` on every set;
compare with `python eval/reports/probes-37/pooled.py c38 OUT` and `compare.py c38 OUT`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "probes-37"))
from bm25_doc2query import run_sets  # noqa: E402

N = 50


def main() -> None:
    from studyrag import retrieve
    from studyrag.fusion import Scored, Spread, zscore_scores
    from studyrag.records import Hit

    weight = float(sys.argv[1])
    seen: dict = {}
    query_vector = retrieve.HybridRetriever.query_vector

    def remember(self, query, expansion=""):
        seen["v"], seen["r"] = query_vector(self, query, expansion), self
        return seen["v"]

    def fuse(bm25, dense, chunks, *, spreads, bm25_weight, dense_weight, k, **_):
        filed = seen["r"].index.filed_questions
        best = np.full(len(chunks), -1.0, dtype=np.float32)
        np.maximum.at(best, filed.chunks, filed.vectors @ seen["v"])
        have = best[best > -1]
        order = np.argsort(-best)[:N]
        asked = [Scored(int(i), float(best[i])) for i in order if best[i] > -1]
        lists = {"bm25": bm25, "dense": dense, "asked": asked}
        spreads = {**spreads, "asked": Spread(float(have.mean()), float(have.std()), asked[-1].score)}
        fused = zscore_scores(lists, spreads, weights={"bm25": bm25_weight, "dense": dense_weight, "asked": weight})
        b = {s.index: (r, s.score) for r, s in enumerate(bm25, start=1)}
        d = {s.index: (r, s.score) for r, s in enumerate(dense, start=1)}
        out = sorted(fused, key=lambda i: -fused[i])[:k]
        return [
            Hit(chunks[i], fused[i], rank, *b.get(i, (None, None))[::-1], *d.get(i, (None, None))[::-1], fused[i])
            for rank, i in enumerate(out, start=1)
        ]

    retrieve.HybridRetriever.query_vector = remember
    retrieve.fuse = fuse
    run_sets(Path(sys.argv[2]))


if __name__ == "__main__":
    main()
