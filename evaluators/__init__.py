"""transferkit evaluators: downstream heads that work on arrays, never on encoders.

Arrays in, scores out. Every function takes float embeddings ``(n, dim)`` (and labels
or gold scores) and returns a ``TypedDict`` with a ``main_score``. Scores are points,
0-100 (accuracy in %, correlations and V-measure x100), as SentEval's tables and
MTEB's leaderboard show them:

* :mod:`evaluators.classification` -- SentEval's logistic-regression protocols
  (nested k-fold, train/dev/test, train/test k-fold) and an MLP head;
* :mod:`evaluators.pairs` -- pair features ``[u, v, |u-v|, u*v]`` into the same heads;
* :mod:`evaluators.similarity` -- cosine STS with SentEval's averages, and the trained
  SICK-R/STS-B relatedness head;
* :mod:`evaluators.clustering` -- k-means V-measure/ARI/NMI over several seeds.

``import evaluators`` is cheap: the public names below load their module (and
scikit-learn) on first access; torch is imported only by the relatedness head.

Example:
    >>> import evaluators
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=100, n_features=6, random_state=0)
    >>> s = evaluators.evaluate_classification_cv(X, y, n_folds=3, random_state=0)
    >>> 50.0 < s["main_score"] <= 100.0
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluators.classification import (
        ClassificationScores,
        CVClassificationScores,
        evaluate_classification_cv,
        evaluate_classification_split,
        evaluate_classification_train_test,
    )
    from evaluators.clustering import ClusteringScores, evaluate_clustering
    from evaluators.metrics import correlations, paired_cosine
    from evaluators.pairs import evaluate_pairs_split, evaluate_pairs_train_test, pair_features
    from evaluators.similarity import (
        RelatednessScores,
        SimilarityScores,
        STSScores,
        evaluate_relatedness,
        evaluate_similarity,
        evaluate_sts,
        score_distribution,
    )

_LAZY: dict[str, str] = {
    "CVClassificationScores": "classification",
    "ClassificationScores": "classification",
    "evaluate_classification_cv": "classification",
    "evaluate_classification_split": "classification",
    "evaluate_classification_train_test": "classification",
    "pair_features": "pairs",
    "evaluate_pairs_split": "pairs",
    "evaluate_pairs_train_test": "pairs",
    "SimilarityScores": "similarity",
    "STSScores": "similarity",
    "RelatednessScores": "similarity",
    "evaluate_similarity": "similarity",
    "evaluate_sts": "similarity",
    "evaluate_relatedness": "similarity",
    "score_distribution": "similarity",
    "ClusteringScores": "clustering",
    "evaluate_clustering": "clustering",
    "paired_cosine": "metrics",
    "correlations": "metrics",
}

__all__ = [
    "CVClassificationScores",
    "ClassificationScores",
    "ClusteringScores",
    "RelatednessScores",
    "STSScores",
    "SimilarityScores",
    "correlations",
    "evaluate_classification_cv",
    "evaluate_classification_split",
    "evaluate_classification_train_test",
    "evaluate_clustering",
    "evaluate_pairs_split",
    "evaluate_pairs_train_test",
    "evaluate_relatedness",
    "evaluate_similarity",
    "evaluate_sts",
    "paired_cosine",
    "pair_features",
    "score_distribution",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'evaluators' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"evaluators.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
