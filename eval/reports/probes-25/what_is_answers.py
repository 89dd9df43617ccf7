"""Ad hoc: answers to "What is X?" with the label rule on and off, for the names whose first hit the
rule changes. X: every name an acronym heading gives (labels.heading_names), asked as the heading
writes the acronym. Prints each answer pair (declined or the first 160 characters, with its [1]),
then how many were declined each way.

    python eval/reports/probes-25/what_is_answers.py
"""

import dataclasses
import re

from studyrag.config import Settings
from studyrag.labels import heading_names
from studyrag.pipeline import StudyRAG
from studyrag.retrieve import HybridRetriever

settings = Settings.from_env()
rag = StudyRAG.load(settings, progress=False)
on = rag.retriever
off = HybridRetriever(on.index, on.embedder, dataclasses.replace(on.settings, label_first=False))
acronyms = set()
for c in rag.chunks:
    head = c.path[-1] if c.path else ""
    for name in heading_names(head):
        m = re.search(r"\b[A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*\b", head)
        if m and m.group(0).lower() == name:
            acronyms.add(m.group(0))
declined = {"on": 0, "off": 0}
asked = 0
for x in sorted(acronyms):
    q = f"What is {x}?"
    if on.search(q, 1)[0].chunk.id == off.search(q, 1)[0].chunk.id:
        continue
    asked += 1
    print(q)
    for name, r in (("on", on), ("off", off)):
        rag.retriever = r
        a = rag.ask(q)
        declined[name] += a.abstained
        first = a.sources[0].chunk.full_section[:50] if a.sources else "-"
        said = f"declined ({a.abstain_reason})" if a.abstained else a.text[:160].replace("\n", " ")
        print(f"  {name:>3} [1] {first!r}: {said}")
    rag.retriever = on
print(f"{asked} questions whose first hit the rule changes; declined with the rule {declined['on']}, without {declined['off']}")
