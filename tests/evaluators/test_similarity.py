"""Cosine STS, SentEval's averages, and the trained relatedness head."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import Ridge

from embeddings.errors import InvalidInputError, InvalidParameterError
from evaluators.metrics import paired_cosine
from evaluators.pairs import pair_features
from evaluators.similarity import (
    evaluate_relatedness,
    evaluate_similarity,
    evaluate_sts,
    score_distribution,
)


def _at_cosines(cosines: list[float], scales: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """2-D pairs whose cosines are exactly ``cosines`` (vectors of various norms)."""
    U = np.array([[s, 0.0] for s in scales])
    V = np.array([[c, math.sqrt(1 - c * c)] for c in cosines]) * 3.0
    return U, V


# Subset A: cosines [1, .6, 0, -.8] vs gold [4, 3, 1, 0]
#   Pearson by hand: dx = [.8, .4, -.2, -1], dg = [2, 1, -1, -2]
#   r = 4.2 / sqrt(1.84 * 10); Spearman = 1 (same order).
# Subset B: cosines [1, 0, .6] vs gold [1, 2, 3]
#   ranks [3, 1, 2] vs [1, 2, 3]: rho = 1 - 6 * 6 / (3 * 8) = -0.5
#   Pearson: dx = [7, -8, 1] / 15, dg = [-1, 0, 1]: r = -0.4 / sqrt(0.50667 * 2)
A_COS, A_GOLD = [1.0, 0.6, 0.0, -0.8], [4.0, 3.0, 1.0, 0.0]
B_COS, B_GOLD = [1.0, 0.0, 0.6], [1.0, 2.0, 3.0]
A_PEARSON = 4.2 / math.sqrt(1.84 * 10)
B_PEARSON = -0.4 / math.sqrt(((7 / 15) ** 2 + (8 / 15) ** 2 + (1 / 15) ** 2) * 2)


def test_paired_cosine_by_hand() -> None:
    U, V = _at_cosines(A_COS, [1.0, 2.0, 0.5, 7.0])
    np.testing.assert_allclose(paired_cosine(U, V), A_COS, atol=1e-12)
    zero = paired_cosine(np.zeros((1, 2)), np.ones((1, 2)))
    assert zero.tolist() == [0.0]  # not NaN


def test_evaluate_similarity_by_hand() -> None:
    U, V = _at_cosines(A_COS, [1.0, 2.0, 0.5, 7.0])
    s = evaluate_similarity(U, V, A_GOLD)
    # correlations are points: the hand-computed r x100
    assert s["pearson"] == pytest.approx(100 * A_PEARSON, abs=1e-10)
    assert s["spearman"] == pytest.approx(100.0) and s["main_score"] == s["spearman"]
    assert s["n_samples"] == 4


def test_sts_averages_by_hand() -> None:
    UA, VA = _at_cosines(A_COS, [1.0, 2.0, 0.5, 7.0])
    UB, VB = _at_cosines(B_COS, [1.0, 1.0, 4.0])
    s = evaluate_sts({"A": (UA, VA, A_GOLD), "B": (UB, VB, B_GOLD)})
    assert s["subsets"]["A"]["pearson"] == pytest.approx(100 * A_PEARSON, abs=1e-10)
    assert s["subsets"]["B"]["spearman"] == pytest.approx(-50.0, abs=1e-10)
    assert s["subsets"]["B"]["pearson"] == pytest.approx(100 * B_PEARSON, abs=1e-10)
    assert s["mean"]["spearman"] == pytest.approx(100 * (1.0 - 0.5) / 2)
    assert s["wmean"]["spearman"] == pytest.approx(100 * (4 * 1.0 + 3 * -0.5) / 7)
    assert s["mean"]["pearson"] == pytest.approx(100 * (A_PEARSON + B_PEARSON) / 2)
    assert s["wmean"]["pearson"] == pytest.approx(100 * (4 * A_PEARSON + 3 * B_PEARSON) / 7)
    # "all": one correlation over the 7 concatenated pairs
    cos_all, gold_all = A_COS + B_COS, A_GOLD + B_GOLD
    ranks = np.corrcoef(stats.rankdata(cos_all), stats.rankdata(gold_all))[0, 1]
    assert s["all"]["spearman"] == pytest.approx(100 * ranks, abs=1e-10)
    all_pearson = np.corrcoef(cos_all, gold_all)[0, 1]
    assert s["all"]["pearson"] == pytest.approx(100 * all_pearson, abs=1e-10)
    assert s["all"]["n_samples"] == s["n_samples"] == 7
    assert s["main"] == "wmean" and s["main_score"] == s["wmean"]["spearman"]
    assert evaluate_sts({"A": (UA, VA, A_GOLD)}, main="all")["main_score"] == pytest.approx(100.0)
    m = evaluate_sts({"A": (UA, VA, A_GOLD), "B": (UB, VB, B_GOLD)}, main="mean")
    assert m["main_score"] == pytest.approx(25.0)


def test_sts_errors_name_the_subset() -> None:
    U, V = _at_cosines(A_COS, [1.0] * 4)
    with pytest.raises(InvalidInputError, match="subset 'bad': gold has 3 values"):
        evaluate_sts({"ok": (U, V, A_GOLD), "bad": (U, V, A_GOLD[:3])})
    with pytest.raises(InvalidInputError, match="non-empty dict"):
        evaluate_sts({})
    with pytest.raises(InvalidInputError, match="subset 'x' must be a \\(U, V, gold\\) tuple"):
        evaluate_sts({"x": (U, V)})  # type: ignore[dict-item]
    with pytest.raises(InvalidParameterError, match="main must be one of"):
        evaluate_sts({"ok": (U, V, A_GOLD)}, main="max")  # type: ignore[arg-type]


def test_constant_predictions_warn_and_score_zero() -> None:
    U = np.random.default_rng(0).normal(size=(5, 3))
    with pytest.warns(UserWarning, match="constant"):
        s = evaluate_similarity(U, 2 * U, [1.0, 2.0, 3.0, 4.0, 5.0])  # every cosine is 1
    assert s["pearson"] == 0.0 and s["spearman"] == 0.0


# ------------------------------------------------------------------ relatedness


def _senteval_encode_labels(labels: np.ndarray, nclass: int = 5) -> np.ndarray:
    """SentEval's ``SICKRelatednessEval.encode_labels``, loop for loop."""
    Y = np.zeros((len(labels), nclass)).astype("float32")
    for j, y in enumerate(labels):
        for i in range(nclass):
            if i + 1 == np.floor(y) + 1:
                Y[j, i] = y - np.floor(y)
            if i + 1 == np.floor(y):
                Y[j, i] = np.floor(y) - y + 1
    return Y


