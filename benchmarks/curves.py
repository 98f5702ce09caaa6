"""Learning curves: aggregate per-seed scores into one point per (method, size).

``transferkit curve`` (:mod:`benchmarks.commands.curve`) trains every method on
growing labelled subsets, one run per seed; :func:`curve_summary` turns those runs
into the mean, spread and range that the table and the plot show.

Example:
    >>> rows = [{"method": "tfidf", "size": 50, "accuracy": a} for a in (0.5, 0.6)]
    >>> curve_summary(rows)[0]["mean"]
    0.55
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

import numpy as np

__all__ = ["CurvePoint", "curve_summary"]


class CurvePoint(TypedDict):
    """Mean and spread of one method at one labelled-set size."""

    method: str
    size: int
    mean: float
    std: float
    min: float
    max: float
    n_seeds: int


def curve_summary(records: Sequence[dict[str, Any]], *, key: str = "accuracy") -> list[CurvePoint]:
    """Aggregate per-seed results into mean/std/min/max per (method, size).

    Args:
        records: dicts with ``method``, ``size`` and ``key`` (e.g. one per seed).
        key: the score to aggregate.

    Returns:
        one :class:`CurvePoint` per (method, size), sorted by method then size.

    Example:
        >>> rows = [{"method": "a", "size": 10, "accuracy": x} for x in (0.5, 0.7)]
        >>> p = curve_summary(rows)[0]
        >>> p["mean"], p["n_seeds"]
        (0.6, 2)
    """
    groups: dict[tuple[str, int], list[float]] = {}
    for rec in records:
        groups.setdefault((str(rec["method"]), int(rec["size"])), []).append(float(rec[key]))
    out: list[CurvePoint] = []
    for (method, size), values in sorted(groups.items()):
        arr = np.asarray(values)
        out.append(
            {"method": method, "size": size, "mean": round(float(arr.mean()), 6),
             "std": round(float(arr.std()), 6), "min": float(arr.min()),
             "max": float(arr.max()), "n_seeds": int(arr.size)}
        )  # fmt: skip
    return out
