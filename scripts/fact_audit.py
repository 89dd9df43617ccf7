"""How far the key-fact matcher agrees with a reader, from the hand labels in ``eval/fact_audit.jsonl``.

    python scripts/fact_audit.py
    python scripts/fact_audit.py eval/reports/c256-{full,dev,heldout,unseen,unseen2,unseen3}

The answer targets count an answer as right when it states at least one key fact, judged by
``evaluation.metrics.fact_present`` (every content term of the fact, lightly stemmed). That is a
lexical rule, so it can miss a fact said in other words ("speeds up training by 2-3x" for "2-3x
faster") and can accept an answer that names the fact's words but gets it wrong ("Transformers
prefer BatchNorm because it works better with variable sequence lengths and small batches").

The audit file holds answers from the ``c256-*`` reports, labelled by reading them against the
reference answer: every answered, answerable question the matcher marked wrong
(``lexical_miss``), and a seeded random sample of 40 it marked right (``lexical_hit_sample``).
``states_fact`` is the label; ``note`` says why wherever it disagrees with the matcher.

Prints the matcher's errors both ways. Given the reports the labels came from, also the pooled
share of answerable questions with a key fact as the matcher counts it, and as it would be with the
labelled misses counted right and the sample's error rate taken off the matcher's hits.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from studyrag.evaluation.metrics import fact_present

ROOT = Path(__file__).resolve().parents[1]


def matcher_says(row: dict) -> bool:
    """What the answer targets count for this row: at least one key fact present.

    >>> matcher_says({"answer": "Mixtral routes to 2 experts [1].", "key_facts": ["top-2", "2 experts"]})
    True
    """
    return any(fact_present(row["answer"], fact) for fact in row["key_facts"])


def audit(rows: Sequence[dict]) -> dict[str, float | int]:
    """Disagreements between the matcher and the labels, per sample.

    >>> audit([
    ...     {"sample": "lexical_miss", "answer": "It is 64x faster [1].", "key_facts": ["64x speedup"],
    ...      "states_fact": True},
    ...     {"sample": "lexical_hit_sample", "answer": "Top-2 [1].", "key_facts": ["top-2"], "states_fact": True},
    ... ])["missed_but_right"]
    1
    """
    misses = [r for r in rows if r["sample"] == "lexical_miss"]
    hits = [r for r in rows if r["sample"] == "lexical_hit_sample"]
    stale = [r for r in rows if matcher_says(r) != (r["sample"] == "lexical_hit_sample")]
    if stale:
        # the matcher changed since the labels were taken: the sample no longer means what it says
        raise SystemExit(f"{len(stale)} rows no longer match their sample (first: {stale[0]['id']}); re-sample")
    return {
        "lexical_misses": len(misses),
        "missed_but_right": sum(r["states_fact"] for r in misses),
        "hit_sample": len(hits),
        "hit_but_wrong": sum(not r["states_fact"] for r in hits),
    }


def answered_right(report_dirs: Sequence[str]) -> tuple[int, int]:
    """(answerable questions with key facts, those the matcher counts right) over answers reports."""
    n = right = 0
    for d in report_dirs:
        questions = json.loads((Path(d) / "report.json").read_text(encoding="utf-8"))["answers"]["questions"]
        for q in questions:
            if q["expected"] != "abstain" and q.get("key_facts") and not q.get("error"):
                n += 1
                right += not q["abstained"] and matcher_says(q)
    return n, right


def main(argv: Sequence[str] = ()) -> int:
    path = ROOT / "eval" / "fact_audit.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    a = audit(rows)
    fn = a["missed_but_right"] / a["lexical_misses"]
    fp = a["hit_but_wrong"] / a["hit_sample"]
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(rows)} labelled answers")
    print(f"  matcher said wrong, a reader says right: {a['missed_but_right']} of {a['lexical_misses']} ({fn:.1%})")
    print(f"  matcher said right, a reader says wrong: {a['hit_but_wrong']} of {a['hit_sample']} sampled ({fp:.1%})")
    for r in rows:
        if r["note"]:
            print(f"    {r['set']:<14} {r['id']:<5} {'right' if r['states_fact'] else 'wrong'}: {r['note']}")
    if argv:
        n, right = answered_right(argv)
        fixed = right * (1 - fp) + a["missed_but_right"]
        print(f"pooled over {len(argv)} reports, {n} answerable questions with key facts:")
        print(f"  at least one key fact, matcher: {right} ({right / n:.3f})")
        print(f"  corrected by the audit:         {fixed:.0f} ({fixed / n:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
