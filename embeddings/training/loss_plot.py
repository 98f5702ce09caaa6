"""The training log (``log.jsonl``) and its loss curve (``loss.png``).

The trainer appends one JSON record per line: ``{"kind": "step", ...}`` every
``log_every`` steps (the mean loss since the previous record), one more marked
``"partial": true`` when a run stops between two of them, and ``{"kind": "epoch",
...}`` at the end of every epoch (the epoch's mean loss and dev metric).
:func:`plot_loss_curve` draws all of them.

Example:
    >>> import json, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> record = {"kind": "step", "step": 1, "loss": 0.5}
    >>> _ = (folder / "log.jsonl").write_text(json.dumps(record) + "\\n")
    >>> plot_loss_curve(folder / "log.jsonl", folder / "loss.png").name
    'loss.png'
"""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LossLog", "plot_loss_curve", "read_log", "read_loss_log"]


def read_log(path: Path) -> list[str]:
    """The lines of a ``log.jsonl``; empty when it is missing, a link or not a regular file."""
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except OSError:
        return []
    with open(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return []
        return fh.read().decode("utf-8", "replace").splitlines()


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_record(line: str) -> dict[str, Any] | None:
    """One log line as a record with a numeric ``step``, or ``None`` (a line cut by a kill)."""
    try:
        rec = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(rec, dict) or not is_number(rec.get("step", 0)):
        return None
    return rec


@dataclass
class LossLog:
    """The curves of a training log, as ``(step, value)`` lists."""

    step_loss: list[tuple[float, float]] = field(default_factory=list)
    epoch_loss: list[tuple[float, float]] = field(default_factory=list)
    dev_metric: list[tuple[float, float]] = field(default_factory=list)

    def empty(self) -> bool:
        """No loss at all."""
        return not (self.step_loss or self.epoch_loss)


def read_loss_log(log_path: str | os.PathLike[str]) -> LossLog:
    """The step losses, epoch mean losses and dev metrics of a ``log.jsonl``.

    Records that are not JSON objects with finite numbers are skipped.
    """
    out = LossLog()
    for line in read_log(Path(log_path)):
        rec = parse_record(line)
        if rec is None or not is_number(rec.get("step")):
            continue
        at = rec["step"]
        if rec.get("kind") == "step" and is_number(rec.get("loss")):
            out.step_loss.append((at, rec["loss"]))
        elif rec.get("kind") == "epoch":
            if is_number(rec.get("train_loss")):
                out.epoch_loss.append((at, rec["train_loss"]))
            if is_number(rec.get("dev_metric")):
                out.dev_metric.append((at, rec["dev_metric"]))
    return out


def _line(ax: Any, points: list[tuple[float, float]], style: str, **kwargs: Any) -> None:
    """A curve, with markers when it is short enough to need them (one point: a marker)."""
    if not points:
        return
    xs, ys = zip(*points, strict=True)
    marker = "o" if len(points) <= 50 else None
    ax.plot(xs, ys, style, marker=marker, markersize=4 if len(points) > 1 else 7, **kwargs)


def plot_loss_curve(log_path: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path | None:
    """Plot every logged step loss, the epoch mean losses and the dev metric to a PNG.

    The PNG is written to a temporary file and renamed over ``out``, so a symbolic
    link at ``out`` is replaced, never written through.  A run with a single logged
    point still gets a visible marker.

    Returns:
        the PNG path, or ``None`` when the log holds no loss.

    Example:
        >>> plot_loss_curve("missing/log.jsonl", "missing/loss.png") is None
        True
    """
    curves = read_loss_log(log_path)
    if curves.empty():
        return None
    import io

    from embeddings._deps import require

    matplotlib = require("matplotlib", extra="plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from embeddings._atomic import atomic_write_bytes

    fig, ax = plt.subplots(figsize=(7, 4))
    try:
        _line(ax, curves.step_loss, "-", lw=1, label="training loss (mean since last record)")
        _line(ax, curves.epoch_loss, "--", lw=1.5, color="tab:green", label="epoch mean loss")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss")
        ax.set_title("Training loss")
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        if curves.dev_metric:
            ax2 = ax.twinx()
            _line(ax2, curves.dev_metric, "-", color="tab:orange", label="dev metric")
            ax2.set_ylabel("dev metric")
            more = ax2.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
    finally:
        plt.close(fig)
    return atomic_write_bytes(Path(out), buffer.getvalue())
