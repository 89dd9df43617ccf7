"""Ad hoc: the yes/no hint's framing words ("The sources call it ...", "They say ...") left out of a
sentence's support (``citations._FRAMING``). Every stored answer, or draft declined as unsupported,
of the given answer reports is passed through the post-passes of ``StudyRAG.ask_stream`` with the
words counted (as before) and left out; the ones whose text or outcome changes are printed with the
key facts they state.

    python eval/reports/probes-29/framing.py eval/reports/c29-full eval/reports/c29-dev ...
"""

import json
import re
import sys
from pathlib import Path
from unittest.mock import patch

from studyrag import citations
from studyrag.config import Settings
from studyrag.evaluation.metrics import fact_present
from studyrag.pipeline import StudyRAG
from studyrag.records import Hit

FRAMING = citations._FRAMING
NEVER = re.compile(r"(?!)")


def checked(text: str, sources: list[Hit], question: str, framing: re.Pattern[str]) -> tuple[str, bool]:
    with patch.object(citations, "_FRAMING", framing):
        text, report = citations.check_citations(text, sources, question=question)
    return text, report.grounded


chunk_of = {c.id: c for c in StudyRAG.load(Settings.from_env(), progress=False).chunks}
for report in sys.argv[1:]:
    n = changed = 0
    for q in json.loads((Path(report) / "report.json").read_text())["answers"]["questions"]:
        said = q["draft"] if q["abstained"] else q["answer"]
        if not q["sources"] or not said or q["abstain_reason"] not in ("", "unsupported"):
            continue
        n += 1
        sources = [Hit(chunk_of[s["chunk_id"]], 0.0, s["n"]) for s in q["sources"]]
        question = q["standalone_question"] or q["question"]
        before, after = (checked(said, sources, question, f) for f in (NEVER, FRAMING))
        if before != after:
            changed += 1
            facts = [f for f in q["key_facts"] if fact_present(after[0], f)] if q["key_facts"] else None
            print(f"{report} {q['id']} {q['expected']} grounded {before[1]} -> {after[1]}, key facts stated {facts}")
            print(f"    before: {before[0][:220]!r}\n    after:  {after[0][:220]!r}")
    print(f"{report}: {changed} of {n} answers or drafts change")
