"""The benchmark plots: grouped bars, a heatmap and learning curves, drawn with matplotlib.

Every plot has a title and labelled axes, shows scores in points (0-100: accuracy in
%, correlations and V-measure x100) and has a bounded size: at most
:data:`MAX_WIDTH_PX` x :data:`MAX_HEIGHT_PX` pixels whatever the number of tasks and
encoders (labels and fonts shrink instead).

* :func:`bars_figure` / :func:`plot_bars`: one panel per metric (accuracy, Spearman,
  V-measure ... are not one axis), one group of bars per task, one bar per encoder,
  the value written on each bar;
* :func:`heatmap_figure` / :func:`plot_heatmap`: tasks x encoders, values in the cells;
* :func:`curve_figure`: accuracy against labelled examples on a log axis with plain
  tick numbers, the range over seeds shaded, the legend outside the lines.

The ``*_figure`` functions return the matplotlib figure (to show in a notebook or to
inspect); the ``plot_*`` functions write it atomically and close it.

Example:
    >>> from benchmarks.tables import ResultTable
    >>> t = ResultTable(["MR", "STS12"], ["glove"], {("MR", "glove"): 77.5,
    ...     ("STS12", "glove"): 52.1}, {"MR": "accuracy", "STS12": "spearman"},
    ...     {"MR": "MR", "STS12": "STS12"}, ["MR", "STS12"])
    >>> fig = bars_figure(t)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['accuracy (%)', 'Spearman x100']
    >>> close(fig)
"""

from __future__ import annotations

import io
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from embeddings._atomic import atomic_write_bytes

if TYPE_CHECKING:
    from benchmarks.tables import ResultTable

__all__ = [
    "DPI",
    "MAX_HEIGHT_PX",
    "MAX_WIDTH_PX",
    "bars_figure",
    "close",
    "curve_figure",
    "heatmap_figure",
    "metric_label",
    "plot_bars",
    "plot_heatmap",
    "save_figure",
]

DPI = 120
MAX_WIDTH_PX = 1600
MAX_HEIGHT_PX = 1200
_MAX_W, _MAX_H = MAX_WIDTH_PX / DPI, MAX_HEIGHT_PX / DPI  # inches

_METRIC_LABELS = {
    "accuracy": "accuracy (%)",
    "f1": "F1 x100",
    "pearson": "Pearson r x100",
    "spearman": "Spearman x100",
    "v_measure": "V-measure x100",
}


def metric_label(metric: str) -> str:
    """The axis label of a main-score name, with its scale.

    Example:
        >>> metric_label("v_measure"), metric_label("recall")
        ('V-measure x100', 'recall x100')
    """
    return _METRIC_LABELS.get(metric, f"{metric} x100")


def _pyplot() -> Any:
    from embeddings._deps import require

    matplotlib = require("matplotlib", extra="plots")
    if "matplotlib.pyplot" not in sys.modules:  # a notebook keeps its own backend
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def close(fig: Any) -> None:
    """Close a figure made here (frees its memory)."""
    _pyplot().close(fig)


def save_figure(fig: Any, path: str | os.PathLike[str], *, keep_open: bool = False) -> Path:
    """Write ``fig`` to ``path`` atomically (a link there is replaced) at :data:`DPI`.

    The image is exactly the figure's size in pixels (no tight cropping), so the
    size bounds hold for the file.
    """
    out = Path(path)
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=out.suffix.lstrip(".").lower() or "png", dpi=DPI)
    finally:
        if not keep_open:
            close(fig)
    return atomic_write_bytes(out, buffer.getvalue())


def _size(width: float, height: float) -> tuple[float, float]:
    return min(width, _MAX_W), min(height, _MAX_H)


def _metric_panels(table: ResultTable) -> list[tuple[str, list[str]]]:
    """``[(metric, tasks)]`` in the order the metrics first appear among the tasks."""
    panels: dict[str, list[str]] = {}
    for task in table.tasks:
        panels.setdefault(table.metrics.get(task, "score"), []).append(task)
    return list(panels.items())


