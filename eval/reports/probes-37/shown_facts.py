"""How often what a student is shown states a key fact: the answer alone, against the answer plus
the line quoted under each cited source (as ``studyrag ask`` and the chat print them).

    python eval/reports/probes-37/shown_facts.py c36-full c36-dev ...

Reads stored answer reports and the current index's chunks; no model runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from studyrag.evaluation.metrics import fact_present
from studyrag.quotes import claims_by_source, quote
from studyrag.store import _load_chunks

REPORTS = Path(__file__).resolve().parents[1]
CHUNKS = {c.id: c for c in _load_chunks(REPORTS.parents[1] / "indexes" / "default")}


def shown(q: dict, width: int) -> str:
    """The answer followed by the quote under each cited source."""
    claims = claims_by_source(q["answer"])
    lines = [q["answer"]]
    for s in q["sources"]:
        chunk = CHUNKS.get(s["chunk_id"])
        if chunk and s["n"] in claims:
            line = quote(chunk.text, claims[s["n"]], question=q["standalone_question"] or q["question"], width=width)
            lines += [line] if line else []
    return "\n".join(lines)


def rate(qs: list[dict], text) -> int:
    """How many of ``qs`` were answered with a key fact in ``text(q)``."""
    return sum(not q["abstained"] and any(fact_present(text(q), f) for f in q["key_facts"]) for q in qs)


def main() -> None:
    print(f"{'run':<14} {'n':>4} {'answer':>7} {'+quotes':>8} {'+quotes (200 chars)':>20}")
    for run in sys.argv[1:]:
        qs = json.loads((REPORTS / run / "report.json").read_text(encoding="utf-8"))["answers"]["questions"]
        qs = [q for q in qs if q["expected"] == "answer" and q.get("key_facts") and not q.get("error")]
        a, b, c = (rate(qs, text) for text in (lambda q: q["answer"], lambda q: shown(q, 10**6), lambda q: shown(q, 200)))
        print(f"{run:<14} {len(qs):>4} {a / len(qs):>7.3f} {b / len(qs):>8.3f} {c / len(qs):>20.3f}")


if __name__ == "__main__":
    main()
