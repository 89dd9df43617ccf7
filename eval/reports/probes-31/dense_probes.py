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

import numpy as np

from studyrag import retrieve
from studyrag.config import Settings, project_root
from studyrag.dense import DenseIndex, SentenceTransformerEmbedder
from studyrag.evaluation.datasets import load_retrieval
from studyrag.evaluation.metrics import mean_scores, retrieval_scores
from studyrag.evaluation.runner import _documents, relevance
from studyrag.models import resolve_embedder
from studyrag.pipeline import StudyRAG
from studyrag.store import _dense_texts

MOE = "How do I stop an MoE router from sending every token to a few experts?"
SETS = ["eval", "eval/dev", "eval/heldout", "eval/unseen", "eval/unseen2", "eval/unseen3", "eval/student"]

base = Settings.from_env()
rag = StudyRAG.load(base, progress=False)
documents = _documents(base)
gold_sets = {}
for name in SETS:
    questions = [q for q in load_retrieval(project_root() / name / "retrieval.jsonl") if q.evidence]
    rel = relevance(questions, rag.chunks, documents)
    gold_sets[name] = (questions, {q.id: rel[q.id] for q in questions})


def pooled(label: str, retriever: retrieve.HybridRetriever) -> None:
    n = 0
    fused_sum, dense_sum = np.zeros(2), np.zeros(2)
    kinds: dict[str, list[dict[str, float]]] = {}
    cells = []
    for name in SETS:
        questions, gold = gold_sets[name]
        ids = [q.id for q in questions]
        fused = retrieval_scores(gold, {q.id: [h.chunk.id for h in retriever.search(q.question, k=10)] for q in questions}, (5, 10))
        dense = retrieval_scores(gold, {q.id: [h.chunk.id for h in retriever.search_dense(q.question, k=10)] for q in questions}, (5, 10))
        f, d = mean_scores(fused, ids), mean_scores(dense, ids)
        cells.append(f"{f['recall@5']:.3f}/{f['mrr@10']:.3f}")
        fused_sum += len(ids) * np.array([f["recall@5"], f["mrr@10"]])
        dense_sum += len(ids) * np.array([d["recall@5"], d["mrr@10"]])
        n += len(ids)
        for q in questions:
            kinds.setdefault(q.kind, []).append(fused[q.id])
    by_kind = " ".join(
        f"{k[:4]} {np.mean([x['recall@5'] for x in v]):.3f}/{np.mean([x['mrr@10'] for x in v]):.3f}"
        for k, v in sorted(kinds.items())
    )
    moe = [h.chunk.section for h in retriever.search(MOE, k=10)]
    lb = [i for i, s in enumerate(moe, 1) if "load" in s.lower() or "Training Challenges" in s]
    print(f"{label}: fused {fused_sum[0] / n:.3f}/{fused_sum[1] / n:.3f} dense {dense_sum[0] / n:.3f}/"
          f"{dense_sum[1] / n:.3f} | {by_kind} | {' '.join(cells)} | MoE {lb[:3]}", flush=True)


def gate(args: list[str]) -> None:
    power = [1.0]

    def weight(self, query, bm25):
        cov = self.index.bm25.coverage(query, [h.index for h in bm25[: retrieve.GATE_DOCS]])
        return self.settings.bm25_weight * cov ** power[0]

    retrieve.HybridRetriever.bm25_weight = weight
    for arg in args:
        w, power[0] = map(float, arg.split(":"))
        rag.retriever.settings = base.replace(bm25_weight=w)
        pooled(f"gate {w} x coverage^{power[0]}", rag.retriever)


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
        pooled(f"adapted + {w} x plain MiniLM", retriever)


pooled("default", rag.retriever)
{"gate": gate, "plain": plain}[sys.argv[1]](sys.argv[2:])
