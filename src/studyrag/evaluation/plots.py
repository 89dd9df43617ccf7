"""Report figures as PNG files: Recall@k curves, per-guide correctness bars, a faithfulness histogram.

Figures are drawn with matplotlib's object API on an Agg canvas (no pyplot, no display, no global
state), so plotting works headless and from threads.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> recall_curves({"bm25": {"recall@1": 0.4, "recall@5": 0.7}}, d / "r.png").stat().st_size > 0
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["recall_curves", "guide_bars", "faithfulness_histogram"]

_K = re.compile(r"^recall@(\d+)$")


def _figure(width: float = 6.4, height: float = 4.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    return path


def recall_curves(overall: Mapping[str, Mapping[str, float]], path: Path) -> Path:
    """One line per retriever: evidence Recall@k against k (keys ``recall@k`` of each mapping)."""
    fig = _figure()
    ax = fig.subplots()
    for name, scores in overall.items():
        points = sorted((int(m.group(1)), v) for key, v in scores.items() if (m := _K.match(key)))
        if points:
            ax.plot([k for k, _ in points], [v for _, v in points], marker="o", label=name)
    ax.set_xlabel("k (passages retrieved)")
    ax.set_ylabel("evidence recall@k")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("Retrieval: share of gold passages in the top k")
    return _save(fig, path)


def guide_bars(
    by_guide: Mapping[str, Mapping[str, float | None]],
    path: Path,
    metrics: Sequence[str] = ("correctness", "faithfulness", "citation_precision"),
) -> Path:
    """Grouped bars: for each guide, the mean of each metric (missing values drawn as 0 height)."""
    import numpy as np

    guides = list(by_guide)
    fig = _figure(max(6.4, 1.3 * len(guides) + 2), 4.4)
    ax = fig.subplots()
    width = 0.8 / max(len(metrics), 1)
    x = np.arange(len(guides))
    for i, m in enumerate(metrics):
        vals = [by_guide[g].get(m) or 0.0 for g in guides]
        ax.bar(x + (i - (len(metrics) - 1) / 2) * width, vals, width, label=m)
    labels = [g.rsplit(".", 1)[0][:36] for g in guides]
    ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean score")
    ax.legend(fontsize=8)
    ax.set_title("Answers per guide")
    return _save(fig, path)


def faithfulness_histogram(values: Sequence[float], path: Path, bins: int = 10) -> Path:
    """Histogram of per-answer faithfulness (share of claims the sources support)."""
    fig = _figure()
    ax = fig.subplots()
    ax.hist(list(values), bins=bins, range=(0, 1), edgecolor="white")
    ax.set_xlabel("faithfulness (supported claims / claims)")
    ax.set_ylabel("answers")
    ax.set_title(f"Faithfulness of {len(values)} answers")
    return _save(fig, path)
