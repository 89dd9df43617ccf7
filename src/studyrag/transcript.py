"""A conversation as Markdown notes: each question, its answer with its ``[n]`` citations, and the
numbered sources (guide › section) the numbers point at, each cited one with the line of it the
answer rests on (``quotes.answer_quotes``), so the notes can be checked later.

>>> from studyrag.records import Answer, Chunk, Hit
>>> c = Chunk("c1", "serving.md", ("Memory", "PagedAttention"), "It pages the KV cache in blocks.", 0, 32)
>>> a = Answer("What is PagedAttention?", "It pages the KV cache [1].", sources=(Hit(c, 1.0, 1),))
>>> print(answer_markdown(a))
## What is PagedAttention?
<BLANKLINE>
It pages the KV cache [1].
<BLANKLINE>
Sources:
1. serving.md › Memory › PagedAttention
   > It pages the KV cache in blocks.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

from .citations import UNCITED_NOTE, mark_uncited
from .quotes import answer_quotes
from .records import PATH_SEP, Answer, Hit

__all__ = ["answer_markdown", "notes_document", "transcript_markdown"]


def _where(hit: Hit) -> str:
    c = hit.chunk
    return PATH_SEP.join(p for p in (c.source, c.section) if p)


def answer_markdown(answer: Answer) -> str:
    """One question and its answer; an answer that declined lists the sections it offered instead.

    >>> from studyrag.records import Answer
    >>> print(answer_markdown(Answer("Who won the 1998 World Cup?", "The guides do not cover this.", abstained=True)))
    ## Who won the 1998 World Cup?
    <BLANKLINE>
    The guides do not cover this.

    A sentence no source supports is flagged, as in the chat:

    >>> print(answer_markdown(Answer("Q?", "It was invented in 1850.", uncited_sentences=("It was invented in 1850.",))))
    ## Q?
    <BLANKLINE>
    It was invented in 1850 [?].
    <BLANKLINE>
    *[?] cites no source: the guides may not say this.*
    """
    parts = [f"## {' '.join(answer.question.split())}"]
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(f"*Understood as: {answer.standalone_question}*")
    if answer.guides:
        parts.append(f"*From {', '.join(answer.guides)} only.*")
    marked = mark_uncited(answer.text, answer.uncited_sentences)
    parts.append(marked.strip())
    if marked != answer.text:
        parts.append(f"*{UNCITED_NOTE}*")
    listed, head = (answer.see_also, "See also:") if answer.abstained else (answer.sources, "Sources:")
    quotes = {} if answer.abstained else answer_quotes(answer)
    if listed:
        lines = [head]
        for n, h in enumerate(listed, 1):
            lines.append(f"{n}. {_where(h)}")
            if n in quotes:  # the line the answer rests on, quoted under its source
                lines.append(f"   > {quotes[n]}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def transcript_markdown(answers: Sequence[Answer], when: _dt.datetime | None = None) -> str:
    """Every answer of a conversation under one title, oldest first.

    >>> from studyrag.records import Answer
    >>> text = transcript_markdown([Answer("Q1?", "A1."), Answer("Q2?", "A2.")], _dt.datetime(2026, 11, 25, 14, 5))
    >>> text.splitlines()[:3], text.count("## Q")
    (['# StudyRAG notes, 2026-11-25 14:05', '', '## Q1?'], 2)
    """
    return notes_document([answer_markdown(a) for a in answers], when)


def notes_document(notes: Sequence[str], when: _dt.datetime | None = None) -> str:
    """``answer_markdown`` texts under one dated title (the study chat keeps its answers this way)."""
    when = when or _dt.datetime.now()
    return "\n\n".join([f"# StudyRAG notes, {when:%Y-%m-%d %H:%M}", *notes]) + "\n"
