"""Ad hoc: does a guide prior help fused retrieval? Each fused top-50 chunk gains delta times its
guide's share of the top-N's 1/rank weight; pooled R@5 / MRR@10 over every answerable question of
the six gold sets, by kind.

    python eval/reports/probes-22/guide_prior.py eval eval/dev eval/heldout eval/unseen eval/unseen2 eval/unseen3
"""
import sys
from collections import defaultdict
from pathlib import Path

from studyrag.config import Settings
from studyrag.evaluation.datasets import load_retrieval
from studyrag.evaluation.metrics import evidence_recall
from studyrag.evaluation.runner import _documents, relevance
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(Settings.from_env(), progress=False)
docs = _documents(rag.settings)
qs, rel = [], {}
for d in sys.argv[1:]:
    these = [q for q in load_retrieval(Path(d) / "retrieval.jsonl") if q.answerable]
    rel.update({(d, k): v for k, v in relevance(these, rag.chunks, docs).items()})
    qs += [(d, q) for q in these]
hits = {(d, q.id): rag.retriever.search(q.question, 50) for d, q in qs}
for top_n in (5, 10):
    for delta in (0.0, 0.25, 0.5, 1.0, 2.0):
        tot = defaultdict(list)
        for d, q in qs:
            hs = hits[(d, q.id)]
            w = defaultdict(float)
            for h in hs[:top_n]:
                w[h.chunk.source] += 1.0 / h.rank
            total = sum(w.values()) or 1.0
            ranked = sorted(hs, key=lambda h: -(h.fused_score + delta * w[h.chunk.source] / total))
            ids = [h.chunk.id for h in ranked[:10]]
            r = rel[(d, q.id)]
            r5 = evidence_recall(r, ids, 5)
            rr = next((1 / (i + 1) for i, c in enumerate(ids) if any(c in s for s in r.values())), 0.0)
            for key in ("pooled", q.kind):
                tot[key].append((r5, rr))
        line = "  ".join(f"{k} {sum(a for a, _ in v)/len(v):.3f}/{sum(b for _, b in v)/len(v):.3f}" for k, v in sorted(tot.items()))
        print(f"top{top_n} delta {delta:<4} {line}", flush=True)
