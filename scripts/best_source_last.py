#!/usr/bin/env python
"""Run any ``studyrag`` command with the prompt's sources in reverse order: the best source last,
next to the question, still numbered [1] (a probe of small models' recency bias; not adopted).

    python scripts/best_source_last.py eval --suite answers --limit 42 --stratify --out /tmp/best-last-42

Tenth session, on the stratified 42-question slice against the same code in source order
(``eval/reports/best-last-42`` against ``fix-42``): at least one key fact 0.800 → 0.771, citation
precision 0.758 → 0.661 (p = 0.20), correctness 0.614 → 0.595.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from studyrag import prompt

_render = prompt.render_sources


def render_best_last(question: str, blocks: Sequence[tuple[str, str]]) -> str:
    """``prompt.render_sources`` with the numbered blocks written from the last to the first.

    >>> print(render_best_last("Why?", [("G › A", "First."), ("G › B", "Second.")]))
    <sources>
    [2] G › B
    Second.
    [1] G › A
    First.
    </sources>
    Question: Why?
    """
    if not blocks:
        return _render(question, blocks)
    frame = _render(question, []).split("\n")  # "<sources>", "</sources>", the question (and hint)
    numbered = [f"[{n}] {prompt._defuse(head)}\n{text}" for n, (head, text) in enumerate(blocks, 1)]
    return "\n".join([frame[0], *reversed(numbered), *frame[1:]])


def main() -> None:
    from studyrag.cli import main as cli

    prompt.render_sources = render_best_last  # what prompt._messages calls for every question
    # the worked example is written the same way, so the model sees one convention
    example = prompt.Message("user", render_best_last(prompt._EXAMPLE_QUESTION, prompt._EXAMPLE_SOURCES))
    prompt.PREAMBLE = (prompt.PREAMBLE[0], example, prompt.PREAMBLE[2])
    sys.argv[0] = "studyrag"
    cli()


if __name__ == "__main__":
    main()
