"""Check the hand-written evaluation data in ``eval/`` against the repaired corpus.

Every evidence snippet and every calibration passage must occur verbatim in the *repaired* text of
the guide it names (compared case-, whitespace- and ``*``/`` ` ``-insensitively, after NFKC, the
same rule as ``studyrag.evaluation.metrics.locate``); ids must be unique, kinds valid, and the
sets large enough. Prints per-kind and per-guide counts, then the problems, if any.

    $ python scripts/check_eval_data.py
    retrieval.jsonl: 188 questions  factual=72 paraphrase=67 multi_section=25 unanswerable=24
    ...
    OK: no problems

Exit status: 0 when the data is valid, 1 when a problem was found.

The repaired text comes from ``studyrag.loaders.load_document`` when that module is importable (the
ground truth: what the index is built from), else from ``studyrag.repair.repair_text``, else from a
small local repair (each line re-encoded with the code page it was misread as).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

RETRIEVAL_KINDS = ("factual", "paraphrase", "multi_section", "unanswerable")
QUESTION_KINDS = (*RETRIEVAL_KINDS, "multi_turn", "adversarial")
EXPECTED = ("answer", "abstain", "correct_premise")
CLAIM_TYPES = (
    "verbatim",
    "paraphrase",
    "wrong_number",
    "swapped_name",
    "unsupported_plausible",
    "negation",
    "partial",
)

# The minimums the evaluation relies on (see eval/README.md).
MIN_RETRIEVAL = 120
MIN_UNANSWERABLE = 15
MIN_QUESTIONS = 150
MIN_CALIBRATION = 60
MIN_ADVERSARIAL = 20
MIN_MULTI_TURN = 10
MIN_PER_GUIDE = 8
MAX_KEY_FACTS = 3

# Misread code pages of guides that ship as mojibake, for the local fallback repair only.
_FALLBACK_CODE_PAGES = ("mac_roman", "cp1252")


# --------------------------------------------------------------------------- text


def normalize(text: str) -> str:
    """The comparison form: NFKC, case-folded, ``*`` and backticks dropped, whitespace runs → one space.

    >>> normalize("Low-Rank   **Adaptation**\\n`freezes` W")
    'low-rank adaptation freezes w'
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("*", "").replace("`", "")
    return re.sub(r"\s+", " ", text).strip()


def count_in(text: str, snippet: str) -> int:
    """How many times ``snippet`` occurs in ``text`` (both normalized); 0 for an empty snippet.

    >>> count_in("Top-2 routing. Top-2 routing per token.", "top-2 ROUTING")
    2
    """
    needle = normalize(snippet)
    return normalize(text).count(needle) if needle else 0


def _fallback_repair(raw: str) -> str:
    """Re-encode each line with the first code page that round-trips to valid UTF-8 and changes it.

    >>> _fallback_repair("Optimal tokens \u201a\u00e2\u00e0 20")
    'Optimal tokens ≈ 20'
    """
    out = []
    for line in raw.splitlines(keepends=True):
        fixed = line
        for page in _FALLBACK_CODE_PAGES:
            try:
                candidate = line.encode(page).decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if candidate != line:
                fixed = candidate
                break
        out.append(fixed)
    return "".join(out)


def corpus_texts(corpus_dir: Path) -> tuple[dict[str, str], str]:
    """The repaired text of every guide in ``corpus_dir`` by file name, and which repair produced it."""
    files = sorted(p for p in corpus_dir.iterdir() if p.is_file() and p.suffix in {".md", ".txt"})
    try:
        from studyrag.loaders import load_document  # the ground truth once it exists
    except ImportError:
        load_document = None
    if load_document is not None:
        return {p.name: load_document(p).text for p in files}, "studyrag.loaders.load_document"
    try:
        from studyrag.repair import repair_text
    except ImportError:
        repair_text = None
    if repair_text is not None:
        return {
            p.name: repair_text(p.read_text(encoding="utf-8"))[0] for p in files
        }, "studyrag.repair.repair_text"
    return {p.name: _fallback_repair(p.read_text(encoding="utf-8")) for p in files}, "local line re-encoding"


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file; blank lines are skipped, a bad line raises with its number."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path.name}:{n}: not valid JSON ({exc}); fix the line") from exc
        if not isinstance(row, dict):
            raise ValueError(f"{path.name}:{n}: expected a JSON object per line")
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- checks


def _check_ids(rows: Sequence[Mapping[str, Any]], name: str) -> list[str]:
    problems = []
    ids = Counter(r.get("id") for r in rows)
    for rid, n in ids.items():
        if not isinstance(rid, str) or not rid:
            problems.append(f"{name}: {n} row(s) without a string id")
        elif n > 1:
            problems.append(f"{name}: id {rid!r} used {n} times")
    return problems


