"""How the ``studyrag`` command line shows hits and answers: as JSON (the contract in DESIGN.md)
and as terminal text (ranks, sections, component scores; streamed answers with their sources).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click

from .records import Answer, Hit, TokenEvent

__all__ = ["answer_json", "console", "hit_json", "print_hits", "print_sources", "reads_differently", "stream_answer"]


def console() -> Any:
    """Rich console for the terminal output (colour where the terminal has it)."""
    from rich.console import Console

    return Console(stderr=False, highlight=False, soft_wrap=True)


def hit_json(hit: Hit) -> dict[str, Any]:
    """A hit as DESIGN.md's search JSON row, component scores included."""
    c = hit.chunk
    return {
        "rank": hit.rank,
        "chunk_id": c.id,
        "source": c.source,
        "section": c.section,
        "text": c.text,
        "score": hit.score,
        "scores": hit.scores(),
        "named": hit.named,  # ranked first because the question asks what its label or heading names
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    """An answer as DESIGN.md's ask JSON: text, citations (each with the ``quote``, the line of its
    chunk the answer rests on, or null), sources, why it abstained, timings."""
    from .quotes import answer_quotes

    quotes = answer_quotes(answer)
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "abstain_reason": answer.abstain_reason,
        "draft": answer.draft,
        "citations": [
            {
                "n": c.n,
                "chunk_id": c.chunk.id,
                "source": c.chunk.source,
                "section": c.chunk.section,
                "text": c.chunk.text,
                "quote": quotes.get(c.n),
            }
            for c in answer.citations
        ],
        "sources": [hit_json(h) for h in answer.sources],
        "see_also": [hit_json(h) for h in answer.see_also],
        "uncited_sentences": list(answer.uncited_sentences),
        "invalid_citations": list(answer.invalid_citations),
        "standalone_question": answer.standalone_question,
        "timings": dict(answer.timings),
        "model": answer.model,
        "guides": list(answer.guides),  # the guides it was kept to; [] for every guide
    }


def _snippet(text: str, line: str | None, width: int = 220) -> str:
    """``width`` characters of ``text`` on one line, around ``line`` when it is there: starting a
    third of the width before it, or earlier when the text ends sooner; "…" where text is cut.

    >>> _snippet("Intro. " * 10 + "Benefits: 2x faster.", "2x faster.", width=30)
    '…o. Intro. Benefits: 2x faster.'
    >>> _snippet("Short text.", None)
    'Short text.'
    """
    flat = " ".join(text.split())
    at = flat.find(" ".join(line.split())) if line else -1
    start = max(0, min(at - width // 3, len(flat) - width)) if at > 0 else 0
    end = start + width
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


def print_hits(hits: Sequence[Hit], lines: Mapping[str, str] | None = None) -> None:
    """Each hit's rank, guide › section, a snippet, and the scores that placed it. The snippet shows
    the hit's line in ``lines`` (chunk id → its sentence closest to the query,
    ``HybridRetriever.key_sentences``) when there is one, else the chunk's start."""
    con = console()
    for h in hits:
        sc = h.scores()
        parts = [f"fused {h.fused_score:.4f}" if h.fused_score is not None else ""]
        parts += [f"bm25 {sc['bm25']:.2f} (#{sc['bm25_rank']})" if sc["bm25"] is not None else "bm25 —"]
        parts += [f"dense {sc['dense']:.3f} (#{sc['dense_rank']})" if sc["dense"] is not None else "dense —"]
        if h.rerank_score is not None:
            parts.append(f"rerank {h.rerank_score:.3f}")
        if h.named:
            parts.append("first: its label or heading names what the question asks about")
        snippet = _snippet(h.chunk.text, (lines or {}).get(h.chunk.id))
        con.print(f"[bold]{h.rank:>2}.[/bold] [cyan]{h.chunk.source}[/cyan] › [bold]{h.chunk.section}[/bold]", markup=True)
        con.print(f"    {snippet}", markup=False)
        con.print(f"    [dim]{'  '.join(p for p in parts if p)}[/dim]", markup=True)


def print_sources(answer: Answer) -> None:
    """What was answered (when it differs from what was typed), why it abstained, then the sources,
    each cited one with the line of it that best backs the answer (``quotes.quote``)."""
    if answer.standalone_question and answer.standalone_question != answer.question:
        click.secho(f"(understood as: {answer.standalone_question})", dim=True)
    con = console()
    if answer.abstained:
        from .abstain import ABSTAIN_REASONS, abstain_why

        if answer.abstain_reason in ABSTAIN_REASONS:
            why = abstain_why(answer.abstain_reason, chosen=bool(answer.guides))
            con.print(f"\n[dim]Why: {why}.[/dim]", markup=True)
        if answer.see_also:
            con.print("\n[bold]See also[/bold]", markup=True)
            for h in answer.see_also:
                con.print(f"  • {h.chunk.source} › {h.chunk.section}", markup=False)
        return
    from .quotes import answer_quotes

    cited = {c.n for c in answer.citations}
    quotes = answer_quotes(answer)  # the line each citation rests on, to check it here, not in the guide
    con.print("\n[bold]Sources[/bold]", markup=True)
    for n, h in enumerate(answer.sources, 1):
        mark = "" if n in cited else "  (not cited)"
        con.print(f"  [{n}] {h.chunk.source} › {h.chunk.section}{mark}", markup=False)
        if n in cited and n in quotes:
            con.print(f"      “{quotes[n]}”", markup=False, style="dim")
    t = answer.timings
    if "time_to_first_token_s" in t:
        con.print(
            f"[dim]first token {t['time_to_first_token_s']:.1f}s · {t.get('prompt_tokens', 0)} prompt tokens · "
            f"{t.get('tokens_per_s', 0):.1f} tok/s · total {t.get('total_s', 0):.1f}s · {answer.model}[/dim]",
            markup=True,
        )


def stream_answer(events: Iterable[TokenEvent | Answer], as_json: bool) -> Answer:
    """Echo token events as they come (unless JSON); return the final Answer.

    The final text can differ from what streamed: an abstention replaces the model's words,
    citations the model forgot are attributed afterwards, and a claim no source supports is
    flagged ``[?]``. Then the final text is printed too.
    """
    from .citations import UNCITED_NOTE, mark_uncited

    answer: Answer | None = None
    streamed: list[str] = []
    for ev in events:
        if isinstance(ev, TokenEvent):
            streamed.append(ev.text)
            if not as_json:
                click.echo(ev.text, nl=False)
        else:
            answer = ev
    assert answer is not None
    if not as_json:
        click.echo()
        shown = mark_uncited(answer.text, answer.uncited_sentences)
        if reads_differently(shown, "".join(streamed)):
            click.secho("\nWith citations checked:" if not answer.abstained else "", dim=True)
            click.echo(shown)
        if shown != answer.text:
            click.secho(UNCITED_NOTE, dim=True)
    return answer


def reads_differently(final: str, streamed: str) -> bool:
    """Whether the checked answer says or cites something other than what streamed; a marker
    that only moved before its full stop does not count.

    >>> reads_differently("It removes fragmentation [1].", "It removes fragmentation. [1]")
    False
    >>> reads_differently("Blocks [1]. It removes fragmentation [1].", "Blocks. It removes fragmentation. [1]")
    True
    """
    from .citations import parse_citations

    def read(text: str) -> list[tuple[str, tuple[int, ...]]]:
        return [(s.text, s.numbers) for s in parse_citations(text)]

    return final.strip() != streamed.strip() and read(final) != read(streamed)
