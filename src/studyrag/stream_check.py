"""Citation markers checked while the answer streams, so the numbers a reader watches appear already
point at a source that supports their sentence.

The model's text passes through as it comes, except ``[n]`` markers: each is held back until its
closing bracket arrives, then written with the numbers :func:`citations.better_source` settles on for
the sentence before it, and without numbers outside the prompt's sources. For "What is PagedAttention?"
the 1.5B model copied its answer from source [1] and ended it with "[2]"; the stream now shows "[1]".
The final ``Answer`` is still built from the model's raw text (its post-passes also cite sentences the
model left bare, and put every marker before the full stop).

>>> from studyrag.records import Chunk, Hit
>>> srcs = [Hit(Chunk(f"c{i}", "g.md", ("S",), t, 0, len(t)), 1.0, i) for i, t in enumerate(
...     ["PagedAttention stores the KV cache in fixed-size blocks.", "Attention mechanisms: MHA, GQA."], 1)]
>>> stream = CitationStream(srcs)
>>> [stream.feed(p) for p in ["PagedAttention stores the KV cache", " in fixed-size blocks. [", "2", "]"]]
['PagedAttention stores the KV cache', ' in fixed-size blocks.', '', ' [1]']
"""

from __future__ import annotations

from collections.abc import Sequence

from .citations import better_source, find_citations, is_trivial, parse_citations
from .records import Hit

__all__ = ["CitationStream"]

# a "[" not closed within this many characters is text, not a marker ("[Source 12, 13 and 14]" fits)
_MARKER_MAX = 24


class CitationStream:
    """Feed it the model's pieces in order; it returns what can be shown now. Call ``flush`` at the end."""

    def __init__(self, sources: Sequence[Hit], *, question: str = "") -> None:
        self.sources = list(sources)
        self.question = question
        self.shown = ""  # everything returned so far
        self._held = ""  # an unfinished "[..." waiting for its "]"

    def feed(self, piece: str) -> str:
        """The text to show after ``piece``: all of it, with any completed markers checked.

        >>> CitationStream([]).feed("See [a] and [7].")  # no sources: number 7 points nowhere
        'See [a] and.'
        """
        held, out = self._held + piece, []
        while held:
            start = held.find("[")
            if start < 0:
                out.append(held)
                held = ""
                break
            out.append(held[:start])
            held = held[start:]
            end = held.find("]")
            inner = held.rfind("[", 0, end) if end > 0 else 0
            if inner > 0:  # "[a [2]": the marker is the last "[" before the "]"
                out.append(held[:inner])
                held, end = held[inner:], end - inner
            if end < 0 and len(held) < _MARKER_MAX:
                # the rest of the marker is still to come; the spaces before it wait with it, so
                # a marker that is then dropped takes them along ("instructions [2]." → "instructions.")
                text = out.pop() if out else ""
                kept = text.rstrip(" ")
                out.append(kept)
                held = text[len(kept) :] + held
                break
            if end < 0 or end >= _MARKER_MAX:  # no "]" within reach: this "[" is text
                out.append(held[0])
                held = held[1:]
                continue
            marker = self._checked(held[: end + 1], self.shown + "".join(out))
            if not marker and out:
                out[-1] = out[-1].rstrip(" ")  # a dropped marker takes its space along, when still here
            out.append(marker)
            held = held[end + 1 :]
        self._held = held
        return self._show("".join(out))

    def flush(self) -> str:
        """Whatever is still held back (an unclosed "[" at the end of the answer)."""
        rest, self._held = self._held, ""
        return self._show(rest)

    def _show(self, text: str) -> str:
        self.shown += text
        return text

    def _checked(self, marker: str, before: str) -> str:
        """``marker`` as it should read after the text ``before`` it."""
        found = find_citations(marker)
        if not found or found[0][1] - found[0][0] != len(marker):
            return marker  # "[a]", a link text, an equation: not a citation
        numbers = found[0][2]
        valid = [n for n in numbers if 1 <= n <= len(self.sources)]
        if not valid:
            return ""  # a number outside the prompt's sources, as citations.drop_invalid_citations
        sentences = parse_citations(before.rstrip())
        if sentences and not is_trivial(sentences[-1].text):
            best = better_source(sentences[-1].text, valid, self.sources, question=self.question)
            if best is not None:
                return f"[{best}]"
        return marker if len(valid) == len(numbers) else "".join(f"[{n}]" for n in valid)
