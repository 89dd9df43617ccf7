"""Word guides (.docx) → Markdown, so they load, chunk and cite like any other guide.

A Word file already knows its structure: each paragraph has a style. "Title" and "Heading 1".."Heading
9" become Markdown headings, list styles become list items, tables become Markdown tables, and every
other paragraph is a paragraph of text. As with PDFs, one top heading is the document's title (``#``);
several are chapters (``##``) under the title from the file's properties (or its name).

>>> blocks = [Block("Heading 1", "Optimisers"), Block("Normal", "Adam adapts   the step."),
...           Block("List Bullet", "SGD"), Block("Normal", "# of steps: 10")]
>>> print(blocks_markdown(blocks), end="")
# Optimisers
<BLANKLINE>
Adam adapts the step.
<BLANKLINE>
- SGD
<BLANKLINE>
\\# of steps: 10
<BLANKLINE>
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .errors import CorpusError
from .records import Converted
from .structure import as_text_line, metadata_title

__all__ = ["Block", "docx_markdown", "blocks_markdown"]

_HEADING = re.compile(r"^heading (\d)$", re.IGNORECASE)
_LIST = re.compile(r"^list", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    """A paragraph's style name and text, or a table (``rows``; style "Table"). Style "Code" keeps
    its text's lines (a web page's ``<pre>``)."""

    style: str
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()


def docx_markdown(raw: bytes, name: str) -> Converted:
    """The bytes of a .docx file → its Markdown, notes, and the title in its properties. Raises
    ``CorpusError`` naming the file and what to do when it is not a Word document or has no text."""
    try:
        import docx
    except ImportError:  # pragma: no cover - a dependency, but say what to do if it is missing
        raise CorpusError(f"reading {name} needs python-docx: pip install python-docx") from None
    if raw.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE2 container: a password-protected .docx, or an old .doc
        raise CorpusError(
            f"{name} is password-protected or an old-style Word file: save it as an unprotected .docx, or "
            "export it as text or PDF"
        )
    try:
        document = docx.Document(io.BytesIO(raw))
        blocks = list(_blocks(document))
        title = metadata_title(document.core_properties.title or "")
    except (zipfile.BadZipFile, KeyError, ValueError, AttributeError, TypeError) as exc:
        raise CorpusError(
            f"{name} is not a readable Word document ({type(exc).__name__}: {exc}): open and re-save it "
            "as .docx, or export it as text or PDF"
        ) from None
    except Exception as exc:  # lxml's XMLSyntaxError for a damaged part, and the like
        raise CorpusError(f"{name} could not be read as a Word document ({type(exc).__name__}): re-save it") from None
    markdown = blocks_markdown(blocks)
    if not markdown.strip():
        raise CorpusError(f"{name} has no text to read (images only?): add its text, or remove it from the corpus")
    headings = sum(1 for b in blocks if _level(b.style))
    tables = sum(1 for b in blocks if b.rows)
    note = f"read from Word: {headings} heading{'s' * (headings != 1)}, {tables} table{'s' * (tables != 1)}"
    return Converted(markdown, (note,), title)


def blocks_markdown(blocks: Sequence[Block]) -> str:
    """Styled paragraphs and tables → Markdown (see the module's docstring)."""
    levels = [_level(b.style) for b in blocks if _level(b.style)]
    top = min(levels, default=1)
    shift = 1 if levels.count(top) == 1 else 2
    out: list[str] = []
    for block in blocks:
        if block.rows:
            out.append(_table(block.rows))
            continue
        if block.style == "Code":  # a web page's <pre>: its lines as they are, fenced
            if block.text.strip():
                fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", block.text)), default=0))
                out.append(f"{fence}\n{block.text.strip(chr(10)).rstrip()}\n{fence}")
            continue
        text = " ".join(block.text.split())
        if not text:
            continue
        level = _level(block.style)
        if level:
            out.append("#" * min(level - top + shift, 6) + " " + text)
        elif _LIST.match(block.style):
            out.append("- " + as_text_line(text))
        else:
            out.append(as_text_line(text))
    return "".join(block + "\n\n" for block in out)


def _level(style: str) -> int:
    """1 for "Title", 2.. for "Heading 1".. (so a Title sits above Heading 1), 0 for the rest."""
    if style.lower() == "title":
        return 1
    m = _HEADING.match(style)
    return int(m.group(1)) + 1 if m else 0


def _table(rows: tuple[tuple[str, ...], ...]) -> str:
    """A Markdown table, the first row as its header.

    >>> print(_table((("Method", "Memory"), ("LoRA", "low | fast"))))
    | Method | Memory |
    | --- | --- |
    | LoRA | low \\| fast |
    """
    width = max(len(r) for r in rows)

    def row(cells: tuple[str, ...]) -> str:
        cells = tuple(" ".join(c.split()).replace("|", "\\|") for c in cells) + ("",) * (width - len(cells))
        return "| " + " | ".join(cells) + " |"

    return "\n".join([row(rows[0]), "| " + " | ".join(["---"] * width) + " |", *map(row, rows[1:])])


def _blocks(document: object) -> Iterator[Block]:
    """The body's paragraphs and tables, in order (python-docx objects → ``Block``)."""
    from docx.table import Table

    for item in document.iter_inner_content():  # type: ignore[attr-defined]
        if isinstance(item, Table):
            rows = tuple(tuple(cell.text for cell in r.cells) for r in item.rows)
            if any(any(c.strip() for c in r) for r in rows):
                yield Block("Table", rows=rows)
        else:
            style = item.style.name if item.style is not None else ""
            yield Block(style or "", item.text)
