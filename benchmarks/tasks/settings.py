"""How one task is evaluated: the settings a suite entry gives a task.

:class:`SuiteTask` is plain data: the task's name and constructor parameters, how
many rows of each split to keep, and the protocol settings (folds, seed, head, pair
features, relatedness scale, clustering restarts).  Suites (:mod:`benchmarks.suites`)
are lists of them; the evaluation protocols read them; its :meth:`SuiteTask.config_hash`
keys result files.  It lives beside the tasks so that a task can take its settings
without the task modules importing the suites.

Example:
    >>> SuiteTask("TREC", max_samples={"train": 500}).max_samples["train"]
    500
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from embeddings.errors import InvalidParameterError

__all__ = ["SUITE_FORMAT_VERSION", "PairFeatureName", "SuiteTask"]

PairFeatureName = Literal["senteval", "infersent"]
"""Pair features of the trained pair heads; ``"senteval"`` is ``[|u-v|, u*v]``."""

SUITE_FORMAT_VERSION = 1
"""Bump when the meaning of a :class:`SuiteTask` field changes (it is hashed)."""


@dataclass(frozen=True)
class SuiteTask:
    """One task of a suite and how it is evaluated.

    Attributes:
        task: A registered task name (see :func:`benchmarks.tasks.list_tasks`).
        label: The row name in reports; defaults to the task name.  Entries that
            subsample or change the protocol should say so (``"SST2 (quick)"``).
        task_params: Constructor parameters of the task (``{"train_file":
            "sentences"}`` for SST2).
        max_samples: Rows to keep per split (seeded, stratified subsample); a split
            that is not listed is kept whole.
        n_folds: Folds of the cross-validation (CV tasks, and the C selection of
            train/test tasks); ``None`` is the task's ``cv_folds``, else 10.
        seed: Seeds the folds, the classifier and the subsampling.
        head: ``"logreg"`` (SentEval's logistic regression) or ``"mlp"``.
        pair_features: Features of the pair-classification heads.
        min_score: Lowest integer score of the relatedness head (SICK-R: 1,
            STS-B: 0); ``None`` lets the runner use the task's default.
        clustering_runs: k-means restarts (seeds) averaged by clustering tasks.
        clustering_split: Which split a clustering task clusters.

    Example:
        >>> SuiteTask("TREC", max_samples={"train": 500}).label
        'TREC'
    """

    task: str
    label: str = ""
    task_params: Mapping[str, Any] = field(default_factory=dict)
    max_samples: Mapping[str, int] = field(default_factory=dict)
    n_folds: int | None = None
    seed: int = 1111
    head: Literal["logreg", "mlp"] = "logreg"
    pair_features: PairFeatureName = "senteval"
    min_score: int | None = None
    clustering_runs: int = 5
    clustering_split: str = "test"

    def __post_init__(self) -> None:
        if not isinstance(self.task, str) or not self.task:
            raise InvalidParameterError(f"SuiteTask.task must be a task name, got {self.task!r}")
        if not self.label:
            object.__setattr__(self, "label", self.task)
        for split, n in self.max_samples.items():
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise InvalidParameterError(
                    f"{self.label}: max_samples[{split!r}] must be an int >= 1, got {n!r}"
                )
        if self.n_folds is not None and (
            isinstance(self.n_folds, bool) or not isinstance(self.n_folds, int) or self.n_folds < 2
        ):
            raise InvalidParameterError(
                f"{self.label}: n_folds must be None or an int >= 2, got {self.n_folds!r}"
            )

    def config(self) -> dict[str, Any]:
        """Everything that changes the score, as JSON-compatible data (label excluded).

        Example:
            >>> SuiteTask("TREC").config()["n_folds"] is None
            True
        """
        return {
            "format": SUITE_FORMAT_VERSION,
            "task": self.task,
            "task_params": dict(sorted(self.task_params.items())),
            "max_samples": dict(sorted(self.max_samples.items())),
            "n_folds": self.n_folds,
            "seed": self.seed,
            "head": self.head,
            "pair_features": self.pair_features,
            "min_score": self.min_score,
            "clustering_runs": self.clustering_runs,
            "clustering_split": self.clustering_split,
        }

    def config_hash(self) -> str:
        """sha256 (hex) of :meth:`config`: equal settings give equal hashes.

        Example:
            >>> SuiteTask("MR").config_hash() == SuiteTask("MR", label="x").config_hash()
            True
        """
        blob = json.dumps(self.config(), sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()