def _check_evidence(where: str, evidence: Any, texts: Mapping[str, str], unique: bool = True) -> list[str]:
    """Each item names a corpus file and a snippet found there (exactly once when ``unique``)."""
    if not isinstance(evidence, list):
        return [f"{where}: 'evidence' must be a list"]
    problems = []
    for item in evidence:
        src, snippet = item.get("source"), item.get("snippet")
        if src not in texts:
            problems.append(f"{where}: unknown source {src!r}")
            continue
        if not isinstance(snippet, str) or not snippet.strip():
            problems.append(f"{where}: empty snippet")
            continue
        n = count_in(texts[src], snippet)
        if n == 0:
            problems.append(f"{where}: snippet not in repaired {src}: {snippet!r}")
        elif unique and n > 1:
            problems.append(f"{where}: snippet occurs {n} times in {src}, make it specific: {snippet!r}")
    return problems


def _check_guides(where: str, row: Mapping[str, Any]) -> list[str]:
    want = sorted({e.get("source") for e in row.get("evidence") or []})
    return [] if row.get("guides") == want else [f"{where}: 'guides' should be {want}"]


def check_retrieval(
    rows: Sequence[Mapping[str, Any]], texts: Mapping[str, str], *, minimums: bool = True
) -> list[str]:
    """Problems in the retrieval set (an empty list when it is valid); ``minimums``: check set sizes."""
    problems = _check_ids(rows, "retrieval")
    for r in rows:
        where = f"retrieval {r.get('id')}"
        kind, evidence = r.get("kind"), r.get("evidence")
        if kind not in RETRIEVAL_KINDS:
            problems.append(f"{where}: kind {kind!r} not one of {RETRIEVAL_KINDS}")
        if not isinstance(r.get("question"), str) or not r["question"].strip():
            problems.append(f"{where}: empty question")
        problems += _check_evidence(where, evidence, texts)
        problems += _check_guides(where, r)
        n = len(evidence) if isinstance(evidence, list) else 0
        if kind == "unanswerable" and n:
            problems.append(f"{where}: unanswerable questions have no evidence")
        if kind in ("factual", "paraphrase") and not n:
            problems.append(f"{where}: {kind} questions need evidence")
        if kind == "multi_section" and n < 2:
            problems.append(f"{where}: multi_section questions need 2+ evidence items")
    if not minimums:
        return problems
    kinds = Counter(r.get("kind") for r in rows)
    if len(rows) < MIN_RETRIEVAL:
        problems.append(f"retrieval: {len(rows)} questions, need at least {MIN_RETRIEVAL}")
    if kinds["unanswerable"] < MIN_UNANSWERABLE:
        problems.append(f"retrieval: {kinds['unanswerable']} unanswerable, need at least {MIN_UNANSWERABLE}")
    per_guide = guide_counts(rows)
    for name in texts:
        if per_guide[name] < MIN_PER_GUIDE:
            problems.append(f"retrieval: guide {name} has {per_guide[name]} questions, need {MIN_PER_GUIDE}")
    return problems


def _check_answer_fields(where: str, q: Mapping[str, Any]) -> list[str]:
    problems = []
    expected, answerable = q.get("expected"), q.get("answerable")
    if expected not in EXPECTED:
        problems.append(f"{where}: expected {expected!r} not one of {EXPECTED}")
    if not isinstance(answerable, bool):
        problems.append(f"{where}: 'answerable' must be true or false")
    if expected == "abstain":
        if answerable is not False:
            problems.append(f"{where}: expected abstain but answerable is not false")
        if q.get("evidence"):
            problems.append(f"{where}: abstain questions have no evidence")
    else:
        if answerable is not True:
            problems.append(f"{where}: expected {expected} needs answerable true")
        if not isinstance(q.get("reference"), str) or not q["reference"].strip():
            problems.append(f"{where}: answerable questions need a reference answer")
        facts = q.get("key_facts")
        if not isinstance(facts, list) or not 1 <= len(facts) <= MAX_KEY_FACTS:
            problems.append(f"{where}: answerable questions need 1-{MAX_KEY_FACTS} key_facts")
        elif not all(isinstance(f, str) and f.strip() for f in facts):
            problems.append(f"{where}: key_facts must be non-empty strings")
        if not q.get("evidence"):
            problems.append(f"{where}: answerable questions need evidence")
    return problems


