"""The answer-quality targets of a finished evaluation run, read from its ``report.json``.

    python scripts/answer_targets.py eval/reports/baseline-full
    python scripts/answer_targets.py eval/reports/{bold-full,bold-dev,bold-heldout,unseen-answers}

Prints, over the answers suite:

- cited sentences: the share of claim sentences (headings, lead-ins and "the guides do not say"
  sentences need no citation: ``citations.is_trivial``) that carry at least one citation to a
  source that was in the prompt, pooled over every answered question that expects an answer;
- reference fact: the share of answerable questions whose answer states all its key facts, and
  the share that states at least one (key-fact matching: ``evaluation.metrics.fact_present``);
- abstention: the share of unanswerable questions that abstained, and the share of answerable
  ones that did (false abstentions).

Nothing is re-run: the figures come from the answers and sources stored in the report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from studyrag.citations import is_trivial, parse_citations
from studyrag.evaluation.metrics import fact_present


def targets(questions: Sequence[dict]) -> dict[str, float | int]:
    """Target figures over the per-question records of an answers report.

    >>> q = {"expected": "answer", "abstained": False, "answer": "LoRA adds adapters [1]. It is cheap.",
    ...      "sources": [{"n": 1}], "key_facts": ["adapters"], "error": None}
    >>> t = targets([q, {"expected": "abstain", "abstained": True, "answer": "", "sources": [], "error": None}])
    >>> t["cited_sentences"], t["all_key_facts"], t["abstained_when_unanswerable"]
    (0.5, 1.0, 1.0)
    """
    n_sent = n_cited = 0
    facts_all = facts_any = n_facts = 0
    unans = unans_abst = ans = ans_abst = 0
    plain = plain_abst = 0  # the "unanswerable" kind alone (the rest are adversarial questions)
    for q in questions:
        if q.get("error"):
            continue
        answerable = q["expected"] != "abstain"
        if not answerable:
            unans += 1
            unans_abst += bool(q["abstained"])
            if q.get("kind") == "unanswerable":
                plain += 1
                plain_abst += bool(q["abstained"])
            continue
        ans += 1
        ans_abst += bool(q["abstained"])
        if q.get("key_facts"):
            n_facts += 1
            present = [not q["abstained"] and fact_present(q["answer"], f) for f in q["key_facts"]]
            facts_all += all(present)
            facts_any += any(present)
        if q["abstained"]:
            continue
        in_prompt = {s["n"] for s in q["sources"]}
        for s in parse_citations(q["answer"]):
            if is_trivial(s.text):
                continue
            n_sent += 1
            n_cited += any(n in in_prompt for n in s.numbers)
    return {
        "answered_sentences": n_sent,
        "cited_sentences": n_cited / n_sent if n_sent else float("nan"),
        "questions_with_key_facts": n_facts,
        "all_key_facts": facts_all / n_facts if n_facts else float("nan"),
        "any_key_fact": facts_any / n_facts if n_facts else float("nan"),
        "unanswerable": unans,
        "abstained_when_unanswerable": unans_abst / unans if unans else float("nan"),
        "unanswerable_kind": plain,
        "abstained_unanswerable_kind": plain_abst / plain if plain else float("nan"),
        "answerable": ans,
        "abstained_when_answerable": ans_abst / ans if ans else float("nan"),
    }


def _print(path: str, t: dict) -> None:
    print(f"report {path}")
    print(f"cited claim sentences     {t['cited_sentences']:.3f}  ({t['answered_sentences']} sentences)")
    print(f"all key facts stated      {t['all_key_facts']:.3f}  ({t['questions_with_key_facts']} questions)")
    print(f"at least one key fact     {t['any_key_fact']:.3f}")
    print(
        f"abstained, should abstain {t['abstained_when_unanswerable']:.3f}  ({t['unanswerable']} questions)"
    )
    print(
        f"  of which 'unanswerable' {t['abstained_unanswerable_kind']:.3f}  ({t['unanswerable_kind']} questions; "
        "the rest are adversarial)"
    )
    print(f"abstained, answerable     {t['abstained_when_answerable']:.3f}  ({t['answerable']} questions)")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reports", type=Path, nargs="+", help="report directories or their report.json files")
    p.add_argument("--json", action="store_true", help="print JSON (an object per report, keyed by its path)")
    args = p.parse_args(argv)
    found: dict[str, dict] = {}
    for given in args.reports:
        path = given / "report.json" if given.is_dir() else given
        if not path.is_file():
            print(f"no report at {path}: give a folder under eval/reports/ or its report.json", file=sys.stderr)
            return 2
        report = json.loads(path.read_text(encoding="utf-8"))
        if not report.get("answers"):
            print(f"{path} has no answers suite: run `studyrag eval --suite answers` (or all)", file=sys.stderr)
            return 2
        found[str(path)] = targets(report["answers"]["questions"])
    if args.json:
        print(json.dumps(found if len(found) > 1 else next(iter(found.values())), indent=2))
        return 0
    for i, (path, t) in enumerate(found.items()):
        if i:
            print()
        _print(path, t)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
