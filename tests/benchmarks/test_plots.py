"""The report plots: titles, labels, one panel per metric, values on bars, bounded size."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

import matplotlib.image

from benchmarks.plots import (
    MAX_HEIGHT_PX,
    MAX_WIDTH_PX,
    bars_figure,
    close,
    heatmap_figure,
    plot_bars,
    plot_heatmap,
)
from benchmarks.tables import ResultTable


def _table(tasks: dict[str, str], encoders: list[str]) -> ResultTable:
    """A table whose score of (task i, encoder j) is 40 + i + 2j (points)."""
    values = {(t, e): 40.0 + i + 2 * j for i, t in enumerate(tasks) for j, e in enumerate(encoders)}
    return ResultTable(list(tasks), encoders, values, dict(tasks), {t: t for t in tasks},
                       list(tasks))  # fmt: skip


QUICK = {"SST2 (quick)": "accuracy", "TREC (quick)": "accuracy", "SICK-E (quick)": "accuracy",
         "STS12 (quick)": "spearman", "TRECClustering": "v_measure"}  # fmt: skip


def _png_size(path: Path) -> tuple[int, int]:
    height, width = matplotlib.image.imread(path).shape[:2]
    return width, height


def _bar_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_text()]


def test_quick_suite_bars_have_one_panel_per_metric_titles_labels_and_values() -> None:
    table = _table(QUICK, ["glove-6b-50d", "tfidf", "minilm-l6"])
    fig = bars_figure(table)
    assert fig.get_suptitle() == "Main score per task and encoder (points, 0-100)"
    assert [ax.get_title() for ax in fig.axes] == ["accuracy", "Spearman", "V-measure"]
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "accuracy (%)", "Spearman x100", "V-measure x100"]  # fmt: skip
    assert all(ax.get_xlabel() == "task" for ax in fig.axes)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list(QUICK)[:3]
    # the value of every bar is written on it: 3 tasks x 3 encoders in the first panel
    assert len(_bar_texts(fig.axes[0])) == 9 and "40.0" in _bar_texts(fig.axes[0])
    assert _bar_texts(fig.axes[2]) == ["44.0", "46.0", "48.0"]
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == table.encoders
    close(fig)


def test_bars_size_is_bounded_whatever_the_numbers(tmp_path: Path) -> None:
    many = {f"task {i}": ("accuracy", "spearman", "v_measure", "f1")[i % 4] for i in range(40)}
    table = _table(many, [f"encoder-{j}" for j in range(12)])
    width, height = _png_size(plot_bars(table, tmp_path / "bars.png"))
    assert width <= MAX_WIDTH_PX and height <= MAX_HEIGHT_PX
    width, height = _png_size(plot_heatmap(table, tmp_path / "heat.png"))
    assert width <= MAX_WIDTH_PX and height <= MAX_HEIGHT_PX
    # the quick suite on three encoders was 3,723 x 540 pixels before the bound
    width, height = _png_size(plot_bars(_table(QUICK, ["a", "b", "c"]), tmp_path / "q.png"))
    assert width <= MAX_WIDTH_PX and height <= MAX_HEIGHT_PX and height >= 400


def test_own_task_chart_shows_values_and_narrow_bars() -> None:
    # One task of your own, two encoders: two labelled bars, not two full-width blocks.
    table = _table({"reviews": "accuracy"}, ["glove-6b-50d", "tfidf"])
    fig = bars_figure(table, title="suite own: reviews")
    ax = fig.axes[0]
    assert fig.get_suptitle() == "suite own: reviews"
    assert _bar_texts(ax) == ["40.0", "42.0"]
    lo, hi = ax.get_xlim()
    widths = [patch.get_width() for patch in ax.patches]
    assert len(widths) == 2 and sum(widths) / (hi - lo) <= 0.5
    close(fig)


def test_heatmap_has_a_title_labels_and_the_values() -> None:
    table = _table(QUICK, ["glove-6b-50d", "tfidf"])
    fig = heatmap_figure(table)
    ax = fig.axes[0]
    assert ax.get_title() == "Main score per task and encoder"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("encoder", "task (metric)")
    assert "STS12 (quick) (spearman)" in [t.get_text() for t in ax.get_yticklabels()]
    assert len(_bar_texts(ax)) == 10
    assert fig.axes[1].get_ylabel() == "main score (points, 0-100)"  # the colour bar
    close(fig)
