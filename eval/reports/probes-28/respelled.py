"""Ad hoc: which gold questions (every set's retrieval.jsonl and questions.jsonl) the typing-slip
rule (``spelling.respell``, ``Settings.respell``) reads differently. Prints each change and a count.

    python eval/reports/probes-28/respelled.py > eval/reports/probes-28/respelled.txt
"""

import json
from pathlib import Path

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(Settings.from_env(), progress=False)
seen: set[str] = set()
changed = 0
for path in sorted(Path("eval").glob("**/*.jsonl")):
    if path.name not in ("retrieval.jsonl", "questions.jsonl") or "reports" in path.parts:
        continue
    for line in path.read_text().splitlines():
        row = json.loads(line)
        q = row["question"]
        if q in seen:
            continue
        seen.add(q)
        r = rag.retriever.respell(q)
        if r != q:
            changed += 1
            print(f"{path.parent.name}/{row['id']} ({row.get('kind', '')}): {q}\n    -> {r}")
print(f"{changed} of {len(seen)} distinct questions read differently")
