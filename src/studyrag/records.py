"""Frozen dataclasses passed between stages. No stage passes bare tuples or dicts.

>>> c = Chunk(id="abc", source="g.md", path=("MoE", "Training Challenges"), text="Load balancing...",
...           start=0, end=17, title="Guide", n_tokens=4)
>>> c.section
'MoE › Training Challenges'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["PATH_SEP", "Converted", "Section", "Document", "Chunk", "Hit", "Citation", "Answer", "TokenEvent"]

PATH_SEP = " › "


def _frozen_map(m: Mapping | None) -> Mapping:
    return MappingProxyType(dict(m or {}))


@dataclass(frozen=True)
class Converted:
    """A guide that is not text (a PDF, a Word file, a web page) as Markdown, with what the conversion did and
    the title its metadata gives ("" when none), for ``loaders.parse_document``."""

    markdown: str
    notes: tuple[str, ...] = ()
    title: str = ""


@dataclass(frozen=True)
class Section:
    """One section of a document: a heading path and the body text under it.

    ``start``/``end`` are character offsets of the body in ``Document.text`` (the repaired text).
    ``kind`` is ``"markdown"`` for heading-delimited sections, ``"topic"`` for glossary entries.
    """

    path: tuple[str, ...]
    text: str
    start: int
    end: int
    level: int = 1
    kind: str = "markdown"

    @property
    def title(self) -> str:
        return self.path[-1] if self.path else ""

    @property
    def heading(self) -> str:
        return PATH_SEP.join(self.path)


@dataclass(frozen=True)
class Document:
    """A loaded guide: repaired text, metadata from front matter, and its sections in order."""

    source: str  # file name inside the corpus directory, e.g. "comprehensive-llm-study-guide.md"
    title: str
    text: str  # the whole repaired text (front matter removed)
    sections: tuple[Section, ...]
    sha256: str  # of the raw file bytes
    metadata: Mapping = field(default_factory=dict)
    repairs: tuple[str, ...] = ()  # human-readable notes about encoding repair applied

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", _frozen_map(self.metadata))


@dataclass(frozen=True)
class Chunk:
    """A retrievable unit: text inside one section path, with a stable id.

    ``text`` is what users see; ``embed_text`` adds the guide title and heading path as context.
    """

    id: str
    source: str
    path: tuple[str, ...]
    text: str
    start: int  # character span in the source Document.text
    end: int
    title: str = ""  # the guide's title
    n_tokens: int = 0  # length of embed_text in embedder word pieces

    @property
    def section(self) -> str:
        return PATH_SEP.join(self.path)

    @property
    def full_section(self) -> str:
        """``"Guide title › Section › Subsection"`` (the file name when the guide has no title).

        >>> Chunk("c", "rl.md", ("PPO", "Clipping"), "t", 0, 1).full_section
        'rl.md › PPO › Clipping'
        """
        return PATH_SEP.join(p for p in (self.title or self.source, *self.path) if p)

    @property
    def embed_text(self) -> str:
        head = PATH_SEP.join(p for p in (self.title, *self.path) if p)
        return f"{head}\n{self.text}" if head else self.text


@dataclass(frozen=True)
class Hit:
    """A chunk found for a query, with the score that ranked it and every component score.

    ``score`` is the final score (rerank score when reranked, else fused score).
    Component fields are ``None`` when that retriever did not return the chunk.
    """

    chunk: Chunk
    score: float
    rank: int  # 1-based
    bm25_score: float | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    dense_rank: int | None = None
    fused_score: float | None = None
    rerank_score: float | None = None
    named: bool = False  # moved first because the question asks what this chunk's label or heading names (labels.py)

    def scores(self) -> dict[str, float | None]:
        return {
            "bm25": self.bm25_score,
            "bm25_rank": self.bm25_rank,
            "dense": self.dense_score,
            "dense_rank": self.dense_rank,
            "fused": self.fused_score,
            "rerank": self.rerank_score,
        }


@dataclass(frozen=True)
class Citation:
    """``[n]`` in the answer text points at ``chunk`` (the n-th source in the prompt)."""

    n: int
    chunk: Chunk


@dataclass(frozen=True)
class TokenEvent:
    """One streamed piece of answer text (``ask_stream`` yields these, then the ``Answer``)."""

    text: str


@dataclass(frozen=True)
class Answer:
    """The final answer to a question.

    ``sources`` are the hits numbered [1]..[n] in the prompt; ``citations`` the ones the text cites.
    ``see_also`` are the closest sections offered when the assistant abstains, and
    ``abstain_reason`` says why (a key of ``abstain.ABSTAIN_REASONS``; "" when it answered).
    ``draft`` is the model's own text when its answer was declined after generation (it declined,
    or its claims were not supported by the sections it cited), kept so the decision can be checked;
    "" otherwise.
    ``timings`` are seconds per stage (retrieve, rerank, prompt, first_token, decode, total) plus
    token counts (prompt_tokens, completion_tokens) and decode tokens/s. ``guides`` are the guides
    the answer was kept to (source names), () for every guide.
    """

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    sources: tuple[Hit, ...] = ()
    see_also: tuple[Hit, ...] = ()
    uncited_sentences: tuple[str, ...] = ()
    invalid_citations: tuple[int, ...] = ()
    timings: Mapping = field(default_factory=dict)
    model: str = ""
    standalone_question: str = ""  # as answered: rewritten from a conversation, or without asides
    abstain_reason: str = ""
    draft: str = ""
    guides: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "timings", _frozen_map(self.timings))
