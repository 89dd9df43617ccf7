"""Ad hoc: every answerable gold question's fused top 10 over the seven sets, written to a JSON file,
with the pooled figures printed; ``--compare A B`` counts the questions whose top 10 differs between
two such files. Run at two commits to see which questions a retrieval change moves:

    git stash; git checkout 1bf9390; python eval/reports/probes-32/top10.py /tmp/before.json; git checkout -
    python eval/reports/probes-32/top10.py /tmp/after.json
    python eval/reports/probes-32/top10.py --compare /tmp/before.json /tmp/after.json
"""

import json
import sys
from pathlib import Path

if sys.argv[1] == "--compare":
    before, after = (json.loads(Path(f).read_text()) for f in sys.argv[2:4])
    moved = [k for k in before if before[k]["top"] != after.get(k, {}).get("top")]
    print(f"{len(moved)} of {len(before)} top 10s differ: {' '.join(moved)}")
    sys.exit()

from studyrag.config import Settings  # noqa: E402
from studyrag.pipeline import StudyRAG  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "probes-31"))
from pooled import SETS, gold_sets, pooled  # noqa: E402

settings = Settings.from_env()
rag = StudyRAG.load(settings, progress=False)
sets = gold_sets(rag, settings)
pooled("now", rag.retriever, sets)
out = {
    f"{name}:{q.id}": {"question": q.question, "top": [h.chunk.id for h in rag.retriever.search(q.question, k=10)]}
    for name in SETS
    for q in sets[name][0]
}
Path(sys.argv[1]).write_text(json.dumps(out, indent=1))
