"""Ad hoc: should the dense query leave out how a question is asked? MiniLM reads the whole question,
and "How can several hospitals ..." or "Is there a way to ..." pull its vector toward passages that
ask or explain in general. BM25 already ignores stop words; this embeds only the question's words
that BM25 keeps (``lexical.tokenize``'s stop list), in their order and as typed.

    python eval/reports/probes-39/dense_framing.py OUT   # e.g. /tmp/p39/framing

Builds a separate index under OUT/indexes and runs `studyrag eval --suite retrieval` on every set;
compare with `python eval/reports/probes-37/pooled.py c38 OUT` and `compare.py c38 OUT`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "probes-37"))
from bm25_doc2query import run_sets  # noqa: E402


def content_only(question: str) -> str:
    """>>> content_only("How can several hospitals train one model together?")
    'several hospitals train one model together'"""
    from studyrag.lexical import STOP_WORDS

    words = re.findall(r"[\w'’.-]+", question)
    kept = [w for w in words if w.lower().strip(".'’") not in STOP_WORDS]
    return " ".join(kept).strip(" .") or question


def main() -> None:
    from studyrag.retrieve import HybridRetriever

    embed = HybridRetriever._embed_query_uncached
    HybridRetriever._embed_query_uncached = lambda self, q: embed(self, content_only(q))
    run_sets(Path(sys.argv[1]))


if __name__ == "__main__":
    main()
