#!/usr/bin/env python
"""Yes/no questions with and without the prompt's yes/no line (``prompt.YES_NO_HINT``).

Asked as yes/no ("Can I ...?", "Is there ...?"), a question made the 1.5B model restate it ("Yes, you
can <the question again> [3]") without the name the sources give the thing. This asks every
answerable yes/no question of the given sets twice, with the line and without it, and prints per
question whether the answer states a key fact (``evaluation.metrics.fact_present``), then the totals.
Other questions get the same prompt either way, so they are skipped. Asserts nothing.

Usage::

    python scripts/yes_no_ablation.py                                  # eval/ and eval/dev, ~5 min
    python scripts/yes_no_ablation.py --sets eval/heldout/questions.jsonl
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from studyrag import prompt
from studyrag.config import Settings, project_root
from studyrag.evaluation.metrics import fact_present
from studyrag.pipeline import StudyRAG

DEFAULT_SETS = ("eval/questions.jsonl", "eval/dev/questions.jsonl")


def yes_no_questions(paths: Sequence[Path]) -> list[dict]:
    """Answerable single-turn questions with key facts that the prompt would mark as yes/no."""
    out = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            if q.get("expected", "answer") == "abstain" or q.get("history") or not q.get("key_facts"):
                continue
            if prompt.is_yes_no(q["question"]):
                out.append(q)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS), help="questions.jsonl files")
    args = ap.parse_args(argv)
    questions = yes_no_questions([project_root() / p for p in args.sets])
    rag = StudyRAG.load(Settings.from_env(), progress=False)
    real = prompt.is_yes_no
    totals = {}
    for name, check in (("without the line", lambda q: False), ("with the line", real)):
        prompt.is_yes_no = check  # render_sources looks it up per call
        stated = declined = 0
        print(f"\n{name}")
        for q in questions:
            a = rag.ask(q["question"])
            ok = not a.abstained and any(fact_present(a.text, f) for f in q["key_facts"])
            stated += ok
            declined += a.abstained
            print(f"  {q['id']} {'fact' if ok else '----'} {a.abstain_reason:16s} {a.text[:110]!r}", flush=True)
        totals[name] = (stated, declined)
    prompt.is_yes_no = real
    print()
    for name, (stated, declined) in totals.items():
        print(f"{name:18s} key fact stated {stated}/{len(questions)}, declined {declined}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
