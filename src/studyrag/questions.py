"""Questions a guide answers, written beside it, so BM25 also matches a student's own words.

A student often describes an idea without its name ("how can several hospitals train one model
without pooling their records?"), and BM25 only finds the words a passage uses. A guide may come
with a file of questions about its passages, ``<guide file name>.questions.jsonl`` next to it in
the corpus folder, one JSON object a line::

    {"question": "How can several hospitals train one model together?", "anchor": "trains a shared model"}

``anchor`` is a short verbatim piece of the passage the question is about (case, whitespace and
``*`` marks do not matter), so the question finds its passage however the guide is chunked. At
index time each question is appended to the text BM25 reads for the chunk holding its anchor
(``store.lexical_text`` plus these lines); what a student is shown, the embedded text and the
grounding check keep the guide's text alone. The questions are embedded on their own too, so the
abstention gate answers a question that reads like one of them (``HybridRetriever.asked_before``). The shipped guides' files were written from the
passages alone (``scripts/make_guide_questions.py``); a user's guide works without one.

>>> from studyrag.records import Chunk
>>> c = Chunk("c1", "g.md", ("FL",), "Federated learning trains a **shared** model on devices.", 0, 55)
>>> attach([c], {"g.md": [GuideQuestion("How do hospitals train together?", "trains a shared model")]})
({'c1': ('How do hospitals train together?',)}, 0)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .records import Chunk

__all__ = ["SUFFIX", "GuideQuestion", "attach", "fold", "questions_file", "read_questions"]

log = logging.getLogger(__name__)

SUFFIX = ".questions.jsonl"


@dataclass(frozen=True)
class GuideQuestion:
    """A question a guide answers, and a verbatim ``anchor`` from the passage that answers it."""

    question: str
    anchor: str


def questions_file(guide: Path) -> Path:
    """Where the questions of ``guide`` are kept.

    >>> questions_file(Path("corpus/llm-guide.md")).as_posix()
    'corpus/llm-guide.md.questions.jsonl'
    """
    return guide.with_name(guide.name + SUFFIX)


def read_questions(path: Path) -> list[GuideQuestion]:
    """The questions in ``path`` (none when it does not exist). A line that is not a JSON object
    with a non-empty "question" and "anchor" is skipped with a warning naming it; the others count.
    """
    if not path.is_file():
        return []
    out: list[GuideQuestion] = []
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            q, anchor = d["question"], d["anchor"]
            if not (isinstance(q, str) and isinstance(anchor, str) and q.strip() and anchor.strip()):
                raise ValueError
        except (ValueError, TypeError, KeyError):
            log.warning(
                '%s:%d skipped: write each line as {"question": "...", "anchor": "a verbatim piece of the passage"}',
                path,
                n,
            )
            continue
        out.append(GuideQuestion(q.strip(), anchor))
    return out


def fold(text: str) -> str:
    """Lower case, ``*`` marks dropped, whitespace runs as one space.

    >>> fold("Low-Rank  **Adaptation**\\nfreezes W")
    'low-rank adaptation freezes w'
    """
    return " ".join(text.replace("*", "").lower().split())


def attach(
    chunks: Sequence[Chunk], questions: Mapping[str, Sequence[GuideQuestion]]
) -> tuple[dict[str, tuple[str, ...]], int]:
    """Each chunk's questions (by chunk id; ``questions`` by guide file name), and how many
    questions no chunk of their guide holds the anchor of (their guide was edited since). A
    question whose anchor two overlapping chunks share goes to the first."""
    folded: dict[str, list[tuple[str, str]]] = {}
    for c in chunks:
        if questions.get(c.source):  # a guide without questions costs nothing
            folded.setdefault(c.source, []).append((c.id, fold(c.text)))
    out: dict[str, list[str]] = {}
    lost = 0
    for source, qs in questions.items():
        for q in qs:
            needle = fold(q.anchor)
            home = next((cid for cid, text in folded.get(source, ()) if needle in text), None)
            if home is None:
                lost += 1
            else:
                out.setdefault(home, []).append(q.question)
    return {cid: tuple(qs) for cid, qs in out.items()}, lost
