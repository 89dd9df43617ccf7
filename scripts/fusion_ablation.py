#!/usr/bin/env python
"""How to fuse BM25 and dense: RRF against z-score fusion over a grid of BM25 weights, on the gold set.

Prints Recall@5 / MRR@10 per question kind for each variant: RRF, z-score with a fixed BM25 weight,
and z-score with BM25's weight gated by the query coverage of its best match (the default). Then a
5-fold cross-validation of the gated weight (pick the best weight on four folds, score the fifth)
as an estimate for questions the weight was not chosen on, and where the issue's MoE question puts
its load-balancing chunks. ``--eval-dir eval/dev`` runs it on the dev set.
Every variant re-fuses the same BM25 and dense lists through ``fusion.fuse``, exactly as
``HybridRetriever.search`` does with the corresponding settings. Asserts nothing.

Usage::

    python scripts/fusion_ablation.py                      # ~1 minute with the index built
    python scripts/fusion_ablation.py --eval-dir eval/dev  # the 59 questions written later
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from studyrag.config import Settings, project_root
from studyrag.evaluation.datasets import load_retrieval
from studyrag.evaluation.metrics import mean_scores, retrieval_scores
from studyrag.evaluation.runner import _documents, relevance
from studyrag.pipeline import StudyRAG

KINDS = ("factual", "paraphrase", "multi_section", None)
MOE = "How do I stop an MoE router from sending every token to a few experts?"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default="0.8,1.0,1.2,1.5,1.8,2.0", help="BM25 weights for z-score (dense = 1)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--eval-dir", default=str(project_root() / "eval"), help="folder with retrieval.jsonl")
    args = ap.parse_args(argv)
    weights = [float(w) for w in args.weights.split(",")]

    base = Settings.from_env()
    rag = StudyRAG.load(base, progress=False)
    chunks = rag.chunks
    questions = [q for q in load_retrieval(Path(args.eval_dir) / "retrieval.jsonl") if q.evidence]
    rel = relevance(questions, chunks, _documents(base))
    gold = {q.id: rel[q.id] for q in questions}

    def per_question(settings: Settings) -> dict[str, dict[str, float]]:
        rag.retriever.settings = settings
        runs = {q.id: [h.chunk.id for h in rag.retriever.search(q.question, k=10)] for q in questions}
        return retrieval_scores(gold, runs, (1, 3, 5, 10))

    def row(name: str, per: dict[str, dict[str, float]], settings: Settings) -> None:
        cells = []
        for kind in KINDS:
            m = mean_scores(per, [q.id for q in questions if kind is None or q.kind == kind])
            cells.append(f"{(kind or 'all')[:5]} {m['recall@5']:.3f} / {m['mrr@10']:.3f}")
        rag.retriever.settings = settings
        moe = [h.chunk.section for h in rag.retriever.search(MOE, k=10)]
        lb = [i for i, s in enumerate(moe, 1) if "load" in s.lower() or "Training Challenges" in s]
        print(f"{name:28s} " + "   ".join(cells) + f"   MoE load balancing at {lb[:3]}")

    print(f"{len(questions)} answerable questions; Recall@5 / MRR@10 per kind\n")
    for k, w in ((10, 1.5), (10, 1.0), (60, 1.0)):
        s = base.replace(fusion="rrf", rrf_k=k, bm25_weight=w, dense_weight=1.0, bm25_gate=False)
        row(f"rrf k={k} bm25 {w}", per_question(s), s)
    for w in weights:
        s = base.replace(fusion="zscore", bm25_weight=w, dense_weight=1.0, bm25_gate=False)
        row(f"zscore bm25 {w}", per_question(s), s)
    grid: dict[float, dict[str, dict[str, float]]] = {}
    for w in weights:
        s = base.replace(fusion="zscore", bm25_weight=w, dense_weight=1.0, bm25_gate=True)
        grid[w] = per_question(s)
        row(f"zscore bm25 {w} x coverage", grid[w], s)

    # the weight chosen on the other folds, scored on the held-out one
    folds = np.random.default_rng(0).permutation(len(questions)) % args.folds
    held: list[tuple[float, str]] = []
    for f in range(args.folds):
        train = [q.id for q, g in zip(questions, folds, strict=True) if g != f]
        best = max(weights, key=lambda w: mean_scores(grid[w], train)["mrr@10"])
        held += [(best, q.id) for q, g in zip(questions, folds, strict=True) if g == f]
    cv = {m: float(np.mean([grid[w][qid][m] for w, qid in held])) for m in ("recall@5", "mrr@10")}
    picked = sorted({w for w, _ in held})
    print(f"\n{args.folds}-fold CV of the gated z-score weight (picked {picked}): "
          f"Recall@5 {cv['recall@5']:.3f}, MRR@10 {cv['mrr@10']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
