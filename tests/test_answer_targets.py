"""scripts/answer_targets.py: the answer-quality targets read back from a report's records."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "answer_targets.py"
spec = importlib.util.spec_from_file_location("answer_targets", SCRIPT)
answer_targets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(answer_targets)


def record(expected: str, answer: str, *, abstained: bool = False, kind: str = "factual", **extra) -> dict:
    return {
        "expected": expected,
        "kind": kind,
        "answer": answer,
        "abstained": abstained,
        "sources": [{"n": 1}, {"n": 2}],
        "key_facts": [],
        "error": None,
        **extra,
    }


def test_only_citations_to_prompt_sources_count_and_trivial_lines_need_none() -> None:
    t = answer_targets.targets(
        [
            record(
                "answer",
                "## LoRA\nLoRA trains small adapters [1]. It freezes the base weights [7]. "
                "The guides do not cover QLoRA.",
            ),
        ]
    )
    assert t["answered_sentences"] == 2  # the heading and the "do not cover" sentence need no citation
    assert t["cited_sentences"] == 0.5  # [7] was not in the prompt


def test_key_facts_and_abstention_rates() -> None:
    t = answer_targets.targets(
        [
            record(
                "answer",
                "Chinchilla uses about 20 tokens per parameter [1].",
                key_facts=["20 tokens", "parameter"],
            ),
            record("answer", "It is about compute [1].", key_facts=["20 tokens"]),
            record("answer", "The guides do not cover this.", abstained=True, key_facts=["x"]),
            record("abstain", "The guides do not cover this.", abstained=True, kind="unanswerable"),
            record("abstain", "Sure: 42 [1].", kind="adversarial"),
            record("answer", "", error="boom"),  # errors are left out
        ]
    )
    assert t["all_key_facts"] == 1 / 3 and t["any_key_fact"] == 1 / 3
    assert t["abstained_when_unanswerable"] == 0.5 and t["abstained_unanswerable_kind"] == 1.0
    assert t["abstained_when_answerable"] == 1 / 3 and t["answerable"] == 3


def test_several_reports_print_one_block_each(tmp_path, capsys) -> None:
    paths = []
    for name, text in (("a", "Chinchilla uses 20 tokens per parameter [1]."), ("b", "It is about compute [1].")):
        run = tmp_path / name
        run.mkdir()
        rec = record("answer", text, key_facts=["20 tokens"])
        (run / "report.json").write_text(json.dumps({"answers": {"questions": [rec]}}), encoding="utf-8")
        paths.append(str(run))
    assert answer_targets.main(paths) == 0
    out = capsys.readouterr().out
    assert out.count("report ") == 2
    assert [line.split()[-1] for line in out.splitlines() if "at least one key fact" in line] == ["1.000", "0.000"]
    assert answer_targets.main([*paths, str(tmp_path / "missing")]) == 2
