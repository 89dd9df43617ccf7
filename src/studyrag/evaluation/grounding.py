"""Grounding metrics that need a support judge: ALCE citation recall/precision and faithfulness.

Citation scores follow ALCE (Gao et al., 2023, "Enabling Large Language Models to Generate Text
with Citations", §2.3 and its ``compute_autoais``), sentence by sentence, with the ``[n]`` marks
removed from the sentence before it is judged:

- **recall** of a sentence is 1 iff it has at least one citation, every citation is in range, and the
  cited sources *jointly* support it: ``judge.supports(sentence, "\\n".join(cited texts))``. When the
  joined text is longer than ``max_joint_chars`` we fall back to "some single cited source supports it".
- **precision** of a citation is 1 iff the sentence has recall 1 and the citation is not
  *irrelevant*: a citation is irrelevant iff it alone does not support the sentence AND the other
  citations of the sentence without it still do. With a single citation, precision = recall.
  Out-of-range citations score 0 (so do the other citations of their sentence, whose recall is 0).
- answer recall = mean over sentences; answer precision = correct citations / all citations; both 0
  when there is nothing to average (ALCE's convention). Deviation from ALCE's code, on purpose: ALCE
  leaves out-of-range citations out of the precision denominator; we count them as wrong.

Faithfulness (RAGAS-style): the answer is split into claims; a claim is supported when the judge
accepts it against at least one context chunk (judged chunk by chunk: the max); the score is the
supported share, ``None`` for an answer with no claim (an abstention).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..citations import CitedSentence, is_trivial, parse_citations
from .claims import ClaimSplitter, split_claims

if TYPE_CHECKING:
    from .judges import SupportJudge

__all__ = [
    "SentenceCitationScore",
    "CitationScores",
    "citation_scores",
    "ClaimVerdict",
    "FaithfulnessScore",
    "faithfulness",
]


@dataclass(frozen=True)
class SentenceCitationScore:
    """One sentence: its citations, its recall (0/1) and each citation's precision (0/1)."""

    text: str
    citations: tuple[int, ...]
    recall: int
    precision: tuple[int, ...]


@dataclass(frozen=True)
class CitationScores:
    """ALCE citation recall and precision of one answer (see module doc)."""

    recall: float
    precision: float
    n_sentences: int
    n_citations: int
    sentences: tuple[SentenceCitationScore, ...] = ()


def _jointly_supported(
    judge: SupportJudge, claim: str, texts: Sequence[str], max_joint_chars: int | None
) -> bool:
    if not texts:
        return False
    joined = "\n".join(texts)
    if max_joint_chars is None or len(joined) <= max_joint_chars or len(texts) == 1:
        return judge.supports(claim, joined)
    return any(judge.supports(claim, t) for t in texts)


def _score_sentence(
    sentence: CitedSentence, sources: Sequence[str], judge: SupportJudge, max_joint_chars: int | None
) -> SentenceCitationScore:
    cites = sentence.numbers
    in_range = bool(cites) and all(1 <= n <= len(sources) for n in cites)
    texts = [sources[n - 1] for n in cites] if in_range else []
    recall = int(in_range and _jointly_supported(judge, sentence.text, texts, max_joint_chars))
    if not recall:
        return SentenceCitationScore(sentence.text, cites, 0, (0,) * len(cites))
    if len(cites) == 1:
        return SentenceCitationScore(sentence.text, cites, 1, (1,))
    precision = []
    for i, n in enumerate(cites):
        alone = judge.supports(sentence.text, sources[n - 1])
        others = texts[:i] + texts[i + 1 :]
        irrelevant = not alone and _jointly_supported(judge, sentence.text, others, max_joint_chars)
        precision.append(0 if irrelevant else 1)
    return SentenceCitationScore(sentence.text, cites, 1, tuple(precision))


def citation_scores(
    answer: str | Sequence[CitedSentence],
    sources: Sequence[str],
    judge: SupportJudge,
    *,
    max_joint_chars: int | None = None,
    skip_trivial: bool = False,
) -> CitationScores:
    """ALCE citation recall and precision of an answer whose ``[n]`` marks point at ``sources[n-1]``.

    ``answer`` is the answer text (split with :func:`studyrag.citations.parse_citations`) or already
    parsed sentences. ``skip_trivial`` leaves out headings, lead-ins and "the sources do not say"
    sentences, which need no citation (ALCE scores every sentence: the default).

    >>> class LastWord:  # a toy judge: the evidence must hold the claim's last word
    ...     id = "last-word"
    ...     def supports(self, claim, evidence): return claim.rstrip(".").split()[-1] in evidence
    ...     def score(self, claim, evidence): return float(self.supports(claim, evidence))
    >>> s = citation_scores("MoE uses experts [1]. It needs routers [1][2].", ["experts", "routers"], LastWord())
    >>> s.recall, s.precision  # [1] in the second sentence is irrelevant: precision 2 of 3 citations
    (1.0, 0.6666666666666666)
    """
    sentences = parse_citations(answer) if isinstance(answer, str) else list(answer)
    if skip_trivial:
        sentences = [s for s in sentences if not is_trivial(s.text)]
    scored = tuple(_score_sentence(s, sources, judge, max_joint_chars) for s in sentences)
    n_cites = sum(len(s.citations) for s in scored)
    return CitationScores(
        recall=sum(s.recall for s in scored) / len(scored) if scored else 0.0,
        precision=sum(sum(s.precision) for s in scored) / n_cites if n_cites else 0.0,
        n_sentences=len(scored),
        n_citations=n_cites,
        sentences=scored,
    )


@dataclass(frozen=True)
class ClaimVerdict:
    """A claim and whether some context supports it (``source``: 1-based index of the first that does)."""

    claim: str
    supported: bool
    source: int | None = None


@dataclass(frozen=True)
class FaithfulnessScore:
    """Supported share of the answer's claims (``None`` when the answer makes no claim)."""

    score: float | None
    claims: tuple[ClaimVerdict, ...] = ()

    @property
    def n_supported(self) -> int:
        return sum(c.supported for c in self.claims)


def faithfulness(
    answer: str,
    contexts: Sequence[str],
    judge: SupportJudge,
    *,
    splitter: ClaimSplitter = split_claims,
) -> FaithfulnessScore:
    """Share of the answer's claims supported by at least one context chunk (judged one by one).

    Chunks are judged in order and judging stops at the first that supports the claim, which keeps
    an LLM judge's cost down; the verdict equals "max over chunks".
    """
    verdicts = []
    for claim in splitter(answer):
        source = next((i for i, ctx in enumerate(contexts, 1) if judge.supports(claim, ctx)), None)
        verdicts.append(ClaimVerdict(claim, source is not None, source))
    score = sum(v.supported for v in verdicts) / len(verdicts) if verdicts else None
    return FaithfulnessScore(score, tuple(verdicts))
