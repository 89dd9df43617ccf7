"""Ad hoc: two retrieval variants scored pooled over the seven gold sets (the 424 answerable questions
of ``eval/``, dev, held-out, unseen, unseen2, unseen3 and student).

    python eval/reports/probes-31/dense_probes.py gate 1.2:1 0.8:1 1.2:1.5 1.2:2 1.5:2 1.8:2 1.5:3 2:3
    python eval/reports/probes-31/dense_probes.py plain 0.3 0.5 1.0

``gate W:P``: BM25's fusion weight is W × coverage**P (the default is 1.2 × coverage, P = 1), so a
sharper P leaves questions that describe their topic in other words more to dense.
``plain W``: the dense score is (cos_adapted + W × cos_plain) / (1 + W), the packaged plain MiniLM
joined to the adapted one, for chunk and sentence vectors alike (rows and query are the two unit
vectors side by side, the plain one times sqrt(W); FAISS's inner product over the normalised
concatenation is then that mean).
Each row: fused and dense-alone R@5 / MRR@10 pooled, by kind, per set, and the ranks of the issue's
MoE question's load-balancing chunks. Asserts nothing.
"""

import sys
from pathlib import Path

import numpy as np

from studyrag import retrieve
from studyrag.config import Settings
from studyrag.dense import DenseIndex, SentenceTransformerEmbedder
from studyrag.models import resolve_embedder
from studyrag.pipeline import StudyRAG
from studyrag.store import _dense_texts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pooled import gold_sets, pooled  # noqa: E402

base = Settings.from_env()
rag = StudyRAG.load(base, progress=False)
sets = gold_sets(rag, base)


def gate(args: list[str]) -> None:
    power = [1.0]

    def weight(self, query, bm25):
        cov = self.index.bm25.coverage(query, [h.index for h in bm25[: retrieve.GATE_DOCS]])
        return self.settings.bm25_weight * cov ** power[0]

    retrieve.HybridRetriever.bm25_weight = weight
    for arg in args:
        w, power[0] = map(float, arg.split(":"))
        rag.retriever.settings = base.replace(bm25_weight=w)
        pooled(f"gate {w} x coverage^{power[0]}", rag.retriever, sets)


def plain(args: list[str]) -> None:
    adapted = rag.retriever.embedder
    other = SentenceTransformerEmbedder(resolve_embedder("minilm", base.cache_dir))
    texts, owners = _dense_texts(rag.chunks, True)
    va, vp = adapted.embed(texts), other.embed(texts)
    for arg in args:
        w = float(arg)

        class Joined:  # the Embedder protocol over both models
            id, dim, scale = "joined", va.shape[1] + vp.shape[1], np.sqrt(w)

            def embed(self, texts, **kw):
                return np.hstack([adapted.embed(texts), self.scale * other.embed(texts)])

            def count_tokens(self, text):
                return adapted.count_tokens(text)

        dense = DenseIndex.build(np.hstack([va, np.sqrt(w) * vp]), owners=owners, extra_margin=rag.index.dense.extra_margin)
        retriever = retrieve.HybridRetriever.from_parts(rag.chunks, rag.index.bm25, dense, Joined(), base)
        pooled(f"adapted + {w} x plain MiniLM", retriever, sets)


pooled("default", rag.retriever, sets)
{"gate": gate, "plain": plain}[sys.argv[1]](sys.argv[2:])
