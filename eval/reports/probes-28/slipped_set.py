"""Ad hoc: a copy of a question set with one typing slip in each question: a letter dropped,
swapped, changed or added (seeded) in the question's longest word of six letters or more that is
no stop word, never making another English word. A question without such a word is kept as it is.
Prints each change; then run the answer suite on the copy with respelling on and off:

    python eval/reports/probes-28/slipped_set.py eval/student /tmp/student-slips
    studyrag eval --suite answers --eval-dir /tmp/student-slips --out eval/reports/c28-student-slips
    STUDYRAG_RESPELL=false studyrag eval --suite answers --eval-dir /tmp/student-slips \\
        --out eval/reports/c28-student-slips-off
"""

import json
import random
import re
import sys
from pathlib import Path

from slips_common import slip

from studyrag.lexical import STOP_WORDS

rng = random.Random(28)
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)


slipped: dict[str, str] = {}
for name in ("questions.jsonl", "retrieval.jsonl"):
    rows = [json.loads(line) for line in (src / name).read_text().splitlines() if line.strip()]
    for row in rows:
        q = row["question"]
        if q not in slipped:
            words = [m for m in re.finditer(r"[A-Za-z]{6,}", q) if m.group().lower() not in STOP_WORDS]
            m = max(words, key=lambda m: len(m.group()), default=None)
            typo = slip(m.group(), rng) if m else None
            slipped[q] = q[: m.start()] + typo + q[m.end() :] if typo else q
            print(f"{row['id']}: {slipped[q]}")
        row["question"] = slipped[q]
    (dst / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
print(f"{sum(a != b for a, b in slipped.items())} of {len(slipped)} questions slipped")
