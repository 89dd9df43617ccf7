"""Which lines of a source back an answer, so that a reader can check a citation without opening
the guide: the answer's sentences that cite each source (:func:`claims_by_source`), and the
source's sentence(s) sharing most content words with them (:func:`supporting_spans`). The study
chat marks those sentences in its source cards; ``studyrag ask`` and ``chat`` quote the best one
under each cited source (:func:`quote`).

>>> claims = claims_by_source("QLoRA uses 4-bit base weights [1].")
>>> quote("QLoRA adds adapters. The base model is **kept in 4-bit** weights.", claims[1])
'The base model is kept in 4-bit weights.'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .citations import parse_citations, sentence_spans
from .prompt import unbold
from .support import content_words

if TYPE_CHECKING:
    from .records import Answer

__all__ = ["answer_quotes", "claims_by_source", "quote", "supporting_spans"]


def claims_by_source(text: str) -> dict[int, list[str]]:
    """The answer sentences citing each source number.

    >>> claims_by_source("LoRA trains adapters [1]. It is cheap [1][2].")
    {1: ['LoRA trains adapters.', 'It is cheap.'], 2: ['It is cheap.']}
    """
    out: dict[int, list[str]] = {}
    for sentence in parse_citations(text):
        for n in sentence.numbers:
            out.setdefault(n, []).append(sentence.text)
    return out


def supporting_spans(
    text: str, claims: Sequence[str], *, question: str = "", max_spans: int = 2
) -> list[tuple[int, int]]:
    """``(start, end)`` of the sentences of ``text`` that best back one of ``claims`` (at most
    ``max_spans``, in text order). A sentence must share two content words with a claim, since one
    shared word is as often chance as support; among those, each shared word counts one over the
    number of the text's sentences holding it, so the word that names the thing ("Bernoulli")
    outweighs one every line of a list repeats ("distribution"). Sentences within three quarters
    of the best count, the earlier first on a tie. The ``question``'s words do not count, as in the
    grounding check: an answer restating "to stop a router sending every token to a few experts"
    would otherwise point at whichever line mentions tokens and experts.

    >>> supporting_spans("Adam adapts rates. LoRA trains low-rank adapters.", ["LoRA trains adapters."])
    [(19, 49)]
    >>> supporting_spans("Dropout zeroes units.", ["Scaling laws matter."])
    []
    >>> text = "- Laplace distribution: 1/(2b) exp.\\n- Bernoulli: P(x) = p^x (1-p)^(1-x)\\n- Gumbel for discrete distributions"
    >>> [text[a:b] for a, b in supporting_spans(text, ["The Bernoulli distribution is p^x (1-p)^(1-x)."], max_spans=1)]
    ['- Bernoulli: P(x) = p^x (1-p)^(1-x)']
    >>> text = "Routers send tokens to experts. A balancing loss spreads the load."
    >>> claim = ["To stop routers sending tokens to few experts, add a balancing loss."]
    >>> [text[a:b] for a, b in supporting_spans(text, claim, question="How do I stop routers sending tokens to few experts?")]
    ['A balancing loss spreads the load.']
    """
    asked = content_words(question)
    wanted = [(w - asked) or w for w in (content_words(c) for c in claims) if w]
    spans = sentence_spans(text) if wanted else []
    held = [content_words(text[a:b]) for a, b in spans]
    df = Counter(w for words in held for w in words)
    scored = []
    for (a, b), words in zip(spans, held, strict=True):
        shared = [w & words for w in wanted]
        if max(len(x) for x in shared) >= 2:
            scored.append((max(sum(1 / df[w] for w in x) for x in shared), a, b))
    top = max((x[0] for x in scored), default=0.0)
    best = sorted((x for x in scored if x[0] >= 0.75 * top), key=lambda x: (-x[0], x[1]))[:max_spans]
    return sorted((a, b) for _, a, b in best)


def quote(text: str, claims: Sequence[str], *, question: str = "", width: int = 200) -> str | None:
    """The sentence of ``text`` that best backs ``claims``, on one line without the guide's bold,
    cut to ``width`` characters with "…"; ``None`` when no sentence does (:func:`supporting_spans`).

    >>> quote("Adam adapts rates.\\n- LoRA trains **low-rank**\\n  adapters.", ["LoRA trains adapters."], width=20)
    '- LoRA trains low-r…'
    """
    spans = supporting_spans(text, claims, question=question, max_spans=1)
    if not spans:
        return None
    a, b = spans[0]
    line = " ".join(unbold(text[a:b]).split())
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def answer_quotes(answer: Answer, *, width: int = 200) -> dict[int, str]:
    """For each source number the answer cites, the :func:`quote` of its chunk that backs the
    sentences citing it (numbers with no such line are left out).

    >>> from studyrag.records import Answer, Chunk, Hit
    >>> c = Chunk("c1", "g.md", ("PagedAttention",), "It is fast. It pages the KV cache in blocks.", 0, 44)
    >>> answer_quotes(Answer("What is PagedAttention?", "It pages the KV cache [1].", sources=(Hit(c, 1.0, 1),)))
    {1: 'It pages the KV cache in blocks.'}
    """
    asked = answer.standalone_question or answer.question
    claims = claims_by_source(answer.text)
    out: dict[int, str] = {}
    for n, hit in enumerate(answer.sources, 1):
        line = quote(hit.chunk.text, claims[n], question=asked, width=width) if n in claims else None
        if line:
            out[n] = line
    return out
