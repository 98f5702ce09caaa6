"""Clustering against direct scikit-learn computations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, v_measure_score

from evaluators.clustering import evaluate_clustering


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n_samples=120, centers=4, cluster_std=2.5, n_features=5, random_state=3)
    return X.astype(np.float32), y


def test_minibatch_matches_direct_sklearn(blobs) -> None:
    X, y = blobs
    result = evaluate_clustering(X, y, n_runs=3, random_state=10)
    v, a, n = [], [], []
    for s in (10, 11, 12):
        model = MiniBatchKMeans(n_clusters=4, batch_size=500, n_init=3, random_state=s)
        pred = model.fit_predict(X)
        v.append(v_measure_score(y, pred))
        a.append(adjusted_rand_score(y, pred))
        n.append(normalized_mutual_info_score(y, pred))
    # scores are points: the direct scikit-learn values x100
    assert [r["v_measure"] for r in result["runs"]] == [100 * x for x in v]
    assert result["v_measure"] == result["main_score"]
    for key, values in (("v_measure", v), ("ari", a), ("nmi", n)):
        assert result[key] == pytest.approx(100 * float(np.mean(values)), abs=1e-10)
        assert result[f"{key}_std"] == pytest.approx(100 * float(np.std(values)), abs=1e-10)
    assert (result["n_clusters"], result["n_samples"], result["n_runs"]) == (4, 120, 3)


def test_kmeans_and_separable_blobs() -> None:
    X, y = make_blobs(n_samples=90, centers=3, cluster_std=0.1, random_state=0)
    result = evaluate_clustering(X, y, n_runs=2, algorithm="kmeans")
    assert result["v_measure"] == pytest.approx(100.0)
    assert result["ari"] == pytest.approx(100.0)
    assert result["v_measure_std"] == pytest.approx(0.0, abs=1e-12)
    shuffled = np.random.default_rng(0).permutation(y)
    assert evaluate_clustering(X, shuffled, n_runs=2)["v_measure"] < 20


def test_user_estimator_cloned_and_given_k(blobs) -> None:
    X, y = blobs
    user = KMeans(n_clusters=9, n_init=2)
    result = evaluate_clustering(X, y, n_runs=2, random_state=1, estimator=user)
    assert user.n_clusters == 9 and user.random_state is None
    assert not hasattr(user, "labels_")
    pred = KMeans(n_clusters=4, n_init=2, random_state=1).fit_predict(X)
    assert result["runs"][0]["v_measure"] == 100 * v_measure_score(y, pred)
    assert result["algorithm"] == "custom:KMeans"
    agg = evaluate_clustering(X, y, n_runs=1, estimator=AgglomerativeClustering())
    direct = AgglomerativeClustering(n_clusters=4).fit_predict(X)
    assert agg["v_measure"] == pytest.approx(100 * v_measure_score(y, direct), abs=1e-10)


def test_deterministic_with_string_labels(blobs) -> None:
    X, y = blobs
    names = np.array(["a", "b", "c", "d"])[y]
    assert evaluate_clustering(X, names, random_state=3) == evaluate_clustering(
        X, names, random_state=3
    )
    r1 = evaluate_clustering(X, y, random_state=3)
    r2 = evaluate_clustering(X, names, random_state=3)
    assert r1["v_measure"] == r2["v_measure"]
