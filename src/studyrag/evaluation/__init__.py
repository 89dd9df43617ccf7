"""The faithfulness evaluation suite: pure metrics, support judges and claim splitting.

- :mod:`.metrics` — retrieval (evidence recall@k, ranx chunk recall/MRR/nDCG, run comparison),
  context precision/recall, key-fact correctness, abstention, Cohen's kappa, paired bootstrap; it
  re-exports the judge-based grounding metrics of :mod:`.grounding` (ALCE citation recall/precision,
  RAGAS-style faithfulness).
- :mod:`.judges` — ``SupportJudge`` protocol, ``LexicalJudge`` (fast, deterministic), ``LLMJudge``.
- :mod:`.claims` — answer → atomic claims (deterministic, or through the LLM).
- :mod:`.normalize` — the text normalization both sides of every comparison share.

Importing this package loads neither ranx nor a model; those load on first use.
"""

from __future__ import annotations

from .claims import ClaimSplitter, LLMClaimSplitter, split_claims
from .grounding import (
    CitationScores,
    ClaimVerdict,
    FaithfulnessScore,
    SentenceCitationScore,
    citation_scores,
    faithfulness,
)
from .judges import LexicalFeatures, LexicalJudge, LLMJudge, SupportJudge, evidence_windows
from .metrics import (
    AbstentionScores,
    ContextScores,
    Evidence,
    abstention_scores,
    accuracy,
    cohen_kappa,
    compare_runs,
    context_scores,
    evidence_recall,
    fact_present,
    key_fact_recall,
    locate,
    mean_scores,
    paired_bootstrap,
    relevant_chunks,
    retrieval_metrics,
    retrieval_metrics_per_query,
    retrieval_scores,
)

__all__ = [
    "AbstentionScores",
    "CitationScores",
    "ClaimSplitter",
    "ClaimVerdict",
    "ContextScores",
    "Evidence",
    "FaithfulnessScore",
    "LLMClaimSplitter",
    "LLMJudge",
    "LexicalFeatures",
    "LexicalJudge",
    "SentenceCitationScore",
    "SupportJudge",
    "abstention_scores",
    "accuracy",
    "citation_scores",
    "cohen_kappa",
    "compare_runs",
    "context_scores",
    "evidence_recall",
    "evidence_windows",
    "fact_present",
    "faithfulness",
    "key_fact_recall",
    "locate",
    "mean_scores",
    "paired_bootstrap",
    "relevant_chunks",
    "retrieval_metrics",
    "retrieval_metrics_per_query",
    "retrieval_scores",
    "split_claims",
]
