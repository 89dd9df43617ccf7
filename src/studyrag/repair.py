"""Encoding repair: undo UTF-8 text that was decoded with the wrong single-byte code page.

A UTF-8 character of two to four bytes, decoded as Mac Roman or Windows-1252, turns into a
run of two to four odd characters ("mojibake"): ``≈`` (E2 89 88) becomes ``‚âà`` in Mac Roman,
``💡`` (F0 9F 92 A1) becomes ``ðŸ’¡`` in Windows-1252. Such a run is recognisable: re-encoded
with that code page it gives the bytes of exactly one valid UTF-8 character. Real text almost
never does that (``√x`` is 0xC3 0x78 in Mac Roman: not a UTF-8 sequence), so each run can be
found and repaired on its own, leaving the rest of the line, and clean documents, untouched.

>>> repair_text("Optimal tokens ‚âà 20 √ó parameters")
('Optimal tokens ≈ 20 × parameters', ['mac_roman mojibake repaired: 2 character(s) on 1 line(s)'])
>>> repair_text("## ðŸ’¡ Core Ideas")[0]
'## 💡 Core Ideas'
>>> repair_text("√(1-β) stays as it is")
('√(1-β) stays as it is', [])
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import cache

import ftfy

__all__ = ["repair_text", "find_mojibake", "CODE_PAGES"]

# The code pages UTF-8 is most often misread as. "cp1252" is read "sloppily": its five
# undefined bytes (81 8D 8F 90 9D) stand for the C1 control characters, as browsers do.
CODE_PAGES = ("mac_roman", "cp1252", "latin_1")

# Bytes cp1252 cannot show: a misdecoder that dropped them leaves a sequence one byte short.
_CP1252_HOLES = (0x81, 0x8D, 0x8F, 0x90, 0x9D)


@cache
def _byte_of(code_page: str) -> dict[str, int]:
    """The byte (0x80-0xFF) each character stands for in ``code_page``."""
    table: dict[str, int] = {}
    for b in range(0x80, 0x100):
        try:
            ch = bytes([b]).decode(code_page)
        except UnicodeDecodeError:
            ch = chr(b)  # sloppy: an undefined byte reads as the C1 control of that number
        table[ch] = b
    return table


def _utf8_length(lead: int) -> int:
    """How many bytes a UTF-8 sequence starting with ``lead`` has (0: not a lead byte)."""
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def _scan(line: str, code_page: str) -> list[tuple[int, int, str]]:
    """Every run in ``line`` that is one UTF-8 character misread as ``code_page``:
    ``(start, end, repaired_character)``. Runs missing one byte that the code page cannot
    show (cp1252 drops 81 8D 8F 90 9D) are completed when exactly one completion is an emoji
    variation selector or a symbol. An emoji whose lead byte F0 was lost (Mac Roman shows it
    as the private-use Apple logo, which copy/paste often drops) is restored too."""
    table = _byte_of(code_page)
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(line):
        lead = table.get(line[i])
        size = _utf8_length(lead) if lead is not None else 0
        if not size:
            emoji = _headless_emoji(line, i, table)
            if emoji:
                found.append((i, i + 3, emoji))
                i += 3
            else:
                i += 1
            continue
        raw = bytearray([lead])
        j = i + 1
        while j < len(line) and len(raw) < size and 0x80 <= table.get(line[j], 0) <= 0xBF:
            raw.append(table[line[j]])
            j += 1
        fixed = _decode(bytes(raw), size, code_page)
        if fixed is None:
            i += 1
            continue
        found.append((i, j, fixed))
        i = j
    return found


def _headless_emoji(line: str, i: int, table: dict[str, int]) -> str | None:
    """``üöÄ`` (9F 9A 80, the F0 lead gone) → 🚀, when the three bytes complete an emoji."""
    raw = bytes(table.get(ch, 0) for ch in line[i : i + 3])
    if len(raw) < 3 or raw[0] != 0x9F or not all(0x80 <= b <= 0xBF for b in raw):
        return None
    try:
        ch = (b"\xf0" + raw).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return ch if 0x1F300 <= ord(ch) <= 0x1FAFF else None


def _decode(raw: bytes, size: int, code_page: str) -> str | None:
    if len(raw) == size:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if len(raw) == size - 1 and code_page == "cp1252" and len(raw) >= 2:
        completions = set()
        for hole in _CP1252_HOLES:
            try:
                ch = (raw + bytes([hole])).decode("utf-8")
            except UnicodeDecodeError:
                continue
            # A dropped byte is only restored when the result is what emoji debris is made
            # of: the variation selector U+FE0F (EF B8 8F) or a pictograph.
            if ch == "\ufe0f" or unicodedata.category(ch) == "So":
                completions.add(ch)
        if len(completions) == 1:
            return completions.pop()
    return None


def find_mojibake(text: str) -> Counter[str]:
    """How many mojibake runs ``text`` holds, per code page.

    >>> find_mojibake("70B ‚Üí ~1.4T tokens")
    Counter({'mac_roman': 1})
    >>> find_mojibake("clean — text, “quoted”, é, √2")
    Counter()
    """
    counts: Counter[str] = Counter()
    for code_page in CODE_PAGES:
        n = sum(len(_scan(line, code_page)) for line in text.splitlines() if not line.isascii())
        if n:
            counts[code_page] = n
    return counts


def _repair_line(line: str) -> tuple[str, str | None, int]:
    """Repair one line with the code page that explains most of its runs."""
    best: tuple[int, str, list[tuple[int, int, str]]] | None = None
    for code_page in CODE_PAGES:
        runs = _scan(line, code_page)
        covered = sum(end - start for start, end, _ in runs)
        if runs and (best is None or covered > best[0]):
            best = (covered, code_page, runs)
    if best is None:
        return line, None, 0
    _, code_page, runs = best
    parts, pos = [], 0
    for start, end, fixed in runs:
        parts += [line[pos:start], fixed]
        pos = end
    parts.append(line[pos:])
    return "".join(parts), code_page, len(runs)


_NEWLINES = re.compile(r"\r\n?")


def repair_text(text: str) -> tuple[str, list[str]]:
    """Repair mojibake line by line; return the text and human-readable notes of what changed.

    Line endings become ``\\n``. A clean text comes back unchanged with no notes. ftfy then
    gets the lines still showing mojibake (it knows other misreadings, e.g. doubly encoded text)
    with its cosmetic fixes turned off, so quotes, ligatures and widths are never touched.
    """
    text = _NEWLINES.sub("\n", text)
    lines = text.split("\n")
    fixed_lines = {}
    per_page: Counter[str] = Counter()
    lines_per_page: Counter[str] = Counter()
    for n, line in enumerate(lines):
        if line.isascii():
            continue
        new, code_page, count = _repair_line(line)
        if code_page:
            fixed_lines[n] = new
            per_page[code_page] += count
            lines_per_page[code_page] += 1
    notes = [
        f"{cp} mojibake repaired: {per_page[cp]} character(s) on {lines_per_page[cp]} line(s)"
        for cp in CODE_PAGES
        if per_page[cp]
    ]
    for n, new in fixed_lines.items():
        lines[n] = new
    leftover = 0
    for n, line in enumerate(lines):
        if not line.isascii() and ftfy.is_bad(line):
            new = ftfy.fix_text(line, config=_FTFY)
            if new != line:
                lines[n] = new
                leftover += 1
    if leftover:
        notes.append(f"ftfy repaired {leftover} more line(s)")
    return "\n".join(lines), notes


# ftfy's encoding fixes only: anything cosmetic would change clean documents.
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_surrogates=True,
    replace_lossy_sequences=False,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)
