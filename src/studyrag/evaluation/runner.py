"""The evaluation runner: runs the pipeline over the question sets, scores it, writes a report.

    studyrag eval --suite retrieval          # BM25 / dense / fused (/ reranked) → Recall@k, MRR, nDCG
    studyrag eval --suite answers --limit 20 # rag.ask → correctness, abstention, citations, faithfulness
    studyrag eval --compare A B              # metric differences with paired significance tests

Generations are cached in ``<out>/cache/generations.jsonl`` keyed by (question, settings hash, model),
and earlier report directories' caches are reused, so re-scoring a run costs no LLM time. The
settings hash covers every answer-relevant setting, the index fingerprint (corpus, chunker, embedder)
and the source code of the answering stages: a changed prompt never reuses stale answers.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings, project_root
from ..errors import ConfigError, StudyRagError
from ..records import Chunk, Hit
from . import report as report_io
from .cache import GenerationCache, answer_from_json, answer_to_json, settings_hash
from .compare import compare_reports
from .datasets import AnswerQuestion, Evidence, RetrievalQuestion, load_questions, load_retrieval, take
from .metrics import (
    abstention_scores,
    citation_scores,
    compare_runs,
    context_scores,
    fact_present,
    faithfulness,
    key_fact_recall,
    mean_scores,
    relevant_chunks,
    retrieval_scores,
)
from .provenance import file_hashes, git_info, index_info, machine_info, model_info, model_name
from .report import ANSWER_METRICS, KS, K

if TYPE_CHECKING:
    from ..pipeline import StudyRAG
    from .judges import SupportJudge

__all__ = [
    "SUITES",
    "ANSWER_METRICS",
    "run",
    "compare_reports",
    "run_retrieval",
    "run_answers",
    "score_answer",
]

SUITES = ("retrieval", "answers", "all")


# ------------------------------------------------------------------------------------ helpers
def _percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile, None for no values.

    >>> _percentile([1.0, 2.0, 3.0, 4.0], 50), _percentile([], 95)
    (2.5, None)
    """
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _mean(values: Iterable[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def _auc(pos: Sequence[float], neg: Sequence[float]) -> float | None:
    """P(a random positive scores above a random negative), ties counting half (Mann-Whitney).

    >>> _auc([0.9, 0.8], [0.1, 0.85])
    0.75
    """
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def _progress(items: Sequence, desc: str, quiet: bool):
    from tqdm.auto import tqdm

    return tqdm(
        items, desc=desc, unit="q", disable=quiet, file=sys.stderr, dynamic_ncols=True, mininterval=1.0
    )


def _hit_row(hit: Hit) -> dict[str, Any]:
    c = hit.chunk
    return {"chunk_id": c.id, "source": c.source, "section": c.section, "score": hit.score}


def _documents(settings: Settings) -> dict[str, str] | None:
    """Repaired guide texts (what chunk spans index), for locating evidence; None if unreadable."""
    try:
        from ..loaders import load_corpus

        return {d.source: d.text for d in load_corpus(Path(settings.corpus_dir))}
    except (ImportError, StudyRagError, OSError):
        return None


def relevance(
    questions: Sequence[RetrievalQuestion | AnswerQuestion],
    chunks: Sequence[Chunk],
    documents: Mapping[str, str] | None,
    memo: dict[tuple[str, str], set[str]] | None = None,
) -> dict[str, dict[int, set[str]]]:
    """For each question id, evidence item index → relevant chunk ids ({} for no evidence).

    Each distinct (source, snippet) is located once: pass the same ``memo`` to both suites of a run
    (locating a snippet normalizes its whole guide).
    """
    memo = {} if memo is None else memo
    todo = list(
        dict.fromkeys(
            (e.source, e.snippet) for q in questions for e in q.evidence if (e.source, e.snippet) not in memo
        )
    )
    if todo:
        found = relevant_chunks([Evidence(s, t) for s, t in todo], chunks, documents)
        memo.update({item: found.get(j, set()) for j, item in enumerate(todo)})
    return {q.id: {i: set(memo[(e.source, e.snippet)]) for i, e in enumerate(q.evidence)} for q in questions}


# ---------------------------------------------------------------------------- retrieval suite
def _retrievers(rag: StudyRAG) -> dict[str, Callable[[str, int], list[Hit]]]:
    r = rag.retriever
    out: dict[str, Callable[[str, int], list[Hit]]] = {}
    if hasattr(r, "search_bm25"):
        out["bm25"] = r.search_bm25
    if hasattr(r, "search_dense"):
        out["dense"] = r.search_dense
    out["fused"] = r.search
    if rag.settings.hyde:  # what answering retrieves with; its latency includes writing the passage
        out["fused+hyde"] = lambda q, k: rag.search(q, k, rerank=False, hyde=True)
    if rag.reranker is not None:
        out["reranked"] = lambda q, k: rag.search(q, k, rerank=True)
    return out


def _score_stats(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "n": len(values),
        "mean": _mean(values),
        "p10": _percentile(values, 10),
        "median": _percentile(values, 50),
        "p90": _percentile(values, 90),
    }


def _separation(questions: Sequence[RetrievalQuestion], score: Mapping[str, float]) -> dict[str, Any]:
    """How well a per-question ``score`` tells answerable questions (with evidence) from the rest:
    the statistics of each side and the AUC."""
    pos = [score[q.id] for q in questions if q.evidence]
    neg = [score[q.id] for q in questions if not q.evidence]
    return {"answerable": _score_stats(pos), "unanswerable": _score_stats(neg), "auc": _auc(pos, neg)}


def run_retrieval(
    rag: StudyRAG,
    questions: Sequence[RetrievalQuestion],
    documents: Mapping[str, str] | None = None,
    *,
    quiet: bool = True,
    memo: dict | None = None,
) -> dict[str, Any]:
    """Every retriever's top ``K`` for every question, scored per question, per kind and overall.

    Unanswerable questions (no evidence) are not in the recall numbers; their top-1 scores are
    compared with the answerable ones' (``top_scores``: the separation an abstention rule can use).
    """
    retrievers = _retrievers(rag)
    rel = relevance(questions, rag.chunks, documents, memo)
    ranked: dict[str, dict[str, list[Hit]]] = {name: {} for name in retrievers}
    latency: dict[str, list[float]] = {name: [] for name in retrievers}
    # The retriever caches query embeddings (search and search_dense embed the same query once);
    # emptied before every timed call so each latency includes embedding the query, as a user's does.
    clear = getattr(getattr(rag.retriever, "_embed_query", None), "cache_clear", lambda: None)
    for q in _progress(questions, "retrieval", quiet):
        for name, search in retrievers.items():
            clear()
            t0 = time.perf_counter()
            hits = search(q.question, K)
            latency[name].append(time.perf_counter() - t0)
            ranked[name][q.id] = hits[:K]

    answerable = {q.id: rel[q.id] for q in questions if q.evidence}
    per_q = {
        name: retrieval_scores(
            answerable, {qid: [h.chunk.id for h in hits] for qid, hits in runs.items()}, KS
        )
        for name, runs in ranked.items()
    }
    kinds = sorted({q.kind for q in questions if q.evidence})
    summary: dict[str, Any] = {}
    for name in retrievers:
        top = {q.id: (ranked[name][q.id][0].score if ranked[name][q.id] else 0.0) for q in questions}
        summary[name] = {
            "overall": mean_scores(per_q[name]),
            "by_kind": {k: mean_scores(per_q[name], [q.id for q in questions if q.kind == k]) for k in kinds},
            "latency_ms": {
                "median": 1000 * (_percentile(latency[name], 50) or 0.0),
                "p95": 1000 * (_percentile(latency[name], 95) or 0.0),
            },
            "top_scores": _separation(questions, top),
        }
    summary_confidence = None
    confidence = getattr(rag.retriever, "confidence", None)
    if confidence is not None:
        # the abstention rule's own score (``HybridRetriever.confidence``), for calibrating it
        conf = {q.id: confidence(q.question) or 0.0 for q in questions}
        threshold = rag.settings.abstain_threshold
        summary_confidence = {
            **_separation(questions, conf),
            "threshold": threshold,
            "answerable_below": sum(conf[q.id] < threshold for q in questions if q.evidence),
            "unanswerable_below": sum(conf[q.id] < threshold for q in questions if not q.evidence),
        }
    significance = None
    qrels = {qid: {cid: 1 for ids in r.values() for cid in ids} for qid, r in answerable.items()}
    if len(retrievers) > 1 and any(qrels.values()):
        runs = {
            name: {qid: {h.chunk.id: float(K - i) for i, h in enumerate(ranked[name][qid])} for qid in qrels}
            for name in retrievers
        }
        try:
            significance = compare_runs(qrels, runs, ("recall@5", "mrr@10", "ndcg@10"))
        except ValueError:  # too few questions for a test
            significance = None

    records = []
    for i, q in enumerate(questions):
        records.append(
            {
                "id": q.id,
                "question": q.question,
                "kind": q.kind,
                "guides": list(q.guides),
                "evidence": [{"source": e.source, "snippet": e.snippet} for e in q.evidence],
                "relevant": {str(k): sorted(v) for k, v in rel[q.id].items()},
                "runs": {
                    name: {
                        "ranked": [_hit_row(h) for h in ranked[name][q.id]],
                        "latency_s": latency[name][i],
                        "scores": per_q[name].get(q.id),
                    }
                    for name in retrievers
                },
            }
        )
    missing = [
        {"id": q.id, "evidence": i, "source": q.evidence[i].source, "snippet": q.evidence[i].snippet}
        for q in questions
        for i, ids in rel[q.id].items()
        if not ids
    ]
    return {
        "n_questions": len(questions),
        "n_answerable": len(answerable),
        "k": K,
        "retrievers": list(retrievers),
        "summary": summary,
        "confidence": summary_confidence,
        "significance": significance,
        "unmatched_evidence": missing,
        "questions": records,
    }


# ------------------------------------------------------------------------------ answers suite
def score_answer(
    q: AnswerQuestion,
    text: str,
    abstained: bool,
    sources: Sequence[Hit],
    relevant: Mapping[int, set[str]],
    judge: SupportJudge,
) -> dict[str, Any]:
    """Every answer metric for one question (None where a metric does not apply).

    ``correctness``: key-fact recall (0 when the answer abstained on a question with key facts);
    ``abstention_correct``: abstained iff the question expects an abstention. Citation and
    faithfulness scores exist only for answers that answered (an abstention makes no claim).
    """
    out: dict[str, Any] = dict.fromkeys(ANSWER_METRICS)
    out["abstention_correct"] = float(abstained == q.should_abstain)
    if q.key_facts and not q.should_abstain:
        out["correctness"] = 0.0 if abstained else key_fact_recall(text, q.key_facts)
        out["missing_facts"] = [f for f in q.key_facts if abstained or not fact_present(text, f)]
    if relevant:
        ctx = context_scores(relevant, [h.chunk.id for h in sources])
        out["context_precision"], out["context_recall"] = ctx.precision, ctx.recall
    if not abstained and text.strip():
        texts = [h.chunk.text for h in sources]
        cites = citation_scores(text, texts, judge, skip_trivial=True)
        if cites.n_sentences:
            out["citation_recall"], out["citation_precision"] = cites.recall, cites.precision
        faith = faithfulness(text, texts, judge)
        out["faithfulness"] = faith.score
        out["n_claims"] = len(faith.claims)
        out["unsupported_claims"] = [c.claim for c in faith.claims if not c.supported]
    return out


def _ask(rag: StudyRAG, q: AnswerQuestion) -> tuple[Any, list[dict[str, Any]]]:
    """Ask the earlier turns first (their answers become the history), then the scored question."""
    history: list[Any] = []
    asked: list[dict[str, Any]] = []
    if q.history:
        from ..conversation import Turn

        for prev in q.history:
            a = rag.ask(prev, history=list(history))
            history.append(Turn(question=prev, answer=a.text))
            asked.append({"question": prev, "answer": a.text})
    return rag.ask(q.question, history=list(history)), asked


def _aggregate(
    records: Sequence[Mapping[str, Any]], keys: Callable[[Mapping[str, Any]], Sequence[str]]
) -> dict[str, Any]:
    """Summaries per group; a record belongs to every group ``keys`` names (a question on two guides
    counts for both)."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        for k in keys(r):
            groups.setdefault(k, []).append(r)
    return {g: _summarize_answers(rs) for g, rs in sorted(groups.items())}


def _summarize_answers(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(records)}
    for m in ANSWER_METRICS:
        vals = [r["scores"][m] for r in records if r["scores"].get(m) is not None]
        out[m] = _mean(vals)
        out[f"n_{m}"] = len(vals)
    ab = abstention_scores([r["abstained"] for r in records], [r["expected"] != "abstain" for r in records])
    out["abstention_rate"] = ab.abstention_rate
    out["false_abstention_rate"] = ab.false_abstention_rate
    out["n_should_abstain"] = ab.n_unanswerable
    return out


def abstain_reasons(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """How many abstentions each reason caused, for answerable and should-abstain questions apart
    ("unrecorded" for answers cached before reasons were recorded).

    >>> abstain_reasons([{"expected": "answer", "abstained": True, "abstain_reason": "unsupported"},
    ...                  {"expected": "abstain", "abstained": True, "abstain_reason": "no_close_passage"},
    ...                  {"expected": "answer", "abstained": False, "abstain_reason": ""}])
    {'answerable': {'unsupported': 1}, 'should_abstain': {'no_close_passage': 1}}
    """
    out: dict[str, dict[str, int]] = {"answerable": {}, "should_abstain": {}}
    for r in records:
        if r["abstained"]:
            group = out["should_abstain" if r["expected"] == "abstain" else "answerable"]
            reason = r.get("abstain_reason") or "unrecorded"
            group[reason] = group.get(reason, 0) + 1
    return out


def run_answers(
    rag: StudyRAG,
    questions: Sequence[AnswerQuestion],
    judge: SupportJudge,
    cache: GenerationCache,
    documents: Mapping[str, str] | None = None,
    *,
    quiet: bool = True,
    memo: dict | None = None,
) -> dict[str, Any]:
    """Answer every question (from the cache when possible), score, aggregate per kind and guide."""
    rel = relevance(questions, rag.chunks, documents, memo)
    chunks_by_id = {c.id: c for c in rag.chunks}
    key_base = settings_hash(rag)
    model = model_name(rag)
    records, errors, n_cached = [], [], 0
    for q in _progress(questions, "answers", quiet):
        key = cache.key(q, key_base, model)
        entry = cache.get(key)
        answer = answer_from_json(entry["answer"], chunks_by_id) if entry else None
        history = entry.get("history", []) if entry else []
        error = None
        if answer is not None:
            n_cached += 1
        else:
            try:
                answer, history = _ask(rag, q)
                cache.put(key, q, key_base, model, answer_to_json(answer), history)
            except StudyRagError as e:  # one failing question must not end an hour-long run
                error = f"{type(e).__name__}: {e}"
                errors.append({"id": q.id, "error": error})
        text = answer.text if answer else ""
        abstained = answer.abstained if answer else False
        sources = answer.sources if answer else ()
        records.append(
            {
                "id": q.id,
                "question": q.question,
                "kind": q.kind,
                "expected": q.expected,
                "guides": list(q.guides),
                "history": history,
                "standalone_question": answer.standalone_question if answer else "",
                "answer": text,
                "abstained": abstained,
                "abstain_reason": answer.abstain_reason if answer else "",
                "draft": answer.draft if answer else "",
                "sources": [{"n": n, **_hit_row(h)} for n, h in enumerate(sources, 1)],
                "cited": sorted({c.n for c in answer.citations}) if answer else [],
                "reference": q.reference,
                "key_facts": list(q.key_facts),
                "relevant": {str(k): sorted(v) for k, v in rel[q.id].items()},
                "timings": dict(answer.timings) if answer else {},
                "model": answer.model if answer else model,
                "cached": entry is not None and answer is not None,
                "error": error,
                "scores": score_answer(q, text, abstained, sources, rel[q.id], judge),
            }
        )
    timings = [r["timings"] for r in records if r["timings"] and not r["cached"]]
    speed = {
        name: _percentile([t[name] for t in timings if name in t], 50)
        for name in ("total_s", "time_to_first_token_s", "tokens_per_s", "prompt_tokens", "completion_tokens")
    }
    return {
        "n_questions": len(questions),
        "judge": getattr(judge, "id", type(judge).__name__),
        "model": model,
        "settings_hash": key_base,
        "n_cached": n_cached,
        "errors": errors,
        "overall": _summarize_answers(records),
        "by_kind": _aggregate(records, lambda r: [r["kind"]]),
        "by_guide": _aggregate(records, lambda r: r["guides"] or ["none"]),
        "abstain_reasons": abstain_reasons(records),
        "speed_median": speed,
        "questions": records,
    }


# ------------------------------------------------------------------------------------- judges
def calibrated_judges(eval_dir: Path) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """``(default judge name, {name: tuned params})`` from ``eval/judge_calibration_report.json``
    (written by ``scripts/calibrate_judges.py``); ``(None, {})`` when there is no readable report."""
    import json

    try:
        data = json.loads((eval_dir / "judge_calibration_report.json").read_text(encoding="utf-8"))
        judges = {str(k): dict(v.get("params") or {}) for k, v in data["judges"].items()}
        default = data.get("default_judge")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, {}
    return (default if default in judges else None), judges


def _kappa(eval_dir: Path, name: str) -> float | None:
    import json

    try:
        data = json.loads((eval_dir / "judge_calibration_report.json").read_text(encoding="utf-8"))
        return float(data["judges"][name]["holdout"]["kappa"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def make_judge(name: str | None, rag: StudyRAG, eval_dir: Path) -> tuple[SupportJudge, str]:
    """The support judge and why it was chosen.

    ``None``: the calibration report's default (highest held-out kappa), else ``lexical``.
    ``lexical``: the best-calibrated lexical variant (``lexical`` or ``lexical+minilm``, with its tuned
    threshold and checks), untuned defaults without a report. ``llm``: the run's generator.
    """
    from .judges import LexicalJudge, LLMJudge

    default, tuned = calibrated_judges(eval_dir)
    if name is None:
        name = default or "lexical"
        why = f"calibration default ({name})" if default else "no calibration report: lexical defaults"
    else:
        why = f"--judge {name}"
    if name.startswith("llm"):
        # verdicts are keyed by (model, prompt version, claim, evidence): one cache serves every run
        # and the calibration script (scripts/calibrate_judges.py uses the same file)
        cache = Path(rag.settings.cache_dir) / "judge_cache.json"
        return LLMJudge(rag.generator, cache_path=cache), f"{why}, verdicts cached in {cache}"
    if name != "lexical" and not name.startswith("lexical"):
        raise ConfigError(f"unknown judge {name!r}: use 'lexical' or 'llm'")
    variants = [v for v in tuned if v.startswith("lexical")]
    if name == "lexical" and variants:  # the best lexical variant the calibration found
        name = max(variants, key=lambda v: _kappa(eval_dir, v) or -1.0)
    params = {k: v for k, v in tuned.get(name, {}).items() if k not in ("model", "name", "embed")}
    if name == "lexical+minilm":
        # the calibrated blend used MiniLM cosines: the run's embedder is that model by default
        return LexicalJudge(
            embed=lambda texts: rag.embedder.embed(list(texts)), **params
        ), f"{why}, {name} {params}"
    return LexicalJudge(**params), f"{why}, {name} {params}" if params else why


# ----------------------------------------------------------------------------------------- run
def _shown(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (``eval/heldout``), else as given."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _run_name() -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    commit = git_info().get("commit") or "nogit"
    return f"{stamp}-{commit[:7]}"


def _previous_caches(reports_dir: Path, out: Path) -> list[Path]:
    found = sorted(
        reports_dir.glob("*/cache/generations.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    return [p for p in found if p.parent.parent.resolve() != out.resolve()]


def _of_kinds(questions: Sequence[Any], kinds: Sequence[str]) -> list[Any]:
    """The questions of the given kinds (all of them when ``kinds`` is empty)."""
    if not kinds:
        return list(questions)
    kept = [q for q in questions if q.kind in kinds]
    if not kept:
        known = ", ".join(sorted({q.kind for q in questions}))
        raise ConfigError(f"no question of kind {', '.join(kinds)} in this set: its kinds are {known}")
    return kept


def _warn_unmatched(report: Mapping[str, Any], eval_dir: Path) -> None:
    """Say on stderr when gold snippets matched no chunk: those questions count as misses whatever
    was retrieved, so every figure of the run is lower than the retriever deserves."""
    missing = report.get("retrieval", {}).get("unmatched_evidence", [])
    if not missing:
        return
    shown = ", ".join(f"{m['id']} ({m['source']}: {m['snippet'][:40]!r})" for m in missing[:3])
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    print(
        f"warning: {len(missing)} gold evidence snippet(s) match no chunk of the corpus: {shown}{more}. Those "
        f"questions count as misses. Fix the snippets: python scripts/check_eval_data.py --eval-dir {eval_dir}",
        file=sys.stderr,
    )


def run(
    settings: Settings | None = None,
    *,
    suite: str = "all",
    limit: int | None = None,
    judge: str | None = None,
    out: Path | str | None = None,
    quiet: bool = False,
    rag: StudyRAG | None = None,
    eval_dir: Path | str | None = None,
    cache_from: Sequence[Path | str] | None = None,
    stratify: bool = False,
    kinds: Sequence[str] = (),
) -> dict[str, Any]:
    """Run a suite, write ``report.json``, ``report.md`` and plots to ``out``, return the summary.

    ``kinds`` keeps only questions of those kinds (e.g. ``("unanswerable", "adversarial")``), before
    ``limit`` applies.

    ``out`` defaults to ``eval/reports/<timestamp>-<commit>``; ``rag`` to ``StudyRAG.load(settings)``;
    ``cache_from`` to the generation caches of every earlier report directory (keys make reuse safe).
    """
    if suite not in SUITES:
        raise ConfigError(f"unknown suite {suite!r}: use one of {', '.join(SUITES)}")
    t0 = time.perf_counter()
    main_dir = project_root() / "eval"
    eval_dir = Path(eval_dir) if eval_dir else main_dir
    # a set inside eval/ (eval/dev, eval/heldout) without a judge calibration of its own is scored by the
    # main set's calibrated judge, so its figures compare with the main set's
    own = (eval_dir / "judge_calibration_report.json").is_file()
    calib_dir = main_dir if not own and eval_dir.resolve().is_relative_to(main_dir.resolve()) else eval_dir
    out = Path(out) if out else main_dir / "reports" / _run_name()
    # read and filter the sets first: a bad --kind fails before any model loads or folder is made
    retrieval_qs = (
        take(_of_kinds(load_retrieval(eval_dir / "retrieval.jsonl"), kinds), limit, stratify=stratify)
        if suite in ("retrieval", "all")
        else []
    )
    answer_qs = (
        take(_of_kinds(load_questions(eval_dir / "questions.jsonl"), kinds), limit, stratify=stratify)
        if suite in ("answers", "all")
        else []
    )
    out.mkdir(parents=True, exist_ok=True)
    if rag is None:
        from ..pipeline import StudyRAG

        rag = StudyRAG.load(settings or Settings.from_env(), progress=not quiet)
    settings = rag.settings
    documents = _documents(settings)
    memo: dict[tuple[str, str], set[str]] = {}
    report: dict[str, Any] = {
        "run": out.name,
        "suite": suite,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "limit": limit,
        "stratify": stratify,
        "kinds": list(kinds),
        "git": git_info(),
        "machine": machine_info(),
        "settings": settings.as_dict(),
        "models": model_info(rag),
        "index": index_info(rag),
        "eval_dir": _shown(eval_dir, main_dir.parent),
        "eval_files": file_hashes(eval_dir, ("retrieval.jsonl", "questions.jsonl")),
    }
    if suite in ("retrieval", "all"):
        t = time.perf_counter()
        report["retrieval"] = run_retrieval(rag, retrieval_qs, documents, quiet=quiet, memo=memo)
        report["retrieval"]["wall_s"] = time.perf_counter() - t
    if suite in ("answers", "all"):
        extra = (
            [Path(p) / "cache" / "generations.jsonl" for p in cache_from]
            if cache_from is not None
            else (_previous_caches(eval_dir / "reports", out))
        )
        cache = GenerationCache(out / "cache" / "generations.jsonl", extra)
        judge_obj, judge_why = make_judge(judge, rag, calib_dir)
        t = time.perf_counter()
        try:
            report["answers"] = run_answers(rag, answer_qs, judge_obj, cache, documents, quiet=quiet, memo=memo)
        except KeyboardInterrupt:  # the answers so far are cached: say so, the run is not lost
            print(
                f"\n{len(cache.own)} answers are saved in {cache.path}: the same command again goes on from there",
                file=sys.stderr,
            )
            raise
        report["answers"]["wall_s"] = time.perf_counter() - t
        report["answers"]["judge_choice"] = judge_why
        report["answers"]["judge_stats"] = {
            k: getattr(judge_obj, k) for k in ("calls", "seconds", "parse_failures") if hasattr(judge_obj, k)
        }
    report["wall_s"] = time.perf_counter() - t0
    report_io.write_report(report, out)
    _warn_unmatched(report, eval_dir)
    summary = report_io.summarize(report, out)
    if not quiet:
        print(report_io.summary_text(summary))
    return summary
