"""Shared by the replay probes in ``eval/reports/probes-*``: a stored answer-report record asked again
with today's code, and a record's outcome in one line (in the terms of ``answer_targets.py``).

    import sys; sys.path.insert(0, "scripts")
    from replay import outcome, replay_report
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


def replay_report(rag: Any, report: str, changed: Callable[[dict], bool]) -> tuple[list[dict], list[dict]]:
    """``(before, after)`` over a stored report's answered records (errors left out): ``after`` has
    each record for which ``changed`` is true asked again (and shown), and the others as stored."""
    stored = json.loads((Path(report) / "report.json").read_text(encoding="utf-8"))["answers"]["questions"]
    before, after = [], []
    for q in stored:
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
