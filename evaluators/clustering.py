"""Clustering of embeddings against gold labels (MTEB-style), averaged over seeds.

For each run seed, a k-means model with ``k`` = the number of distinct gold labels
is fit on the embeddings, and its clusters are compared with the gold labels with
V-measure, the adjusted Rand index and normalized mutual information
(``sklearn.metrics``). Scores are reported in points (x100, 0-100) as the mean and
the (population) standard deviation over the runs. Run ``i`` uses the seed ``random_state + i``.

``algorithm="minibatch"`` (default) is ``MiniBatchKMeans(n_clusters=k,
batch_size=500, n_init=3)``, close to MTEB's clustering evaluator; ``"kmeans"`` is
``KMeans(n_clusters=k, n_init=10)``. A user ``estimator`` (any clusterer with
``fit_predict`` or ``fit`` + ``labels_``) is cloned for every run; its ``n_clusters``
and ``random_state`` are set when it has them.

Example:
    >>> from sklearn.datasets import make_blobs
    >>> X, y = make_blobs(n_samples=90, centers=3, cluster_std=0.2, random_state=0)
    >>> s = evaluate_clustering(X, y, n_runs=2, random_state=0)
    >>> round(s["v_measure"], 6), s["n_clusters"]
    (100.0, 3)
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, clone
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import (
    adjusted_rand_score,
    normalized_mutual_info_score,
    v_measure_score,
)

from embeddings.errors import InvalidInputError, InvalidParameterError, renamed_parameters
from evaluators.metrics import (
    check_embeddings,
    check_labels,
    check_positive_int,
    check_seed,
    points,
)

__all__ = ["ClusteringRun", "ClusteringScores", "evaluate_clustering"]


class ClusteringRun(TypedDict):
    """Scores of one clustering run."""

    seed: int
    v_measure: float
    ari: float
    nmi: float


class ClusteringScores(TypedDict):
    """Means and standard deviations over the runs of :func:`evaluate_clustering`."""

    main_score: float
    v_measure: float
    v_measure_std: float
    ari: float
    ari_std: float
    nmi: float
    nmi_std: float
    runs: list[ClusteringRun]
    n_clusters: int
    n_samples: int
    n_runs: int
    algorithm: str
    seed: int


def _make_clusterer(
    algorithm: Literal["minibatch", "kmeans"],
    estimator: BaseEstimator | None,
    n_clusters: int,
    random_state: int,
    batch_size: int,
) -> BaseEstimator:
    if estimator is not None:
        model = clone(estimator)
        params = model.get_params()
        updates: dict[str, Any] = {}
        if "n_clusters" in params:
            updates["n_clusters"] = n_clusters
        if "random_state" in params:
            updates["random_state"] = random_state
        return model.set_params(**updates) if updates else model
    if algorithm == "kmeans":
        return KMeans(n_clusters=n_clusters, n_init=10, random_state=random_state)
    return MiniBatchKMeans(
        n_clusters=n_clusters, batch_size=batch_size, n_init=3, random_state=random_state
    )


def _cluster_labels(model: BaseEstimator, X: NDArray[Any]) -> NDArray[Any]:
    if hasattr(model, "fit_predict"):
        return np.asarray(model.fit_predict(X))
    model.fit(X)
    return np.asarray(model.labels_)


@renamed_parameters(seed="random_state")
def evaluate_clustering(
    X: ArrayLike,
    labels: ArrayLike,
    *,
    n_runs: int = 5,
    random_state: int = 0,
    algorithm: Literal["minibatch", "kmeans"] = "minibatch",
    batch_size: int = 500,
    estimator: BaseEstimator | None = None,
) -> ClusteringScores:
    """Cluster ``X`` into as many clusters as there are labels; score against them.

    Args:
        X: Embeddings ``(n_samples, dim)``, finite.
        labels: Gold labels ``(n_samples,)``, at least two distinct, fewer distinct
            labels than samples.
        n_runs: Number of seeds (``random_state``, ``random_state + 1``, ...) to
            average over.
        random_state: The first run's seed.
        algorithm: ``"minibatch"`` (MiniBatchKMeans) or ``"kmeans"`` (KMeans).
        batch_size: MiniBatchKMeans's batch size.
        estimator: Your own unfitted clusterer, cloned per run (never changed);
            overrides ``algorithm``.

    Returns:
        :class:`ClusteringScores` in points (0-100); ``main_score`` is the mean
        V-measure.

    Raises:
        InvalidInputError: Bad arrays, mismatched lengths, a single label, or as
            many labels as samples.
        InvalidParameterError: Bad ``n_runs``, ``random_state``, ``algorithm``,
            ``batch_size`` or ``estimator``.

    Example:
        >>> from sklearn.datasets import make_blobs
        >>> X, y = make_blobs(n_samples=60, centers=4, random_state=1)
        >>> s = evaluate_clustering(X, y, n_runs=3, random_state=5, algorithm="kmeans")
        >>> [r["seed"] for r in s["runs"]]
        [5, 6, 7]
    """
    X_arr = check_embeddings(X, name="X")
    y_arr = check_labels(labels, n_samples=X_arr.shape[0], name="labels")
    n_runs = check_positive_int(n_runs, name="n_runs")
    random_state = check_seed(random_state)
    batch_size = check_positive_int(batch_size, name="batch_size")
    if algorithm not in ("minibatch", "kmeans"):
        raise InvalidParameterError(
            f"algorithm must be 'minibatch' or 'kmeans'; received {algorithm!r}."
        )
    if estimator is not None and not (
        hasattr(estimator, "get_params") and hasattr(estimator, "fit")
    ):
        raise InvalidParameterError(
            "estimator must be an unfitted scikit-learn clusterer; received "
            f"{type(estimator).__name__}."
        )
    n_clusters = int(np.unique(y_arr).size)
    if n_clusters >= X_arr.shape[0]:
        raise InvalidInputError(
            f"labels has {n_clusters} distinct values for {X_arr.shape[0]} samples; "
            "clustering needs fewer clusters than samples."
        )
    # every run seed must be valid
    check_seed(random_state + n_runs - 1, name="random_state + n_runs - 1 (the last run's seed)")
    runs: list[ClusteringRun] = []
    for i in range(n_runs):
        run_seed = random_state + i
        model = _make_clusterer(algorithm, estimator, n_clusters, run_seed, batch_size)
        pred = _cluster_labels(model, X_arr)
        runs.append(
            {
                "seed": run_seed,
                "v_measure": points(v_measure_score(y_arr, pred)),
                "ari": points(adjusted_rand_score(y_arr, pred)),
                "nmi": points(normalized_mutual_info_score(y_arr, pred)),
            }
        )

    def stat(key: Literal["v_measure", "ari", "nmi"]) -> tuple[float, float]:
        values = np.array([r[key] for r in runs])
        return float(values.mean()), float(values.std())

    v, v_std = stat("v_measure")
    ari, ari_std = stat("ari")
    nmi, nmi_std = stat("nmi")
    return {
        "main_score": v,
        "v_measure": v,
        "v_measure_std": v_std,
        "ari": ari,
        "ari_std": ari_std,
        "nmi": nmi,
        "nmi_std": nmi_std,
        "runs": runs,
        "n_clusters": n_clusters,
        "n_samples": int(X_arr.shape[0]),
        "n_runs": n_runs,
        "algorithm": algorithm if estimator is None else f"custom:{type(estimator).__name__}",
        "seed": random_state,
    }
