"""Ad hoc: "What does X do?" and "How is X used?" for every concept X that names exactly one chunk
(as in label_slips.py): the named chunk's rank with the label rule reading these forms
(``labels._STANDS`` today) and without (the pattern as it was). Then the gold questions of every
set that the new forms read as asking about a subject.

    python eval/reports/probes-28/more_forms.py > eval/reports/probes-28/more_forms.txt
"""

import re
from unittest import mock

from slips_common import gold_questions, rank, summary, unique_names

from studyrag import labels
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

OLD = re.compile(
    r"^(?:what\s+(?:does|do)\s+(?:an?\s+|the\s+)?(.+?)\s+(?:stand\s+for|mean)"
    r"|how\s+(?:does|do)\s+(?:an?\s+|the\s+)?(.+?)\s+work"
    r"|(?:summari[sz]e|(?:give\s+(?:me\s+)?)?an\s+overview\s+of)\s+(?:an?\s+|the\s+)?(.+?))\s*[?.!]*$",
    re.I,
)
rag = StudyRAG.load(Settings.from_env(), progress=False)
on = rag.retriever
names = unique_names(rag.chunks, 5)



for form in ("What does {} do?", "How is {} used?", "What is {} in machine learning?"):
    cols: dict[str, list[int]] = {"pattern before": [], "pattern today": []}
    for cid, name in sorted(names.items(), key=lambda kv: kv[1]):
        q = form.format(name)
        with mock.patch.object(labels, "_STANDS", OLD), mock.patch.object(labels, "_IN", None):
            cols["pattern before"].append(rank(on, q, cid))
        cols["pattern today"].append(rank(on, q, cid))
    for col, rs in cols.items():
        print(summary(f"{form:<18} {col:<15}", rs))

gold = list(gold_questions())
for set_name, row in gold:
    q = row["question"].strip()
    if labels._STANDS.match(q) and not OLD.match(q):
        print(f"gold question the new forms read: {set_name}/{row['id']}: {q} -> {labels.asked_subject(q)}")
print(f"{len(gold)} distinct gold questions checked")
