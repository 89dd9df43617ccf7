"""Ad hoc: a yes/no answer's opening verdict ("Yes, it can.") takes the citations of the sentence
after it (``citations.cite_verdict``). Every stored answer, or draft declined as unsupported, goes
through the post-passes of ``StudyRAG.ask_stream`` without and with it (``scripts/replay.py``'s
``recheck_report``); no model runs. Prints each answer whose citations or outcome change, and per
report the figures in the terms of ``scripts/answer_targets.py``.

    python eval/reports/probes-32/verdicts.py eval/reports/c29-full eval/reports/c29-framing-dev ...
"""

import sys
from pathlib import Path

from studyrag import citations

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from replay import recheck_patched  # noqa: E402

recheck_patched(sys.argv[1:], "cite_verdict", lambda text, *a, **kw: text, citations.cite_verdict)
