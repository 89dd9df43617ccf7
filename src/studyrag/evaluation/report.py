"""Report files of an evaluation run: ``report.json`` (everything), ``report.md`` (tables, plots, the
worst failures), the summary printed by ``studyrag eval``, and the text of ``--compare``.

>>> md_table(["retriever", "R@5"], [["bm25", 0.71234], ["dense", None]])
'| retriever | R@5 |\\n|---|---|\\n| bm25 | 0.712 |\\n| dense | — |'
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..locking import atomic_write_text

__all__ = ["md_table", "write_report", "load_report", "summarize", "summary_text", "markdown", "compare_text"]

log = logging.getLogger(__name__)

# What a report holds: top K retrieved per question, evidence recall at KS, these answer metrics.
K = 10
KS = (1, 3, 5, 10)
ANSWER_METRICS = (
    "correctness",
    "abstention_correct",
    "context_precision",
    "context_recall",
    "citation_recall",
    "citation_precision",
    "faithfulness",
)
RETRIEVAL_COLUMNS = ("recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10")
ANSWER_COLUMNS = (
    "correctness",
    "abstention_rate",
    "false_abstention_rate",
    "context_precision",
    "context_recall",
    "citation_recall",
    "citation_precision",
    "faithfulness",
)
PLOTS = {
    "recall": "recall_at_k.png",
    "guides": "answers_by_guide.png",
    "faithfulness": "faithfulness_hist.png",
}


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (floats to 3 decimals, None as an em dash)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += [
        "| " + " | ".join(_fmt(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |" for row in rows
    ]
    return "\n".join(lines)


def _clip(text: str, n: int = 500) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ------------------------------------------------------------------------------------- writing
def _plots(report: Mapping[str, Any], out: Path) -> dict[str, str]:
    """Draw the figures the report has data for; a plotting failure costs the figure, not the run."""
    made: dict[str, str] = {}
    try:
        from . import plots
    except ImportError as e:
        log.warning("no plots (%s): pip install matplotlib", e)
        return made
    jobs = []
    if report.get("retrieval"):
        overall = {n: s["overall"] for n, s in report["retrieval"]["summary"].items() if s["overall"]}
        if overall:
            jobs.append(("recall", plots.recall_curves, overall))
    if report.get("answers"):
        ans = report["answers"]
        jobs.append(("guides", plots.guide_bars, ans["by_guide"]))
        faith = [
            q["scores"]["faithfulness"]
            for q in ans["questions"]
            if q["scores"].get("faithfulness") is not None
        ]
        if faith:
            jobs.append(("faithfulness", plots.faithfulness_histogram, faith))
    for key, draw, data in jobs:
        try:
            draw(data, out / PLOTS[key])
            made[key] = PLOTS[key]
        except Exception as e:  # noqa: BLE001 - a figure is never worth losing the report
            log.warning("plot %s failed: %s", PLOTS[key], e)
            (out / PLOTS[key]).unlink(missing_ok=True)  # no half-drawn file
    return made


def json_safe(value: Any) -> Any:
    """``value`` with every NaN/infinite float replaced by None, so the file is strict JSON.

    >>> json_safe({"p": float("nan"), "xs": [1.0, float("inf")], "t": (2,)})
    {'p': None, 'xs': [1.0, None], 't': [2]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_report(report: Mapping[str, Any], out: Path) -> None:
    """Write ``report.json``, the PNG plots and ``report.md`` (which links them) into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    made = _plots(report, out)
    atomic_write_text(
        out / "report.json",
        json.dumps(json_safe(report), indent=1, ensure_ascii=False, default=str, allow_nan=False),
    )
    atomic_write_text(out / "report.md", markdown(report, made))


def load_report(folder: Path | str) -> dict[str, Any]:
    """The ``report.json`` of a report directory (or the file itself)."""
    path = Path(folder)
    path = path / "report.json" if path.is_dir() else path
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read {path} ({e}): pass a directory written by `studyrag eval`") from e


# ------------------------------------------------------------------------------------ summary
def summarize(report: Mapping[str, Any], out: Path) -> dict[str, Any]:
    """The headline numbers: what ``studyrag eval --json`` prints."""
    summary: dict[str, Any] = {
        "out": str(out),
        "suite": report["suite"],
        "wall_s": round(report["wall_s"], 2),
        "commit": (report.get("git") or {}).get("commit"),
    }
    if r := report.get("retrieval"):
        summary["retrieval"] = {
            "n_questions": r["n_questions"],
            "n_answerable": r["n_answerable"],
            "index_build": {
                k: ((report.get("index") or {}).get("build") or {}).get(k)
                for k in ("seconds", "embed_seconds", "embedded", "reused", "chunks")
            },
            "retrievers": {
                n: {
                    **s["overall"],
                    "latency_ms_median": s["latency_ms"]["median"],
                    "latency_ms_p95": s["latency_ms"]["p95"],
                }
                for n, s in r["summary"].items()
            },
            "wall_s": round(r["wall_s"], 2),
        }
    if a := report.get("answers"):
        summary["answers"] = {
            "n_questions": a["n_questions"],
            "model": a["model"],
            "judge": a["judge"],
            "n_cached": a["n_cached"],
            "n_errors": len(a["errors"]),
            **{k: a["overall"].get(k) for k in ANSWER_COLUMNS},
            "speed_median": a["speed_median"],
            "wall_s": round(a["wall_s"], 2),
        }
    return summary


def summary_text(summary: Mapping[str, Any]) -> str:
    """The summary as a few plain-text tables."""
    parts = [f"report: {summary['out']}  (suite {summary['suite']}, {summary['wall_s']:.1f} s)"]
    if r := summary.get("retrieval"):
        rows = [
            [n, *(s.get(c) for c in RETRIEVAL_COLUMNS), s["latency_ms_median"], s["latency_ms_p95"]]
            for n, s in r["retrievers"].items()
        ]
        parts.append(f"\nRetrieval ({r['n_answerable']} answerable of {r['n_questions']} questions)")
        parts.append(md_table(["retriever", *RETRIEVAL_COLUMNS, "ms p50", "ms p95"], rows))
    if a := summary.get("answers"):
        parts.append(
            f"\nAnswers ({a['n_questions']} questions, model {a['model']}, judge {a['judge']}, "
            f"{a['n_cached']} from cache, {a['n_errors']} errors)"
        )
        parts.append(md_table(["metric", "value"], [[k, a.get(k)] for k in ANSWER_COLUMNS]))
    return "\n".join(parts)


# ----------------------------------------------------------------------------------- markdown
def _retrieval_md(r: Mapping[str, Any], index: Mapping[str, Any], plots: Mapping[str, str]) -> list[str]:
    out = ["## Retrieval", ""]
    build = (index or {}).get("build") or {}
    out.append(
        f"{r['n_questions']} questions ({r['n_answerable']} answerable), top {r['k']}; index of "
        f"{index.get('chunks')} chunks; its last build took {_fmt(build.get('seconds'))} s (embedding "
        f"{build.get('embedded')} chunks: {_fmt(build.get('embed_seconds'))} s; {build.get('reused')} reused). "
        "Latency includes embedding the query. Recall@k is *evidence* recall: the share of a "
        "question's gold passages with a relevant chunk in the top k."
    )
    rows = [
        [
            n,
            *(s["overall"].get(c) for c in RETRIEVAL_COLUMNS),
            s["latency_ms"]["median"],
            s["latency_ms"]["p95"],
        ]
        for n, s in r["summary"].items()
    ]
    out += ["", md_table(["retriever", *RETRIEVAL_COLUMNS, "latency ms p50", "p95"], rows), ""]
    if "recall" in plots:
        out += [f"![Recall@k per retriever]({plots['recall']})", ""]
    kinds = sorted({k for s in r["summary"].values() for k in s["by_kind"]})
    out += ["### Per question kind (recall@5 / MRR@10)", ""]
    rows = [
        [
            k,
            *(
                f"{_fmt(s['by_kind'].get(k, {}).get('recall@5'))} / {_fmt(s['by_kind'].get(k, {}).get('mrr@10'))}"
                for s in r["summary"].values()
            ),
        ]
        for k in kinds
    ]
    out += [md_table(["kind", *r["summary"]], rows), ""]
    out += ["### Top-1 score: answerable vs unanswerable questions", ""]
    rows = []
    for n, s in r["summary"].items():
        t = s["top_scores"]
        rows.append(
            [
                n,
                t["answerable"]["median"],
                t["answerable"]["p10"],
                t["unanswerable"]["median"],
                t["unanswerable"]["p90"],
                t["auc"],
            ]
        )
    c = r.get("confidence")
    if c:
        rows.append(
            [
                "abstention score",
                c["answerable"]["median"],
                c["answerable"]["p10"],
                c["unanswerable"]["median"],
                c["unanswerable"]["p90"],
                c["auc"],
            ]
        )
    out += [
        md_table(
            ["retriever", "answerable p50", "answerable p10", "unanswerable p50", "unanswerable p90", "AUC"],
            rows,
        ),
        "",
    ]
    if c:
        out += [
            f"Abstention score: the best cosine with a chunk's own vector (not its sentences'). Below the "
            f"threshold {c['threshold']}: {c['answerable_below']} of {c['answerable']['n']} answerable and "
            f"{c['unanswerable_below']} of {c['unanswerable']['n']} unanswerable questions.",
            "",
        ]
    if sig := r.get("significance"):
        out += [
            f"### Paired significance between retrievers ({sig['stat_test']} t-test, chunk-level, p-values)",
            "",
        ]
        names = list(sig["p_values"])
        rows = [
            [a, b, *(sig["p_values"][a][b].get(m) for m in ("recall@5", "mrr@10", "ndcg@10"))]
            for i, a in enumerate(names)
            for b in names[i + 1 :]
        ]
        out += [md_table(["A", "B", "recall@5", "mrr@10", "ndcg@10"], rows), ""]
    if r.get("unmatched_evidence"):
        out += [
            f"**{len(r['unmatched_evidence'])} evidence snippets matched no chunk** (gold-set or chunking "
            "defect): " + ", ".join(f"{m['id']}#{m['evidence']}" for m in r["unmatched_evidence"][:20]),
            "",
        ]
    best = "reranked" if "reranked" in r["summary"] else "fused"
    misses = [
        q
        for q in r["questions"]
        if q["evidence"] and (q["runs"][best]["scores"] or {}).get("recall@10", 0) < 1
    ]
    misses.sort(key=lambda q: (q["runs"][best]["scores"] or {}).get("recall@10", 0))
    out += [f"### Worst retrieval misses ({best}, {len(misses)} questions with evidence recall@10 < 1)", ""]
    for q in misses[:10]:
        out.append(f"- **{q['id']}** ({q['kind']}) {q['question']}")
        out += [f"  - gold: `{e['source']}` — “{_clip(e['snippet'], 160)}”" for e in q["evidence"]]
        out += [
            f"  - got #{i}: `{h['source']}` › {h['section']}"
            for i, h in enumerate(q["runs"][best]["ranked"][:3], 1)
        ]
    return out + [""]


def _answer_block(q: Mapping[str, Any]) -> list[str]:
    s = q["scores"]
    lines = [
        f"#### {q['id']} ({q['kind']}, expected {q['expected']}): {q['question']}",
        "",
        f"correctness {_fmt(s.get('correctness'))} · faithfulness {_fmt(s.get('faithfulness'))} · citation "
        f"precision {_fmt(s.get('citation_precision'))} · abstained {_fmt(q['abstained'])}",
        "",
        f"> {_clip(q['answer'], 700) or '(empty)'}",
        "",
    ]
    if q.get("reference"):
        lines.append(f"- reference: {_clip(q['reference'], 300)}")
    if s.get("missing_facts"):
        lines.append(f"- missing facts: {', '.join(s['missing_facts'])}")
    if s.get("unsupported_claims"):
        lines.append(
            f"- unsupported claims: {' | '.join(_clip(c, 160) for c in s['unsupported_claims'][:4])}"
        )
    lines += [f"- [{h['n']}] `{h['source']}` › {h['section']}" for h in q["sources"]]
    if q.get("error"):
        lines.append(f"- error: {q['error']}")
    return [*lines, ""]


def _answers_md(a: Mapping[str, Any], plots: Mapping[str, str]) -> list[str]:
    out = ["## Answers", ""]
    sp = a["speed_median"]
    out.append(
        f"{a['n_questions']} questions, model `{a['model']}`, judge `{a['judge']}`; {a['n_cached']} answers from "
        f"the cache, {len(a['errors'])} errors. Median per answer (fresh generations only): total "
        f"{_fmt(sp.get('total_s'))} s, first token {_fmt(sp.get('time_to_first_token_s'))} s, "
        f"{_fmt(sp.get('tokens_per_s'))} tokens/s. Judge: {a.get('judge_choice', a['judge'])}"
        + (
            f" ({a['judge_stats'].get('calls')} model calls, {_fmt(a['judge_stats'].get('seconds'))} s)."
            if a.get("judge_stats")
            else "."
        )
    )
    out += [
        "",
        md_table(
            ["metric", "value", "n"],
            [[k, a["overall"].get(k), a["overall"].get(f"n_{k}")] for k in ANSWER_COLUMNS],
        ),
        "",
    ]
    if a.get("abstain_reasons"):
        out += [
            "Abstentions by reason: "
            + "; ".join(
                f"{group.replace('_', ' ')}: "
                + (", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(counts.items())) or "none")
                for group, counts in a["abstain_reasons"].items()
            ),
            "",
        ]
    cols = ("correctness", "abstention_rate", "false_abstention_rate", "citation_precision", "faithfulness")
    for title, key in (("Per question kind", "by_kind"), ("Per guide", "by_guide")):
        rows = [[g, s["n"], *(s.get(c) for c in cols)] for g, s in a[key].items()]
        out += [f"### {title}", "", md_table(["group", "n", *cols], rows), ""]
    out += [
        f"![{alt}]({plots[k]})"
        for k, alt in (("guides", "per-guide scores"), ("faithfulness", "faithfulness"))
        if k in plots
    ]
    qs = a["questions"]
    missed = [q for q in qs if q["expected"] == "abstain" and not q["abstained"]]
    false_abs = [q for q in qs if q["expected"] != "abstain" and q["abstained"]]
    wrong = sorted(
        (q for q in qs if not q["abstained"] and q["scores"].get("correctness") is not None),
        key=lambda q: (q["scores"]["correctness"], q["scores"].get("faithfulness") or 0),
    )
    unfaithful = sorted(
        (q for q in qs if q["scores"].get("faithfulness") is not None),
        key=lambda q: q["scores"]["faithfulness"],
    )
    out += ["", "## Worst failures", ""]
    for title, items, n in (
        ("Answered when it should have abstained", missed, 5),
        ("Abstained on an answerable question", false_abs, 5),
        ("Lowest correctness", [q for q in wrong if q["scores"]["correctness"] < 1], 8),
        ("Least faithful", [q for q in unfaithful if q["scores"]["faithfulness"] < 1], 5),
    ):
        out += [f"### {title} ({len(items)})", ""]
        for q in items[:n]:
            out += _answer_block(q)
    return out


def _fusion_label(s: Mapping[str, Any]) -> str:
    """How the run fused BM25 and dense (reports from before z-score fusion used RRF).

    >>> _fusion_label({"rrf_k": 10, "bm25_weight": 1.5, "dense_weight": 1.0})
    'RRF k=10 (BM25 weight 1.5, dense 1.0)'
    """
    how = "z-score fusion" if s.get("fusion") == "zscore" else f"RRF k={s.get('rrf_k')}"
    return f"{how} (BM25 weight {s.get('bm25_weight')}, dense {s.get('dense_weight')})"


def machine_label(machine: Mapping[str, Any]) -> str:
    """One line for the machine a report ran on (``provenance.machine_info``).

    >>> machine_label({"cpu": "AMD EPYC", "cores": 2, "platform": "Linux-6.1", "llama_cpp_python": "0.3.16"})
    'AMD EPYC, 2 cores, Linux-6.1, llama-cpp-python 0.3.16'
    """
    parts = [str(machine.get("cpu")), f"{machine.get('cores')} cores", str(machine.get("platform"))]
    if machine.get("llama_cpp_python"):
        parts.append(f"llama-cpp-python {machine['llama_cpp_python']}")
    return ", ".join(parts)


def markdown(report: Mapping[str, Any], plots: Mapping[str, str]) -> str:
    """``report.md``: provenance, the tables, the plots, the worst failures."""
    git = report.get("git") or {}
    models = report.get("models") or {}
    s = report.get("settings") or {}
    out = [
        f"# Evaluation report {report['run']}",
        "",
        f"- suite `{report['suite']}`, created {report['created']}, wall time {report['wall_s']:.1f} s"
        + (f", limit {report['limit']}" if report.get("limit") else ""),
        f"- commit `{git.get('commit')}`{' (uncommitted changes)' if git.get('dirty') else ''}",
        *([f"- machine: {machine_label(m)}"] if (m := report.get("machine")) else []),
        f"- generator `{models.get('generator')}`, embedder `{models.get('embedder_id')}`, "
        f"reranker `{models.get('reranker_id')}`",
        f"- retrieval: {_fusion_label(s)}, rerank {s.get('rerank')} ({s.get('rerank_candidates')} candidates), "
        f"{s.get('sources')} sources in the prompt, chunks of {s.get('chunk_tokens')} tokens "
        f"(overlap {s.get('chunk_overlap')}); full settings, model hashes and every per-question record are in "
        "`report.json`",
        "",
    ]
    if report.get("retrieval"):
        out += _retrieval_md(report["retrieval"], report.get("index") or {}, plots)
    if report.get("answers"):
        out += _answers_md(report["answers"], plots)
    return "\n".join(out).rstrip() + "\n"


# ------------------------------------------------------------------------------------ compare
def compare_text(result: Mapping[str, Any]) -> str:
    """The ``--compare`` table: B − A per metric with its 95% interval and p-value."""
    rows = []
    for r in result["rows"]:
        ci = f"[{r['ci95'][0]:+.3f}, {r['ci95'][1]:+.3f}]" if r.get("ci95") else "—"
        sig = "*" if r["p"] is not None and r["p"] < 0.05 else ""
        rows.append(
            [
                r["section"],
                r["metric"],
                r["a"],
                r["b"],
                f"{r['diff']:+.3f}",
                ci,
                "—" if r["p"] is None else f"{r['p']:.4f}{sig}",
                r["n"],
                r["test"],
            ]
        )
    head = f"A = {result['a']}\nB = {result['b']}\n(* = p < 0.05)\n"
    if note := result.get("machines_differ"):
        head += f"note: {note}\n"
    if not rows:
        return head + "no metric in common: the two reports ran different suites"
    return head + md_table(["section", "metric", "A", "B", "B − A", "95% CI", "p", "n", "test"], rows)
