"""PDF guides → Markdown text, so they load, chunk and cite like any other guide.

A PDF has no paragraphs or headings, only lines of text on pages. This module rebuilds them:

- **Headings** come from the PDF's outline (its bookmarks: what Word, LaTeX and browsers write
  from the document's headings). Each outline entry becomes a Markdown heading at the line of
  its page that carries its title, with that page's number, so sections and citations read
  "guide.pdf › Scaling Laws (p. 3)" and a reader can turn to the page.
  A PDF without an outline gets one section per page ("Page 3"), which a reader can still find.
- **Running headers and footers** (a title, a date, "3 / 12" printed on every page) are dropped:
  a line near the top or bottom of a page whose text, digits aside, recurs on at least half of
  the pages. Bare page numbers ("7", "Page 7 of 12", "- 7 -") there are dropped too.
- **Columns**: a page set in two columns (a band of blank character columns down the page, prose
  on either side) is read column by column, not line by line across both.
- **Paragraphs**: a line that ends so near the right edge of the text that the next line's
  first word would not have fitted was wrapped, so the two join; any other line ends its
  paragraph (a list item, a title, a paragraph's last line). A deeper indent starts a list item.
  A word hyphenated across lines is joined when the document spells it unhyphenated elsewhere.

>>> lines = [["Notes 11/2026", "Gradient descent moves the weights against the gradient of the",
...           "loss, one small step at a time.", "Short line", "1 / 2"],
...          ["Notes 11/2026", "The learning rate sets the size of each step.", "2 / 2"]]
>>> print(pages_markdown(lines, []), end="")
## Page 1
<BLANKLINE>
Gradient descent moves the weights against the gradient of the loss, one small step at a time.
<BLANKLINE>
Short line
<BLANKLINE>
## Page 2
<BLANKLINE>
The learning rate sets the size of each step.
<BLANKLINE>
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import CorpusError
from .records import Converted
from .structure import as_text_line, metadata_title

__all__ = ["OutlineEntry", "pdf_markdown", "pages_markdown", "running_lines", "split_columns"]

# pypdf logs every oddity of a malformed file ("Ignoring wrong pointing object ...") at WARNING;
# they say nothing a student can act on. Failures that matter raise and are reported.
logging.getLogger("pypdf").setLevel(logging.ERROR)

_EDGE = 3  # lines at the top and at the bottom of a page where running headers/footers live
_WRAP = 0.88  # a line's next word would have reached this share of the text width: it wrapped
_PAGE_NUMBER = re.compile(r"(?i)^[\s\-–—(\[]*(?:page\s*)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?[\s\-–—)\].]*$")
_BULLET = re.compile(r"^(?:[•●▪◦‣∙○■□➢►]\s*|-\s+)")
_RULE = re.compile(r"^[-=_*·.\s]{3,}$")
_HYPHENATED = re.compile(r"([^\W\d_]+)-$")
_WORD = re.compile(r"[^\W\d_]+")
_NON_SPACE = re.compile(r"\S")
_NOT_ALNUM = re.compile(r"[\W_]+")
_LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
    }
)


@dataclass(frozen=True)
class OutlineEntry:
    """One bookmark of a PDF: its title, nesting depth (0 = top) and page (0-based)."""

    title: str
    depth: int
    page: int


def pdf_markdown(raw: bytes, name: str) -> Converted:
    """The bytes of a PDF → its Markdown, notes on what was done, its metadata title. Raises ``CorpusError``
    naming the file and what to do for a broken, password-protected or scanned (text-less) PDF."""
    try:
        import pypdf
        from pypdf.errors import DependencyError, PdfReadError
    except ImportError:  # pragma: no cover - a dependency, but say what to do if it is missing
        raise CorpusError(f"reading {name} needs pypdf: pip install pypdf") from None
    try:
        reader = pypdf.PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise CorpusError(
                f"{name} is password-protected: save a copy without a password, or export it as text"
            )
        pages = [_lines(page.extract_text(extraction_mode="layout") or "") for page in reader.pages]
        outline = _outline(reader)
        title = metadata_title((reader.metadata or {}).get("/Title") or "")
    except CorpusError:
        raise
    except DependencyError as exc:  # AES encryption without the cryptography package
        raise CorpusError(
            f"reading {name} needs another package ({exc}): pip install 'pypdf[crypto]'"
        ) from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise CorpusError(
            f"{name} is not a readable PDF ({type(exc).__name__}: {exc}): open and re-save it, or export it as text"
        ) from None
    except Exception as exc:  # whatever else pypdf raises on a damaged file
        raise CorpusError(
            f"{name} could not be read as a PDF ({type(exc).__name__}: {exc}): export it as text"
        ) from None
    if not pages:
        raise CorpusError(f"{name} has no pages: remove it from the corpus")
    if sum(len(_NON_SPACE.findall(line)) for lines in pages for line in lines) < 16:
        raise CorpusError(
            f"{name} has no text to read, only images (a scan?): run OCR on it first (for example "
            "ocrmypdf), or export it as text"
        )
    blank = sum(1 for lines in pages if not lines)
    notes = [
        f"read from PDF: {len(pages)} pages, "
        + (f"{len(outline)} headings from its outline" if outline else "one section per page (no outline)")
    ]
    if blank:
        notes.append(f"{blank} of {len(pages)} pages have no text (images only?)")
    return Converted(pages_markdown(pages, outline), tuple(notes), title)


def pages_markdown(pages: Sequence[Sequence[str]], outline: Sequence[OutlineEntry]) -> str:
    """The text lines of each page, and the outline → Markdown (see the module's docstring)."""
    running = running_lines(pages)
    split: list[tuple[list[str], bool]] = []
    gutter = 0
    for lines in pages:
        lines, gutter = split_columns(_drop_edges(lines, running), hint=gutter)
        # a page number under a column is at the end of the right column's lines now
        split.append((_drop_edges(lines, running), True) if gutter else (lines, False))
    if outline:
        top = min(e.depth for e in outline)
        # One top entry is the document's title (#); several are chapters under the file's title.
        shift = 1 if sum(e.depth == top for e in outline) == 1 else 2
        marks = [(e.page, e.depth - top + shift, e.title) for e in outline]
    else:
        marks = [(i, 2, f"Page {i + 1}") for i in range(len(pages))]
    items = _place_headings([lines for lines, _ in split], marks)
    if outline:  # a reader checks a citation in the PDF by its page: "Scaling Laws (p. 3)"
        # (level 1 is the document's title, not a section)
        items = [(level, f"{text} (p. {page + 1})" if level > 1 else text, page) for level, text, page in items]
    # Lines wrap at the text's width: a column's on pages set in columns, the page's on the others.
    # So does the left margin that a list item is indented past.
    width, margin = {}, {}
    for columns in (False, True):
        text = [line for lines, c in split if c == columns for line in lines if line.strip()]
        width[columns] = max((len(line) for line in text), default=0)
        margin[columns] = min((_indent(line) for line in text), default=0)
    layouts = [columns for _, columns in split]
    return _blocks(items, [width[c] for c in layouts], [margin[c] for c in layouts])


def split_columns(lines: Sequence[str], hint: int = 0) -> tuple[list[str], int]:
    """A page set in two columns → the left column's lines, then the right one's (each dedented),
    and the gutter's character column; any other page → its lines and 0. The gutter is a band of
    columns blank on nearly every line, with text either side on most of them, where the left side
    is prose that wraps near the gutter (a two-column table of short terms is not split). ``hint``,
    the gutter of the page before, splits a page too short to tell on its own (a last page).

    >>> left = ["Gradient descent takes a", "step against the gradient", "of the loss each time."]
    >>> right = ["Momentum keeps a running", "average of past steps, so", "it rolls through noise."]
    >>> page = [f"  {a:<28}    {b}" for a, b in zip(left * 3, right * 3)]
    >>> cols, gutter = split_columns(page)
    >>> gutter, cols[:2], cols[9:11]
    (30, ['Gradient descent takes a', 'step against the gradient'], ['', 'Momentum keeps a running'])
    >>> split_columns(page[:2], hint=gutter)[0]
    ['Gradient descent takes a', 'step against the gradient', '', 'Momentum keeps a running', 'average of past steps, so']
    """
    text = [line for line in lines if line.strip()]
    clear_at_hint = hint and text and all(not line[hint - 1 : hint + 2].strip() for line in text)
    if clear_at_hint and any(line[:hint].strip() and line[hint:].strip() for line in text):
        return _split_at(lines, hint), hint
    if len(text) < 4:
        return list(lines), 0
    width = max(len(line) for line in text)
    scores: dict[int, int] = {}
    for c in range(width // 4, 3 * width // 4):
        clear = sum(1 for line in text if not line[c - 1 : c + 2].strip())
        both = sum(1 for line in text if line[:c].strip() and line[c:].strip())
        if clear >= 0.95 * len(text) and both >= 0.5 * len(text):
            scores[c] = clear + both
    if not scores:
        return list(lines), 0
    best = max(scores.values())
    band = [min(c for c, v in scores.items() if v == best)]
    while scores.get(band[-1] + 1) == best:
        band.append(band[-1] + 1)
    gutter = band[len(band) // 2]  # the middle of the blank band, clear of both columns
    lefts = [len(line[:gutter].rstrip()) for line in text if line[:gutter].strip()]
    if sum(n >= 0.8 * max(lefts) for n in lefts) < 0.5 * len(lefts):
        return list(lines), 0
    return _split_at(lines, gutter), gutter


def _split_at(lines: Sequence[str], gutter: int) -> list[str]:
    return [
        *_dedent([line[:gutter].rstrip() for line in lines]),
        "",
        *_dedent([line[gutter:].rstrip() for line in lines]),
    ]


def _dedent(lines: list[str]) -> list[str]:
    """Remove the indent all non-blank ``lines`` share; collapse runs of blank lines to one."""
    margin = min((_indent(line) for line in lines if line.strip()), default=0)
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1]):
            out.append(line[margin:])
    while out and not out[-1]:
        out.pop()
    return out


def running_lines(pages: Sequence[Sequence[str]]) -> set[str]:
    """Keys (see ``_key``) of the lines that recur near the top or bottom of at least half of
    the pages, two pages at least: running headers and footers.

    >>> sorted(running_lines([["My Guide", "Intro", "p. 1"], ["My Guide", "More", "p. 2"]]))
    ['my guide', 'p. 0']
    """
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for lines in pages:
        text = [line for line in lines if line.strip()]
        seen.update({_key(line) for line in [*text[:_EDGE], *text[-_EDGE:]]})
    return {key for key, n in seen.items() if key and n >= max(2, len(pages) / 2)}


def _key(line: str) -> str:
    return re.sub(r"\d+", "0", " ".join(line.lower().split()))


def _drop_edges(lines: Sequence[str], running: set[str]) -> list[str]:
    """``lines`` without running headers, footers and page numbers in its first and last lines."""
    text = [i for i, line in enumerate(lines) if line.strip()]
    edges = set(text[:_EDGE] + text[-_EDGE:])
    return [
        line
        for i, line in enumerate(lines)
        if not (i in edges and (_key(line) in running or _PAGE_NUMBER.match(line)))
    ]


def _place_headings(pages: list[list[str]], marks: list[tuple[int, int, str]]) -> list[tuple[int, str, int]]:
    """Interleave headings with text lines: ``(level, text, page)``, level 0 for a text line. A heading
    replaces the line (or two lines, when it wrapped) of its page that spells its title, after
    the previous heading; when its page has no such line, it goes where the previous one ended."""
    by_page: dict[int, list[tuple[int, str]]] = {}
    for page, level, title in marks:
        by_page.setdefault(min(max(page, 0), len(pages) - 1), []).append((level, title))
    items: list[tuple[int, str, int]] = []
    for p, lines in enumerate(pages):
        cursor = 0
        for level, title in by_page.get(p, []):
            found = _find_heading(lines, cursor, _squash(title))
            if found is None:
                items.append((min(level, 6), title, p))
                continue
            i, span = found
            items.extend((0, line, p) for line in lines[cursor:i])
            items.append((min(level, 6), _respace(title, lines[i]) if span > 1 else title, p))
            cursor = i + span
        items.extend((0, line, p) for line in lines[cursor:])
    return items


def _find_heading(lines: list[str], start: int, want: str) -> tuple[int, int] | None:
    """Where the heading whose squashed title is ``want`` is set, at or after ``start``: its
    first line and how many lines it takes (up to three, blank lines between them included).

    >>> _find_heading(["Text.", "Scaling to Large", "", "Graphs", "More."], 0, _squash("Scaling to LargeGraphs"))
    (1, 3)
    """
    for i in range(start, len(lines)):
        got, j, used = "", i, 0
        while j < len(lines) and used < 3:
            if lines[j].strip():
                got += _squash(lines[j])
                used += 1
                if got == want:
                    return i, j + 1 - i
                if not want.startswith(got):
                    break
            elif not got:
                break
            j += 1
    return None


def _respace(title: str, first_line: str) -> str:
    """An outline runs a wrapped title's lines together ("Scaling to LargeGraphs"): put the space
    back where the title's first line ends on the page.

    >>> _respace("Scaling to LargeGraphs", "Scaling to Large"), _respace("Mixture of Experts", "Mixture of")
    ('Scaling to Large Graphs', 'Mixture of Experts')
    """
    want, seen = len(_squash(first_line)), 0
    for k, ch in enumerate(title):
        seen += bool(_squash(ch))
        if seen == want:
            rest = title[k + 1 :]
            return title if not rest or rest[0].isspace() else f"{title[: k + 1]} {rest}"
    return title


def _squash(text: str) -> str:
    """Letters and digits only: an emoji or a mark in a bookmark's title is often not in the text."""
    return _NOT_ALNUM.sub("", text.lower())


def _blocks(items: list[tuple[int, str, int]], widths: Sequence[int], margins: Sequence[int]) -> str:
    """Headings and laid-out lines → Markdown. A line joins the one before it when that one ran
    to (nearly) the right edge of the text (``widths``: each page's) and no gap or deeper indent
    separates them; a line indented past its page's left margin (``margins``) is a list item;
    blocks are separated by a blank line, and text Markdown would read as syntax is escaped."""
    text_lines = [line for level, line, _ in items if level == 0 and line.strip()]
    vocabulary = {w.lower() for line in text_lines for w in _WORD.findall(line)}
    out: list[str] = []
    para, prev, prev_page = "", "", 0
    for level, line, page in items:
        joins = bool(para) and not level and bool(line.strip()) and _wrapped(prev, line, widths[prev_page])
        if para and not joins:
            out.append(para)
            para = ""
        if level:
            out.append("#" * level + " " + " ".join(line.split()))
            continue
        flat = " ".join(line.split())
        if not flat or _RULE.match(flat):
            prev = ""
            continue
        if joins and _indent(line) <= _indent(prev) + 3 and not _BULLET.match(flat):
            para = _join(para, flat, vocabulary)
        else:
            if para:
                out.append(para)
            para = _block_start(flat, indented=_indent(line) > margins[page] + 1)
        prev, prev_page = line, page
    if para:
        out.append(para)
    return "".join(block + "\n\n" for block in out)


def _block_start(line: str, *, indented: bool) -> str:
    """The first line of a block as Markdown: a bullet or an indented line is a list item; a
    line that Markdown would read as syntax (``# 1 rule``, ``> 5``, a fence) is escaped.

    >>> _block_start("• Adam: adaptive moments", indented=False), _block_start("# of heads", indented=False)
    ('- Adam: adaptive moments', '\\\\# of heads')
    """
    m = _BULLET.match(line)
    if m and len(line) > m.end():
        return "- " + line[m.end() :]
    line = as_text_line(line)
    return "- " + line if indented else line


def _wrapped(prev: str, line: str, width: int) -> bool:
    """Did the layout wrap ``prev`` onto ``line``? Only if ``line``'s first word would not have
    fitted at the end of ``prev`` (character columns approximate a proportional font, hence the
    slack).

    >>> _wrapped("a b c d e f", "ghi", 12), _wrapped("a b c", "ghi", 12)
    (True, False)
    """
    first = line.split()[0] if line.split() else ""
    return len(prev) + 1 + len(first) > _WRAP * width


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(para: str, line: str, vocabulary: set[str]) -> str:
    """Append a wrapped line to its paragraph, mending a word hyphenated across the break.

    >>> _join("fine-", "tuning works", {"fine", "tuning"}), _join("quanti-", "zation", {"quantization"})
    ('fine-tuning works', 'quantization')
    """
    if not para:
        return line
    m = _HYPHENATED.search(para)
    if m:
        head = m.group(1)
        tail = _WORD.match(line)
        if tail and tail.group().islower() and (head + tail.group()).lower() in vocabulary:
            return para[:-1] + line
        return para + line  # a real hyphen at the line's end: fine-|tuning
    return para + " " + line


def _lines(text: str) -> list[str]:
    """A page's laid-out text → its lines, right-stripped, indentation kept; "" marks a gap.
    Typographic ligatures (the "ﬁ" of "ﬁle") become their letters, so words match."""
    lines: list[str] = []
    for line in text.translate(_LIGATURES).splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _outline(reader: object) -> list[OutlineEntry]:
    """The PDF's bookmarks, flattened in reading order; entries without a page are left out."""
    entries: list[OutlineEntry] = []

    def walk(items: list, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            try:
                page = reader.get_destination_page_number(item)  # type: ignore[attr-defined]
            except Exception:  # a bookmark to another file or a broken destination
                continue
            if title and page is not None and page >= 0:
                entries.append(OutlineEntry(title, depth, page))

    try:
        walk(list(reader.outline), 0)  # type: ignore[attr-defined]
    except Exception:  # a damaged outline: fall back to pages, the text is still good
        return []
    return entries
