"""Pure ``Document`` → ``Chunk``s: structure-aware, token-budgeted, with stable ids.

Rules, in order:

- Empty sections and tables of contents (only links to ``#anchors``) give no chunk.
- A chunk stays inside one section path. Sections under ``min_tokens`` merge with their
  *siblings* (same parent heading) up to ``max_tokens``; the merged chunk's path is the parent
  and its text keeps the sub-headings. Glossary topics never merge: each is a retrieval unit.
- A section over ``max_tokens`` splits at block boundaries (paragraphs, lists, code, tables),
  an oversized list at its items, oversized prose at lines, then sentences, then words.
  Consecutive pieces of one section overlap by up to ``overlap`` tokens (whole sentences/lines).
- A code block or table stays whole when it fits the embedder ``window``.
- No chunk's ``embed_text`` exceeds ``window`` tokens: the embedder would not see the rest.

Token counts come from ``count_tokens`` (the embedder's word pieces, special tokens included),
applied to ``Chunk.embed_text`` (guide title › heading path, a newline, then the text).

>>> from studyrag.loaders import parse_document
>>> doc = parse_document("# G\\n\\n## A\\n\\nAlpha.\\n\\n## B\\n\\nBeta.\\n", "g.md")
>>> words = lambda s: len(s.split()) + 2
>>> [(c.section, c.text) for c in chunk_document(doc, words)]  # two tiny siblings merge
[('G', '## A\\n\\nAlpha.\\n\\n## B\\n\\nBeta.')]
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .records import PATH_SEP, Chunk, Document, Section
from .structure import clean_title, parser

__all__ = ["CHUNKER_VERSION", "chunk_document", "chunk_corpus", "chunk_id", "is_navigation"]

# Recorded in index manifests (store.fingerprint): change it whenever loading or chunking would
# cut the same files differently, so indexes built before are rebuilt.
CHUNKER_VERSION = "4"  # 4: a web page of several <article>s reads them all (3: PDF titles carry their page)

CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class _Piece:
    """An unbreakable run of text: [start, end) in the document, its cost in body tokens."""

    start: int
    end: int
    cost: int
    prose: bool = True  # overlap is taken from prose only, never from code or tables


def chunk_id(source: str, path: tuple[str, ...], text: str) -> str:
    """A short, stable id: the same guide, path and text always give the same id.

    >>> chunk_id("g.md", ("LoRA",), "Low-rank adapters.")
    '072b7c6ffa3842cb'
    """
    key = "\x1f".join((source, PATH_SEP.join(path), text))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def chunk_corpus(
    docs: Iterable[Document],
    count_tokens: CountTokens,
    *,
    max_tokens: int = 200,
    overlap: int = 32,
    min_tokens: int = 48,
    window: int = 256,
) -> list[Chunk]:
    """``chunk_document`` over every document, in order. A document's chunks (and ids) do not
    depend on the other documents."""
    out: list[Chunk] = []
    for doc in docs:
        out += chunk_document(
            doc, count_tokens, max_tokens=max_tokens, overlap=overlap, min_tokens=min_tokens, window=window
        )
    return out


def chunk_document(
    doc: Document,
    count_tokens: CountTokens,
    *,
    max_tokens: int = 200,
    overlap: int = 32,
    min_tokens: int = 48,
    window: int = 256,
) -> list[Chunk]:
    """Cut one document into chunks (see the module docstring for the rules)."""
    if not 0 < max_tokens <= window:
        raise ValueError(f"need 0 < max_tokens <= window, got max_tokens={max_tokens}, window={window}")
    ctx = _Context(doc, count_tokens, max_tokens, overlap, min_tokens, window)
    spans: list[tuple[tuple[str, ...], int, int]] = []
    sections = [s for s in doc.sections if s.text.strip() and not is_navigation(s.text)]
    for group in _merge_siblings(ctx, sections):
        path, start, end = _group_span(ctx, group)
        if ctx.fits(path, start, end, max_tokens):
            spans.append((path, start, end))
        else:
            spans += [(path, s, e) for s, e in _split(ctx, path, start, end)]
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for path, start, end in spans:
        text = doc.text[start:end]
        cid = chunk_id(doc.source, path, text)
        seen[cid] = seen.get(cid, 0) + 1
        if seen[cid] > 1:  # the same text twice under one path: keep both, ids apart
            cid = f"{cid}-{seen[cid]}"
        chunk = Chunk(id=cid, source=doc.source, path=path, text=text, start=start, end=end, title=doc.title)
        chunks.append(dataclasses.replace(chunk, n_tokens=ctx.count(chunk.embed_text)))
    return chunks


class _Context:
    """What every step needs: the document, the token counter and the budgets."""

    def __init__(
        self, doc: Document, count: CountTokens, max_tokens: int, overlap: int, min_tokens: int, window: int
    ):
        self.doc, self._count, self._seen = doc, count, {}
        self.max_tokens, self.overlap, self.min_tokens, self.window = max_tokens, overlap, min_tokens, window
        self.specials = count("")  # [CLS] and [SEP]: counted once per text

    def count(self, text: str) -> int:
        """``count_tokens``, remembered: the same spans are measured again while packing."""
        if text not in self._seen:
            self._seen[text] = self._count(text)
        return self._seen[text]

    def head(self, path: tuple[str, ...]) -> str:
        return PATH_SEP.join(p for p in (self.doc.title, *path) if p)

    def tokens(self, path: tuple[str, ...], start: int, end: int) -> int:
        return self.count(f"{self.head(path)}\n{self.doc.text[start:end]}")

    def fits(self, path: tuple[str, ...], start: int, end: int, limit: int) -> bool:
        return self.tokens(path, start, end) <= limit

    def cost(self, start: int, end: int) -> int:
        """Body tokens of ``text[start:end]`` without the special tokens."""
        return self.count(self.doc.text[start:end]) - self.specials


_NAV_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s+\[[^\]]+\]\(#[^)\s]*\)\s*")


def is_navigation(text: str) -> bool:
    """A table of contents: nothing but list items linking to anchors in the same page. It
    holds no knowledge and would match every query that names a section, so it is not indexed.

    >>> is_navigation("1. [Diffusion Models](#diffusion-models)\\n2. [RAG](#rag)")
    True
    >>> is_navigation("- [LoRA paper](https://arxiv.org/abs/2106.09685)")
    False
    """
    lines = [ln for ln in text.split("\n") if ln.strip()]
    return bool(lines) and all(_NAV_ITEM.fullmatch(ln) for ln in lines)


# ---------------------------------------------------------------------------------- merging
def _parent(section: Section) -> tuple[str, ...]:
    return section.path[:-1]


def _merge_siblings(ctx: _Context, sections: list[Section]) -> list[list[Section]]:
    """Group consecutive sibling sections when one of them is under ``min_tokens`` and the
    merged chunk fits ``max_tokens``."""
    groups: list[list[Section]] = []
    for sec in sections:
        last = groups[-1] if groups else None
        if last and _can_join(ctx, last, sec):
            last.append(sec)
        else:
            groups.append([sec])
    return groups


def _can_join(ctx: _Context, group: list[Section], sec: Section) -> bool:
    prev = group[-1]
    if sec.kind != "markdown" or prev.kind != "markdown" or _parent(sec) != _parent(prev):
        return False
    if len(group) == 1 and _heading_start(ctx.doc.text, prev) is None:
        return False
    if _heading_start(ctx.doc.text, sec) is None:
        return False
    small = (
        min(ctx.tokens(*_group_span(ctx, group)), ctx.tokens(sec.path, sec.start, sec.end)) < ctx.min_tokens
    )
    return small and ctx.fits(*_group_span(ctx, [*group, sec]), ctx.max_tokens)


_ATX = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_SETEXT = re.compile(r" {0,3}(?:=+|-+)[ \t]*$")


def _heading_start(text: str, section: Section) -> int | None:
    """Offset of the heading line above ``section``'s body, checked against its title; None
    when it cannot be found (then the section is not merged, so no heading is lost)."""
    end = section.start
    while end > 0 and text[end - 1].isspace():
        end -= 1
    line_start = text.rfind("\n", 0, end) + 1
    line = text[line_start:end]
    if _ATX.match(line):
        start, heading = line_start, line
    elif _SETEXT.match(line) and line_start > 0:
        start = text.rfind("\n", 0, line_start - 1) + 1
        heading = text[start : line_start - 1]
    else:
        return None
    raw = re.sub(r"^ {0,3}#{1,6}\s*|\s+#+\s*$", "", heading.strip())
    return start if clean_title(raw) == section.title else None


def _group_span(ctx: _Context, group: list[Section]) -> tuple[tuple[str, ...], int, int]:
    """(path, start, end) of a group: one section as it is; siblings from the first one's
    heading to the last one's end, under their parent path."""
    if len(group) == 1:
        return group[0].path, group[0].start, group[0].end
    start = _heading_start(ctx.doc.text, group[0])
    assert start is not None  # checked by _can_join
    return _parent(group[0]) or (ctx.doc.title,), start, group[-1].end


