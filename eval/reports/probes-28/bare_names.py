"""Ad hoc: a bare name typed as the whole query ("LoRA", "kv cache"), for every concept that names
exactly one chunk (as in label_slips.py): the named chunk's rank with the label rule reading bare
names (``labels._bare``, today) and without (the rule before: only "What is X?" and its kin).
Then which gold questions, of every set, the bare-name reading applies to at all (a comparison,
"X vs Y?", is read as one before any subject).

    python eval/reports/probes-28/bare_names.py > eval/reports/probes-28/bare_names.txt
"""

import json
from collections import Counter
from pathlib import Path
from unittest import mock

from slips_common import name_of

from studyrag import labels
from studyrag.config import Settings
from studyrag.labels import norm_name
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(Settings.from_env(), progress=False)
on = rag.retriever


names = {c.id: n for c in rag.chunks if (n := name_of(c, 4))}
counts = Counter(norm_name(n) for n in names.values())
names = {cid: n for cid, n in names.items() if counts[norm_name(n)] == 1}


def rank(q: str, cid: str) -> int:
    ids = [h.chunk.id for h in on.search(q, 10)]
    return ids.index(cid) + 1 if cid in ids else 99


cols: dict[str, list[int]] = {"bare name, rule before": [], "bare name, rule today": []}
for cid, name in sorted(names.items(), key=lambda kv: kv[1]):
    if labels._bare(name) is None:
        continue
    with mock.patch.object(labels, "_bare", lambda q: None):
        before = rank(name, cid)
    after = rank(name, cid)
    cols["bare name, rule before"].append(before)
    cols["bare name, rule today"].append(after)
    if before != after:
        print(f"{before:>3} -> {after:>3}  {name}")
for col, rs in cols.items():
    n = len(rs)
    print(f"{col:<24} n={n}  top1 {sum(r == 1 for r in rs) / n:.3f}  top3 {sum(r <= 3 for r in rs) / n:.3f}  "
          f"MRR@10 {sum(1 / r for r in rs if r <= 10) / n:.3f}")

seen = set()
for path in sorted(Path("eval").glob("**/*.jsonl")):
    if path.name not in ("retrieval.jsonl", "questions.jsonl") or "reports" in path.parts:
        continue
    for line in path.read_text().splitlines():
        q = json.loads(line)["question"]
        asked = q.strip()
        if q not in seen and not labels.compared(asked) and not labels._STANDS.match(asked) \
                and not labels._ASKS.match(asked) and labels.asked_subject(asked):
            print(f"gold question read as a bare name: {path.parent.name}: {q}")
        seen.add(q)
print(f"{len(seen)} distinct gold questions checked")
