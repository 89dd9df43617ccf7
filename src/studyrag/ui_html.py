"""HTML for the study chat: answers with linked citations, the sources panel, the status line and
the guide browser. Pure functions: records in, strings out (tested without a browser).

Every string taken from a guide (chunk text, titles, section names) and from the user is escaped
before it enters HTML, and Markdown link syntax is defused where the chat renders Markdown: a guide
is data, never markup.

>>> render_answer_text("LoRA adds adapters [1]. <b>no</b>", turn=2, valid={1})
'LoRA adds adapters <a href="#src-2-1" class="cite">[1]</a>. &lt;b&gt;no&lt;/b&gt;'
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from .abstain import abstain_why, abstention_text
from .citations import mark_uncited
from .prompt import GUIDE_BOLD
from .quotes import claims_by_source, supporting_spans
from .records import PATH_SEP, Answer, Chunk, Hit

__all__ = [
    "APP_CSS",
    "GUIDE_CSS",
    "SOURCES_CSS",
    "GuideIndex",
    "build_guide_index",
    "esc",
    "guide_html",
    "highlight_passage",
    "hit_label",
    "md_esc",
    "merge_chunk_texts",
    "render_answer_html",
    "render_answer_text",
    "render_candidates",
    "render_error",
    "render_scores",
    "render_section_html",
    "render_sources_html",
    "render_sources_panel",
    "render_status",
    "render_streaming_text",
    "source_anchor",
]


def esc(text: object) -> str:
    """Text made safe for HTML (quotes too, so it can sit in attributes).

    >>> esc('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape(str(text), quote=True)


# a subheading line of a guide's Markdown ("### Training Tricks"), its closing hashes left out; one
# hash is left alone, as in a chunk it is more often a comment in a code sample than a heading
_HEADING = re.compile(r"^#{2,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)


def guide_html(text: str) -> str:
    """A guide's text escaped for HTML, with its Markdown bold pairs and heading lines shown in bold
    instead of as asterisks and hashes (``prompt.GUIDE_BOLD``: ``2**bits`` is no pair). Only
    ``<strong>`` is added, around text already escaped.

    >>> guide_html("### Tricks\\n- **Warmup** first, <b>not</b> 2**bits")
    '<strong>Tricks</strong>\\n- <strong>Warmup</strong> first, &lt;b&gt;not&lt;/b&gt; 2**bits'
    """
    return _HEADING.sub(r"<strong>\1</strong>", GUIDE_BOLD.sub(r"<strong>\1</strong>", esc(text)))


def md_esc(text: str) -> str:
    """Text made safe for a Markdown+HTML block: no tags, and no ``[..](..)`` links or images
    (brackets become entities, so Markdown sees no link syntax).

    >>> md_esc("[click](javascript:alert(1)) <b>")
    '&#91;click&#93;(javascript:alert(1)) &lt;b&gt;'
    """
    return esc(text).replace("[", "&#91;").replace("]", "&#93;")


def source_anchor(turn: int, n: int) -> str:
    """The element id of source ``n`` of answer number ``turn`` in the sources panel.

    >>> source_anchor(3, 2)
    'src-3-2'
    """
    return f"src-{turn}-{n}"


def hit_label(hit: Hit) -> str:
    """``"Guide title › Section › Subsection"`` (plain text, not escaped)."""
    return hit.chunk.full_section


_CITE = re.compile(r"\[(\d{1,3}|\?)\]")
_UNCITED_TIP = "No source supports this sentence: the guides may not say this."


def render_answer_text(
    text: str, turn: int, valid: Collection[int] = (), titles: Mapping[int, str] | None = None
) -> str:
    """Answer text as safe Markdown, each valid ``[n]`` a link to its source card.

    Unknown numbers stay plain text; ``titles`` become hover tooltips. A ``[?]``
    (``citations.mark_uncited``) flags a sentence no source supports.

    >>> render_answer_text("A [1], B [7].", turn=1, valid={1}, titles={1: "G › S"})
    'A <a href="#src-1-1" class="cite" title="G › S">[1]</a>, B &#91;7&#93;.'
    >>> render_answer_text("C [?].", turn=1)
    'C <span class="uncited" title="No source supports this sentence: the guides may not say this.">[?]</span>.'
    """
    titles = titles or {}
    out: list[str] = []
    last = 0
    for m in _CITE.finditer(text):
        out.append(md_esc(text[last : m.start()]))
        last = m.end()
        if m.group(1) == "?":
            out.append(f'<span class="uncited" title="{esc(_UNCITED_TIP)}">[?]</span>')
            continue
        n = int(m.group(1))
        if n in valid:
            tip = f' title="{esc(titles[n])}"' if n in titles else ""
            out.append(f'<a href="#{source_anchor(turn, n)}" class="cite"{tip}>[{n}]</a>')
        else:
            out.append(md_esc(m.group(0)))
    out.append(md_esc(text[last:]))
    return "".join(out)


def _same_question(a: str, b: str) -> bool:
    norm = lambda s: " ".join(re.findall(r"\w+", s.lower()))  # noqa: E731
    return norm(a) == norm(b)


def render_answer_html(answer: Answer, turn: int = 1) -> str:
    """The chat message for a finished answer: the "understood as" line for a rewritten follow-up,
    then the text with linked citations, or the abstention with its "see also" links.

    >>> from studyrag.records import Chunk, Hit
    >>> c = Chunk("c1", "g.md", ("LoRA",), "LoRA trains adapters.", 0, 21, title="Guide")
    >>> a = Answer("What is LoRA?", "LoRA trains adapters [1].", sources=(Hit(c, 1.0, 1),))
    >>> render_answer_html(a, turn=1)
    'LoRA trains adapters <a href="#src-1-1" class="cite" title="Guide › LoRA">[1]</a>.'
    """
    parts: list[str] = []
    sq = answer.standalone_question
    if sq and not _same_question(sq, answer.question):
        parts.append(f'<p class="understood">understood as: <em>{esc(sq)}</em></p>')
    if answer.abstained:
        links = ", ".join(
            f'<a href="#{source_anchor(turn, n)}" class="see-also">{esc(hit_label(h))}</a>'
            for n, h in enumerate(answer.see_also, 1)
        )
        label = "Not in the guides you chose" if answer.guides else "Not in the guides"
        label = "No supported answer" if answer.abstain_reason == "unsupported" else label
        why = abstain_why(answer.abstain_reason, chosen=bool(answer.guides))
        parts.append(f'<p class="abstained"><strong>{label}</strong>: {esc(why)}.</p>')
        # the standard abstention says the line above and names the sections linked below
        if answer.text != abstention_text(answer.see_also, answer.guides):
            parts.append(md_esc(answer.text))
        if links:
            parts.append(f'<p class="see-also-line">See also: {links}</p>')
    else:
        titles = {n: hit_label(h) for n, h in enumerate(answer.sources, 1)}
        text = mark_uncited(answer.text, answer.uncited_sentences)
        parts.append(render_answer_text(text, turn, valid=titles.keys(), titles=titles))
    return "\n\n".join(parts)


def render_streaming_text(text: str) -> str:
    """Partial answer while the model writes: escaped, citations not linked yet."""
    return md_esc(text) + " ▌"


def render_error(message: str) -> str:
    """A refused or failed question, shown in the chat instead of an answer."""
    return f'<p class="error">⚠ {esc(message)}</p>'


def render_added(done: Sequence[tuple[bool, str]]) -> str:
    """What became of each uploaded guide: ``(ok, line)`` pairs, failures marked.

    >>> render_added([(True, "added rl.md"), (False, "scan.pdf has no text <to read>")])
    '<p class="added">added rl.md</p><p class="error">⚠ scan.pdf has no text &lt;to read&gt;</p>'
    """
    return "".join(f'<p class="added">{esc(line)}</p>' if ok else render_error(line) for ok, line in done)


# ------------------------------------------------------------------------- sources panel


def highlight_passage(text: str, claims: Sequence[str], *, question: str = "", max_spans: int = 2) -> str:
    """``text`` as :func:`guide_html`, with the sentence(s) backing ``claims`` in ``<mark>``
    (``quotes.supporting_spans``; nothing is marked when no sentence shares two content words with
    a claim).

    >>> highlight_passage("Adam adapts rates. LoRA trains low-rank adapters <fast>.", ["LoRA trains adapters."])
    'Adam adapts rates. <mark class="passage">LoRA trains low-rank adapters &lt;fast&gt;.</mark>'
    """
    # each piece on its own, so a <strong> never straddles a <mark>
    out, last = [], 0
    for a, b in supporting_spans(text, claims, question=question, max_spans=max_spans):
        out.append(guide_html(text[last:a]))
        out.append(f'<mark class="passage">{guide_html(text[a:b])}</mark>')
        last = b
    out.append(guide_html(text[last:]))
    return "".join(out)


def _num(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def render_scores(hit: Hit) -> str:
    """One line of component scores; ``—`` where a retriever did not return the chunk.

    >>> c = Chunk("c", "g.md", ("S",), "t", 0, 1)
    >>> render_scores(Hit(c, 0.03, 1, bm25_score=7.5, bm25_rank=1, fused_score=0.0312))
    'BM25 7.50 (#1) · dense — · fused 0.0312 · rerank —'
    """
    bm25 = _num(hit.bm25_score, 2) + (f" (#{hit.bm25_rank})" if hit.bm25_rank else "")
    dense = _num(hit.dense_score, 3) + (f" (#{hit.dense_rank})" if hit.dense_rank else "")
    return (
        f"BM25 {bm25} · dense {dense} · fused {_num(hit.fused_score, 4)} · rerank {_num(hit.rerank_score, 3)}"
    )


def _source_card(
    turn: int, n: int, hit: Hit, *, cited: bool | None, claims: Sequence[str], question: str = ""
) -> str:
    c = hit.chunk
    badge = (
        ""
        if cited is None
        else ('<span class="badge cited">cited</span>' if cited else '<span class="badge">not cited</span>')
    )
    return (
        f'<div class="src" id="{source_anchor(turn, n)}" data-n="{n}">'
        f'<div class="src-head"><span class="src-n">[{n}]</span> <span class="src-guide">{esc(c.title or c.source)}</span>'
        f'{" › " if c.section else ""}<span class="src-section">{esc(c.section)}</span> {badge}</div>'
        f'<div class="src-text">{highlight_passage(c.text, claims, question=question)}</div>'
        f'<div class="src-scores">{render_scores(hit)} · <span class="src-file">{esc(c.source)}</span></div>'
        "</div>"
    )


def render_candidates(hits: Sequence[Hit]) -> str:
    """The other retrieved candidates, collapsed, with their scores and a snippet."""
    if not hits:
        return ""
    rows = "".join(
        f"<tr><td>{h.rank}</td><td><b>{esc(hit_label(h))}</b>"
        f'<div class="snippet">{esc(" ".join(h.chunk.text.split())[:160])}…</div></td>'
        f"<td>{_num(h.bm25_score, 2)}</td><td>{_num(h.dense_score, 3)}</td>"
        f"<td>{_num(h.fused_score, 4)}</td><td>{_num(h.rerank_score, 3)}</td></tr>"
        for h in hits
    )
    return (
        f'<details class="candidates"><summary>Other retrieved candidates ({len(hits)})</summary>'
        "<table><thead><tr><th>rank</th><th>guide › section</th><th>BM25</th><th>dense</th>"
        f"<th>fused</th><th>rerank</th></tr></thead><tbody>{rows}</tbody></table></details>"
    )


def render_sources_html(answer: Answer, candidates: Sequence[Hit] = (), turn: int = 1) -> str:
    """The sources of one answer: a card per source (guide, section path, chunk text with the cited
    passage marked, scores), then the other candidates collapsed. An abstained answer lists its
    "see also" sections instead. Cards have ids ``src-<turn>-<n>`` that the ``[n]`` links target.
    """
    if answer.abstained:
        listed = answer.see_also
        head = (
            '<h3>See also <span class="muted">— the closest sections; none answers the question</span></h3>'
        )
        cards = [_source_card(turn, n, h, cited=None, claims=()) for n, h in enumerate(listed, 1)]
    else:
        listed = answer.sources
        cited = {c.n for c in answer.citations}
        claims = claims_by_source(answer.text)
        asked = answer.standalone_question or answer.question
        head = f'<h3>Sources <span class="muted">— {len(cited)} of {len(listed)} cited</span></h3>'
        cards = [
            _source_card(turn, n, h, cited=n in cited, claims=claims.get(n, ()), question=asked)
            for n, h in enumerate(listed, 1)
        ]
    shown = {h.chunk.id for h in listed}
    others = [h for h in candidates if h.chunk.id not in shown]
    return (
        f'<div class="turn-sources" data-turn="{turn}"><p class="for-q">For: <em>{esc(answer.question)}</em></p>'
        f"{head}{''.join(cards)}{render_candidates(others)}</div>"
    )


def render_sources_panel(blocks: Sequence[tuple[str, str]]) -> str:
    """The whole panel: the newest answer's sources open, earlier answers' collapsed (their
    citation links still find their cards). ``blocks`` are ``(question, html)``, oldest first.

    The wrapper's tag alternates per answer. Gradio patches an HTML component in place when tags
    match, so the card a citation click had made the ``:target`` would otherwise become the new
    answer's first card and stay highlighted; a different root tag makes it replace the panel.

    >>> render_sources_panel([("q1", "A")]), render_sources_panel([("q1", "A"), ("q2", "B")])[:40]
    ('<section class="panel">A</section>', '<article class="panel">B<details class="')
    """
    if not blocks:
        return (
            '<div class="sources-empty"><h3>Sources</h3><p>Ask a question: the passages the answer '
            "cites appear here, with the cited sentences highlighted.</p></div>"
        )
    newest = blocks[-1][1]
    older = "".join(
        f'<details class="earlier"><summary>Earlier: {esc(q)}</summary>{h}</details>'
        for q, h in reversed(blocks[:-1])
    )
    tag = "section" if len(blocks) % 2 else "article"
    return f'<{tag} class="panel">{newest}{older}</{tag}>'


# -------------------------------------------------------------------------------- status


def render_status(
    *,
    model: str,
    device: str,
    n_chunks: int,
    n_guides: int,
    answer: Answer | None = None,
) -> str:
    """The status line: model, device, index size and, after an answer, its timings.

    >>> s = render_status(model="fake", device="CPU", n_chunks=349, n_guides=5)
    >>> "349 chunks from 5 guides" in s
    True
    """
    parts = [f"Model: <b>{esc(model)}</b>", esc(device), f"Index: {n_chunks:,} chunks from {n_guides} guides"]
    line = " · ".join(parts)
    if answer is None:
        return f'<div class="status">{line}</div>'
    t = answer.timings
    hits = answer.sources or answer.see_also
    reranked = any(h.rerank_score is not None for h in hits)
    last = [f"retrieval {t.get('retrieve_s', 0) * 1000:.0f} ms"]
    last.append(f"rerank on ({t.get('rerank_s', 0) * 1000:.0f} ms)" if reranked else "rerank off")
    if "time_to_first_token_s" in t:
        last.append(f"first token {t['time_to_first_token_s']:.2f} s")
    if t.get("tokens_per_s"):
        last.append(f"{t['tokens_per_s']:.1f} tokens/s")
    if t.get("prompt_tokens"):
        last.append(f"{int(t['prompt_tokens'])} prompt tokens")
    if "total_s" in t:
        last.append(f"total {t['total_s']:.2f} s")
    return f'<div class="status">{line}<br><span class="last">Last answer: {" · ".join(last)}</span></div>'


# --------------------------------------------------------------------------- guide browser


def merge_chunk_texts(chunks: Sequence[Chunk]) -> str:
    """The text of consecutive chunks without their overlaps (chunks are spans of one document).

    >>> a = Chunk("a", "g.md", ("S",), "one two three", 0, 13)
    >>> b = Chunk("b", "g.md", ("S",), "three four", 8, 18)
    >>> merge_chunk_texts([b, a])
    'one two three four'
    """
    out: list[str] = []
    end = None
    for c in sorted(chunks, key=lambda c: (c.start, c.end)):
        if end is None or c.start >= end:
            out.append(("\n\n" if out else "") + c.text)
        elif c.end > end:
            overlap = end - c.start
            # offsets index the repaired document; when the text is not that span, show it whole
            out.append(c.text[overlap:] if len(c.text) == c.end - c.start else "\n…\n" + c.text)
        end = c.end if end is None else max(end, c.end)
    return "".join(out)


@dataclass(frozen=True)
class GuideIndex:
    """The guides and their sections in document order, rebuilt from the indexed chunks.

    ``guides``: ``(title, source)``; ``sections[source]``: section names (``Chunk.section``);
    ``texts[(source, section)]``: the section's own text.
    """

    guides: tuple[tuple[str, str], ...]
    sections: Mapping[str, tuple[str, ...]]
    texts: Mapping[tuple[str, str], str]

    def title(self, source: str) -> str:
        return next((t for t, s in self.guides if s == source), source)

    def full_section(self, source: str, section: str) -> list[tuple[str, str]]:
        """``(section, text)`` for the section and every subsection under it, in order."""
        names = self.sections.get(source, ())
        prefix = section + PATH_SEP
        return [
            (n, self.texts[(source, n)]) for n in names if n == section or (section and n.startswith(prefix))
        ]


def build_guide_index(chunks: Sequence[Chunk]) -> GuideIndex:
    """Group chunks by guide and section.

    >>> ix = build_guide_index([Chunk("a", "g.md", ("B",), "b", 5, 6, title="G"),
    ...                         Chunk("b", "g.md", ("A",), "a", 0, 1, title="G")])
    >>> ix.guides, ix.sections["g.md"], ix.texts[("g.md", "A")]
    ((('G', 'g.md'),), ('A', 'B'), 'a')
    """
    by_section: dict[tuple[str, str], list[Chunk]] = {}
    titles: dict[str, str] = {}
    for c in chunks:
        by_section.setdefault((c.source, c.section), []).append(c)
        titles.setdefault(c.source, c.title or c.source)
    order = sorted(by_section, key=lambda k: (k[0], min(c.start for c in by_section[k])))
    sections: dict[str, list[str]] = {}
    for source, section in order:
        sections.setdefault(source, []).append(section)
    guides = tuple(sorted(((titles[s], s) for s in sections), key=lambda g: g[0].lower()))
    return GuideIndex(
        guides=guides,
        sections={s: tuple(v) for s, v in sections.items()},
        texts={k: merge_chunk_texts(v) for k, v in by_section.items()},
    )


def render_section_html(guide: str, parts: Sequence[tuple[str, str]]) -> str:
    """A section (and its subsections) under their headings, as :func:`guide_html`."""
    if not parts:
        return '<div class="guide-section"><p>Pick a guide and a section.</p></div>'
    body = "".join(
        f'<h4 class="section-name">{esc(name or "(introduction)")}</h4><div class="section-text">{guide_html(text)}</div>'
        for name, text in parts
    )
    return f'<div class="guide-section"><h3 class="guide-title">{esc(guide)}</h3>{body}</div>'


# ------------------------------------------------------------------------------------ styles

APP_CSS = """
.cite { font-weight: 600; text-decoration: none; padding: 0 1px; }
.cite:hover { text-decoration: underline; }
.uncited { color: #9a5b00; font-size: 0.85em; cursor: help; }
.understood { color: var(--body-text-color-subdued); font-size: 0.9em; margin-bottom: 4px; }
.abstained { color: #9a5b00; }
.error { color: #b42318; }
.status { font-size: 0.85em; color: var(--body-text-color-subdued); }
"""

# Scoped to the sources panel by Gradio (css_template), so the panel works with a plain launch().
SOURCES_CSS = """
.src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 8px 0;
       scroll-margin-top: 12px; }
.src:target { background: rgb(255, 243, 176); border-color: rgb(234, 179, 8); box-shadow: 0 0 0 2px rgb(234, 179, 8); }
.src-head { font-size: 0.92em; margin-bottom: 4px; }
.src-n { font-weight: 700; }
.src-guide { font-weight: 600; }
.badge { font-size: 0.75em; padding: 1px 6px; border-radius: 8px; background: #eee; color: #555; margin-left: 4px; }
.badge.cited { background: #dcfce7; color: #166534; }
.src-text { white-space: pre-wrap; font-size: 0.88em; max-height: 18em; overflow-y: auto; }
mark.passage { background: rgb(254, 240, 138); padding: 0 1px; }
.src-scores { font-size: 0.75em; color: #666; margin-top: 4px; }
.muted { font-weight: 400; font-size: 0.8em; color: #777; }
.for-q { font-size: 0.85em; color: #555; margin: 0; }
.candidates table { font-size: 0.78em; width: 100%; }
.candidates td, .candidates th { padding: 2px 4px; vertical-align: top; }
.snippet { color: #666; font-size: 0.9em; }
details.earlier { margin-top: 10px; }
"""

GUIDE_CSS = """
.section-text { white-space: pre-wrap; font-size: 0.92em; line-height: 1.5; }
.section-name { margin-top: 14px; }
"""
