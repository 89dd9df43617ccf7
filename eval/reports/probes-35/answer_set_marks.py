"""Ad hoc: the bold sentence of each of the fused top 10 (``HybridRetriever.key_sentences``) for
every question of the answer sets (``eval/questions.jsonl`` and ``eval/*/questions.jsonl``) and the
smoke batches (``probes-34/*questions.txt``, ``probes-34/named_sample.txt``), written to a JSON
file; ``--compare A B`` lists the questions whose marks differ. Run against the code before a
change and after it:

    git archive 29afe0a src | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/src python eval/reports/probes-35/answer_set_marks.py /tmp/marks-before.json
    python eval/reports/probes-35/answer_set_marks.py /tmp/marks-after.json
    python eval/reports/probes-35/answer_set_marks.py --compare /tmp/marks-before.json /tmp/marks-after.json
"""

import json
import sys
from pathlib import Path

if sys.argv[1] == "--compare":
    before, after = (json.loads(Path(f).read_text()) for f in sys.argv[2:4])
    moved = [k for k in before if before[k] != after.get(k)]
    print(f"{len(moved)} of {len(before)} questions' marks differ: {' '.join(moved)}")
    sys.exit()

from studyrag.config import Settings  # noqa: E402
from studyrag.pipeline import StudyRAG  # noqa: E402

rag = StudyRAG.load(Settings.from_env(), progress=False)
root = Path(__file__).resolve().parents[2]
questions: dict[str, str] = {}
for f in sorted([root / "questions.jsonl", *root.glob("*/questions.jsonl")]):
    for line in f.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        questions[f"{f.parent.name}:{q['id']}"] = q["question"]
for f in sorted([*(root / "reports/probes-34").glob("*questions.txt"), root / "reports/probes-34/named_sample.txt"]):
    for i, line in enumerate(f.read_text(encoding="utf-8").splitlines()):
        if line.strip():
            questions[f"{f.stem}:{i}"] = line.strip()
# comparisons with typing slips: search reads them respelled
for i, q in enumerate(["What is the diference between DPO and PPO?", "LoRA vs QLoRa", "how does GPTQ compair to AWQ?"]):
    questions[f"slips:{i}"] = q
out = {}
for key, question in questions.items():
    hits = rag.retriever.search(question, k=10)
    marks = rag.retriever.key_sentences(question, hits)
    out[key] = [marks.get(h.chunk.id) for h in hits]
Path(sys.argv[1]).write_text(json.dumps(out))
print(f"{len(out)} questions")
