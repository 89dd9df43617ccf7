"""Ad hoc: fused Recall@5 / MRR@10 pooled over the seven gold sets' retrieval runs, overall and
for paraphrases, for each run (named as in ``compare.run_dir``).

    python eval/reports/probes-37/pooled.py stored c37 /tmp/p37/d2q-llm ...
"""

from __future__ import annotations

import sys

from compare import SETS, load


def pooled(spec: str, kind: str | None) -> tuple[int, float, float]:
    n = r5 = mrr = 0.0
    for s in SETS:
        report = load(spec, s)
        summary = report["summary"]["fused"]
        part = summary["overall"] if kind is None else summary["by_kind"].get(kind)
        size = sum(1 for q in report["questions"] if q["relevant"] and kind in (None, q["kind"]))
        if part:
            n += size
            r5 += part["recall@5"] * size
            mrr += part["mrr@10"] * size
    return int(n), r5 / n, mrr / n


for d in sys.argv[1:]:
    for kind in (None, "paraphrase"):
        n, r5, mrr = pooled(d, kind)
        print(f"{d:40} {kind or 'all':11} n={n:3} R@5 {r5:.3f} MRR@10 {mrr:.3f}")
