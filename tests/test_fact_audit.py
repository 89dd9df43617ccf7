"""scripts/fact_audit.py: the key-fact matcher against hand labels."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("fact_audit", ROOT / "scripts" / "fact_audit.py")
fact_audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fact_audit)

AUDIT = ROOT / "eval" / "fact_audit.jsonl"


def test_shipped_labels_still_match_the_matcher_and_explain_every_disagreement() -> None:
    rows = [json.loads(line) for line in AUDIT.read_text(encoding="utf-8").splitlines()]
    a = fact_audit.audit(rows)  # raises when fact_present changed since the labels were taken
    assert a["lexical_misses"] + a["hit_sample"] == len(rows)
    for r in rows:
        disagrees = r["states_fact"] == (r["sample"] == "lexical_miss")
        assert bool(r["note"]) == disagrees, r["id"]
        assert (ROOT / r["set"] / "questions.jsonl").is_file(), r["set"]


def test_a_row_the_matcher_now_judges_differently_is_refused() -> None:
    row = {"id": "x", "sample": "lexical_miss", "answer": "Top-2 routing [1].", "key_facts": ["top-2"]}
    with pytest.raises(SystemExit, match="re-sample"):
        fact_audit.audit([{**row, "states_fact": True}])


def test_pooled_figure_counts_declined_answerable_questions_as_wrong(tmp_path: Path) -> None:
    questions = [
        {"expected": "answer", "key_facts": ["top-2"], "answer": "Top-2 [1].", "abstained": False},
        {"expected": "answer", "key_facts": ["top-2"], "answer": "Top-2 [1].", "abstained": True},
        {"expected": "abstain", "key_facts": [], "answer": "", "abstained": True},
    ]
    (tmp_path / "report.json").write_text(json.dumps({"answers": {"questions": questions}}))
    assert fact_audit.answered_right([str(tmp_path)]) == (2, 1)
