"""Ad hoc: would judging a claim only on what it adds to the question (the words of the question
left out) decline more invented answers than right ones? For every stored answer of the given
reports, the grounding check (``citations.resolve_citations``) is re-run with the claim's support
taken as ``support_score(..., ignore=question words)`` alone instead of the larger of that and the
plain score. Answers that would turn ungrounded are printed with their key-fact score.

    python eval/reports/probes-27/adds_only.py [--min 0.3] eval/reports/c26-full eval/reports/c256-dev ...
"""

import argparse
import json
from pathlib import Path

from studyrag import citations
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG
from studyrag.records import Hit

ap = argparse.ArgumentParser()
ap.add_argument("--min", type=float, default=citations.MIN_SUPPORT)
ap.add_argument("reports", nargs="+")
args = ap.parse_args()
chunk_of = {c.id: c for c in StudyRAG.load(Settings.from_env(), progress=False).chunks}
plain = citations.support_score


def adds_only(sentence, source_text, *, ignore=()):
    # resolve_citations takes max(plain, adds); with both returning the adds score, only it counts
    return plain(sentence, source_text, ignore=ignore or adds_only.asked)


for report in args.reports:
    flips = {"right": 0, "no fact": 0, "unanswerable": 0}
    for q in json.loads((Path(report) / "report.json").read_text())["answers"]["questions"]:
        if q["abstained"]:
            continue
        question = q["standalone_question"] or q["question"]
        sources = [Hit(chunk_of[s["chunk_id"]], 0.0, s["n"]) for s in q["sources"]]
        adds_only.asked = citations.content_words(question)
        citations.support_score = adds_only
        try:
            strict = citations.resolve_citations(q["answer"], sources, question=question, min_support=args.min)
        finally:
            citations.support_score = plain
        if strict.grounded:
            continue
        facts = (q["scores"] or {}).get("correctness")
        kind = "unanswerable" if q["expected"] != "answer" else ("right" if facts else "no fact")
        flips[kind] += 1
        print(f"{report} {q['id']} {kind} facts={facts}: {question[:70]!r} -> {q['answer'][:140]!r}")
    print(f"{report}: newly declined {flips}")
