"""Ad hoc: should BM25 weigh a chunk's own words above the guide questions filed about it (BM25F
with integer field weights: the chunk's terms repeated W times, the questions' once)?

    python eval/reports/probes-38/bm25f.py W OUT   # e.g. 2 /tmp/bm25f-2

Builds a separate index under OUT/indexes and runs `studyrag eval --suite retrieval` on every set;
compare with `python eval/reports/probes-37/pooled.py c37 OUT`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "probes-37"))
from bm25_doc2query import run_sets  # noqa: E402


def main() -> None:
    weight, out = int(sys.argv[1]), Path(sys.argv[2])
    import studyrag.store as store

    plain = store._lexical_docs

    def weighted(settings, chunks):
        docs = plain(settings, chunks)
        own = [store.tokenize(store.lexical_text(c)) for c in chunks]
        terms = [o * (weight - 1) + d for o, d in zip(own, docs.terms, strict=True)]
        return store._LexicalDocs(terms, docs.question_terms, docs.questions, docs.lost, docs.asked)

    store._lexical_docs = weighted
    run_sets(out)


if __name__ == "__main__":
    main()
