"""Where the answerable questions without a key fact go wrong, pooled over answer reports.

    python eval/reports/probes-30/misses.py > eval/reports/probes-30/misses.txt
    python eval/reports/probes-30/misses.py c36-full:c28-main-retrieval ...  # other answer runs

Each answer report is paired with the retrieval report of the same gold set (its fused top 10), and
every answerable question falls in one bucket: the right passage at [1] of the prompt, lower in the
prompt, not in it (then: its fused rank, or "not in top 10"), or declined (then: the reason).
"""

from __future__ import annotations

import ast
import json
import sys
from collections import Counter
from pathlib import Path

from studyrag.evaluation.metrics import fact_present

REPORTS = Path(__file__).resolve().parents[1]
PAIRS = [  # (answers, retrieval) as in the README's table
    ("c29-full", "c28-main-retrieval"), ("c29-framing-dev", "c256-dev-retrieval"),
    ("c29-heldout", "c256-heldout-retrieval"), ("c29-unseen", "c256-unseen-retrieval"),
    ("c29-unseen2", "c256-unseen2-retrieval"), ("c29-unseen3", "c256-unseen3-retrieval"),
    ("c29-student", "c28-student-retrieval"),
]


def _load(run: str, suite: str) -> list[dict]:
    return json.loads((REPORTS / run / "report.json").read_text(encoding="utf-8"))[suite]["questions"]


def bucket(q: dict, fused_ids: list[str] | None) -> str:
    """The question's bucket, from its stored prompt sources and the fused top 10."""
    gold = {c for ids in q["relevant"].values() for c in ids}
    if q["abstained"]:
        return f"declined ({q['abstain_reason']})"
    sources = ast.literal_eval(q["sources"]) if isinstance(q["sources"], str) else q["sources"]
    places = [s["n"] for s in sources if s["chunk_id"] in gold]
    if 1 in places:
        return "right passage at [1]"
    if places:
        return "right passage lower in the prompt"
    if fused_ids is None:
        return "not in the prompt (no retrieval record)"
    ranks = [fused_ids.index(g) + 1 for g in gold if g in fused_ids]
    return f"not in the prompt (fused rank {min(ranks)})" if ranks else "not in the prompt (not in fused top 10)"


def main() -> None:
    pairs = [tuple(a.split(":", 1)) for a in sys.argv[1:]] or PAIRS  # "answers:retrieval" report names
    hit, miss = Counter(), Counter()
    for answers, retrieval in pairs:
        fused = {q["id"]: [h["chunk_id"] for h in q["runs"]["fused"]["ranked"]] for q in _load(retrieval, "retrieval")}
        for q in _load(answers, "answers"):
            if q["expected"] != "answer" or not q.get("key_facts") or q.get("error"):
                continue
            stated = not q["abstained"] and any(fact_present(q["answer"], f) for f in q["key_facts"])
            (hit if stated else miss)[bucket(q, fused.get(q["id"]))] += 1
    print(f"{'bucket':<48}{'key fact':>9}{'none':>6}")
    for name in sorted(set(hit) | set(miss)):
        print(f"{name:<48}{hit[name]:>9}{miss[name]:>6}")
    print(f"{'all':<48}{sum(hit.values()):>9}{sum(miss.values()):>6}")


if __name__ == "__main__":
    main()
