#!/usr/bin/env python
"""Compare two settings over several pairs of answer reports at once (a paired bootstrap over all
their questions together), where ``studyrag eval --compare`` takes one pair.

Each pair is ``BEFORE:AFTER`` (two report folders over the same questions); a question in several
pairs counts once per pair. Prints, per metric, both means, the difference, its 95% interval and the
p-value (``evaluation.metrics.paired_bootstrap``, the test ``--compare`` uses). Nothing is re-run.

    python scripts/pooled_compare.py eval/reports/ground-42:eval/reports/bold-42 \\
        eval/reports/ground-dev:eval/reports/bold-dev
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from studyrag.evaluation.metrics import paired_bootstrap

METRICS = ("correctness", "citation_precision", "citation_recall", "faithfulness")


def paired_scores(before: Path, after: Path, metric: str) -> list[tuple[float, float]]:
    """``(before, after)`` per question scored on ``metric`` in both reports."""

    def by_id(folder: Path) -> dict[str, dict]:
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        return {q["id"]: q for q in report["answers"]["questions"]}

    a, b = by_id(before), by_id(after)
    pairs = []
    for qid, qa in a.items():
        x = qa.get("scores", {}).get(metric)
        y = b.get(qid, {}).get("scores", {}).get(metric)
        if x is not None and y is not None:
            pairs.append((float(x), float(y)))
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pairs", nargs="+", help="BEFORE:AFTER report folders")
    args = ap.parse_args(argv)
    pairs = [tuple(Path(p) for p in arg.split(":", 1)) for arg in args.pairs]
    if any(len(p) != 2 for p in pairs):
        ap.error("each pair is BEFORE:AFTER")
    print("| metric | n | before | after | after − before | 95% CI | p |")
    print("|---|---|---|---|---|---|---|")
    for metric in METRICS:
        scores = [s for before, after in pairs for s in paired_scores(before, after, metric)]
        if not scores:
            continue
        xs, ys = [x for x, _ in scores], [y for _, y in scores]
        diff, lo, hi, p = paired_bootstrap(ys, xs)
        n = len(scores)
        print(f"| {metric} | {n} | {sum(xs) / n:.3f} | {sum(ys) / n:.3f} | {diff:+.3f} | [{lo:+.3f}, {hi:+.3f}] | {p:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
