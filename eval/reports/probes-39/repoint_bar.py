"""Ad hoc: the bar a source must reach for ``citations.repair_citations`` to re-point a sentence to it
(``threshold``, 0.5), lowered to the value given. Every stored answer, or draft declined as
unsupported, goes through the post-passes again (``scripts/replay.py``'s ``recheck_patched``); no
model runs.

    python eval/reports/probes-39/repoint_bar.py 0.4 eval/reports/c38-{full,dev,heldout,unseen,unseen2,unseen3,student}
"""

import functools
import sys
from pathlib import Path

from studyrag import citations

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))
from replay import recheck_patched  # noqa: E402

bar = float(sys.argv[1])
recheck_patched(sys.argv[2:], "repair_citations", citations.repair_citations,
                functools.partial(citations.repair_citations, threshold=bar))
