"""Ad hoc: should a chunk's BM25 score be the better of two scores, one over its own words only and
one over its words plus the guide questions filed about it? A question that names its topic keeps the
plain score (the questions' words do not push other chunks past it); one in a student's own words
gains the questions'.

    python eval/reports/probes-38/bm25_max.py OUT   # e.g. /tmp/p38/bm25max
    PLAIN_COVERAGE=1 python eval/reports/probes-38/bm25_max.py OUT   # instead: scores as they are,
        # the fusion gate's BM25 coverage (retrieve.bm25_weight) over the chunk's own words only

Builds a separate index under OUT/indexes and runs `studyrag eval --suite retrieval` on every set;
compare with `python eval/reports/probes-37/pooled.py c37 OUT`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "probes-37"))
from bm25_doc2query import run_sets  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1])
    os.environ["STUDYRAG_INDEX_DIR"] = str(out / "indexes")
    from studyrag.cli import cli
    from studyrag.lexical import BM25Index
    from studyrag.store import _load_chunks, lexical_text, tokenize

    with contextlib.suppress(SystemExit):
        cli(["index"], standalone_mode=False)
    chunks = _load_chunks(out / "indexes" / "default")
    plain = BM25Index.from_tokens([tokenize(lexical_text(c)) for c in chunks])
    scores = BM25Index.scores

    def best_of(self: BM25Index, query: str) -> np.ndarray:
        s = scores(self, query)
        return s if self is plain or len(s) != len(chunks) else np.maximum(s, scores(plain, query))

    coverage = BM25Index.coverage

    def plain_coverage(self: BM25Index, query: str, docs) -> float:
        return coverage(plain if self.n_docs == len(chunks) else self, query, docs)

    if os.environ.get("PLAIN_COVERAGE"):  # the BM25 gate's coverage over the chunk's own words only
        BM25Index.coverage = plain_coverage
    else:
        BM25Index.scores = best_of
    run_sets(out)


if __name__ == "__main__":
    main()
