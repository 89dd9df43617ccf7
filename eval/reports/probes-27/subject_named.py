"""Ad hoc: does an answer to "What is X?" cite a source that names X? X is ``asking.asked_subject``
of the question (comparisons left out); a source names X when X's search terms (``lexical.tokenize``)
appear in it in order, each within three terms of the one before, or when it holds the acronym X
is spelt out for (``labels.acronym_aliases``). Stored answers of report directories are read;
question files (one per line) are asked afresh.

    python eval/reports/probes-27/subject_named.py eval/reports/c26-full eval/reports/probes-26/smoke_questions.txt ...
"""

import json
import sys
from pathlib import Path

from studyrag import asking, labels
from studyrag.config import Settings
from studyrag.lexical import tokenize
from studyrag.pipeline import StudyRAG

rag = StudyRAG.load(Settings.from_env(), progress=False)
chunk_of = {c.id: c for c in rag.chunks}
aliases = rag.retriever.aliases


def named(subject: str, text: str) -> bool:
    want, have = tokenize(subject), tokenize(text)
    if not want:
        return True
    for start, term in enumerate(have):
        if term != want[0]:
            continue
        at, ok = start, True
        for w in want[1:]:
            nxt = [i for i in range(at + 1, min(at + 4, len(have))) if have[i] == w]
            if not nxt:
                ok = False
                break
            at = nxt[0]
        if ok:
            return True
    return False


def check(question: str, answer: str, cited_texts: list[str]) -> str | None:
    subject = asking.asked_subject(question)
    if not subject or asking.compared(question):
        return None
    names = [subject, *(a for n, a in aliases.items() if n in labels._loose([subject]))]
    ok = any(named(n, t) for n in names for t in cited_texts)
    return f"{'ok  ' if ok else 'MISS'} X={subject!r}: {answer[:150]!r}"


for arg in sys.argv[1:]:
    path = Path(arg)
    if path.is_dir():
        for q in json.loads((path / "report.json").read_text())["answers"]["questions"]:
            if q["abstained"]:
                continue
            texts = [chunk_of[s["chunk_id"]].embed_text for s in q["sources"] if s["n"] in q["cited"]]
            if line := check(q["standalone_question"] or q["question"], q["answer"], texts):
                print(f"{q['id']} {q['expected']} facts={(q['scores'] or {}).get('correctness')} {line}")
    else:
        for question in filter(None, map(str.strip, path.read_text().splitlines())):
            if not asking.asked_subject(question) or asking.compared(question):
                continue
            a = rag.ask(question)
            if a.abstained:
                print(f"declined ({a.abstain_reason}) {question}")
                continue
            if line := check(question, a.text, [c.chunk.embed_text for c in a.citations]):
                print(line)
