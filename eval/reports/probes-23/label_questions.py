"""Ad hoc: "What is X?" for every concept X that opens exactly one chunk of the guides as a bold
label ("**LoRA (Low-Rank Adaptation):**"). Where does that chunk rank with the shipped retriever
(label_first on) and with label_first off? Labels of more than five words are left out.

    python eval/reports/probes-23/label_questions.py
"""

import dataclasses
import re
from collections import Counter

from studyrag.asking import norm_name
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG
from studyrag.retrieve import HybridRetriever

BOLD = re.compile(r"^\*\*(.+?)\*\*\s*$|^\*\*(.+?):\*\*")

rag = StudyRAG.load(Settings.from_env(), progress=False)
on = rag.retriever
off = HybridRetriever(on.index, on.embedder, dataclasses.replace(on.settings, label_first=False))
bold = {}
for c in rag.chunks:
    lines = c.text.strip().splitlines()
    m = BOLD.match(lines[0].strip()) if lines else None
    if m:
        head = (m.group(1) or m.group(2)).strip().rstrip(":").partition(" (")[0].strip()
        if 0 < len(head.split()) <= 5:
            bold[c.id] = head
counts = Counter(norm_name(h) for h in bold.values())
ranks: dict[str, list[int]] = {"label_first off": [], "label_first on": []}
for cid, head in sorted(bold.items(), key=lambda kv: kv[1]):
    if counts[norm_name(head)] > 1:
        continue
    q = f"What is {head}?"
    r = []
    for name, retriever in (("label_first off", off), ("label_first on", on)):
        ids = [h.chunk.id for h in retriever.search(q, 50)]
        r.append(ids.index(cid) + 1 if cid in ids else 99)
        ranks[name].append(r[-1])
    print(f"{r[0]:>3} -> {r[1]:>3}  {q}")
for name, rs in ranks.items():
    n = len(rs)
    print(f"{name:<16} n={n}  top1 {sum(r == 1 for r in rs) / n:.3f}  top3 {sum(r <= 3 for r in rs) / n:.3f}  "
          f"top5 {sum(r <= 5 for r in rs) / n:.3f}  MRR@10 {sum(1 / r for r in rs if r <= 10) / n:.3f}")

# The same for every concept a heading names (its last part, before any bracket, at most five
# words, naming one chunk): does the rule push that chunk down for a bold-labelled one?
heads = Counter(norm_name(c.section.split(" › ")[-1].partition(" (")[0]) for c in rag.chunks)
moved = 0
firsts = {"label_first off": 0, "label_first on": 0}
asked = 0
for c in rag.chunks:
    head = c.section.split(" › ")[-1].partition(" (")[0].strip()
    if not 0 < len(head.split()) <= 5 or heads[norm_name(head)] > 1:
        continue
    asked += 1
    q = f"What is {head}?"
    top = {name: r.search(q, 1)[0].chunk.id for name, r in (("label_first off", off), ("label_first on", on))}
    for name in firsts:
        firsts[name] += top[name] == c.id
    if top["label_first on"] != top["label_first off"]:
        moved += 1
        print(f"  first differs for {q!r}: {rag.retriever.names[top['label_first on']]} now first")
print(f"headings: {asked} questions; the headed chunk first {firsts['label_first off']} times off, "
      f"{firsts['label_first on']} on; first hit differs {moved} times")
