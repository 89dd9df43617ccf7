"""Ad hoc: fused R@5 / MRR@10 on the gold sets with the shipped retriever, label_first off and on
("What is X?" puts the chunks whose opening bold label names X first: studyrag.labels), and each
question whose top 10 differs.

    python eval/reports/probes-23/label_match.py eval eval/dev eval/heldout eval/unseen eval/unseen2 eval/unseen3
"""

import dataclasses
import sys
from pathlib import Path

from studyrag.config import Settings
from studyrag.evaluation.datasets import load_retrieval
from studyrag.evaluation.metrics import evidence_recall
from studyrag.evaluation.runner import _documents, relevance
from studyrag.pipeline import StudyRAG
from studyrag.retrieve import HybridRetriever


def main() -> None:
    rag = StudyRAG.load(Settings.from_env(), progress=False)
    on = rag.retriever
    off = HybridRetriever(on.index, on.embedder, dataclasses.replace(on.settings, label_first=False))
    docs = _documents(rag.settings)
    tot: dict = {}
    for d in sys.argv[1:]:
        qs = [q for q in load_retrieval(Path(d) / "retrieval.jsonl") if q.answerable]
        rel = relevance(qs, rag.chunks, docs)
        for q in qs:
            orders = {name: [h.chunk.id for h in r.search(q.question, 10)] for name, r in (("off", off), ("on", on))}
            for name, order in orders.items():
                r5 = evidence_recall(rel[q.id], order, 5)
                rr = next((1 / (i + 1) for i, c in enumerate(order) if any(c in s for s in rel[q.id].values())), 0.0)
                for key in ((d, name), ("pooled", name), (f"pooled-{q.kind}", name)):
                    tot.setdefault(key, []).append((r5, rr))
            if orders["on"] != orders["off"]:
                print(f"  top 10 differs: {q.id} ({q.kind}) {q.question}")
    for key, v in sorted(tot.items()):
        print(f"{key[0]:<24} label_first {key[1]:<4} n={len(v):>3}  R@5 {sum(a for a, _ in v)/len(v):.3f}  "
              f"MRR@10 {sum(b for _, b in v)/len(v):.3f}")


if __name__ == "__main__":
    main()
