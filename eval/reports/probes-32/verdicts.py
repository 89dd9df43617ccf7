"""Ad hoc: a yes/no answer's opening verdict ("Yes, it can.") takes the citations of the sentence
after it (``citations.cite_verdict``). Every stored answer, or draft declined as unsupported, goes
through the post-passes of ``StudyRAG.ask_stream`` without and with it (``scripts/replay.py``'s
``recheck_report``); no model runs. Prints each answer whose citations or outcome change, and per
report the figures in the terms of ``scripts/answer_targets.py``.

    python eval/reports/probes-32/verdicts.py eval/reports/c29-full eval/reports/c29-framing-dev ...
"""

import sys
from pathlib import Path
from unittest.mock import patch

from studyrag import citations
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG
from studyrag.records import Hit

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from replay import recheck_report, totals_line  # noqa: E402


def checked(said: str, sources: list[Hit], question: str, variant: bool) -> tuple[str, bool]:
    off = patch.object(citations, "cite_verdict", lambda text, *a, **kw: text)
    with patch.object(citations, "cite_verdict", citations.cite_verdict) if variant else off:
        text, report = citations.check_citations(said, sources, question=question)
    return text, report.grounded


chunk_of = {c.id: c for c in StudyRAG.load(Settings.from_env(), progress=False).chunks}
for report in sys.argv[1:]:
    before, after = recheck_report(report, chunk_of, checked)
    print(totals_line(report, before, after), flush=True)