# -------------------------------------------------------------------------------- splitting
def _split(ctx: _Context, path: tuple[str, ...], start: int, end: int) -> list[tuple[int, int]]:
    """Pack the pieces of an oversized section into spans of at most ``max_tokens`` (a single
    code block or table up to ``window``), consecutive spans overlapping by whole sentences."""
    head = ctx.count(ctx.head(path) + "\n")  # includes the special tokens
    budget = max(ctx.max_tokens - head, 8)
    hard = ctx.window - head
    pieces = list(_pieces(ctx, start, end, budget, hard))
    # Aim at equal spans (a 260-token section gives two of ~130, not 200 + 60).
    target = sum(p.cost for p in pieces) / max(1, math.ceil(sum(p.cost for p in pieces) / budget))
    text = ctx.doc.text
    spans: list[tuple[int, int]] = []
    i, lead = 0, None  # lead: where the overlap taken from the previous span starts
    while i < len(pieces):
        first = lead if lead is not None else pieces[i].start
        j, total = i, (ctx.cost(first, pieces[i].start) if lead is not None else 0) + pieces[i].cost
        while j + 1 < len(pieces):
            grown = total + pieces[j + 1].cost
            if j == i and _lead_in(text[pieces[i].start : pieces[i].end]) and grown <= hard:
                j, total = j + 1, grown  # a lead-in stays with the block it introduces
                continue
            if grown > budget or (grown > target and grown - target > target - total):
                break
            j, total = j + 1, grown
        while j > i and j + 1 < len(pieces) and _joins_next(text, pieces[j], pieces[j + 1], budget, hard):
            j -= 1  # "**QLoRA:**" or "Where:" belongs with what follows it
        # Verify with the real count (costs are sums, exact for word-piece tokenizers but
        # checked anyway); shed pieces, then the overlap, until the span fits.
        limit = ctx.window if total > budget else ctx.max_tokens
        while not ctx.fits(path, first, pieces[j].end, limit):
            if j > i:
                j -= 1
            elif first != pieces[i].start:
                first = pieces[i].start
            else:
                break
        if not ctx.fits(path, first, pieces[j].end, ctx.window):
            # Only with a tokenizer whose counts do not add up: cut the piece in halves, retry.
            p = pieces[i]
            pieces[i : i + 1] = list(_fine(ctx, p.start, p.end, max(1, p.cost // 2), prose=p.prose))
            lead = None
            continue
        spans.append((first, pieces[j].end))
        i = j + 1
        lead = _overlap_start(ctx, first, pieces, j, budget)
    return _merge_neighbours(ctx, path, spans)


def _joins_next(text: str, piece: _Piece, nxt: _Piece, budget: int, hard: int) -> bool:
    """Whether ``piece`` is a lead-in that can open the next span together with ``nxt``."""
    room = budget if nxt.cost <= budget else hard
    return _lead_in(text[piece.start : piece.end]) and piece.cost + nxt.cost <= room


_LEAD_IN = re.compile(r"(?::[*_]*|^\*\*[^*]+\*\*|^__[^_]+__)$")


def _lead_in(text: str) -> bool:
    """Text that introduces the next block: ends with a colon, or is a bold pseudo-heading.

    >>> _lead_in("**QLoRA (Quantized LoRA):**\\nCombines LoRA with 4-bit quantization:"), _lead_in("Done.")
    (True, False)
    """
    return bool(_LEAD_IN.search(text.strip()))


def _overlap_start(ctx: _Context, span_start: int, pieces: list[_Piece], j: int, budget: int) -> int | None:
    """Where the span after ``pieces[j]`` starts inside the one ending there: the earliest
    sentence, line or piece start among the trailing prose whose text costs at most ``overlap``
    tokens and leaves room for what comes next (nothing when that is a block over budget)."""
    if ctx.overlap <= 0 or j + 1 >= len(pieces):
        return None
    text = ctx.doc.text
    following = pieces[j + 1].cost
    if j + 2 < len(pieces) and _lead_in(text[pieces[j + 1].start : pieces[j + 1].end]):
        following += pieces[j + 2].cost  # a lead-in travels with its block
    allowed = min(ctx.overlap, budget - following)
    end, best = pieces[j].end, None
    for piece in reversed(pieces[: j + 1]):
        if not piece.prose or piece.end <= span_start:
            break
        lo = max(piece.start, span_start)
        for pos in [*reversed(_boundaries(text, lo, piece.end)), lo]:
            if pos <= span_start:
                return best
            if ctx.cost(pos, end) > allowed:
                return best
            best = pos
    return best


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+(?=\S)")
_ABBREVIATIONS = ("e.g", "i.e", "vs", "al", "cf", "etc", "approx", "Fig", "Eq", "Dr", "Mr")


def _sentence_starts(text: str) -> list[int]:
    """Offsets in ``text`` where a new sentence begins (not after "e.g." or "et al.").

    >>> s = "LoRA adds adapters, e.g. on q and v. It trains few weights! Done."
    >>> [s[i:i + 8] for i in _sentence_starts(s)]
    ['It train', 'Done.']
    """
    out = []
    for m in _SENTENCE_END.finditer(text):
        word = text[: m.start()].rsplit(None, 1)[-1] if text[: m.start()].strip() else ""
        if word.lstrip("(").endswith(_ABBREVIATIONS) and text[m.start()] == ".":
            continue
        out.append(m.end())
    return out


def _boundaries(text: str, start: int, end: int) -> list[int]:
    """Line and sentence starts strictly inside ``(start, end)`` of ``text``, ascending."""
    seg = text[start:end]
    rel = set(_sentence_starts(seg)) | {m.end() for m in re.finditer(r"\n\s*", seg)}
    return sorted(start + p for p in rel if 0 < p < len(seg))


def _pieces(ctx: _Context, start: int, end: int, budget: int, hard: int) -> Iterator[_Piece]:
    """The top-level blocks of ``text[start:end]``; a block over ``budget`` is cut finer: a list
    into its items, a code block or table over ``hard`` into lines, anything else into lines,
    sentences, words."""
    seg = ctx.doc.text[start:end]
    tokens = parser().parse(seg)
    lines = _line_starts(seg)
    for i, tok in enumerate(tokens):
        if tok.level != 0 or tok.map is None or tok.nesting == -1:
            continue
        bs, be = _strip(seg, lines[tok.map[0]], _line_end(lines, tok.map[1], seg))
        if bs >= be:
            continue
        bs, be = bs + start, be + start
        code = tok.type in ("fence", "code_block", "table_open", "html_block")
        cost = ctx.cost(bs, be)
        if cost <= budget or (code and cost <= hard):
            yield _Piece(bs, be, cost, prose=not code)
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            for item in _list_items(tokens, i):
                s, e = _strip(seg, lines[item[0]], _line_end(lines, item[1], seg))
                yield from _fine(ctx, s + start, e + start, budget, prose=True)
        else:
            yield from _fine(ctx, bs, be, budget, prose=not code)


def _list_items(tokens: list, open_index: int) -> list[list[int]]:
    """Line ranges of the items of the list opened at ``tokens[open_index]``."""
    depth, items = 0, []
    for tok in tokens[open_index:]:
        depth += tok.nesting if tok.type.endswith(("list_open", "list_close")) else 0
        if tok.type == "list_item_open" and tok.level == tokens[open_index].level + 1 and tok.map:
            items.append(tok.map)
        if depth == 0:
            break
    return items


def _fine(ctx: _Context, start: int, end: int, budget: int, *, prose: bool) -> Iterator[_Piece]:
    """Cut ``[start, end)`` into pieces within ``budget``: whole if it fits, else by lines, then
    sentences, then words, then characters."""
    text = ctx.doc.text
    cost = ctx.cost(start, end)
    if cost <= budget:
        yield _Piece(start, end, cost, prose)
        return
    for cutter in (_by_blank_lines, _by_lines, _by_sentences, _by_words):
        parts = [(s, e) for s, e in cutter(text, start, end) if s < e]
        if len(parts) > 1:
            for s, e in parts:
                yield from _fine(ctx, s, e, budget, prose=prose)
            return
    # One word longer than the budget (a URL, a formula): the longest prefixes that fit.
    while start < end:
        lo, hi = start + 1, end
        while lo < hi:  # binary search for the longest prefix within budget
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if ctx.cost(start, mid) <= budget else (lo, mid - 1)
        yield _Piece(start, lo, ctx.cost(start, lo), prose)
        start = lo


def _by_blank_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return _spans_between(text, start, end, [m.end() for m in re.finditer(r"\n[ \t]*\n", text[start:end])])


def _by_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return _spans_between(text, start, end, [m.end() for m in re.finditer(r"\n", text[start:end])])


def _by_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return _spans_between(text, start, end, _sentence_starts(text[start:end]))


def _by_words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]


def _spans_between(text: str, start: int, end: int, cuts: list[int]) -> list[tuple[int, int]]:
    """The whitespace-trimmed spans between relative cut offsets."""
    bounds = [0, *cuts, end - start]
    out = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        s, e = _strip(text, start + a, start + b)
        if s < e:
            out.append((s, e))
    return out


def _line_starts(text: str) -> list[int]:
    return [0, *(i + 1 for i, ch in enumerate(text) if ch == "\n")]


def _line_end(lines: list[int], line: int, text: str) -> int:
    return lines[line] if line < len(lines) else len(text)


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _merge_neighbours(
    ctx: _Context, path: tuple[str, ...], spans: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Join consecutive spans that fit ``max_tokens`` together (what packing around a large
    code block leaves behind), and a span under ``min_tokens`` with its neighbour when the two
    fit the window."""
    out = spans[:1]
    for c, d in spans[1:]:
        a, b = out[-1]
        small = min(ctx.tokens(path, a, b), ctx.tokens(path, c, d)) < ctx.min_tokens
        if ctx.fits(path, a, d, ctx.window if small else ctx.max_tokens):
            out[-1] = (a, d)
        else:
            out.append((c, d))
    return out
