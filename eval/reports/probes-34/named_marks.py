"""Ad hoc: which answer-set questions would a change to the bold sentence touch? Before this session each source's
sentence closest to the question by MiniLM vectors is set in bold (``closest_sentences`` now). Asked "What
is LoRA?", LoRA's own passage ("**LoRA (Low-Rank Adaptation):** Instead of updating all weights,
inject trainable low-rank matrices: ... - A: trainable matrix (r × k) ...") got "- A: trainable
matrix (r × k)" in bold: every sentence scored 0.0-0.12, and the answer read "LoRA replaces all
weights with trainable low-rank matrices [1]." The change: a source the label rule put first
(``Hit.named``: it is labelled what the question asks about) gets its first sentence in bold, the
one its label or heading introduces (as adopted: when it opens its entry, and not for comparisons).

For every stored question of the given reports (its standalone question; the same sources as
the pipeline: ``_retrieve`` k=5, ``close_sources`` of the first 4), prints the ids whose marks
differ and, with ``--ids``, writes them one per line for ``named_answers.py``.

    python eval/reports/probes-34/named_marks.py eval/reports/c32-{full,...} [--first-any] [--ids FILE]

``--first-any`` counts the first version of the change (any named source, comparisons too), which
gave named_marks.txt; without it, the change as adopted (``key_sentences`` against
``closest_sentences``), which gave named_marks_final.txt.
"""

import json
import sys
from pathlib import Path

from studyrag.config import Settings
from studyrag.pipeline import StudyRAG
from studyrag.prompt import close_sources
from studyrag.store import chunk_sentences

args = sys.argv[1:]
ids_out = None
# --first-any: as first tried, comparisons included and whether or not the chunk opens its entry
FIRST_ANY = "--first-any" in args
args = [a for a in args if a != "--first-any"]
if "--ids" in args:
    i = args.index("--ids")
    ids_out = Path(args[i + 1])
    del args[i : i + 2]
rag = StudyRAG.load(Settings.from_env(), progress=False)
touched: list[str] = []
n = 0
for report in args:
    for q in json.loads((Path(report) / "report.json").read_text())["answers"]["questions"]:
        question = q["standalone_question"] or q["question"]
        hits, _ = rag._retrieve(question, 5)
        sources = close_sources(hits[:4], rag.settings.source_min_ratio)
        n += 1
        for i, h in enumerate(sources, 1):
            first = (chunk_sentences(h.chunk) or [None])[0]
            if not (h.named and first):
                continue
            if FIRST_ANY:  # the first version of the change: every named source that has sentences
                changed = rag.retriever.closest_sentences(question, [h]).get(h.chunk.id) != first
            else:
                changed = rag.retriever.closest_sentences(question, [h]) != rag.retriever.key_sentences(question, [h])
            if changed:
                touched.append(f"{Path(report).name} {q['id']}")
                old = rag.retriever.closest_sentences(question, [h]).get(h.chunk.id)
                print(f"{Path(report).name} {q['id']} [{i}] {question[:70]!r}\n    closest: {old!r}\n    first: {first!r}")
                break
print(f"{len(touched)} of {n} questions have a named source whose bold sentence would change")
if ids_out:
    ids_out.write_text("".join(t + "\n" for t in touched))
