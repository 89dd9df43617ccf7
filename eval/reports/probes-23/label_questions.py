"""Ad hoc: "What is X?" for every concept X that a chunk of the guides opens with as a bold label
("**LoRA (Low-Rank Adaptation):**"). Where does that chunk rank, fused, and with label_match.py's
rule (chunks whose label is X first)? Labels naming more than one chunk, or of more than five
words, are left out: they are not a concept's name.

    python eval/reports/probes-23/label_questions.py
"""

import re
from collections import Counter

from label_match import ASK, BOLD, names, norm

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(Settings.from_env(), progress=False)
labels = {c.id: names(c) for c in rag.chunks}
bold = {}
for c in rag.chunks:
    first = c.text.strip().splitlines()[0].strip() if c.text.strip() else ""
    m = BOLD.match(first)
    if m:
        head = (m.group(1) or m.group(2)).strip().rstrip(":").partition(" (")[0].strip()
        if 0 < len(head.split()) <= 5:
            bold[c.id] = head
counts = Counter(norm(h) for h in bold.values())
ranks = {"fused": [], "label-first": []}
for cid, head in sorted(bold.items(), key=lambda kv: kv[1]):
    if counts[norm(head)] > 1:
        continue
    q = f"What is {head}?"
    ids = [h.chunk.id for h in rag.retriever.search(q, 50)]
    subject = norm(ASK.match(q).group(1))
    hit = [c for c in ids if labels[c] & {subject, subject.rstrip("s")}]
    moved = hit + [c for c in ids if c not in hit]
    r = [ids.index(cid) + 1 if cid in ids else 99, moved.index(cid) + 1 if cid in moved else 99]
    ranks["fused"].append(r[0])
    ranks["label-first"].append(r[1])
    print(f"{r[0]:>3} -> {r[1]:>3}  {q}")
for name, rs in ranks.items():
    n = len(rs)
    print(f"{name:<12} n={n}  top1 {sum(r == 1 for r in rs) / n:.3f}  top3 {sum(r <= 3 for r in rs) / n:.3f}  "
          f"top5 {sum(r <= 5 for r in rs) / n:.3f}  MRR@10 {sum(1 / r for r in rs if r <= 10) / n:.3f}")