def bars_figure(table: ResultTable, *, title: str | None = None) -> Any:
    """Grouped bars of a result table, one panel per metric, values on the bars.

    Args:
        table: The results (:func:`benchmarks.report.build_table`).
        title: The figure title (default: "Main score per task and encoder").

    Returns:
        The matplotlib figure, at most :data:`MAX_WIDTH_PX` x :data:`MAX_HEIGHT_PX`.
    """
    import numpy as np

    plt = _pyplot()
    panels = _metric_panels(table) or [("score", [])]
    n_e = max(len(table.encoders), 1)
    n_cols = min(len(panels), 3)
    n_rows = math.ceil(len(panels) / n_cols)
    slots = [max(len(tasks), 1.5) for _, tasks in panels]  # a lone task is not full-width
    per_slot = 0.5 + 0.3 * n_e
    width = 1.5 + per_slot * max(sum(slots[r * n_cols : (r + 1) * n_cols]) for r in range(n_rows))
    fig = plt.figure(figsize=_size(max(width, 6.0), 1.6 + 3.6 * n_rows))
    grid = fig.add_gridspec(n_rows, n_cols, width_ratios=slots[:n_cols] if n_rows == 1 else None)
    crowded = len(table.tasks) * n_e > 24
    bar_width = min(0.8 / n_e, 0.3)
    low = min([0.0, *table.values.values()])
    low = low - 5 if low < 0 else 0.0
    for i, (metric, tasks) in enumerate(panels):
        ax = fig.add_subplot(grid[i // n_cols, i % n_cols])
        x = np.arange(len(tasks))
        for j, enc in enumerate(table.encoders):
            vals = [table.get(t, enc) for t in tasks]
            bars = ax.bar(
                x + (j - (n_e - 1) / 2) * bar_width,
                [np.nan if v is None else v for v in vals],
                bar_width,
                label=enc,
                color=f"C{j % 10}",
            )
            ax.bar_label(
                bars,
                labels=["" if v is None else f"{v:.1f}" for v in vals],
                fontsize=6 if crowded else 8,
                rotation=90 if crowded else 0,
                padding=2,
            )
        half = max(len(tasks), 1.5) / 2
        ax.set_xlim((len(tasks) - 1) / 2 - half, (len(tasks) - 1) / 2 + half)
        ax.set_xticks(x)
        tilt = len(tasks) > 2
        ax.set_xticklabels(
            tasks, rotation=30 if tilt else 0, ha="right" if tilt else "center", fontsize=8
        )
        ax.set_ylim(low, 108)
        ax.set_ylabel(metric_label(metric))
        ax.set_xlabel("task")
        ax.set_title(metric_label(metric).split(" ")[0])
        ax.grid(axis="y", alpha=0.3)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncols=min(n_e, 4), fontsize="small",
                   title="encoder", frameon=False)  # fmt: skip
    fig.suptitle(title or "Main score per task and encoder (points, 0-100)")
    legend_rows = math.ceil(n_e / 4) if handles else 0
    fig.tight_layout(rect=(0, min(0.06 + 0.05 * legend_rows, 0.3), 1, 0.97))
    return fig


def plot_bars(
    table: ResultTable, path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Write :func:`bars_figure` as an image.

    Example:
        >>> plot_bars(build_table(load_results("results")), "bars.png")  # doctest: +SKIP
    """
    return save_figure(bars_figure(table, title=title), path)


def heatmap_figure(table: ResultTable, *, title: str | None = None) -> Any:
    """Heatmap of tasks x encoders with the scores written in the cells.

    Returns:
        The matplotlib figure, at most :data:`MAX_WIDTH_PX` x :data:`MAX_HEIGHT_PX`.
    """
    import numpy as np

    plt = _pyplot()
    data = np.array(
        [
            [np.nan if table.get(t, e) is None else table.get(t, e) for e in table.encoders]
            for t in table.tasks
        ],
        dtype=float,
    ).reshape(len(table.tasks), len(table.encoders))
    fig, ax = plt.subplots(
        figsize=_size(3.5 + 1.2 * len(table.encoders), 2.0 + 0.4 * len(table.tasks))
    )
    image = ax.imshow(np.ma.masked_invalid(data), cmap="viridis", vmin=0, vmax=100, aspect="auto")
    small = len(table.tasks) > 25 or len(table.encoders) > 10
    ax.set_xticks(range(len(table.encoders)))
    ax.set_xticklabels(table.encoders, rotation=30, ha="right", fontsize=7 if small else 9)
    ax.set_yticks(range(len(table.tasks)))
    ax.set_yticklabels(
        [f"{t} ({table.metrics.get(t, 'score')})" for t in table.tasks], fontsize=7 if small else 9
    )
    ax.set_xlabel("encoder")
    ax.set_ylabel("task (metric)")
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            if not np.isnan(data[i, j]):
                ax.text(j, i, f"{data[i, j]:.1f}", ha="center", va="center",
                        color="white" if data[i, j] < 60 else "black",
                        fontsize=6 if small else 8)  # fmt: skip
    fig.colorbar(image, ax=ax, label="main score (points, 0-100)")
    ax.set_title(title or "Main score per task and encoder")
    fig.tight_layout()
    return fig


def plot_heatmap(
    table: ResultTable, path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Write :func:`heatmap_figure` as an image; the file's suffix gives its format.

    Example:
        >>> from benchmarks.report import build_table, load_results
        >>> table = build_table(load_results("results"))  # doctest: +SKIP
        >>> plot_heatmap(table, "heatmap.png")  # doctest: +SKIP
        PosixPath('heatmap.png')
    """
    return save_figure(heatmap_figure(table, title=title), path)


def curve_figure(
    summary: Sequence[Mapping[str, Any]],
    *,
    title: str,
    labels: Mapping[str, str],
    methods: Sequence[str],
) -> Any:
    """Test accuracy against labelled examples: mean line and min-max band per method.

    The x axis is logarithmic with the run sizes as plain tick numbers (``50``, not
    ``5x10^1``); the legend sits to the right of the axes, clear of the lines.

    Args:
        summary: Points of :func:`benchmarks.curves.curve_summary` (accuracy in points).
        title: The plot title.
        labels: Legend text per method (the method name otherwise).
        methods: The methods to draw, in legend order.

    Returns:
        The matplotlib figure, at most :data:`MAX_WIDTH_PX` x :data:`MAX_HEIGHT_PX`.
    """
    import numpy as np
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=_size(10.0, 5.0))
    sizes = sorted({int(p["size"]) for p in summary})
    for method in methods:
        pts = sorted((p for p in summary if p["method"] == method), key=lambda p: p["size"])
        if not pts:
            continue
        x = [p["size"] for p in pts]
        mean = np.array([p["mean"] for p in pts])
        line = ax.plot(x, mean, marker="o", label=labels.get(method, method))[0]
        ax.fill_between(
            x, [p["min"] for p in pts], [p["max"] for p in pts], alpha=0.2,
            color=line.get_color(), linewidth=0,
        )  # fmt: skip
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("labelled training examples (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False,
        title="mean over seeds;\nshaded: min-max", title_fontsize=8,
    )  # fmt: skip
    fig.tight_layout()
    return fig
