"""Glossary-style text: one ``- Title<definition>`` line per topic, title and definition glued.

Some exported glossaries lose the separator between a topic's title and its definition::

    - Particle FilterA particle filter approximates the posterior over a hidden state ...
    - IPO (Identity Preference Optimization)Replaces DPO's sigmoid objective with ...

Because nothing separates them, the boundary sits *inside* a run of non-space characters
("FilterA"). Two signals find it: the definition usually restates the title ("Particle Filter" →
"A particle filter"), and otherwise a definition starts like a sentence right after a title
that reads like a title (short, capitalised words, balanced parentheses).

>>> split_topic("- Particle FilterA particle filter approximates the posterior.")
('Particle Filter', 'A particle filter approximates the posterior.')
>>> split_topic("- minLSTMminLSTM is a simplified LSTM variant.")
('minLSTM', 'minLSTM is a simplified LSTM variant.')
>>> split_topic("- IPO (Identity Preference Optimization)Replaces DPO's sigmoid objective.")
('IPO (Identity Preference Optimization)', "Replaces DPO's sigmoid objective.")
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Topic", "GlossaryParse", "parse_glossary", "split_topic", "looks_like_glossary"]

_ITEM = re.compile(r"^- (?=\S)")
_HEADER_COUNT = re.compile(r"^(\d+)\s+topic\(s\)\s*$", re.IGNORECASE)
_HEADER_FIELD = re.compile(r"^([A-Za-z][\w -]{0,30}):\s*(.+?)\s*$")
_ARTICLES = ("", "a ", "an ", "the ")
# Lowercase words a title may contain ("Mixture of Experts", "RL from AI Feedback").
_TITLE_SMALL_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "on",
        "or",
        "over",
        "the",
        "to",
        "vs",
        "via",
        "with",
        "without",
        "beyond",
    ]
)
_MAX_TITLE_CHARS = 100


@dataclass(frozen=True)
class Topic:
    """One glossary entry: ``title`` and the span of its definition in the text."""

    title: str
    start: int  # offset of the definition in the parsed text
    end: int


@dataclass(frozen=True)
class GlossaryParse:
    topics: tuple[Topic, ...]
    metadata: dict  # header fields ("tag": "advanced") and the declared topic count
    unsplit: tuple[str, ...] = ()  # item lines whose title could not be told from the definition


def looks_like_glossary(text: str) -> bool:
    """True for text made of ``- Title<definition>`` lines under an optional short header.

    Detected by content (not by file name): a ``N topic(s)`` header line over text of which at
    least half the lines are items; or at most three header lines, then at least five lines of
    which nine in ten are items whose title/definition boundary can be found (so a Markdown guide,
    with its headings and prose, never qualifies).

    >>> looks_like_glossary("248 topic(s)\\n- Particle FilterA particle filter approximates.")
    True
    >>> looks_like_glossary("# Notes\\n- one\\n- two\\n- three\\n- four\\n- five")
    False
    """
    lines = [ln for ln in text.split("\n") if ln.strip()]
    head, items = _split_header(lines)
    if not items:
        return False
    if any(_HEADER_COUNT.match(h) for h in head):
        # a "N topics" header, and items start at least half the lines (the rest wrap definitions);
        # not a Markdown guide pasted below a glossary, whose headings and prose would become items
        return len(items) >= 0.5 * (len(lines) - len(head))
    if len(items) < 5 or len(head) > 3 or len(items) < 0.9 * (len(lines) - len(head)):
        return False
    return sum(split_topic(ln) is not None for ln in items) >= 0.9 * len(items)


def _split_header(lines: list[str]) -> tuple[list[str], list[str]]:
    for i, line in enumerate(lines):
        if _ITEM.match(line):
            return lines[:i], [ln for ln in lines[i:] if _ITEM.match(ln)]
    return lines, []


def parse_glossary(text: str) -> GlossaryParse:
    """Split every item line of ``text`` into a topic; header lines become metadata.

    >>> text = "Tag: advanced\\n2 topic(s)\\n- GroundingGrounding means x.\\n- Logit LensLogit Lens maps y."
    >>> g = parse_glossary(text)
    >>> [(t.title, text[t.start:t.end]) for t in g.topics]
    [('Grounding', 'Grounding means x.'), ('Logit Lens', 'Logit Lens maps y.')]
    >>> g.metadata
    {'tag': 'advanced', 'topics_declared': 2}

    No text is lost: a line that is not an item continues the topic above it, and an item whose
    title cannot be told from its definition becomes a topic named by its first words (and is
    listed in ``unsplit`` so the loader can warn):

    >>> text = "- GroundingGrounding means x.\\nIt also means y.\\n- no title here at all, just words"
    >>> g = parse_glossary(text)
    >>> [(t.title, text[t.start:t.end]) for t in g.topics]
    [('Grounding', 'Grounding means x.\\nIt also means y.'), ('no title here at all…', 'no title here at all, just words')]
    """
    metadata: dict = {}
    topics: list[Topic] = []
    unsplit: list[str] = []
    pos = 0
    for line in text.split("\n"):
        line_start, pos = pos, pos + len(line) + 1
        stripped = line.rstrip()
        if not stripped:
            continue
        end = line_start + len(stripped)
        if not _ITEM.match(stripped):
            if topics:  # a wrapped definition or an added paragraph: part of the topic above
                topics[-1] = Topic(topics[-1].title, topics[-1].start, end)
            elif m := _HEADER_COUNT.match(stripped):  # a header line before the first item
                metadata["topics_declared"] = int(m.group(1))
            elif m := _HEADER_FIELD.match(stripped):
                metadata[m.group(1).strip().lower().replace(" ", "_")] = m.group(2)
            continue
        split = split_topic(stripped)
        if split is None:
            unsplit.append(stripped)
            body = _ITEM.sub("", stripped, count=1)
            topics.append(Topic(title=_first_words(body), start=end - len(body), end=end))
            continue
        title, definition = split
        topics.append(Topic(title=title, start=end - len(definition), end=end))
    return GlossaryParse(tuple(topics), metadata, tuple(unsplit))


def _first_words(text: str, n: int = 5) -> str:
    """A stand-in title: the first ``n`` words, with ``…`` when there are more.

    >>> _first_words("Short one"), _first_words("one two three four five six")
    ('Short one', 'one two three four five…')
    """
    words = text.split()
    return " ".join(words[:n]).rstrip(",;:.") + ("…" if len(words) > n else "")


def split_topic(line: str) -> tuple[str, str] | None:
    """``"- TitleDefinition"`` → ``(title, definition)``, or None when no boundary is found.

    >>> split_topic("- What is a jailbreak in the context of LLMs?In the context of LLMs, a jailbreak is x.")
    ('What is a jailbreak in the context of LLMs?', 'In the context of LLMs, a jailbreak is x.')
    >>> split_topic("- SigLIPA contrastive image–text pretraining method.")
    ('SigLIP', 'A contrastive image–text pretraining method.')
    """
    body = line[2:] if line.startswith("- ") else line
    cuts = [k for k in _glued_positions(body) if _title_like(body[:k])]
    for k in cuts:  # 1. the definition restates the title: the first such cut
        if _restates(body[:k], body[k:]):
            return body[:k].strip(), body[k:]
    # 2. the cut after which the text most looks like the start of a sentence; on a tie the
    # later one, because titles hold camel-case names ("SigLIP", "PagedAttention") before it.
    best, best_score = None, 0
    for k in cuts:
        score = _sentence_start_score(body[:k], body[k:])
        if score and score >= best_score:
            best, best_score = k, score
    if best is None:
        return None
    return body[:best].strip(), body[best:]


def _glued_positions(body: str) -> list[int]:
    """Offsets inside a run of non-space characters where a definition could begin: before a
    capital, a digit or ``\\(`` (a sentence start), or where the line's first word or a word
    in parentheses repeats (a restatement, which may start in lowercase: "xLSTMxLSTM is")."""
    limit = min(len(body) - 1, _MAX_TITLE_CHARS + 1)
    inner = [
        p.split()[0].rstrip(":,;").casefold() for p in re.findall(r"\(([^)]+)\)", body[:limit]) if p.split()
    ]
    out = []
    for k in range(2, limit):
        if body[k - 1].isspace() or body[k].isspace():
            continue
        if body[k].isupper() or body[k].isdigit() or body.startswith("\\(", k):
            out.append(k)
            continue
        names = [body[:k].split(None, 1)[0].rstrip(":,;").casefold(), *inner]
        if any(len(n) >= 2 and body[k : k + len(n)].casefold() == n for n in names):
            out.append(k)
    return out


def _keys(title: str) -> list[str]:
    """Ways a definition restates ``title``: whole, without its parenthesis, its first word, the
    word(s) in its parenthesis ("Direct Preference Optimization (DPO)" → "DPO")."""
    title = title.strip()
    keys = [title, re.sub(r"\s*\([^)]*\)", "", title).strip(), title.split()[0].rstrip(":,;")]
    keys += [inner.split()[0].rstrip(":,;") for inner in re.findall(r"\(([^)]+)\)", title) if inner.split()]
    return [k.casefold() for k in keys if len(k) >= 2]


def _restates(title: str, definition: str) -> bool:
    if not title.strip() or len(title) > _MAX_TITLE_CHARS:
        return False
    low = definition.casefold()
    for key in _keys(title):
        for article in _ARTICLES:
            probe = article + key
            if low.startswith(probe) and _continues_sentence(definition[len(probe) :]):
                return True
    return False


def _continues_sentence(rest: str) -> bool:
    """After the restated name comes a verb or a parenthesis ("GRPO is", "Triton (OpenAI, 2019)"),
    not a list ("GAN, StyleGAN") or more of a name."""
    if not rest:
        return True
    after = rest.lstrip()
    return rest[0].isspace() and bool(after) and (after[0] == "(" or after[0].islower())


def _title_like(head: str) -> bool:
    """Short, parentheses balanced, and every word outside parentheses capitalised, a number,
    a symbol or a small word ("of", "vs"); a question ending in "?" also counts."""
    head = head.strip()
    if not head or len(head) > _MAX_TITLE_CHARS or head.count("(") != head.count(")") or "\\" in head:
        return False
    if head.endswith("?"):
        return True
    words = re.sub(r"\([^)]*\)", " ", head).split()
    if not words or len(words) > 14:
        return False
    return all(_title_word(w) for w in words)


def _title_word(word: str) -> bool:
    """ "Mixture", "of", "xLSTM", "int4", "—" can be words of a title; "self-supervised" cannot."""
    if not word[0].islower():
        return True
    return word.casefold() in _TITLE_SMALL_WORDS or any(c.isupper() or c.isdigit() for c in word)


def _sentence_start_score(head: str, tail: str) -> int:
    """How much ``tail`` looks like the first words of a definition following the title ``head``
    (0: not at all). An article ("A particle filter") or a title ending in ``)``/``?`` is a strong
    sign; a capitalised word after a lowercase letter, digit or ``+`` a medium one; an
    all-caps word (an acronym: "NAS automates") a weak one."""
    first_word = tail.split(" ", 1)[0]
    prev = head[-1]
    score = 0
    if re.match(r"(A|An|The) \S", tail):
        score += 3
    if prev in ")?":
        score += 3
    if not (first_word[:1].isupper() or first_word[:1].isdigit() or tail.startswith("\\(")):
        return 0
    if prev.islower() or prev.isdigit() or prev in "+.":
        if re.match(r"[A-Z][a-z]", first_word):
            score += 2
        elif first_word.isupper() or first_word[:1].isdigit():
            score += 1
    elif prev.isupper() and re.match(r"[A-Z][a-z]+\b", first_word):
        score += 1  # an acronym ending the title: "Beyond CLIPSuccessors to CLIP refine"
    return score
