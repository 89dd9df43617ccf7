"""The hand-written evaluation data in eval/ is valid against the repaired corpus, and the checker
that says so actually rejects broken data."""

from __future__ import annotations

import copy
import doctest
import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "eval"
CORPUS = ROOT / "corpus"


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_eval_data", ROOT / "scripts" / "check_eval_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ck = _load_checker()


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return ck.corpus_texts(CORPUS)[0]


@pytest.fixture(scope="module")
def retrieval() -> list[dict]:
    return ck.load_jsonl(EVAL / "retrieval.jsonl")


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return ck.load_jsonl(EVAL / "questions.jsonl")


@pytest.fixture(scope="module")
def calibration() -> list[dict]:
    return ck.load_jsonl(EVAL / "judge_calibration.jsonl")


# ----------------------------------------------------------------- the shipped data is valid


def test_retrieval_set_is_valid(retrieval, texts):
    assert ck.check_retrieval(retrieval, texts) == []


def test_question_set_is_valid(questions, retrieval, texts):
    assert ck.check_questions(questions, retrieval, texts) == []


def test_calibration_set_is_valid(calibration, texts):
    assert ck.check_calibration(calibration, texts) == []


def test_counts_meet_the_minimums(retrieval, questions, calibration):
    kinds = Counter(r["kind"] for r in retrieval)
    assert len(retrieval) >= 130 and kinds["unanswerable"] >= 20
    assert kinds["multi_section"] >= 20 and kinds["paraphrase"] >= 40 and kinds["factual"] >= 50
    qkinds = Counter(q["kind"] for q in questions)
    assert len(questions) >= 150 and qkinds["adversarial"] >= 20 and qkinds["multi_turn"] >= 10
    assert len(calibration) >= 70


def test_every_guide_is_covered_by_retrieval_questions(retrieval, texts):
    per_guide = ck.guide_counts(retrieval)
    assert set(per_guide) == set(texts)
    assert min(per_guide.values()) >= 8
    # the two large guides carry most of the questions, as they carry most of the text
    big = per_guide["advanced-ai-glossary-248-topics.txt"] + per_guide["modern-ml-ai-techniques-2024-2025.md"]
    assert big > sum(per_guide.values()) / 2


def test_mojibake_guides_are_checked_in_repaired_form(retrieval, texts):
    """Snippets from the mis-decoded guides are found in the repaired text, not by luck in raw bytes."""
    raw = (CORPUS / "modern-ml-ai-techniques-2024-2025.md").read_text(encoding="utf-8")
    assert "‚âà" in raw and "‚âà" not in texts["modern-ml-ai-techniques-2024-2025.md"]
    assert "≈" in texts["modern-ml-ai-techniques-2024-2025.md"]


def test_adversarial_questions_cover_every_expectation(questions):
    adversarial = [q for q in questions if q["kind"] == "adversarial"]
    assert {q["expected"] for q in adversarial} == {"abstain", "correct_premise", "answer"}


def test_calibration_covers_every_claim_type(calibration):
    assert {c["type"] for c in calibration} == set(ck.CLAIM_TYPES)


def test_checker_doctests_pass():
    result = doctest.testmod(ck, verbose=False)
    assert result.attempted > 0 and result.failed == 0


# ----------------------------------------------------------------- the checker rejects bad data


def test_checker_rejects_a_snippet_missing_from_the_corpus(retrieval, texts):
    rows = copy.deepcopy(retrieval)
    rows[0]["evidence"][0]["snippet"] = "a sentence that no guide contains anywhere at all"
    problems = ck.check_retrieval(rows, texts)
    assert any("not in repaired" in p and rows[0]["id"] in p for p in problems)


def test_checker_rejects_an_ambiguous_snippet(retrieval, texts):
    rows = copy.deepcopy(retrieval)
    rows[0]["evidence"] = [{"source": "modern-ml-ai-techniques-2024-2025.md", "snippet": "Top-2 routing"}]
    rows[0]["guides"] = ["modern-ml-ai-techniques-2024-2025.md"]
    assert any("occurs 2 times" in p for p in ck.check_retrieval(rows, texts))


