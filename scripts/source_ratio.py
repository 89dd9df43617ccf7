#!/usr/bin/env python
"""What ``source_min_ratio`` would leave in the prompt, from stored retrieval reports.

For each answerable question, the fused top ``--sources`` hits go through ``prompt.close_sources`` at
each ratio; this prints the share of questions that keep a relevant chunk among them, the mean share
of relevant groups kept (recall), and the mean number of sources kept. Nothing is retrieved again, so
it takes a second. Asserts nothing.

Usage::

    python scripts/source_ratio.py eval/reports/gated-retrieval eval/reports/gated-dev-retrieval eval/reports/heldout-retrieval
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from studyrag.prompt import close_sources
from studyrag.records import Chunk, Hit


def _hit(row: dict, rank: int) -> Hit:
    chunk = Chunk(row["chunk_id"], row["source"], (row["section"],), "", 0, 0)
    return Hit(chunk, row["score"], rank, fused_score=row["score"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+", type=Path, help="retrieval report directories")
    ap.add_argument("--sources", type=int, default=4, help="the cap on prompt sources")
    ap.add_argument("--ratios", default="0,0.4,0.5,0.6,0.7", help="comma-separated source_min_ratio values")
    args = ap.parse_args()
    print("| report | ratio | relevant chunk kept | recall of relevant groups | sources kept |")
    print("|---|---|---|---|---|")
    for report in args.reports:
        questions = json.loads((report / "report.json").read_text(encoding="utf-8"))["retrieval"]["questions"]
        answerable = [q for q in questions if q["relevant"]]
        for ratio in (float(r) for r in args.ratios.split(",")):
            any_kept = recall = kept = 0.0
            for q in answerable:
                ranked = q["runs"]["fused"]["ranked"][: args.sources]
                ids = {h.chunk.id for h in close_sources([_hit(r, i) for i, r in enumerate(ranked, 1)], ratio)}
                groups = [set(g) & ids for g in q["relevant"].values()]
                any_kept += any(groups)
                recall += sum(map(bool, groups)) / len(groups)
                kept += len(ids)
            n = len(answerable)
            print(f"| {report.name} | {ratio} | {any_kept / n:.3f} | {recall / n:.3f} | {kept / n:.2f} |")


if __name__ == "__main__":
    main()
