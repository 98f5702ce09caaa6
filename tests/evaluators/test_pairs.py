"""Pair features and the pair protocols."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from evaluators.classification import (
    evaluate_classification_split,
    evaluate_classification_train_test,
)
from evaluators.pairs import evaluate_pairs_split, evaluate_pairs_train_test, pair_features


def _pairs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    U = rng.normal(size=(n, 5)).astype(np.float32)
    noise = rng.uniform(0.1, 1.5, size=(n, 1))
    V = (U + noise * rng.normal(size=(n, 5))).astype(np.float32)
    y = (noise[:, 0] < 0.8).astype(int)  # paraphrase when the noise is small
    return U, V, y


def test_pair_features_by_hand() -> None:
    U = np.array([[1.0, -2.0], [0.5, 0.0]])
    V = np.array([[3.0, 1.0], [0.5, 4.0]])
    expected = np.array(
        [
            [1.0, -2.0, 3.0, 1.0, 2.0, 3.0, 3.0, -2.0],
            [0.5, 0.0, 0.5, 4.0, 0.0, 4.0, 0.25, 0.0],
        ]
    )
    np.testing.assert_array_equal(pair_features(U, V), expected)
    np.testing.assert_array_equal(pair_features(U, V, features="senteval"), expected[:, 4:])


def test_pair_features_dtype_and_symmetry() -> None:
    U, V, _ = _pairs(10, 0)
    F = pair_features(U, V)
    assert F.dtype == np.float32 and F.shape == (10, 20) and F.flags.c_contiguous
    assert pair_features(U.astype(np.float64), V).dtype == np.float64
    assert pair_features(U.astype(np.int64), V.astype(np.int64)).dtype == np.float64
    # |u-v| and u*v do not depend on the order of the pair; u and v swap places
    G = pair_features(V, U)
    np.testing.assert_array_equal(F[:, 10:], G[:, 10:])
    np.testing.assert_array_equal(F[:, :5], G[:, 5:10])


def test_pairs_split_equals_classification_on_features() -> None:
    U, V, y = _pairs(150, 1)
    tr, dv, te = slice(0, 90), slice(90, 120), slice(120, 150)
    result = evaluate_pairs_split(U[tr], V[tr], y[tr], U[dv], V[dv], y[dv], U[te], V[te], y[te])
    F = pair_features(U, V)
    direct = evaluate_classification_split(F[tr], y[tr], F[dv], y[dv], F[te], y[te])
    assert result == direct
    assert result["accuracy"] > 0.6  # better than chance (0.5): learnable from |u-v|


def test_mrpc_protocol_f1_matches_sklearn() -> None:
    U, V, y = _pairs(160, 2)
    result = evaluate_pairs_train_test(
        U[:110], V[:110], y[:110], U[110:], V[110:], y[110:], features="senteval", n_folds=5,
        random_state=4,
    )  # fmt: skip
    F = pair_features(U, V, features="senteval")
    same = evaluate_classification_train_test(
        F[:110], y[:110], F[110:], y[110:], n_folds=5, random_state=4
    )
    assert result == same
    clf = LogisticRegression(C=result["C"], random_state=4).fit(F[:110], y[:110])
    pred = clf.predict(F[110:])
    assert result["accuracy"] == 100 * accuracy_score(y[110:], pred)
    assert result["f1"] == 100 * f1_score(y[110:], pred, pos_label=1)
    assert result["f1_average"] == "binary"


def test_pairs_split_names_the_bad_split() -> None:
    U, V, y = _pairs(30, 3)
    with pytest.raises(TypeError, match="dev pairs: U and V must have the same shape"):
        evaluate_pairs_split(U, V, y, U[:5], V[:4], y[:5], U, V, y)
