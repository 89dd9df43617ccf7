"""Gold evidence → relevant chunks.

Relevance in the gold sets is defined per question by evidence items: a corpus file (``source``) and a
verbatim ``snippet`` of it, not chunk ids, so the judgments survive any change of chunker settings.
A chunk is relevant to an evidence item when it comes from the same source and either

- contains the snippet (compared case-, whitespace- and ``*``/`` ` ``-insensitively, see
  :func:`studyrag.evaluation.normalize.fold`), or
- its character span covers at least ``min_overlap`` of the snippet's span in the document (a snippet
  straddling a chunk boundary); when no chunk reaches that share, the chunk(s) with the largest
  positive overlap count, so a located snippet always has a relevant chunk.

>>> from studyrag.records import Chunk
>>> doc = "LoRA freezes W. It trains A and B."
>>> chunks = [Chunk("c1", "g.md", (), doc[:16], 0, 16), Chunk("c2", "g.md", (), doc[16:], 16, 34)]
>>> relevant_chunks([{"source": "g.md", "snippet": "W. It trains"}], chunks, {"g.md": doc})
{0: {'c2'}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..records import Chunk
from .normalize import fold, fold_with_map

__all__ = ["Evidence", "locate", "relevant_chunks"]


@dataclass(frozen=True)
class Evidence:
    """A gold passage: the corpus file it is in and a verbatim snippet of it."""

    source: str
    snippet: str

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Evidence:
        """Read ``{"source", "snippet"}`` (``"text"`` or ``"quote"`` are accepted for the snippet)."""
        snippet = d.get("snippet", d.get("text", d.get("quote")))
        if not isinstance(snippet, str) or not snippet.strip():
            raise ValueError(f"evidence item {dict(d)!r} has no snippet: give it a non-empty 'snippet'")
        return cls(source=str(d.get("source", "")), snippet=snippet)


def locate(text: str, snippet: str) -> tuple[int, int] | None:
    """Character span of ``snippet`` in ``text``, ignoring case, whitespace runs and ``*`` marks.

    >>> text = "## LoRA\\nLow-Rank   **Adaptation** freezes W."
    >>> a, b = locate(text, "low-rank adaptation freezes"); (a, b), text[a:b]
    ((8, 41), 'Low-Rank   **Adaptation** freezes')
    """
    norm, index = fold_with_map(text)
    needle = fold(snippet)
    pos = norm.find(needle) if needle else -1
    if pos < 0:
        return None
    return index[pos], index[pos + len(needle) - 1] + 1


def _texts_from_chunks(chunks: Sequence[Chunk]) -> dict[str, str]:
    """Rebuild each source's text from chunk spans (gaps become spaces) when no documents are given.

    Only chunks whose text length equals their span are placed; others cannot be trusted to line up.
    """
    by_source: dict[str, list[str]] = {}
    for c in chunks:
        if len(c.text) != c.end - c.start:
            continue
        buf = by_source.setdefault(c.source, [])
        if len(buf) < c.end:
            buf.extend(" " * (c.end - len(buf)))
        buf[c.start : c.end] = c.text
    return {s: "".join(b) for s, b in by_source.items()}


def relevant_chunks(
    evidence: Sequence[Evidence | Mapping[str, Any]],
    chunks: Sequence[Chunk],
    documents: Mapping[str, str] | None = None,
    *,
    min_overlap: float = 0.5,
) -> dict[int, set[str]]:
    """For each evidence item (by index), the ids of the chunks relevant to it (see the module doc).

    ``documents`` maps source → ``Document.text`` (what chunk spans index); without it the text is
    rebuilt from the chunks. An item found nowhere maps to an empty set (a gold-set defect to report).
    """
    items = [e if isinstance(e, Evidence) else Evidence.from_dict(e) for e in evidence]
    texts = dict(documents) if documents is not None else _texts_from_chunks(chunks)
    normed = {c.id: fold(c.text) for c in chunks}
    out: dict[int, set[str]] = {}
    for i, item in enumerate(items):
        pool = [c for c in chunks if not item.source or c.source == item.source]
        needle = fold(item.snippet)
        found = {c.id for c in pool if needle and needle in normed[c.id]}
        span = locate(texts.get(item.source, ""), item.snippet) if item.source else None
        if span is not None:
            a, b = span
            shares = {c.id: max(0, min(c.end, b) - max(c.start, a)) / (b - a) for c in pool}
            found |= {cid for cid, s in shares.items() if s >= min_overlap}
            best = max(shares.values(), default=0.0)
            if not found and best > 0:
                found = {cid for cid, s in shares.items() if s == best}
        out[i] = found
    return out
