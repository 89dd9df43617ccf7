"""Ad hoc: the fused top 10 of every question of the answer sets (``eval/questions.jsonl`` and
``eval/*/questions.jsonl``, answerable or not), written to a JSON file; ``--compare A B`` lists
the questions whose top 10 differs. Run against the code before a change and after it:

    git archive 68a0485 src | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/src python eval/reports/probes-33/answer_set_top10.py /tmp/before.json
    python eval/reports/probes-33/answer_set_top10.py /tmp/after.json
    python eval/reports/probes-33/answer_set_top10.py --compare /tmp/before.json /tmp/after.json
"""

import json
import sys
from pathlib import Path

if sys.argv[1] == "--compare":
    before, after = (json.loads(Path(f).read_text()) for f in sys.argv[2:4])
    moved = [k for k in before if before[k] != after.get(k)]
    print(f"{len(moved)} of {len(before)} top 10s differ: {' '.join(moved)}")
    sys.exit()

from studyrag.config import Settings  # noqa: E402
from studyrag.pipeline import StudyRAG  # noqa: E402

rag = StudyRAG.load(Settings.from_env(), progress=False)
root = Path(__file__).resolve().parents[2]
out = {}
for f in sorted([root / "questions.jsonl", *root.glob("*/questions.jsonl")]):
    for line in f.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        out[f"{f.parent.name}:{q['id']}"] = [h.chunk.id for h in rag.retriever.search(q["question"], k=10)]
Path(sys.argv[1]).write_text(json.dumps(out))
