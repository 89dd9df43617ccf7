"""Ad hoc: "What does X do?" and "How is X used?" for every concept X that names exactly one chunk
(as in label_slips.py): the named chunk's rank with the label rule reading these forms
(``labels._STANDS`` today) and without (the pattern as it was). Then the gold questions of every
set that the new forms read as asking about a subject.

    python eval/reports/probes-28/more_forms.py > eval/reports/probes-28/more_forms.txt
"""

import json
import re
from collections import Counter
from pathlib import Path
from unittest import mock

from slips_common import name_of

from studyrag import labels
from studyrag.config import Settings
from studyrag.labels import norm_name
from studyrag.pipeline import StudyRAG

OLD = re.compile(
    r"^(?:what\s+(?:does|do)\s+(?:an?\s+|the\s+)?(.+?)\s+(?:stand\s+for|mean)"
    r"|how\s+(?:does|do)\s+(?:an?\s+|the\s+)?(.+?)\s+work"
    r"|(?:summari[sz]e|(?:give\s+(?:me\s+)?)?an\s+overview\s+of)\s+(?:an?\s+|the\s+)?(.+?))\s*[?.!]*$",
    re.I,
)
rag = StudyRAG.load(Settings.from_env(), progress=False)
on = rag.retriever
names = {c.id: n for c in rag.chunks if (n := name_of(c, 5))}
counts = Counter(norm_name(n) for n in names.values())
names = {cid: n for cid, n in names.items() if counts[norm_name(n)] == 1}


def rank(q: str, cid: str) -> int:
    ids = [h.chunk.id for h in on.search(q, 10)]
    return ids.index(cid) + 1 if cid in ids else 99


for form in ("What does {} do?", "How is {} used?", "What is {} in machine learning?"):
    cols: dict[str, list[int]] = {"pattern before": [], "pattern today": []}
    for cid, name in sorted(names.items(), key=lambda kv: kv[1]):
        q = form.format(name)
        with mock.patch.object(labels, "_STANDS", OLD), mock.patch.object(labels, "_IN", None):
            cols["pattern before"].append(rank(q, cid))
        cols["pattern today"].append(rank(q, cid))
    for col, rs in cols.items():
        n = len(rs)
        print(f"{form:<18} {col:<15} n={n}  top1 {sum(r == 1 for r in rs) / n:.3f}  "
              f"top3 {sum(r <= 3 for r in rs) / n:.3f}  MRR@10 {sum(1 / r for r in rs if r <= 10) / n:.3f}")

seen = set()
for path in sorted(Path("eval").glob("**/*.jsonl")):
    if path.name not in ("retrieval.jsonl", "questions.jsonl") or "reports" in path.parts:
        continue
    for line in path.read_text().splitlines():
        row = json.loads(line)
        q = row["question"].strip()
        if q not in seen and labels._STANDS.match(q) and not OLD.match(q):
            print(f"gold question the new forms read: {path.parent.name}/{row['id']}: {q} -> {labels.asked_subject(q)}")
        seen.add(q)
print(f"{len(seen)} distinct gold questions checked")