def test_checker_rejects_duplicate_ids_and_unknown_kinds(retrieval, texts):
    rows = copy.deepcopy(retrieval)
    rows[1]["id"] = rows[0]["id"]
    rows[2]["kind"] = "trivia"
    problems = ck.check_retrieval(rows, texts)
    assert any("used 2 times" in p for p in problems)
    assert any("'trivia'" in p for p in problems)


def test_checker_rejects_too_few_questions(retrieval, texts):
    problems = ck.check_retrieval(retrieval[:50], texts)
    assert any("need at least" in p for p in problems)


def test_checker_requires_two_evidence_items_for_multi_section(retrieval, texts):
    rows = copy.deepcopy(retrieval)
    row = next(r for r in rows if r["kind"] == "multi_section")
    row["evidence"] = row["evidence"][:1]
    row["guides"] = [row["evidence"][0]["source"]]
    assert any("2+ evidence" in p for p in ck.check_retrieval(rows, texts))


def test_checker_rejects_an_answerable_question_without_key_facts(questions, retrieval, texts):
    rows = copy.deepcopy(questions)
    row = next(q for q in rows if q["kind"] == "factual")
    row["key_facts"] = []
    assert any("key_facts" in p for p in ck.check_questions(rows, retrieval, texts))


def test_checker_rejects_a_dropped_answerable_question(questions, retrieval, texts):
    rows = [q for q in questions if q["id"] != "r001"]
    assert any("missing: r001" in p for p in ck.check_questions(rows, retrieval, texts))


def test_checker_rejects_mislabelled_calibration(calibration, texts):
    rows = copy.deepcopy(calibration)
    row = next(c for c in rows if c["type"] == "negation")
    row["supported"] = True
    rows[1]["evidence"] = "This passage was never written in any guide."
    problems = ck.check_calibration(rows, texts)
    assert any("only verbatim/paraphrase" in p for p in problems)
    assert any("evidence not in repaired" in p for p in problems)


def test_main_exits_nonzero_on_bad_data(tmp_path, retrieval, questions, calibration, capsys):
    import json

    for name, rows in [("retrieval.jsonl", retrieval[:10]), ("questions.jsonl", questions),
                       ("judge_calibration.jsonl", calibration)]:  # fmt: skip
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert ck.main(["--eval-dir", str(tmp_path), "--corpus", str(CORPUS)]) == 1
    assert "PROBLEM:" in capsys.readouterr().out
    assert ck.main(["--eval-dir", str(EVAL), "--corpus", str(CORPUS)]) == 0


@pytest.mark.parametrize("folder", ["dev", "heldout", "unseen", "unseen2", "unseen3", "student"])
def test_extra_sets_are_valid_and_ask_nothing_the_main_set_asks(folder, texts, questions):
    d = EVAL / folder
    text, problems, _ = ck.check_all(d, CORPUS, heldout=True)
    assert problems == [] and "questions.jsonl" in text
    extra = ck.load_jsonl(d / "questions.jsonl")
    kinds = Counter(q["kind"] for q in extra)
    # the student set asks mostly by name, as students do: 22 factual, 14 paraphrase
    assert len(extra) >= 50 and kinds["paraphrase"] >= (14 if folder == "student" else 15) and kinds["unanswerable"] >= 5
    assert ck.check_overlap(extra, questions) == []


def test_heldout_check_rejects_a_question_copied_from_another_set(tmp_path, retrieval, questions):
    for name, rows in (("retrieval.jsonl", retrieval[:3]), ("questions.jsonl", questions[:3])):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    _, problems, _ = ck.check_all(tmp_path, CORPUS, heldout=True)
    assert any("id also used" in p for p in problems) and any("same question" in p for p in problems)
