"""What evaluating a task records: the protocol and the returned scores.

A leaf module of the task floor, so that :mod:`benchmarks.tasks.base` can name
:class:`TaskEvaluation` without importing the evaluation floor above it;
:mod:`benchmarks.results` and :mod:`benchmarks.evaluation` re-export these names.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

__all__ = ["FitPolicy", "ProtocolInfo", "TaskEvaluation"]

FitPolicy = Literal["none", "train", "per_fold", "unlabeled", "pretrained"]
"""What a trainable encoder was fitted on: nothing (frozen encoder), the train split,
each outer fold's training part, the unlabeled corpus, or elsewhere (a saved folder)."""


class ProtocolInfo(TypedDict):
    """How the score was obtained (enough to reproduce it)."""

    evaluator: str
    head: str | None
    seed: int
    n_folds: int | None
    c_grid: list[float] | None
    selection: str | None
    pair_features: str | None
    min_score: int | None
    fit: FitPolicy
    fit_texts: int
    fit_source: str | None
    max_samples: dict[str, int]
    data_verified: bool
    features: NotRequired[str]


class TaskEvaluation(TypedDict):
    """What ``Task.evaluate`` returns.

    Attributes:
        main_score: The task's headline score (``scores["main_score"]``), in points
            (0-100: accuracy in %, correlations and V-measure x100).
        scores: Everything the evaluator reports (JSON-compatible; scores in points).
        n_samples: Rows used per split.
        protocol: How the score was obtained.
    """

    main_score: float
    scores: dict[str, Any]
    n_samples: dict[str, int]
    protocol: ProtocolInfo
