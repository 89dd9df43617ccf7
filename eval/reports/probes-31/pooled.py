"""Shared by the probes-31 retrieval probes: fused and dense-alone R@5 / MRR@10 pooled over the seven
gold sets (the 424 answerable questions of ``eval/``, dev, held-out, unseen, unseen2, unseen3 and
student), by kind and per set, and where the issue's MoE question puts its load-balancing chunks."""

import numpy as np

from studyrag.config import project_root
from studyrag.evaluation.datasets import load_retrieval
from studyrag.evaluation.metrics import mean_scores, retrieval_scores
from studyrag.evaluation.runner import _documents, relevance

MOE = "How do I stop an MoE router from sending every token to a few experts?"
SETS = ["eval", "eval/dev", "eval/heldout", "eval/unseen", "eval/unseen2", "eval/unseen3", "eval/student"]


def gold_sets(rag, settings) -> dict:
    """Set name -> (answerable questions, question id -> relevant chunk ids) over ``rag``'s chunks."""
    documents = _documents(settings)
    out = {}
    for name in SETS:
        questions = [q for q in load_retrieval(project_root() / name / "retrieval.jsonl") if q.evidence]
        rel = relevance(questions, rag.chunks, documents)
        out[name] = (questions, {q.id: rel[q.id] for q in questions})
    return out


def pooled(label: str, retriever, sets: dict) -> None:
    """Print one row: pooled fused and dense figures, by kind, per set, the MoE ranks."""
    n = 0
    fused_sum, dense_sum = np.zeros(2), np.zeros(2)
    kinds: dict[str, list[dict[str, float]]] = {}
    cells = []
    for name in SETS:
        questions, gold = sets[name]
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
