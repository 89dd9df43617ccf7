"""Ad hoc: "name spotting". When a question is no "what is X?" (``asking.asked_subject`` is None)
but names exactly one thing the guides label (a chunk name, ``HybridRetriever.names``), treat that
name as its subject, so the passage labelled so goes first. Prints the pooled row of
``probes-31/pooled.py`` with the shipped rule and with spotting, and the casual wrappings of
``casual.py`` that the wrapping rules do not know.

    python eval/reports/probes-33/spotting.py > eval/reports/probes-33/spotting.txt
"""

import re
import sys
from pathlib import Path

import studyrag.retrieve as retrieve
from studyrag.asking import norm_name
from studyrag.config import Settings
from studyrag.pipeline import StudyRAG

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "probes-31"))
from pooled import gold_sets, pooled  # noqa: E402

settings = Settings.from_env()
rag = StudyRAG.load(settings, progress=False)
sets = gold_sets(rag, settings)
known = {n for names in rag.retriever.names.values() for n in names if len(n) > 2 and not re.search(r"section|theorem|step", n)}
shipped = retrieve.asked_subject


def spotted(question: str) -> str | None:
    subject = shipped(question)
    if subject:
        return subject
    text = f" {norm_name(question).replace('-', ' ')} "
    found = {n for n in known if f" {n.replace('-', ' ')} " in text}
    found = {n for n in found if not any(n != m and n in m for m in found)}  # the longest spelling
    return next(iter(found)) if len(found) == 1 else None


pooled("shipped", rag.retriever, sets)
retrieve.asked_subject = spotted
pooled("spotting", rag.retriever, sets)
