"""Ad hoc: would the new gate rule (a retrieved passage labelled what the question asks about keeps
it from the score threshold, ``pipeline._weak``) change any stored gold answer? Lists every question
the ``c32-*`` runs declined as "no close passage" whose top 10 now holds such a passage.

    python eval/reports/probes-33/named_gate.py > eval/reports/probes-33/named_gate.txt
"""

import glob
import json
from pathlib import Path

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(Settings.from_env(), progress=False)
reports = Path(__file__).resolve().parents[1]
declined = changed = 0
for f in sorted(glob.glob(str(reports / "c32-*" / "report.json"))):
    for q in json.loads(Path(f).read_text(encoding="utf-8"))["answers"]["questions"]:
        if q["abstain_reason"] != "no_close_passage":
            continue
        declined += 1
        text = q.get("standalone_question") or q["question"]
        hits = rag.retriever.search(text, k=rag.settings.k)
        if any(h.named for h in hits):
            changed += 1
            print(Path(f).parent.name, q["id"], q["expected"], text)
print(f"{declined} questions declined as no close passage; {changed} now have a passage labelled what they ask")
