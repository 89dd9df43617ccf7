"""Ad hoc: the retrieval eval with BM25 rebuilt under other k1 / b (rank_bm25's defaults 1.5 / 0.75
are shipped). Everything else, the dense side and fusion included, is the shipped default.

    BM25_K1=1.2 BM25_B=0.3 python eval/reports/probes-24/bm25kb.py eval --suite retrieval [--eval-dir ...] --out DIR
    bash eval/reports/probes-24/run6.sh NAME   # all six gold sets, pooled by probes-18/pool.py
"""

import dataclasses
import os
import sys

from studyrag import retrieve, store
from studyrag.cli import main
from studyrag.lexical import BM25Index

K1 = float(os.environ.get("BM25_K1", "1.5"))
B = float(os.environ.get("BM25_B", "0.75"))
_init = retrieve.HybridRetriever.__init__


def init(self, index, *args, **kwargs):
    bm25 = BM25Index.build([store.lexical_text(c) for c in index.chunks], k1=K1, b=B)
    _init(self, dataclasses.replace(index, bm25=bm25), *args, **kwargs)


retrieve.HybridRetriever.__init__ = init
sys.argv = ["studyrag", *sys.argv[1:]]
main()
