"""Ad hoc: two words with a figure are a claim (``citations.is_trivial``), so the post-passes can cite
them. eval/ m009, "How many tokens does a 224 by 224 image turn into?", was answered "196 tokens."
alone: as no claim it got no citation, and the answer, citing nothing, was declined as unsupported.
Every stored answer, or draft declined as unsupported, goes through the post-passes of
``StudyRAG.ask_stream`` with the old rule (under three words is no claim) and today's
(``scripts/replay.py``'s ``recheck_patched``); no model runs.

    python eval/reports/probes-32/figure_claims.py eval/reports/c29-full ... eval/reports/gpu-32/gpu-full ...
"""

import re
import sys
from pathlib import Path

from studyrag import citations

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from replay import recheck_patched  # noqa: E402

today = citations.is_trivial


def three_words(sentence: str) -> bool:
    """The rule before: under three words is no claim, figure or not."""
    return today(sentence) or len(re.findall(r"\w+", citations._MARKUP.sub("", citations._strip_markers(sentence)))) < 3


recheck_patched(sys.argv[1:], "is_trivial", three_words, today)
