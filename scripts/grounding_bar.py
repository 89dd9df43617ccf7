#!/usr/bin/env python
"""Re-score stored answers with the grounding check at other support bars (``support.MIN_SUPPORT``).

An answer is declined as unsupported when no cited claim shares at least the bar's share of its content
words with a source it cites (``citations.resolve_citations``). This re-runs only that check on the
answers and sources stored in answer reports, at each bar, and counts what a bar would newly decline:
answers to questions that should be declined (good), answers stating a key fact (bad), and answerable
answers without one. Nothing is generated, so it takes seconds. Asserts nothing.

Usage::

    python scripts/grounding_bar.py eval/reports/yesno-42 eval/reports/yesno-dev eval/reports/yesno-abstain-50
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from studyrag.citations import resolve_citations
from studyrag.config import Settings
from studyrag.evaluation.metrics import fact_present
from studyrag.pipeline import StudyRAG
from studyrag.records import Hit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+", type=Path, help="answer report directories")
    ap.add_argument("--bars", default="0.25,0.3,0.34,0.4,0.5", help="comma-separated support bars")
    args = ap.parse_args()
    chunks = {c.id: c for c in StudyRAG.load(Settings.from_env(), progress=False).index.chunks}
    answered = []  # (report, record, sources) for every answer that was not declined
    for report in args.reports:
        for q in json.loads((report / "report.json").read_text(encoding="utf-8"))["answers"]["questions"]:
            if not q["abstained"] and not q.get("error"):
                answered.append((report.name, q, [Hit(chunks[s["chunk_id"]], s["score"], s["n"]) for s in q["sources"]]))
    for bar in (float(b) for b in args.bars.split(",")):
        counts: Counter[str] = Counter()
        for report, q, sources in answered:
            asked = q.get("standalone_question") or q["question"]
            if resolve_citations(q["answer"], sources, question=asked, min_support=bar).grounded:
                continue
            if q["expected"] == "abstain":
                kind = "should-decline"
            elif any(fact_present(q["answer"], f) for f in q.get("key_facts") or []):
                kind = "KEY FACT"
            else:
                kind = "no key fact"
            counts[kind] += 1
            print(f"  {bar:.2f} declines {kind:14} {report} {q['id']}: {q['answer'][:80]!r}")
        print(
            f"bar {bar:.2f}: of {len(answered)} answers it declines {counts['should-decline']} that should be "
            f"declined, {counts['KEY FACT']} stating a key fact, {counts['no key fact']} answerable without one"
        )


if __name__ == "__main__":
    main()
