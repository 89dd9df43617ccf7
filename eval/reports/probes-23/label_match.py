"""Ad hoc: "What is X?" questions, with the chunks whose own label is X moved to the top.

A chunk's label is its first line when that line is only bold text ("**LoRA (Low-Rank
Adaptation):**"), else the last part of its heading path. Its head is the text before " (", its
expansion the text inside. When the question is "what is/are X", "define X" or "explain X" and X
equals a label's head or expansion, those chunks go first in the fused top 50, in fused order.

    python eval/reports/probes-23/label_match.py eval eval/dev eval/heldout eval/unseen eval/unseen2 eval/unseen3
"""

import re
import sys
from pathlib import Path

from studyrag.config import Settings
from studyrag.evaluation.datasets import load_retrieval
from studyrag.evaluation.metrics import evidence_recall
from studyrag.evaluation.runner import _documents, relevance
from studyrag.pipeline import StudyRAG

ASK = re.compile(r"^(?:what\s+(?:is|are)|what's|define|explain)\s+(?:an?\s+|the\s+)?(.+?)\s*\??$", re.I)
BOLD = re.compile(r"^\*\*(.+?)\*\*\s*$|^\*\*(.+?):\*\*")


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s-]", " ", text.lower()).split())


def names(chunk) -> set[str]:
    first = chunk.text.strip().splitlines()[0] if chunk.text.strip() else ""
    m = BOLD.match(first.strip())
    label = (m.group(1) or m.group(2)) if m else chunk.section.split(" › ")[-1]
    label = label.strip().rstrip(":").strip("*")
    head, _, rest = label.partition(" (")
    out = {norm(head)}
    if rest:
        out.add(norm(rest.rstrip(")")))
    return {n for n in out if n}


def main() -> None:
    rag = StudyRAG.load(Settings.from_env(), progress=False)
    docs = _documents(rag.settings)
    labels = {c.id: names(c) for c in rag.chunks}
    tot: dict = {}
    for d in sys.argv[1:]:
        qs = [q for q in load_retrieval(Path(d) / "retrieval.jsonl") if q.answerable]
        rel = relevance(qs, rag.chunks, docs)
        for q in qs:
            ids = [h.chunk.id for h in rag.retriever.search(q.question, 50)]
            m = ASK.match(q.question.strip())
            subject = norm(m.group(1)) if m else ""
            subjects = {subject, subject.rstrip("s")} - {""}
            hit = [c for c in ids if labels[c] & subjects]
            moved = hit + [c for c in ids if c not in hit]
            for name, order in (("fused", ids), ("label-first", moved)):
                r5 = evidence_recall(rel[q.id], order[:10], 5)
                rr = next((1 / (i + 1) for i, c in enumerate(order[:10]) if any(c in s for s in rel[q.id].values())), 0.0)
                for key in ((d, name), ("pooled", name), (f"pooled-{q.kind}", name)):
                    tot.setdefault(key, []).append((r5, rr))
            if hit and moved[:10] != ids[:10]:
                before = evidence_recall(rel[q.id], ids[:10], 5), evidence_recall(rel[q.id], moved[:10], 5)
                print(f"  changed {q.id} ({q.kind}) R@5 {before[0]:.2f} -> {before[1]:.2f}: {q.question}")
    for key, v in sorted(tot.items()):
        print(f"{key[0]:<28} {key[1]:<12} n={len(v):>3}  R@5 {sum(a for a, _ in v)/len(v):.3f}  MRR@10 {sum(b for _, b in v)/len(v):.3f}")


if __name__ == "__main__":
    main()