def check_questions(
    rows: Sequence[Mapping[str, Any]],
    retrieval: Sequence[Mapping[str, Any]],
    texts: Mapping[str, str],
    *,
    minimums: bool = True,
) -> list[str]:
    """Problems in the answer-evaluation set, including its agreement with the retrieval set."""
    problems = _check_ids(rows, "questions")
    by_id = {r.get("id"): r for r in retrieval}
    for q in rows:
        where = f"questions {q.get('id')}"
        kind = q.get("kind")
        if kind not in QUESTION_KINDS:
            problems.append(f"{where}: kind {kind!r} not one of {QUESTION_KINDS}")
        if not isinstance(q.get("question"), str) or not q["question"].strip():
            problems.append(f"{where}: empty question")
        problems += _check_evidence(where, q.get("evidence", []), texts, unique=False)
        problems += _check_guides(where, q)
        problems += _check_answer_fields(where, q)
        if kind == "unanswerable" and (q.get("answerable") is not False or q.get("expected") != "abstain"):
            problems.append(f"{where}: unanswerable questions need answerable false and expected abstain")
        if kind in ("factual", "paraphrase", "multi_section") and q.get("expected") != "answer":
            problems.append(f"{where}: {kind} questions expect an answer")
        if kind == "multi_turn":
            turns = q.get("turns")
            if not isinstance(turns, list) or len(turns) < 2:
                problems.append(f"{where}: multi_turn needs 2+ turns")
            elif q.get("question") != turns[-1].get("question"):
                problems.append(f"{where}: 'question' must be the last turn (the one evaluated)")
            if not isinstance(q.get("standalone"), str) or not q["standalone"].strip():
                problems.append(f"{where}: multi_turn needs a standalone rewrite")
        if kind in RETRIEVAL_KINDS:
            src = by_id.get(q.get("id"))
            if src is None:
                problems.append(f"{where}: {kind} question without a retrieval row of the same id")
            elif src.get("question") != q.get("question") or src.get("evidence") != q.get("evidence"):
                problems.append(f"{where}: question/evidence differ from retrieval row of the same id")
    have = {q.get("id") for q in rows}
    missing = [r["id"] for r in retrieval if r.get("kind") != "unanswerable" and r.get("id") not in have]
    if missing:
        problems.append(f"questions: answerable retrieval questions missing: {', '.join(missing[:10])}")
    if not minimums:
        return problems
    kinds = Counter(q.get("kind") for q in rows)
    if len(rows) < MIN_QUESTIONS:
        problems.append(f"questions: {len(rows)} questions, need at least {MIN_QUESTIONS}")
    if kinds["adversarial"] < MIN_ADVERSARIAL:
        problems.append(f"questions: {kinds['adversarial']} adversarial, need at least {MIN_ADVERSARIAL}")
    if kinds["multi_turn"] < MIN_MULTI_TURN:
        problems.append(f"questions: {kinds['multi_turn']} multi_turn, need at least {MIN_MULTI_TURN}")
    return problems


def check_calibration(rows: Sequence[Mapping[str, Any]], texts: Mapping[str, str]) -> list[str]:
    """Problems in the judge calibration set."""
    problems = _check_ids(rows, "calibration")
    for r in rows:
        where = f"calibration {r.get('id')}"
        if r.get("type") not in CLAIM_TYPES:
            problems.append(f"{where}: type {r.get('type')!r} not one of {CLAIM_TYPES}")
        if not isinstance(r.get("supported"), bool):
            problems.append(f"{where}: 'supported' must be true or false")
        elif r["supported"] != (r.get("type") in ("verbatim", "paraphrase")):
            problems.append(f"{where}: only verbatim/paraphrase claims are supported")
        if not isinstance(r.get("claim"), str) or not r["claim"].strip():
            problems.append(f"{where}: empty claim")
        src, evidence = r.get("source"), r.get("evidence")
        if src not in texts:
            problems.append(f"{where}: unknown source {src!r}")
        elif not isinstance(evidence, str) or not count_in(texts[src], evidence):
            problems.append(f"{where}: evidence not in repaired {src}: {str(evidence)[:80]!r}")
    if len(rows) < MIN_CALIBRATION:
        problems.append(f"calibration: {len(rows)} pairs, need at least {MIN_CALIBRATION}")
    share = sum(r.get("supported") is True for r in rows) / max(len(rows), 1)
    if not 0.35 <= share <= 0.65:
        problems.append(f"calibration: {share:.0%} supported, keep it roughly half (35-65%)")
    return problems


# --------------------------------------------------------------------------- report


