"""Ad hoc: which marks would a narrower first-sentence rule change? ``_opens_entry`` counts a chunk
as opening its entry when it is the first of its section or starts with any bold label. CLIP's
third chunk ("**Applications:** - Zero-shot image classification ...", named CLIP by its headings)
so has "- Zero-shot image classification" in bold for "How is CLIP trained?". The narrower rule:
only a bold label naming what is asked counts. Prints each question with a named source that
starts with a bold label, is not the first chunk of its section, and whose label does not name
what is asked: the prompts the narrower rule would give back their closest sentence.

    python eval/reports/probes-34/label_openers.py eval/reports/c32-{full,...} --questions named_sample.txt <the five smoke batches>
"""

import dataclasses
import json
import sys
from pathlib import Path

from studyrag.asking import asked_subject, compared
from studyrag.config import Settings
from studyrag.labels import chunk_names, named_first
from studyrag.pipeline import StudyRAG
from studyrag.prompt import close_sources
from studyrag.store import chunk_sentences

args = sys.argv[1:]
files = args[args.index("--questions") + 1 :] if "--questions" in args else []
reports = args[: args.index("--questions")] if files else args
questions = [
    q["standalone_question"] or q["question"]
    for r in reports
    for q in json.loads((Path(r) / "report.json").read_text())["answers"]["questions"]
]
questions += [line.strip() for f in files for line in Path(f).read_text().splitlines() if line.strip()]
rag = StudyRAG.load(Settings.from_env(), progress=False)
r = rag.retriever
found = 0
for q in questions:
    if compared(q):
        continue
    hits, _ = rag._retrieve(q, 5)
    for h in close_sources(hits[:4], rag.settings.source_min_ratio):
        c = h.chunk
        first_of_section = r._section_starts.get((c.source, c.path)) == c.start
        subject = asked_subject(q)
        own = named_first([dataclasses.replace(h, named=False)], subject, lambda x: chunk_names(x.chunk.text), r.aliases)
        if h.named and chunk_sentences(c) and chunk_names(c.text) and not first_of_section and not own[0].named:
            found += 1
            print(f"{q!r}: {c.full_section} opens with {sorted(chunk_names(c.text))}; first sentence {chunk_sentences(c)[0]!r}")
            break
print(f"{found} of {len(questions)} questions")
