"""Ad hoc: would adding a retrieved chunk's siblings (other chunks of its section) help? For every
gold passage the fused top 5 misses in the given retrieval reports, is another chunk of the gold's
section in that top 5? Read from the stored rankings; nothing is re-run.

    python eval/reports/probes-29/siblings.py eval/reports/c28-main-retrieval eval/reports/c256-dev-retrieval ...
"""

import json
import sys
from collections import Counter
from pathlib import Path

tally: Counter[str] = Counter()
for report in sys.argv[1:]:
    for q in json.loads((Path(report) / "report.json").read_text())["retrieval"]["questions"]:
        top5 = q["runs"]["fused"]["ranked"][:5]
        sections = {(h["source"], h["section"]) for h in top5}
        for ids in map(set, q["relevant"].values()):
            if any(h["chunk_id"] in ids for h in top5):
                tally["in the fused top 5"] += 1
                continue
            seen = [h for run in q["runs"].values() for h in run["ranked"] if h["chunk_id"] in ids]
            if not seen:
                tally["missed, in no retriever's top 10"] += 1
            elif (seen[0]["source"], seen[0]["section"]) in sections:
                tally["missed, a sibling in the fused top 5"] += 1
            else:
                tally["missed, no sibling in the fused top 5"] += 1
for k, v in tally.items():
    print(f"{k}: {v}")
