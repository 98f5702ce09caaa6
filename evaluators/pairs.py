"""Sentence-pair classification (paraphrase, entailment) on pair features.

A pair of embeddings ``(u, v)`` becomes one feature vector that the classification
heads of :mod:`evaluators.classification` train on:

* ``features="infersent"`` (default): ``[u, v, |u - v|, u * v]``, the combination of
  InferSent (Conneau et al., 2017) and of most later pair classifiers.
* ``features="senteval"``: ``[|u - v|, u * v]``, what SentEval's own code feeds its
  classifier for MRPC and SICK-E (``np.c_[np.abs(A - B), A * B]`` in
  ``senteval/mrpc.py`` and ``senteval/sick.py``). Use it to compare with published
  SentEval numbers.

The features keep the input dtype (float32 stays float32).

Protocols: :func:`evaluate_pairs_split` is SentEval's train/dev/test protocol (SICK-E,
SNLI; report accuracy); :func:`evaluate_pairs_train_test` is SentEval's train/test
protocol with k-fold selection on train (MRPC; report accuracy and F1 of the
positive, larger label).

Example:
    >>> import numpy as np
    >>> U = np.array([[1.0, 2.0]]); V = np.array([[3.0, 0.5]])
    >>> pair_features(U, V).tolist()
    [[1.0, 2.0, 3.0, 0.5, 2.0, 1.5, 3.0, 1.0]]
    >>> pair_features(U, V, features="senteval").tolist()
    [[2.0, 1.5, 3.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator

from embeddings.errors import InvalidInputError, InvalidParameterError, renamed_parameters
from evaluators.classification import (
    ClassificationScores,
    evaluate_classification_split,
    evaluate_classification_train_test,
)
from evaluators.heads import HeadName
from evaluators.metrics import check_embeddings

__all__ = [
    "PairFeatures",
    "pair_features",
    "evaluate_pairs_split",
    "evaluate_pairs_train_test",
]

PairFeatures = Literal["infersent", "senteval"]
_FEATURES: tuple[str, ...] = ("infersent", "senteval")


def pair_features(
    U: ArrayLike, V: ArrayLike, *, features: PairFeatures = "infersent"
) -> NDArray[Any]:
    """Combine paired embeddings into one feature matrix.

    Args:
        U: Embeddings of the first sentences, ``(n, dim)``.
        V: Embeddings of the second sentences, ``(n, dim)``.
        features: ``"infersent"`` gives ``[u, v, |u-v|, u*v]`` (``4 * dim`` columns);
            ``"senteval"`` gives ``[|u-v|, u*v]`` (``2 * dim`` columns).

    Returns:
        An ``(n, 4 * dim)`` or ``(n, 2 * dim)`` array of the inputs' common dtype.

    Raises:
        InvalidInputError: If ``U`` or ``V`` is invalid or their shapes differ.
        InvalidParameterError: For an unknown ``features``.

    Example:
        >>> pair_features(np.ones((3, 4)), np.zeros((3, 4))).shape
        (3, 16)
    """
    if features not in _FEATURES:
        raise InvalidParameterError(
            f"features must be one of {list(_FEATURES)}; received {features!r}."
        )
    u = check_embeddings(U, name="U", allow_sparse=True)
    v = check_embeddings(V, name="V", allow_sparse=True)
    if u.shape != v.shape:
        raise InvalidInputError(
            f"U and V must have the same shape (one row per pair); received {u.shape} "
            f"and {v.shape}."
        )
    dtype = np.result_type(u.dtype, v.dtype, np.float32)
    u = u.astype(dtype, copy=False)
    v = v.astype(dtype, copy=False)
    if sp.issparse(u) or sp.issparse(v):  # TF-IDF: keep the features sparse
        us, vs = sp.csr_matrix(u), sp.csr_matrix(v)
        sparse_parts = [abs(us - vs), us.multiply(vs).tocsr()]
        if features == "infersent":
            sparse_parts = [us, vs, *sparse_parts]
        return sp.hstack(sparse_parts, format="csr")  # type: ignore[no-any-return]
    diff = np.abs(u - v)
    prod = u * v
    parts = [u, v, diff, prod] if features == "infersent" else [diff, prod]
    return np.ascontiguousarray(np.concatenate(parts, axis=1))


@renamed_parameters(seed="random_state")
def evaluate_pairs_split(
    U_train: ArrayLike,
    V_train: ArrayLike,
    y_train: ArrayLike,
    U_dev: ArrayLike,
    V_dev: ArrayLike,
    y_dev: ArrayLike,
    U_test: ArrayLike,
    V_test: ArrayLike,
    y_test: ArrayLike,
    *,
    features: PairFeatures = "infersent",
    random_state: int = 1111,
    head: HeadName = "logreg",
    estimator: BaseEstimator | None = None,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    n_jobs: int | None = None,
) -> ClassificationScores:
    """Pair classification with a train/dev/test split (SICK-E, SNLI).

    Builds :func:`pair_features` for each split and runs
    :func:`~evaluators.classification.evaluate_classification_split` (C chosen on dev,
    refitted on train, scored on test).

    Args:
        U_train: First-sentence embeddings of the training pairs.
        V_train: Second-sentence embeddings of the training pairs.
        y_train: Training labels.
        U_dev: First-sentence embeddings of the dev pairs.
        V_dev: Second-sentence embeddings of the dev pairs.
        y_dev: Dev labels.
        U_test: First-sentence embeddings of the test pairs.
        V_test: Second-sentence embeddings of the test pairs.
        y_test: Test labels.
        features: ``"infersent"`` or ``"senteval"``; see :func:`pair_features`.
        random_state: Seeds the estimator.
        head: ``"logreg"`` or ``"mlp"``.
        estimator: Your own unfitted classifier (cloned, never changed).
        param_grid: Candidates; ``None`` is the head's grid, ``{}`` no selection.
        n_jobs: Candidates are fitted in parallel with joblib.

    Returns:
        :class:`~evaluators.classification.ClassificationScores` in points (0-100);
        ``main_score`` is test accuracy, ``f1`` is binary F1 for two classes, macro
        F1 otherwise.

    Raises:
        InvalidInputError: Bad arrays or mismatched shapes/lengths.
        InvalidParameterError: Bad ``features``, ``random_state``, ``head`` and so on.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> U = rng.normal(size=(90, 4)); V = U + rng.normal(scale=0.5, size=(90, 4))
        >>> y = (np.abs(U - V).sum(axis=1) > 1.6).astype(int)
        >>> s = evaluate_pairs_split(U[:50], V[:50], y[:50], U[50:70], V[50:70], y[50:70],
        ...                          U[70:], V[70:], y[70:], random_state=0)
        >>> s["n_train"], s["n_test"]
        (50, 20)
    """
    return evaluate_classification_split(
        _features(U_train, V_train, features, "train"), y_train,
        _features(U_dev, V_dev, features, "dev"), y_dev,
        _features(U_test, V_test, features, "test"), y_test,
        random_state=random_state, head=head, estimator=estimator, param_grid=param_grid,
        n_jobs=n_jobs,
    )  # fmt: skip


@renamed_parameters(seed="random_state")
def evaluate_pairs_train_test(
    U_train: ArrayLike,
    V_train: ArrayLike,
    y_train: ArrayLike,
    U_test: ArrayLike,
    V_test: ArrayLike,
    y_test: ArrayLike,
    *,
    features: PairFeatures = "infersent",
    n_folds: int = 10,
    random_state: int = 1111,
    head: HeadName = "logreg",
    estimator: BaseEstimator | None = None,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    n_jobs: int | None = None,
) -> ClassificationScores:
    """Pair classification with a train/test split and k-fold selection (MRPC).

    Builds :func:`pair_features` and runs
    :func:`~evaluators.classification.evaluate_classification_train_test` (SentEval's
    ``KFoldClassifier``: C in ``2**t, t in [-1, 6)`` chosen by stratified k-fold on
    train). For MRPC report ``accuracy`` and ``f1`` (F1 of label 1, "paraphrase").

    Args:
        U_train: First-sentence embeddings of the training pairs.
        V_train: Second-sentence embeddings of the training pairs.
        y_train: Training labels.
        U_test: First-sentence embeddings of the test pairs.
        V_test: Second-sentence embeddings of the test pairs.
        y_test: Test labels.
        features: ``"infersent"`` or ``"senteval"``; see :func:`pair_features`.
        n_folds: Folds of the selection on train.
        random_state: Seeds the folds and the estimator.
        head: ``"logreg"`` or ``"mlp"``.
        estimator: Your own unfitted classifier (cloned, never changed).
        param_grid: Candidates; ``None`` is the head's grid, ``{}`` no selection.
        n_jobs: Candidate-fold fits run in parallel with joblib.

    Returns:
        :class:`~evaluators.classification.ClassificationScores` on test, in points.

    Raises:
        InvalidInputError: Bad arrays or mismatched shapes/lengths.
        InvalidParameterError: Bad ``features``, ``n_folds``, ``random_state`` and so
            on.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> U = rng.normal(size=(80, 4)); V = U + rng.normal(scale=0.5, size=(80, 4))
        >>> y = (np.abs(U - V).sum(axis=1) > 1.6).astype(int)
        >>> s = evaluate_pairs_train_test(U[:60], V[:60], y[:60], U[60:], V[60:], y[60:],
        ...                               n_folds=3, random_state=0)
        >>> sorted(k for k in ("accuracy", "f1") if 0.0 <= s[k] <= 100.0)
        ['accuracy', 'f1']
    """
    return evaluate_classification_train_test(
        _features(U_train, V_train, features, "train"), y_train,
        _features(U_test, V_test, features, "test"), y_test,
        n_folds=n_folds, random_state=random_state, head=head, estimator=estimator,
        param_grid=param_grid, n_jobs=n_jobs,
    )  # fmt: skip


def _features(U: ArrayLike, V: ArrayLike, features: PairFeatures, split: str) -> NDArray[Any]:
    try:
        return pair_features(U, V, features=features)
    except InvalidInputError as err:
        raise InvalidInputError(f"{split} pairs: {err}") from err
