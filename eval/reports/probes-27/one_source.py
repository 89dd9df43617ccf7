"""Ad hoc: with a single source in the prompt, should an uncited sentence be attributed to it at the
grounding bar (``MIN_SUPPORT``, 0.3) rather than the attribution bar (0.5)? With one source there
is no choice of source to get wrong. Every stored answer or declined draft with one prompt source
in the given reports is passed through the post-passes of ``StudyRAG.ask_stream`` both ways; the
ones whose outcome changes are printed with the key facts they state.

    python eval/reports/probes-27/one_source.py eval/reports/c26-full eval/reports/c256-dev ...
"""

import json
import sys
from pathlib import Path

from studyrag import citations
from studyrag.config import Settings
from studyrag.evaluation.metrics import key_fact_recall
from studyrag.pipeline import StudyRAG
from studyrag.records import Hit


def checked(text: str, sources: list[Hit], question: str, bar: float) -> tuple[str, bool]:
    text = citations.attribute_uncited(text, sources, threshold=bar)
    text = citations.repair_citations(text, sources, question=question)
    return text, citations.resolve_citations(text, sources, question=question).grounded


chunk_of = {c.id: c for c in StudyRAG.load(Settings.from_env(), progress=False).chunks}
for report in sys.argv[1:]:
    n = changed = 0
    for q in json.loads((Path(report) / "report.json").read_text())["answers"]["questions"]:
        said = q["draft"] if q["abstained"] else q["answer"]
        if len(q["sources"]) != 1 or not said or q["abstain_reason"] not in ("", "unsupported"):
            continue
        n += 1
        sources = [Hit(chunk_of[s["chunk_id"]], 0.0, s["n"]) for s in q["sources"]]
        question = q["standalone_question"] or q["question"]
        before, after = (checked(said, sources, question, bar) for bar in (0.5, citations.MIN_SUPPORT))
        if before != after:
            changed += 1
            facts = key_fact_recall(said, q["key_facts"]) if q["key_facts"] else None
            print(f"{report} {q['id']} {q['expected']} facts={facts} grounded {before[1]} -> {after[1]}: {after[0][:160]!r}")
    print(f"{report}: {changed} of {n} one-source answers or drafts change")
