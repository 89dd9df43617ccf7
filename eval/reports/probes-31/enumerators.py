"""Ad hoc: a list's enumerators ("1.", "**2)**") are no figure a sentence can be supported by. The
grounding check gives 0 support to a sentence with a number its source lacks, but counts a list's
"1." as the source holding 1: the issue's MoE question was answered "Use top-1 routing: ... [3]"
and [3] kept the citation on its "**1. Load Balancing:**" (the Top-k Routing entry at [1] lacks a 1,
the Switch Transformer entry at [4] says top-1). The variant reads the numbers of a source, and of
the answer's sentence, without their enumerators (run before ``citations.support_score`` did so). Every stored answer, or draft declined as unsupported, goes through the post-passes of
``StudyRAG.ask_stream`` both ways (``scripts/replay.py``'s ``recheck_report``); no model runs. Prints
each answer whose citations or outcome change, and per report the figures in the terms of
``scripts/answer_targets.py``.

    python eval/reports/probes-31/enumerators.py eval/reports/c29-full eval/reports/c29-framing-dev ...
"""

import re
import sys
from pathlib import Path

from studyrag import citations

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from replay import recheck_patched  # noqa: E402

ENUMERATOR = re.compile(r"(?m)^(\s*(?:[-*+]\s+)?(?:\*\*)?)\d{1,2}[.)](?=\s|\*)")
plain = citations.support_score


def without_enumerators(sentence: str, source_text: str, **kw) -> float:
    return plain(ENUMERATOR.sub(r"\1", sentence), ENUMERATOR.sub(r"\1", source_text), **kw)


recheck_patched(sys.argv[1:], "support_score", plain, without_enumerators)