def test_score_distribution_matches_senteval_and_expectation() -> None:
    y = np.concatenate([[1.0, 2.0, 5.0, 4.99], np.random.default_rng(0).uniform(1, 5, 50)])
    P = score_distribution(y)
    np.testing.assert_array_equal(P, _senteval_encode_labels(y))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(P @ np.arange(1, 6), y, rtol=1e-6)
    # STS-B's 0..5 range: score 0 gets a class of its own
    Q = score_distribution([0.0, 0.25, 5.0], min_score=0, max_score=5)
    assert Q.shape == (3, 6)
    np.testing.assert_allclose(Q @ np.arange(0, 6), [0.0, 0.25, 5.0], rtol=1e-6)
    with pytest.raises(InvalidInputError, match="\\[1, 5\\].*min_score=0"):
        score_distribution([0.5, 3.0])
    with pytest.raises(InvalidParameterError, match="max_score must be greater"):
        score_distribution([1.0], min_score=5, max_score=1)
    with pytest.raises(InvalidParameterError, match="min_score must be an integer"):
        score_distribution([1.0], min_score=0.5)


def _relatedness_data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(n, 6)).astype(np.float32)
    V = (U + rng.normal(scale=rng.uniform(0, 1.5, (n, 1)), size=(n, 6))).astype(np.float32)
    y = np.clip(5 - np.linalg.norm(U - V, axis=1), 1, 5)
    tr, dv, te = slice(0, n // 2), slice(n // 2, 3 * n // 4), slice(3 * n // 4, n)
    return (U[tr], V[tr], y[tr], U[dv], V[dv], y[dv], U[te], V[te], y[te])


def test_relatedness_learns_is_deterministic_and_leaves_torch_alone() -> None:
    import torch

    data = _relatedness_data(600, 0)
    rng_before = torch.random.get_rng_state().clone()
    threads_before = torch.get_num_threads()
    a = evaluate_relatedness(*data, epochs_per_check=25, epochs=300, random_state=3)
    assert torch.equal(torch.random.get_rng_state(), rng_before)
    assert torch.get_num_threads() == threads_before
    b = evaluate_relatedness(*data, epochs_per_check=25, epochs=300, random_state=3)
    assert a == b
    assert a["pearson"] > 80 and a["main_score"] == a["pearson"]
    assert 0 < a["dev_pearson"] <= 100 and a["spearman"] > 70
    assert a["n_epochs"] % 25 == 0 and a["n_epochs"] <= 325
    assert (a["n_train"], a["n_dev"], a["n_test"]) == (300, 150, 150)
    c = evaluate_relatedness(*data, epochs_per_check=25, epochs=300, random_state=4)
    assert c["pearson"] != a["pearson"]  # the seed matters


def test_relatedness_with_user_regressor_matches_direct_sklearn() -> None:
    data = _relatedness_data(200, 1)
    user = Ridge(alpha=2.0)
    s = evaluate_relatedness(*data, estimator=user)
    assert not hasattr(user, "coef_") and user.alpha == 2.0
    Ftr = pair_features(data[0], data[1], features="senteval")
    Fte = pair_features(data[6], data[7], features="senteval")
    pred = Ridge(alpha=2.0).fit(Ftr, data[2]).predict(Fte)
    assert s["pearson"] == pytest.approx(100 * stats.pearsonr(pred, data[8])[0], abs=1e-4)
    assert s["mse"] == pytest.approx(float(np.mean((pred - data[8]) ** 2)), rel=1e-5)
    assert s["n_epochs"] is None and s["head"] == "custom:Ridge"


def test_relatedness_rejects_bad_input() -> None:
    data = list(_relatedness_data(40, 2))
    bad = list(data)
    bad[2] = data[2] - 1.0  # train scores below 1
    with pytest.raises(InvalidInputError, match="scores must lie in"):
        evaluate_relatedness(*bad, epochs=1, epochs_per_check=1)
    bad = list(data)
    bad[5] = np.full(10, 3.0)  # constant dev scores
    with pytest.raises(InvalidInputError, match="y_dev needs at least 2 pairs with different"):
        evaluate_relatedness(*bad)
    bad = list(data)
    bad[6] = data[6][:, :3]
    with pytest.raises(InvalidInputError, match="test pairs: U and V must have the same shape"):
        evaluate_relatedness(*bad)
    with pytest.raises(InvalidParameterError, match="learning_rate must be a finite number > 0"):
        evaluate_relatedness(*data, learning_rate=0.0)
    with pytest.raises(InvalidParameterError, match="batch_size must be an int >= 1"):
        evaluate_relatedness(*data, batch_size=0)


def test_relatedness_epoch_budget_follows_senteval_loop() -> None:
    # SentEval loops `while nepoch <= maxepoch`, training a whole chunk each time:
    # epochs=0 still trains one chunk, epochs=10 with chunks of 5 allows 3.
    data = _relatedness_data(80, 4)
    one = evaluate_relatedness(*data, epochs_per_check=5, epochs=0, random_state=0)
    assert one["n_epochs"] == 5
    three = evaluate_relatedness(*data, epochs_per_check=5, epochs=10, random_state=0, patience=99)
    assert three["n_epochs"] == 15
