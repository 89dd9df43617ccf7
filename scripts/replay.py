"""Shared by the replay probes in ``eval/reports/probes-*``: a stored answer-report record asked again
with today's code, and a record's outcome in one line (in the terms of ``answer_targets.py``).

    import sys; sys.path.insert(0, "scripts")
    from replay import prompt_changed, recheck_report, replay_report, totals_line
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from answer_targets import targets


def outcome(record: dict) -> str:
    """``"declined (reason)"``, or ``"fact 1 cited 2/3"`` (no fact part for a question to decline).

    >>> outcome({"expected": "answer", "abstained": False, "answer": "LoRA adds adapters [1].",
    ...          "sources": [{"n": 1}], "key_facts": ["adapters"], "error": None})
    'fact 1 cited 1/1'
    """
    t = targets([record])
    if record["abstained"]:
        return f"declined ({record.get('abstain_reason', '')})"
    facts = "" if record["expected"] == "abstain" else f"fact {t['any_key_fact']:.0f} "
    return f"{facts}cited {t['cited_sentences'] * t['answered_sentences']:.0f}/{t['answered_sentences']}"


def ask_again(rag: Any, record: dict) -> dict:
    """``record`` with its answer, abstention and prompt sources replaced by a fresh ``rag`` answer
    (earlier turns of a conversation asked first, as the evaluation runner does)."""
    from studyrag.evaluation.runner import _ask

    history = [h["question"] if isinstance(h, dict) else h for h in record["history"]]
    a, _ = _ask(rag, SimpleNamespace(question=record["question"], history=history))
    return dict(record, answer=a.text, abstained=a.abstained, abstain_reason=a.abstain_reason,
                sources=[{"n": i} for i in range(1, len(a.sources) + 1)])


def show_change(report: str, old: dict, new: dict) -> None:
    """One line per question asked again, and both answers when the text changed."""
    print(f"{report} {old['id']} {old['expected']}: {outcome(old)} -> {outcome(new)}", flush=True)
    if new["answer"] != old["answer"]:
        print(f"    was: {old['answer'][:200]!r}\n    now: {new['answer'][:200]!r}", flush=True)


def stored_answers(report: str) -> list[dict]:
    """The answer records of a stored report (``<report>/report.json``)."""
    return json.loads((Path(report) / "report.json").read_text(encoding="utf-8"))["answers"]["questions"]


def prompt_changed(rag: Any, switch: Callable[[bool], None]) -> Callable[[dict], bool]:
    """A ``replay_report`` predicate: whether a stored record's answer prompt differs with a variant
    off and on (``switch(False)``, then ``switch(True)``), rebuilt from its stored sources. The
    variant is left on, so the records asked again are asked with it."""
    from studyrag.records import Hit

    chunk_of = {c.id: c for c in rag.chunks}

    def changed(q: dict) -> bool:
        sources = [Hit(chunk_of[s["chunk_id"]], s["score"], s["n"]) for s in q["sources"]]
        if not sources:
            return False
        question = q["standalone_question"] or q["question"]
        prompts = []
        for on in (False, True):
            switch(on)
            prompts.append(rag.answer_prompt(question, sources, len(sources)).messages)
        return prompts[0] != prompts[1]

    return changed


def replay_report(rag: Any, report: str, changed: Callable[[dict], bool]) -> tuple[list[dict], list[dict]]:
    """``(before, after)`` over a stored report's answered records (errors left out): ``after`` has
    each record for which ``changed`` is true asked again (and shown), and the others as stored."""
    before, after = [], []
    for q in stored_answers(report):
        if q.get("error"):
            continue
        before.append(q)
        if not changed(q):
            after.append(q)
            continue
        new = ask_again(rag, q)
        after.append(new)
        show_change(report, q, new)
    return before, after


def totals_line(report: str, before: list[dict], after: list[dict]) -> str:
    """One report's figures before and after, in the terms of ``answer_targets.py``."""
    b, c = targets(before), targets(after)
    return (
        f"{report}: any key fact {b['any_key_fact']:.3f} -> {c['any_key_fact']:.3f}, cited "
        f"{b['cited_sentences']:.3f} -> {c['cited_sentences']:.3f}, unanswerable declined "
        f"{b['abstained_when_unanswerable']:.3f} -> {c['abstained_when_unanswerable']:.3f}, answerable declined "
        f"{b['abstained_when_answerable']:.3f} -> {c['abstained_when_answerable']:.3f}"
    )


def recheck_report(
    report: str, chunk_of: dict, checked: Callable[[str, list, str, bool], tuple[str, bool]]
) -> tuple[list[dict], list[dict]]:
    """``(before, after)`` over a stored report with the post-passes run again and no model: each
    answer, or draft declined as unsupported, goes through ``checked(said, sources, question,
    variant)`` -> ``(text, grounded)`` with ``variant`` False, then True; other records stay as
    stored. Sentences copied from the worked example are dropped first, as the pipeline drops them
    (a draft made only of them is stored whole, and stays declined). Records whose text or outcome
    differs are shown."""
    from studyrag.prompt import drop_example_echoes
    from studyrag.records import Hit

    before, after = [], []
    for q in stored_answers(report):
        said = q["draft"] if q["abstained"] else q["answer"]
        sources = [Hit(chunk_of[s["chunk_id"]], 0.0, s["n"]) for s in q["sources"]]
        if said and not q.get("error"):
            said = drop_example_echoes(said, sources).strip()
        if q.get("error") or not said or q["abstain_reason"] not in ("", "unsupported"):
            before.append(q)
            after.append(q)
            continue
        question = q["standalone_question"] or q["question"]
        pair = []
        for variant in (False, True):
            text, grounded = checked(said, sources, question, variant)
            pair.append(dict(q, answer=text, abstained=not grounded, abstain_reason="" if grounded else "unsupported"))
        before.append(pair[0])
        after.append(pair[1])
        if pair[0]["answer"] != pair[1]["answer"] or pair[0]["abstained"] != pair[1]["abstained"]:
            show_change(report, pair[0], pair[1])
    return before, after


def recheck_patched(reports: list[str], name: str, off: Callable, on: Callable) -> None:
    """Every stored report of ``reports`` through ``citations.check_citations`` (``recheck_report``)
    with ``citations.<name>`` patched to ``off``, then to ``on``; prints the changes and one
    ``totals_line`` per report. No model runs."""
    from unittest.mock import patch

    from studyrag import citations
    from studyrag.config import Settings
    from studyrag.pipeline import StudyRAG

    def checked(said: str, sources: list, question: str, variant: bool) -> tuple[str, bool]:
        with patch.object(citations, name, on if variant else off):
            text, report = citations.check_citations(said, sources, question=question)
        return text, report.grounded

    chunk_of = {c.id: c for c in StudyRAG.load(Settings.from_env(), progress=False).chunks}
    for report in reports:
        before, after = recheck_report(report, chunk_of, checked)
        print(totals_line(report, before, after), flush=True)
