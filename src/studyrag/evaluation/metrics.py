"""Pure evaluation metrics: retrieval, context, correctness, abstention, agreement, bootstrap.

Grounding metrics that need a judge (ALCE citation precision/recall, RAGAS-style faithfulness)
live in :mod:`studyrag.evaluation.grounding` and are re-exported here.

Which retrieval number means what (every key below is per question, then averaged):

- ``recall@k`` — **evidence recall**: the share of the question's gold evidence items that have at
  least one relevant chunk in the top k. A question citing two passages that finds one of them in the
  top 5 scores 0.5 at k=5. Computed by hand (ranx cannot express "any of this set counts once").
- ``chunk_recall@k`` — ranx ``recall@k`` over relevant *chunks*: relevant chunks in the top k divided
  by all relevant chunks. Lower than evidence recall when one passage spans two overlapping chunks.
- ``mrr@10`` — ranx: 1/rank of the first relevant chunk within the top 10 (0 if none).
- ``ndcg@10`` — ranx, binary chunk relevance (every chunk relevant to any evidence item has gain 1).

Which chunks are relevant to a gold evidence item is decided in :mod:`.relevance`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .normalize import fold, strip_citation_marks, term_set, terms
from .relevance import Evidence, locate, relevant_chunks

__all__ = [
    "Evidence",
    "locate",
    "relevant_chunks",
    "evidence_recall",
    "retrieval_metrics",
    "retrieval_metrics_per_query",
    "retrieval_scores",
    "mean_scores",
    "compare_runs",
    "ContextScores",
    "context_scores",
    "fact_present",
    "key_fact_recall",
    "AbstentionScores",
    "abstention_scores",
    "accuracy",
    "cohen_kappa",
    "paired_bootstrap",
]

Qrels = Mapping[str, Mapping[str, int]]
RunDict = Mapping[str, Mapping[str, float]]


# ---------------------------------------------------------------------------------------------
# Retrieval


def evidence_recall(relevant: Mapping[int, set[str]], ranked: Sequence[str], k: int) -> float:
    """Share of evidence items with at least one relevant chunk among the first ``k`` ranked ids.

    >>> evidence_recall({0: {"c1", "c2"}, 1: {"c9"}}, ["c2", "c5", "c9"], k=2)
    0.5
    """
    if not relevant:
        raise ValueError("no evidence items: evidence recall is undefined for unanswerable questions")
    top = set(ranked[:k])
    return sum(1 for ids in relevant.values() if ids & top) / len(relevant)


def _ranx_metrics(ks: Iterable[int]) -> list[str]:
    return [f"recall@{k}" for k in ks] + ["mrr@10", "ndcg@10"]


def _ranx_inputs(qrels: Qrels, run: RunDict) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    """Qrels without empty queries and a run without empty result lists (ranx cannot hold either;
    a query missing from the run scores 0 once ranx makes the two comparable)."""
    q = {qid: {d: int(r) for d, r in docs.items() if r > 0} for qid, docs in qrels.items()}
    q = {qid: docs for qid, docs in q.items() if docs}
    if not q:
        raise ValueError("qrels hold no relevant document: nothing to evaluate")
    r = {qid: {d: float(v) for d, v in docs.items()} for qid, docs in run.items() if qid in q and docs}
    return q, r


def retrieval_metrics_per_query(
    qrels: Qrels, run: RunDict, ks: Sequence[int] = (1, 3, 5, 10)
) -> dict[str, dict[str, float]]:
    """ranx metrics per query: ``{qid: {"recall@k" (chunk-level), "mrr@10", "ndcg@10"}}``.

    Queries without relevant documents are left out; queries missing from ``run`` score 0.
    """
    from ranx import Qrels as RQrels
    from ranx import Run, evaluate

    q, r = _ranx_inputs(qrels, run)
    names = _ranx_metrics(ks)
    if not r:  # nothing retrieved for any query (ranx cannot build an empty run)
        return {qid: dict.fromkeys(names, 0.0) for qid in q}
    rq = RQrels(q)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's uint64→int64 cast notice
        scores = evaluate(rq, Run(r), names, return_mean=False, make_comparable=True)
    if len(names) == 1:
        scores = {names[0]: scores}
    qids = list(rq.keys())  # ranx orders per-query arrays by its own (sorted) query ids
    return {qid: {m: float(scores[m][i]) for m in names} for i, qid in enumerate(qids)}


def retrieval_metrics(qrels: Qrels, run: RunDict, ks: Sequence[int] = (1, 3, 5, 10)) -> dict[str, float]:
    """Mean ranx Recall@k (chunk-level), MRR@10 and nDCG@10 over the queries with relevant documents.

    >>> qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    >>> run = {"q1": {"a": 0.9, "x": 0.5}, "q2": {"x": 0.9, "b": 0.5}}
    >>> {k: round(v, 3) for k, v in retrieval_metrics(qrels, run, ks=(1,)).items()}
    {'recall@1': 0.5, 'mrr@10': 0.75, 'ndcg@10': 0.815}
    """
    return mean_scores(retrieval_metrics_per_query(qrels, run, ks))


def _as_run(ranked: Sequence[str]) -> dict[str, float]:
    # Strictly decreasing scores so ranx keeps our order (it breaks ties its own way).
    n = len(ranked)
    return {cid: float(n - i) for i, cid in enumerate(dict.fromkeys(ranked))}


def retrieval_scores(
    relevant_by_query: Mapping[str, Mapping[int, set[str]]],
    ranked_by_query: Mapping[str, Sequence[str]],
    ks: Sequence[int] = (1, 3, 5, 10),
) -> dict[str, dict[str, float]]:
    """Every retrieval number per question, from evidence relevance and ranked chunk ids.

    Keys: ``recall@k`` (evidence recall), ``chunk_recall@k``, ``mrr@10``, ``ndcg@10`` (see module doc).
    Questions without evidence items (unanswerable) are skipped; a question whose evidence matched no
    chunk keeps its evidence recall of 0 and scores 0 on the ranx metrics.
    """
    out: dict[str, dict[str, float]] = {}
    qrels: dict[str, dict[str, int]] = {}
    for qid, rel in relevant_by_query.items():
        if not rel:
            continue
        ranked = list(ranked_by_query.get(qid, ()))
        out[qid] = {f"recall@{k}": evidence_recall(rel, ranked, k) for k in ks}
        qrels[qid] = {cid: 1 for ids in rel.values() for cid in ids}
    zero = dict.fromkeys([f"chunk_recall@{k}" for k in ks] + ["mrr@10", "ndcg@10"], 0.0)
    for scores in out.values():
        scores.update(zero)
    if any(qrels.values()):
        run = {qid: _as_run(ranked_by_query.get(qid, ())) for qid in qrels}
        for qid, scores in retrieval_metrics_per_query(qrels, run, ks).items():
            out[qid].update({(f"chunk_{m}" if m.startswith("recall@") else m): v for m, v in scores.items()})
    return out


def mean_scores(
    per_query: Mapping[str, Mapping[str, float]], qids: Iterable[str] | None = None
) -> dict[str, float]:
    """Average per-question scores, optionally over a subset of question ids (a question kind).

    >>> mean_scores({"a": {"recall@1": 1.0}, "b": {"recall@1": 0.0}, "c": {"recall@1": 0.5}}, ["a", "c"])
    {'recall@1': 0.75}
    """
    rows = [per_query[q] for q in (per_query if qids is None else qids) if q in per_query]
    if not rows:
        return {}
    return {m: float(np.mean([r[m] for r in rows])) for m in rows[0]}


def compare_runs(
    qrels: Qrels,
    runs: Mapping[str, RunDict],
    metrics: Sequence[str] = ("recall@5", "mrr@10", "ndcg@10"),
    *,
    stat_test: str = "student",
) -> dict[str, Any]:
    """Paired significance test between runs with ranx ``compare`` (two-sided paired t-test by
    default; ``"fisher"`` for a randomization test). Metric names are ranx's (chunk-level recall).

    Returns ``{"stat_test", "scores": {run: {metric: mean}}, "p_values": {run: {other: {metric: p}}}}``.
    """
    from ranx import Qrels as RQrels
    from ranx import Run, compare

    if len(runs) < 2:
        raise ValueError("compare_runs needs at least two runs")
    ranx_runs = []
    for name, run in runs.items():
        q, r = _ranx_inputs(qrels, run)
        if not r:
            raise ValueError(f"run {name!r} retrieved nothing for any query: nothing to compare")
        ranx_runs.append(Run(r, name=name))
    rq = RQrels(q)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = compare(rq, ranx_runs, list(metrics), stat_test=stat_test, make_comparable=True).to_dict()
    return {
        "stat_test": stat_test,
        "scores": {n: {m: float(v) for m, v in report[n]["scores"].items()} for n in runs},
        "p_values": {
            n: {o: {m: float(p) for m, p in ps.items()} for o, ps in report[n]["comparisons"].items()}
            for n in runs
        },
    }


# ---------------------------------------------------------------------------------------------
# Context put in the prompt


@dataclass(frozen=True)
class ContextScores:
    """``precision``: share of prompt chunks relevant to some evidence item (None if no chunks).
    ``recall``: share of evidence items with a relevant chunk in the prompt."""

    precision: float | None
    recall: float


def context_scores(relevant: Mapping[int, set[str]], context_ids: Sequence[str]) -> ContextScores:
    """Precision and recall of the chunks put in the prompt against the gold evidence.

    >>> context_scores({0: {"a", "b"}, 1: {"z"}}, ["a", "b", "c", "d"])
    ContextScores(precision=0.5, recall=0.5)
    """
    if not relevant:
        raise ValueError("no evidence items: context scores are undefined for unanswerable questions")
    gold = set().union(*relevant.values())
    ids = list(dict.fromkeys(context_ids))
    precision = sum(1 for c in ids if c in gold) / len(ids) if ids else None
    return ContextScores(precision, evidence_recall(relevant, ids, len(ids)))


# ---------------------------------------------------------------------------------------------
# Correctness against reference key facts


def fact_present(answer: str, fact: str) -> bool:
    """True when every content term of ``fact`` is in ``answer`` (numbers compared as numbers,
    words lightly stemmed); a fact of stop words only must appear as a normalized substring.

    >>> fact_present("Mixtral has eight experts per layer [1].", "8 experts")
    True
    >>> fact_present("The 7 B model was trained on 1000 GPUs.", "7B model, 1,000 GPUs")
    True
    >>> fact_present("Top-2 routing is used.", "top-1 routing")
    False

    A one-letter symbol ("r = 8-64", "s: 7-15") is notation, not part of the fact, when the fact
    has other terms:

    >>> fact_present("The typical rank for LoRA is 8-64 [1].", "r = 8-64")
    True
    """
    needed = [t for t in terms(fact) if len(t) > 1] or terms(fact)
    if not needed:
        return fold(fact) in fold(strip_citation_marks(answer))
    have = term_set(answer)
    return all(t in have for t in needed)


def key_fact_recall(answer: str, key_facts: Sequence[str]) -> float:
    """Share of reference key facts present in the answer (see :func:`fact_present`).

    >>> key_fact_recall("LoRA trains low-rank matrices A and B; QLoRA adds 4-bit quantization.",
    ...                 ["low-rank matrices", "4-bit quantized base model", "rank 8"])
    0.3333333333333333
    """
    if not key_facts:
        raise ValueError("no key facts: correctness is undefined; skip questions without key facts")
    return sum(fact_present(answer, f) for f in key_facts) / len(key_facts)


# ---------------------------------------------------------------------------------------------
# Abstention


@dataclass(frozen=True)
class AbstentionScores:
    """``abstention_rate``: abstained / unanswerable questions (higher is better).
    ``false_abstention_rate``: abstained / answerable questions (lower is better). None when the
    set has no question of that kind."""

    abstention_rate: float | None
    false_abstention_rate: float | None
    n_unanswerable: int
    n_answerable: int


def abstention_scores(abstained: Sequence[bool], answerable: Sequence[bool]) -> AbstentionScores:
    """Abstention on unanswerable questions and false abstention on answerable ones.

    >>> abstention_scores([True, False, True, False, False], [False, False, True, True, True])
    AbstentionScores(abstention_rate=0.5, false_abstention_rate=0.3333333333333333, n_unanswerable=2, n_answerable=3)
    """
    if len(abstained) != len(answerable):
        raise ValueError(f"{len(abstained)} abstention flags for {len(answerable)} questions")
    unans = [a for a, ok in zip(abstained, answerable, strict=True) if not ok]
    ans = [a for a, ok in zip(abstained, answerable, strict=True) if ok]
    return AbstentionScores(
        sum(unans) / len(unans) if unans else None,
        sum(ans) / len(ans) if ans else None,
        len(unans),
        len(ans),
    )


# ---------------------------------------------------------------------------------------------
# Agreement and paired comparison


def _check_pairs(a: Sequence[Any], b: Sequence[Any]) -> None:
    if len(a) != len(b) or not a:
        raise ValueError(f"need two equally long, non-empty label lists (got {len(a)} and {len(b)})")


def accuracy(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Share of positions where the two label lists agree.

    >>> accuracy([True, False, True], [True, True, True])
    0.6666666666666666
    """
    _check_pairs(a, b)
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa, (p_o - p_e) / (1 - p_e); NaN when both raters use one and the same label.

    >>> round(cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0]), 3)  # p_o = 3/4, p_e = (2*1 + 2*3)/16 = 1/2
    0.5
    """
    _check_pairs(a, b)
    n = len(a)
    p_o = accuracy(a, b)
    labels = set(a) | set(b)
    p_e = sum((sum(x == lab for x in a) / n) * (sum(y == lab for y in b) / n) for lab in labels)
    if math.isclose(p_e, 1.0):
        return float("nan")
    return (p_o - p_e) / (1 - p_e)


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], n: int = 10000, seed: int = 0
) -> tuple[float, float, float, float]:
    """Paired bootstrap over questions: ``(mean_diff, ci_low, ci_high, p_value)`` for mean(a - b).

    Questions are resampled with replacement ``n`` times; the 95% interval is the 2.5/97.5
    percentiles of the resampled mean differences. The two-sided p-value tests "no difference" by
    shifting the bootstrap distribution to mean 0: (1 + #{|d* - d| >= |d|}) / (n + 1).

    >>> paired_bootstrap([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], n=99)  # every resample differs by 1
    (1.0, 1.0, 1.0, 0.01)
    """
    _check_pairs(a, b)
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    mean = float(diffs.mean())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diffs), size=(n, len(diffs)))
    boot = diffs[idx].mean(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    extreme = int(np.sum(np.abs(boot - mean) >= abs(mean) - 1e-12))
    return mean, float(lo), float(hi), (1 + extreme) / (n + 1)


from .grounding import (  # noqa: E402  (re-export: one import point for every metric)
    CitationScores,
    FaithfulnessScore,
    citation_scores,
    faithfulness,
)

__all__ += ["CitationScores", "FaithfulnessScore", "citation_scores", "faithfulness"]
