"""scripts/pooled_compare.py: several before/after report pairs compared as one paired sample."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "pooled_compare.py"
spec = importlib.util.spec_from_file_location("pooled_compare", SCRIPT)
pooled_compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pooled_compare)


def report(folder: Path, scores: dict[str, float | None]) -> Path:
    folder.mkdir()
    questions = [{"id": qid, "scores": {"correctness": s}} for qid, s in scores.items()]
    (folder / "report.json").write_text(json.dumps({"answers": {"questions": questions}}), encoding="utf-8")
    return folder


def test_pairs_are_pooled_by_question_and_unscored_ones_skipped(tmp_path: Path, capsys) -> None:
    a1 = report(tmp_path / "a1", {"q1": 0.0, "q2": 1.0, "q3": None})
    b1 = report(tmp_path / "b1", {"q1": 1.0, "q2": 1.0, "q3": 1.0})
    a2 = report(tmp_path / "a2", {"q1": 0.0})
    b2 = report(tmp_path / "b2", {"q1": 1.0, "q9": 0.0})
    assert pooled_compare.paired_scores(a1, b1, "correctness") == [(0.0, 1.0), (1.0, 1.0)]
    assert pooled_compare.main([f"{a1}:{b1}", f"{a2}:{b2}"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| correctness"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:5] == ["3", "0.333", "1.000", "+0.667"]


def test_a_pair_without_a_colon_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        pooled_compare.main([str(tmp_path)])