def guide_counts(rows: Iterable[Mapping[str, Any]]) -> Counter:
    """How many questions cite each guide (a question citing two guides counts for both).

    >>> sorted(guide_counts([{"evidence": [{"source": "a.md"}, {"source": "a.md"}, {"source": "b.md"}]}]).items())
    [('a.md', 1), ('b.md', 1)]
    """
    return Counter(s for r in rows for s in {e.get("source") for e in r.get("evidence") or []})


def _fmt(counter: Mapping[str, int], order: Sequence[str] = ()) -> str:
    keys = [k for k in order if k in counter] + sorted(k for k in counter if k not in order)
    return "  ".join(f"{k}={counter[k]}" for k in keys)


def report(
    retrieval: Sequence[Mapping[str, Any]],
    questions: Sequence[Mapping[str, Any]],
    calibration: Sequence[Mapping[str, Any]],
) -> str:
    """Per-kind / per-guide counts as printable lines."""
    lines = [
        f"retrieval.jsonl: {len(retrieval)} questions  "
        + _fmt(Counter(r.get("kind") for r in retrieval), RETRIEVAL_KINDS),
        "  per guide: " + _fmt(guide_counts(retrieval)),
        f"questions.jsonl: {len(questions)} questions  "
        + _fmt(Counter(q.get("kind") for q in questions), QUESTION_KINDS),
        "  expected: " + _fmt(Counter(q.get("expected") for q in questions), EXPECTED),
        "  per guide: " + _fmt(guide_counts(questions)),
        f"judge_calibration.jsonl: {len(calibration)} pairs  "
        + _fmt(Counter("supported" if c.get("supported") else "unsupported" for c in calibration)),
        "  types: " + _fmt(Counter(c.get("type") for c in calibration), CLAIM_TYPES),
        "  per guide: " + _fmt(Counter(c.get("source") for c in calibration)),
    ]
    return "\n".join(lines)


def _question_key(row: Mapping[str, Any]) -> str:
    return " ".join(re.findall(r"\w+", str(row.get("question", "")).lower()))


def check_overlap(rows: Sequence[Mapping[str, Any]], seen: Sequence[Mapping[str, Any]]) -> list[str]:
    """Held-out rows that reuse an id or a question (ignoring case and punctuation) of ``seen``.

    >>> check_overlap([{"id": "h1", "question": "What is LoRA?"}], [{"id": "r1", "question": "what is lora"}])
    ['held-out h1: same question as r1']
    """
    ids = {r.get("id") for r in seen}
    questions = {_question_key(r): r.get("id") for r in seen}
    problems = []
    for r in rows:
        if r.get("id") in ids:
            problems.append(f"held-out {r.get('id')}: id also used in another set")
        if _question_key(r) in questions:
            problems.append(f"held-out {r.get('id')}: same question as {questions[_question_key(r)]}")
    return problems


def check_all(eval_dir: Path, corpus_dir: Path, *, heldout: bool = False) -> tuple[str, list[str], str]:
    """Load and check the files: (report text, problems, which repair was used).

    A held-out set (``eval/heldout``, ``eval/dev``) has no size minimums and no calibration file,
    and must not repeat an id or a question of any other set under ``eval/``.
    """
    texts, how = corpus_texts(corpus_dir)
    retrieval = load_jsonl(eval_dir / "retrieval.jsonl")
    questions = load_jsonl(eval_dir / "questions.jsonl")
    calibration = [] if heldout else load_jsonl(eval_dir / "judge_calibration.jsonl")
    problems = check_retrieval(retrieval, texts, minimums=not heldout) + check_questions(
        questions, retrieval, texts, minimums=not heldout
    )
    if heldout:  # compare with every other question set under eval/
        others = [
            p
            for p in sorted((ROOT / "eval").glob("**/questions.jsonl"))
            if p.parent.resolve() != eval_dir.resolve()
        ]
        problems += check_overlap(questions, [row for p in others for row in load_jsonl(p)])
    else:
        problems += check_calibration(calibration, texts)
    return report(retrieval, questions, calibration), problems, how


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--eval-dir", type=Path, default=None, help="default: eval/ (eval/heldout/ with --heldout)"
    )
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--heldout", action="store_true", help="check a held-out set: no size minimums")
    args = parser.parse_args(argv)
    eval_dir = args.eval_dir or ROOT / "eval" / ("heldout" if args.heldout else "")
    text, problems, how = check_all(eval_dir, args.corpus, heldout=args.heldout)
    print(text)
    print(f"(corpus text from {how})")
    for p in problems:
        print("PROBLEM:", p)
    print(f"{len(problems)} problem(s)" if problems else "OK: no problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
