"""``studyrag eval --compare A B``: metric differences B − A between two report directories, each with
a paired significance test over the questions both runs scored.

Retrieval: ranx ``compare`` (paired t-test) on the stored top-10 runs when both runs judged the same
chunks relevant (same index), else a paired bootstrap over per-question scores; evidence recall@k is
always bootstrapped. Answers: a paired bootstrap (``metrics.paired_bootstrap``) per metric.

>>> _paired({"q1": {"m": 1.0}, "q2": {"m": None}}, {"q1": {"m": 0.5}, "q2": {"m": 1.0}}, "m")
([1.0], [0.5])
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import report as report_io
from .metrics import compare_runs, paired_bootstrap
from .report import ANSWER_METRICS, KS, K

__all__ = ["compare_reports"]


def _p(p: float, diff: float) -> float | None:
    """A t-test's p-value, made JSON-safe: NaN (every paired difference is 0: no variance) means the
    runs agree on every question, reported as p = 1.

    >>> _p(float("nan"), 0.0), _p(float("nan"), 0.1), _p(0.03, 0.1)
    (1.0, None, 0.03)
    """
    if math.isnan(p):
        return 1.0 if diff == 0 else None
    return p


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _paired(a: Mapping[str, Any], b: Mapping[str, Any], metric: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for qid in a.keys() & b.keys():
        va, vb = a[qid].get(metric), b[qid].get(metric)
        if va is not None and vb is not None:
            xs.append(float(va))
            ys.append(float(vb))
    return xs, ys


def _bootstrap_rows(
    section: str, a: Mapping[str, Any], b: Mapping[str, Any], metrics: Sequence[str]
) -> list[dict]:
    rows = []
    for m in metrics:
        xs, ys = _paired(a, b, m)
        if not xs:
            continue
        diff, lo, hi, p = paired_bootstrap(ys, xs)
        rows.append(
            {
                "section": section,
                "metric": m,
                "a": _mean(xs),
                "b": _mean(ys),
                "diff": diff,
                "ci95": [lo, hi],
                "p": p,
                "n": len(xs),
                "test": "paired bootstrap",
            }
        )
    return rows


def _machines_differ(a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    """A warning when the two reports ran on different CPUs or llama.cpp builds, else None (also
    when either report predates the machine record).

    >>> m = {"cpu": "AMD EPYC", "cores": 2, "platform": "Linux-6.1", "llama_cpp_python": "0.3.16"}
    >>> _machines_differ({"machine": m}, {"machine": m}) is None
    True
    >>> _machines_differ({"machine": m}, {"machine": {**m, "cpu": "Intel Xeon"}})[:44]
    'A ran on AMD EPYC, 2 cores, Linux-6.1, llama'
    """
    ma, mb = a.get("machine"), b.get("machine")
    keys = ("cpu", "cores", "llama_cpp_python")
    if not ma or not mb or all(ma.get(k) == mb.get(k) for k in keys):
        return None
    return (
        f"A ran on {report_io.machine_label(ma)}, B on {report_io.machine_label(mb)}: answers can differ "
        "between machines at temperature 0, so part of any answer difference is the machine's, not the change's"
    )


def compare_reports(dir_a: Path | str, dir_b: Path | str, as_json: bool = False) -> str:
    """Metric differences B − A between two report directories, with paired significance tests.

    Retrieval: ranx ``compare`` (paired t-test) on the stored top-10 runs when both runs judged the
    same chunks relevant (same index), else a paired bootstrap over per-question scores. Answers: a
    paired bootstrap over the questions both runs scored.
    """
    a, b = report_io.load_report(dir_a), report_io.load_report(dir_b)
    rows: list[dict[str, Any]] = []
    ra, rb = a.get("retrieval"), b.get("retrieval")
    if ra and rb:
        qa = {q["id"]: q for q in ra["questions"]}
        qb = {q["id"]: q for q in rb["questions"]}
        common = sorted(k for k in qa.keys() & qb.keys() if qa[k]["evidence"])
        same_qrels = all(qa[k]["relevant"] == qb[k]["relevant"] for k in common)
        for name in [n for n in ra["retrievers"] if n in rb["retrievers"]]:
            pa = {k: qa[k]["runs"][name]["scores"] or {} for k in common}
            pb = {k: qb[k]["runs"][name]["scores"] or {} for k in common}
            evidence_metrics = [f"recall@{k}" for k in KS]
            rows += _bootstrap_rows(f"retrieval:{name}", pa, pb, evidence_metrics)
            qrels = {k: {c: 1 for ids in qa[k]["relevant"].values() for c in ids} for k in common}
            if same_qrels and any(qrels.values()):
                runs = {
                    label: {
                        k: {h["chunk_id"]: float(K - i) for i, h in enumerate(q[k]["runs"][name]["ranked"])}
                        for k in common
                    }
                    for label, q in (("A", qa), ("B", qb))
                }
                res = compare_runs(qrels, runs, ("mrr@10", "ndcg@10"))
                for m in ("mrr@10", "ndcg@10"):
                    sa, sb = res["scores"]["A"][m], res["scores"]["B"][m]
                    rows.append(
                        {
                            "section": f"retrieval:{name}",
                            "metric": m,
                            "a": sa,
                            "b": sb,
                            "diff": sb - sa,
                            "ci95": None,
                            "p": _p(res["p_values"]["B"]["A"][m], sb - sa),
                            "n": len(common),
                            "test": "ranx paired t-test",
                        }
                    )
            else:
                rows += _bootstrap_rows(f"retrieval:{name}", pa, pb, ["mrr@10", "ndcg@10"])
    aa, ab = a.get("answers"), b.get("answers")
    if aa and ab:
        sa = {q["id"]: q["scores"] for q in aa["questions"]}
        sb = {q["id"]: q["scores"] for q in ab["questions"]}
        rows += _bootstrap_rows("answers", sa, sb, ANSWER_METRICS)
    result = {"a": str(dir_a), "b": str(dir_b), "rows": rows, "machines_differ": _machines_differ(a, b)}
    if as_json:
        return json.dumps(report_io.json_safe(result), indent=2, allow_nan=False)
    return report_io.compare_text(result)
