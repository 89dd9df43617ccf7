"""Ad hoc: fused R@5 / MRR@10 on single-guide answerable questions, unscoped vs --guide <gold guide>."""
import sys
from pathlib import Path

from studyrag.config import Settings
from studyrag.evaluation.datasets import load_retrieval
from studyrag.evaluation.metrics import evidence_recall
from studyrag.evaluation.runner import _documents, relevance
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(Settings.from_env(), progress=False)
docs = _documents(rag.settings)
tot = {}
for d in sys.argv[1:]:
    qs = [q for q in load_retrieval(Path(d) / "retrieval.jsonl") if q.answerable and len({e.source for e in q.evidence}) == 1]
    rel = relevance(qs, rag.chunks, docs)
    for q in qs:
        g = q.evidence[0].source
        for name, scope in (("all", None), ("scoped", frozenset([g]))):
            ids = [h.chunk.id for h in rag.retriever.search(q.question, 10, guides=scope)]
            r5 = evidence_recall(rel[q.id], ids, 5)
            rr = next((1 / (i + 1) for i, c in enumerate(ids) if any(c in s for s in rel[q.id].values())), 0.0)
            for key in ((d, name), ("pooled", name), (f"pooled-{q.kind}", name)):
                tot.setdefault(key, []).append((r5, rr))
for key, v in sorted(tot.items()):
    print(f"{key[0]:<28} {key[1]:<7} n={len(v):>3}  R@5 {sum(a for a, _ in v)/len(v):.3f}  MRR@10 {sum(b for _, b in v)/len(v):.3f}")
