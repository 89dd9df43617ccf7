"""Ad hoc: how close each gold question is to its nearest synthetic question in
`eval/rerank_train.jsonl` (Jaccard over content words), for the questions whose fused rank of
the first gold passage moved between two retrieval runs.

    python eval/reports/probes-37/overlap.py stored c37      # runs named as in compare.run_dir
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from compare import SETS, load

from studyrag.support import content_words

ROOT = Path(__file__).resolve().parents[3]
ORIGINS = {"agent-paraphrase"}  # the questions the guides ship with
train = [json.loads(x) for x in (ROOT / "eval" / "rerank_train.jsonl").read_text(encoding="utf-8").splitlines()]
train = [(r["query"], content_words(r["query"])) for r in train if r["type"] == "query" and r["origin"] in ORIGINS]


def nearest(q: str) -> tuple[float, str]:
    w = content_words(q)
    return max(((len(w & t) / (len(w | t) or 1), s) for s, t in train), key=lambda x: x[0])


def rank(q: dict) -> int:
    gold = {c for ids in q["relevant"].values() for c in ids}
    ids = [h["chunk_id"] for h in q["runs"]["fused"]["ranked"]]
    return min((ids.index(g) + 1 for g in gold if g in ids), default=99)


sims = []
for s in SETS:
    a, b = ({q["id"]: q for q in load(d, s)["questions"] if q["relevant"]} for d in sys.argv[1:3])
    for i, q in a.items():
        sim, near = nearest(q["question"])
        sims.append(sim)
        ra, rb = rank(q), rank(b[i])
        if ra != rb:
            print(f"{i:6} {ra:>2}->{rb:<2} {sim:.2f} {q['question'][:70]!r} ~ {near[:70]!r}")
sims.sort()
median, p90, close = sims[len(sims) // 2], sims[int(len(sims) * 0.9)], sum(x >= 0.5 for x in sims)
print(f"all questions: median nearest Jaccard {median:.2f}, p90 {p90:.2f}, >=0.5: {close} of {len(sims)}")
