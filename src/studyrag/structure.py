"""Markdown structure: headings → sections with heading paths, and clean display titles.

A real CommonMark parser (markdown-it-py) decides what is a heading, so ``# comment`` inside a
fenced code block stays code. Each section is the body under one heading, up to the next
heading of any level, as a character span into the text.

>>> text = "# Guide\\n\\nIntro.\\n\\n## Setup\\n\\n```bash\\n# install\\npip install x\\n```\\n"
>>> [(s.path, text[s.start:s.end]) for s in markdown_sections(text, "Guide")]
[(('Guide',), 'Intro.'), (('Setup',), '```bash\\n# install\\npip install x\\n```')]
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .records import Section

__all__ = ["clean_title", "markdown_sections", "first_heading", "parser", "as_text_line", "metadata_title"]


@cache
def parser() -> MarkdownIt:
    """The one Markdown parser: CommonMark plus GitHub tables."""
    return MarkdownIt("commonmark").enable("table")


# Emoji debris: variation selectors, joiners, keycap, skin tones, tag characters.
_DEBRIS = re.compile(
    "[\ufe00-\ufe0f\u200d\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f\U000e0100-\U000e01ef]"
)


def _is_pictograph(ch: str) -> bool:
    """Emoji and pictographic symbols (🚀 💡 ⚡ ✅), private-use glyphs (Mac Roman's Apple logo).
    Symbols below U+2190 (° © ®) and math symbols (≈ → ≤) are kept."""
    cat = unicodedata.category(ch)
    return (cat == "So" and ord(ch) >= 0x2190) or cat in ("Co", "Cs")


def clean_title(raw: str) -> str:
    """A heading's inline Markdown → plain display text: no marks, no emoji, single spaces.

    >>> clean_title("**GPT-4 and GPT-4 Turbo** (OpenAI)")
    'GPT-4 and GPT-4 Turbo (OpenAI)'
    >>> clean_title("🚀 Modern ML/AI Techniques (2024-2025)")
    'Modern ML/AI Techniques (2024-2025)'
    >>> clean_title("🛠️ [`vLLM`](https://vllm.ai) __serving__  ≈ fast:")
    'vLLM serving ≈ fast'
    """
    children = [child for tok in parser().parseInline(raw) for child in tok.children or []]
    parts: list[str] = []
    for tok in children:
        if tok.type in ("text", "code_inline", "image"):
            parts.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    text = _DEBRIS.sub("", "".join(parts))
    text = "".join(ch for ch in text if not _is_pictograph(ch))
    return " ".join(text.split()).rstrip(":").rstrip()


# A line of plain text that Markdown would read as syntax: a heading, a quote, a fence, HTML.
_MARKUP_START = re.compile(r"^(?=[#>`~<])")
_FILE_NAME = re.compile(r"\.\w{2,4}$")


def as_text_line(line: str) -> str:
    """Plain text (a line of a PDF, a Word paragraph) as one line that Markdown reads as text:
    spacing collapsed, a leading ``#``, ``>``, fence or ``<`` escaped.

    >>> as_text_line("# of heads:   8"), as_text_line("> 5 GB of memory"), as_text_line("  LoRA")
    ('\\\\# of heads: 8', '\\\\> 5 GB of memory', 'LoRA')
    """
    return _MARKUP_START.sub("\\\\", " ".join(line.split()))


def metadata_title(raw: str) -> str:
    """A document title from a file's metadata (a PDF's /Title, a Word file's title), or "" when it
    is a placeholder or a file name, as such metadata often is.

    >>> metadata_title("Graph Neural Networks"), metadata_title("Microsoft Word - week3.docx"), metadata_title("Untitled")
    ('Graph Neural Networks', '', '')
    """
    title = " ".join(str(raw or "").split())
    if title.lower() in ("untitled", "title", "document", "presentation") or _FILE_NAME.search(title):
        return ""
    return title


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts += [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    return starts


def _char(line_starts: list[int], line: int, text: str) -> int:
    return line_starts[line] if line < len(line_starts) else len(text)


def first_heading(text: str, level: int = 1, *, tokens: list[Token] | None = None) -> str | None:
    """The clean text of the first heading of ``level`` (a ``#`` heading by default), if any.

    >>> first_heading("```\\n# not a heading\\n```\\n# Real Title\\n")
    'Real Title'
    """
    tokens = parser().parse(text) if tokens is None else tokens
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.tag == f"h{level}":
            title = clean_title(tokens[i + 1].content)
            if title:
                return title
    return None


def markdown_sections(text: str, doc_title: str, *, tokens: list[Token] | None = None) -> tuple[Section, ...]:
    """Split ``text`` at its headings into sections, in document order.

    A section's ``path`` is the chain of heading titles above it (h1 › h2 › h3 ...). A ``#``
    heading equal to ``doc_title`` is left out of paths (the guide title travels separately);
    text under no heading at all gets the path ``(doc_title,)``. Headings with nothing under them
    give sections with empty text (``start == end``); thematic breaks (``---``) at the edges of a
    body are not part of it. ``tokens``: ``parser().parse(text)`` when the caller has it already.
    """
    tokens = parser().parse(text) if tokens is None else tokens
    starts = _line_starts(text)
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []  # (level, title) of the open headings; "" = left out
    level = 0
    blocks: list[Token] = []
    body_from = 0

    def flush() -> None:
        path = tuple(t for _, t in stack if t) or (doc_title,)
        content = [b for b in blocks if b.type != "hr"]
        if content:
            start = _char(starts, content[0].map[0], text)
            end = _char(starts, content[-1].map[1], text)
            start, end = _strip_span(text, start, end)
        else:
            start = end = body_from
        if content or stack:  # a document's empty preamble is no section
            sections.append(Section(path=path, text=text[start:end], start=start, end=end, level=level))

    for i, tok in enumerate(tokens):
        if tok.level != 0 or tok.map is None or tok.nesting == -1:
            continue
        if tok.type == "heading_open":
            flush()
            level = int(tok.tag[1])
            title = clean_title(tokens[i + 1].content)
            if level == 1 and title.casefold() == doc_title.casefold():
                title = ""
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            blocks = []
            body_from = _strip_span(text, 0, _char(starts, tok.map[1], text))[1]
        else:
            blocks.append(tok)
    flush()
    return tuple(sections)


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Narrow ``[start, end)`` to exclude surrounding whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
