"""Which stored answers name something (a proper name or technical term) that neither the question
nor the sources their sentences cite ever use, and would be declined if such a sentence counted as
unsupported.

    python eval/reports/probes-38/answer_names.py c37-full c37-dev ...

Reads stored answer reports and the current index's chunks; no model runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from studyrag.abstain import unknown_names
from studyrag.citations import resolve_citations
from studyrag.evaluation.metrics import fact_present
from studyrag.lexical import tokenize
from studyrag.records import Hit
from studyrag.store import _load_chunks

REPORTS = Path(__file__).resolve().parents[1]
CHUNKS = {c.id: c for c in _load_chunks(REPORTS.parents[1] / "indexes" / "default")}


def verdict(q: dict, scope: str) -> tuple[bool, list[str]]:
    """(declined under the rule, the names it found) for one stored answer."""
    hits = [Hit(CHUNKS[s["chunk_id"]], s["score"], s["n"]) for s in q["sources"]]
    asked = q["standalone_question"] or q["question"]
    report = resolve_citations(q["answer"], hits, question=asked)
    kept, names = 0, []
    for c in report.sentence_citations:
        if not c.numbers or c in report.unsupported:
            continue
        cited = [hits[n - 1] for n in c.numbers] if scope == "cited" else hits
        known = set(tokenize(asked + " " + " ".join(f"{h.chunk.source} {' '.join(h.chunk.section)} {h.chunk.text}" for h in cited)))
        missing = unknown_names(c.text, known, tokenize)
        names += missing
        kept += not missing
    return kept == 0, names


def main() -> None:
    for scope in ("cited", "prompt"):
        print(f"== names checked against the {scope} sources")
        tally = {"answer:fact": 0, "answer:nofact": 0, "abstain": 0}
        for run in sys.argv[1:]:
            qs = json.loads((REPORTS / run / "report.json").read_text(encoding="utf-8"))["answers"]["questions"]
            for q in qs:
                if q["abstained"] or q.get("error"):
                    continue
                declined, names = verdict(q, scope)
                if not names:
                    continue
                fact = any(fact_present(q["answer"], f) for f in q.get("key_facts") or [])
                kind = "abstain" if q["expected"] == "abstain" else ("answer:fact" if fact else "answer:nofact")
                if declined:
                    tally[kind] += 1
                print(f"{run:<12} {q['id']:<6} {kind:<14} {'DECLINED' if declined else 'kept':<8} {names}")
        print("declined:", tally)


if __name__ == "__main__":
    main()
