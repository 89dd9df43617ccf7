"""Ad hoc: fused Recall@5 / MRR@10 per set and kind, run A -> run B.

    python eval/reports/probes-37/compare.py stored c37        # or a folder of per-set runs (full/, dev/, ...)

A run is named by ``run_dir``: "stored" is the retrieval reports the README's table gave before this
session, "c37" (or another run name) ``eval/reports/c37-<set>-retrieval``, anything else a folder holding one
run per set, as ``bm25_doc2query.py`` writes them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPORTS = Path(__file__).resolve().parents[1]
SETS = ["full", "dev", "heldout", "unseen", "unseen2", "unseen3", "student"]
STORED = {"full": "c28-main-retrieval", "student": "c28-student-retrieval"}


def run_dir(spec: str, s: str) -> Path:
    """The report folder of gold set ``s`` in run ``spec``."""
    if spec == "stored":
        return REPORTS / STORED.get(s, f"c256-{s}-retrieval")
    if (REPORTS / f"{spec}-{s}-retrieval").is_dir():  # a session's runs: c37, c38, c38v
        return REPORTS / f"{spec}-{s}-retrieval"
    return Path(spec) / s


def load(spec: str, s: str) -> dict:
    return json.loads((run_dir(spec, s) / "report.json").read_text(encoding="utf-8"))["retrieval"]


def kinds(spec: str, s: str) -> dict[str, tuple[float, float]]:
    fused = load(spec, s)["summary"]["fused"]
    return {k: (v["recall@5"], v["mrr@10"]) for k, v in {"all": fused["overall"], **fused["by_kind"]}.items()}


def main() -> None:
    for s in SETS:
        a, b = kinds(sys.argv[1], s), kinds(sys.argv[2], s)
        cells = [f"{k[:5]} {a[k][0]:.3f}/{a[k][1]:.3f}->{b[k][0]:.3f}/{b[k][1]:.3f}" for k in a]
        print(f"{s:8}", "  ".join(cells))


if __name__ == "__main__":
    main()
