"""Bad input and bad parameters raise transferkit errors with helpful messages."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from embeddings.errors import InvalidInputError, InvalidParameterError, TransferkitError
from evaluators.classification import (
    evaluate_classification_cv,
    evaluate_classification_split,
    evaluate_classification_train_test,
)
from evaluators.clustering import evaluate_clustering
from evaluators.metrics import check_embeddings, correlations, paired_cosine
from evaluators.pairs import pair_features

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3))
y = np.array([0, 1] * 20)


@pytest.mark.parametrize(
    ("X_bad", "y_bad", "pattern"),
    [
        (np.where(np.arange(120).reshape(40, 3) == 31, np.nan, X), y, "NaN or infinity.*row 10"),
        (np.where(np.arange(120).reshape(40, 3) == 5, np.inf, X), y, "NaN or infinity.*row 1"),
        (X[:, 0], y, "2-D.*ndim=1"),
        (X[None], y, "2-D.*ndim=3"),
        (X[:, :0], y, "at least one column"),
        (X.astype(str), y, "real numbers.*dtype <U"),
        (X, y[:39], "39 labels but the embeddings have 40 rows"),
        (X, y.reshape(20, 2), "1-D.*shape \\(20, 2\\)"),
        (X, np.zeros(40), "at least 2 distinct classes; received 1"),
        (X, np.where(np.arange(40) == 3, np.nan, y), "labels must be finite"),
        (X, np.array([0, "a"] * 20, dtype=object), "mixes label types"),
    ],
)
def test_bad_arrays_raise_invalid_input(X_bad, y_bad, pattern) -> None:
    with pytest.raises(InvalidInputError, match=pattern) as info:
        evaluate_classification_cv(X_bad, y_bad, n_folds=2)
    assert isinstance(info.value, TransferkitError)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"n_folds": 1}, "n_folds must be an int >= 2; received 1"),
        ({"n_folds": 2.5}, "n_folds must be an int >= 2; received 2.5"),
        ({"n_folds": True}, "n_folds must be an int >= 2; received True"),
        ({"n_folds": "10"}, "n_folds must be an int >= 2"),
        (
            {"random_state": -1},
            "random_state must be an int in \\[0, 2\\*\\*32 - 1\\]; received -1",
        ),
        ({"random_state": 1.5}, "random_state must be an int"),
        ({"random_state": None}, "random_state must be an int"),
        ({"head": "svm"}, "head must be one of \\['logreg', 'mlp'\\]; received 'svm'"),
        ({"n_jobs": 0}, "n_jobs must be None or a non-zero int"),
        ({"estimator": object()}, "scikit-learn estimator.*received object"),
        ({"param_grid": {"C": []}}, "param_grid\\['C'\\] is empty"),
        ({"param_grid": {"C": 1.0}}, "non-empty list of values"),
        ({"param_grid": [1.0, 2.0]}, "must be a dict"),
    ],
)
def test_bad_parameters_raise_invalid_parameter(kwargs, pattern) -> None:
    with pytest.raises(InvalidParameterError, match=pattern):
        evaluate_classification_cv(X, y, **({"n_folds": 2} | kwargs))


def test_too_many_folds_for_the_smallest_class() -> None:
    y_small = np.array([0] * 36 + [1] * 4)
    with pytest.raises(InvalidInputError, match="class 1 has 4.*n_folds <= 4"):
        evaluate_classification_cv(X, y_small, n_folds=5)
    # 5 of class 1 pass the outer check but leave 4 in some outer training parts
    y_five = np.array([0] * 35 + [1] * 5)
    with pytest.raises(InvalidInputError, match="inner 5-fold selection.*outer fold"):
        evaluate_classification_cv(X, y_five, n_folds=5)
    # ... which is fine without an inner selection
    result = evaluate_classification_cv(X, y_five, n_folds=5, param_grid={})
    assert len(result["fold_accuracies"]) == 5


def test_unknown_keyword_raises() -> None:
    with pytest.raises(TypeError, match="folds"):
        evaluate_classification_cv(X, y, folds=3)  # type: ignore[call-arg]


def test_split_checks_every_array_and_dims() -> None:
    with pytest.raises(InvalidInputError, match="X_dev must be 2-D"):
        evaluate_classification_split(X, y, X[0], y[:1], X, y)
    with pytest.raises(InvalidInputError, match="same number of columns.*'X_test': 2"):
        evaluate_classification_split(X, y, X, y, X[:, :2], y)
    with pytest.raises(InvalidInputError, match="y_test has 39 labels"):
        evaluate_classification_split(X, y, X, y, X, y[:39])
    with pytest.raises(InvalidInputError, match="y_train must have at least 2 distinct"):
        evaluate_classification_train_test(X, np.ones(40), X, y)


def test_check_embeddings_keeps_float32_and_rejects_ragged() -> None:
    assert check_embeddings(np.ones((2, 2), dtype=np.float32)).dtype == np.float32
    with pytest.raises(InvalidInputError, match="2-D numeric array"):
        check_embeddings([[1.0, 2.0], [1.0]])
    with pytest.raises(InvalidInputError, match="at least 1 row"):
        check_embeddings(np.zeros((0, 3)))


def test_pair_and_similarity_errors() -> None:
    with pytest.raises(InvalidInputError, match="same shape.*\\(40, 3\\) and \\(39, 3\\)"):
        pair_features(X, X[:39])
    with pytest.raises(InvalidParameterError, match="features must be one of"):
        pair_features(X, X, features="concat")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="same shape"):
        paired_cosine(X, X[:, :2])
    with pytest.raises(InvalidInputError, match="gold scores are all equal"):
        correlations([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    with pytest.raises(InvalidInputError, match="predicted has 2 values"):
        correlations([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(InvalidInputError, match="NaN or infinity.*index 1"):
        correlations([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])


def test_clustering_errors() -> None:
    with pytest.raises(InvalidInputError, match="fewer clusters than samples"):
        evaluate_clustering(X[:4], np.arange(4))
    with pytest.raises(InvalidParameterError, match="n_runs must be an int >= 1; received 0"):
        evaluate_clustering(X, y, n_runs=0)
    with pytest.raises(InvalidParameterError, match="algorithm must be"):
        evaluate_clustering(X, y, algorithm="dbscan")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="the last run's seed.* received 4294967296"):
        evaluate_clustering(X, y, random_state=2**32 - 1, n_runs=2)


def test_errors_are_also_builtin_exceptions() -> None:
    with pytest.raises(ValueError):
        evaluate_classification_cv(X, y, n_folds=0)
    with pytest.raises(TypeError):  # InvalidInputError subclasses TypeError
        evaluate_classification_cv(X, y[:3])
    assert LogisticRegression  # imported for parity with other test modules
