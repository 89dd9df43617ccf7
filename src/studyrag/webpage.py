"""Saved web pages (.html, .htm) → Markdown, so they load, chunk and cite like any other guide.

A page's headings (``h1``..``h6``) become Markdown headings, its paragraphs, list items, quotes,
code blocks and tables become the same in Markdown, and what is not the text (scripts, styles,
navigation, headers, footers, forms) is left out. When the page marks its text as ``<main>`` or
as ``<article>``s, only that is read. As with PDFs, one top heading is the document's title;
several are chapters under the page's ``<title>``.

>>> page = '''<html><head><title>Notes</title><script>track()</script></head><body>
... <nav>Home | About</nav><h1>Optimisers</h1><p>Adam adapts <b>the step</b>.</p>
... <ul><li>SGD</li><li>Momentum</li></ul><pre>lr = 0.1
... step()</pre></body></html>'''
>>> print(html_markdown(page.encode(), "notes.html").markdown, end="")
# Optimisers
<BLANKLINE>
Adam adapts the step.
<BLANKLINE>
- SGD
<BLANKLINE>
- Momentum
<BLANKLINE>
```
lr = 0.1
step()
```
<BLANKLINE>
"""

from __future__ import annotations

import re
from typing import Any

from .errors import CorpusError
from .records import Converted
from .structure import metadata_title
from .word import Block, blocks_markdown

__all__ = ["html_markdown"]

_SKIP = {
    "script",
    "style",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "noscript",
    "svg",
    "template",
    "button",
}
_HEADING = re.compile(r"^h([1-6])$")
# Tags that start a block of their own; anything else (b, a, code, span...) is part of a paragraph.
_BLOCK_LEVEL = {
    "address", "article", "blockquote", "body", "caption", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "main", "ol", "p", "pre",
    "section", "summary", "table", "ul",
}  # fmt: skip


def html_markdown(raw: bytes, name: str) -> Converted:
    """The bytes of a saved web page → its Markdown, a note, and its ``<title>``. Raises
    ``CorpusError`` naming the file when it is not HTML or holds no text."""
    import lxml.html
    from lxml.etree import LxmlError

    if b"\x00" in raw and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 has NULs, and a BOM
        raise CorpusError(f"{name} looks binary (it contains NUL bytes), not like a saved web page")
    try:
        root = lxml.html.document_fromstring(raw)
        for br in root.iter("br"):  # a line break inside a paragraph is a space, not nothing
            br.tail = " " + (br.tail or "")
        title = metadata_title(root.findtext(".//title") or "")
        blocks = [block for part in _text_parts(root) for block in _blocks(part)]
    except (LxmlError, ValueError, RecursionError) as exc:  # lxml's ParserError is a LxmlError
        raise CorpusError(
            f"{name} is not a readable web page ({type(exc).__name__}: {exc}): save it again, or export it as text"
        ) from None
    markdown = blocks_markdown(blocks)
    if not markdown.strip():
        raise CorpusError(
            f"{name} has no text to read: save the page with its text, or remove it from the corpus"
        )
    headings = sum(1 for b in blocks if b.style.startswith("Heading"))
    return Converted(markdown, (f"read from a web page: {headings} headings",), title)


def _text_parts(root: Any) -> list[Any]:
    """The elements whose text is the page's: its ``<main>``; else every ``<article>`` not inside
    another (a page of posts has one each); else the ``<body>``."""
    mains = root.xpath("//main")
    if mains:
        return mains[:1]
    articles = root.xpath("//article[not(ancestor::article)]")
    if articles:
        return articles
    body = root.find("body")
    return [body if body is not None else root]


def _blocks(element: object) -> list[Block]:
    """The text blocks under ``element``, in order, as the Word converter's ``Block``s: a heading
    ``hN`` has style "Heading N", a list item "List", a code block "Code", a table its rows, and
    each run of text and inline elements between blocks is a paragraph ("Normal")."""
    out: list[Block] = []
    run: list[str] = [element.text or ""]  # type: ignore[attr-defined]

    def flush() -> None:
        text = "".join(run)
        if text.strip():
            out.append(Block("Normal", text))
        run.clear()

    for child in element:  # type: ignore[attr-defined]
        tag = child.tag if isinstance(child.tag, str) else ""  # comments have no string tag
        if not tag or tag in _SKIP or tag not in _BLOCK_LEVEL:
            if tag and tag not in _SKIP:
                run.append(child.text_content())
            run.append(child.tail or "")
            continue
        flush()
        heading = _HEADING.match(tag)
        if heading:
            out.append(Block(f"Heading {heading.group(1)}", child.text_content()))
        elif tag == "table":
            rows = tuple(
                tuple(c.text_content() for c in r.xpath("./th | ./td")) for r in child.xpath(".//tr")
            )
            if any(any(c.strip() for c in r) for r in rows):
                out.append(Block("Table", rows=rows))
        elif tag == "pre":
            out.append(Block("Code", child.text_content()))
        else:
            inner = _blocks(child)
            if tag in ("li", "dd") and inner and inner[0].style == "Normal":
                inner[0] = Block("List", inner[0].text)  # an item's own words; a list inside it follows
            out.extend(inner)
        run.append(child.tail or "")
    flush()
    return out
