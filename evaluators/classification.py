"""Classification of sentence embeddings with SentEval's protocols.

Three protocols, each a port of a class in SentEval's ``senteval/tools/validation.py``
(facebookresearch/SentEval), with scikit-learn doing the cross-validation and the
logistic regression:

``evaluate_classification_cv(X, y)`` -- SentEval's ``InnerKFoldClassifier``, used for
    MR, CR, SUBJ and MPQA (datasets without a split). Outer
    ``StratifiedKFold(n_folds, shuffle=True, random_state=random_state)``; inside
    each outer training part an inner ``StratifiedKFold(n_folds, shuffle=True,
    random_state=random_state)`` scores every C in ``2**t for t in range(-2, 4)``
    (0.25 ... 8); the C with the best mean inner accuracy (rounded, as a percentage,
    to 2 decimals; ties go to the smaller C) is refitted on the whole outer training
    part and scored on the outer test fold. The result is the mean of the outer-fold
    accuracies. SentEval seeds both splitters with the same number (it hard-codes
    1111, its default seed; here it is ``random_state``, default 1111, so the
    defaults give the same folds). SentEval's ``SE`` engine defaults to ``kfold=5``
    but its examples and the paper use 10; ``n_folds`` defaults to 10.
``evaluate_classification_split(X_train, y_train, X_dev, y_dev, X_test, y_test)`` --
    SentEval's ``SplitClassifier`` (SST, SICK-E, SNLI): each C of the same grid is fit
    on train and scored on dev; the best (same rounding and tie rule) is refitted on
    train and scored on test.
``evaluate_classification_train_test(X_train, y_train, X_test, y_test)`` -- SentEval's
    ``KFoldClassifier`` (TREC, MRPC): C in ``2**t for t in range(-1, 6)`` is chosen by
    ``StratifiedKFold(n_folds, shuffle=True, random_state=random_state)`` on train,
    refitted on all of train, scored on test.

Details checked against SentEval's code: the classifier is
``LogisticRegression(C=C, random_state=random_state)`` with scikit-learn's defaults for
everything else (``max_iter=100``; the solver is today's default ``lbfgs`` -- SentEval
ran on scikit-learn < 0.22 whose default was ``liblinear``, which you get with
``estimator=LogisticRegression(solver="liblinear")``); features are **not**
standardized; the grids and fold seeding are as above.

Differences from SentEval, on purpose: scores are points (percentages, 0-100) but not
rounded to 2 decimals (the rounding is kept where it decides the selected C); every
result also reports F1 (binary F1 of the larger label for two classes, as SentEval's
MRPC does; macro F1 otherwise), the chosen parameters and the sizes.

Example:
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=120, n_features=8, random_state=0)
    >>> scores = evaluate_classification_cv(X, y, n_folds=3, random_state=0)
    >>> scores["main_score"] == scores["accuracy"] and len(scores["C"]) == 3
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator
from sklearn.model_selection import StratifiedKFold

from embeddings.errors import InvalidInputError, renamed_parameters
from evaluators.heads import (
    HeadName,
    HeadSpec,
    check_n_jobs,
    f1_for,
    fit_and_score,
    resolve_head,
    run_parallel,
    select_by_cv,
    select_on_dev,
)
from evaluators.metrics import (
    check_embeddings,
    check_labels,
    check_n_folds,
    check_seed,
    points,
)

__all__ = [
    "CVClassificationScores",
    "ClassificationScores",
    "evaluate_classification_cv",
    "evaluate_classification_split",
    "evaluate_classification_train_test",
]


class CVClassificationScores(TypedDict):
    """Scores of :func:`evaluate_classification_cv` (means over the outer folds)."""

    main_score: float
    accuracy: float
    accuracy_std: float
    f1: float
    f1_average: Literal["binary", "macro"]
    dev_accuracy: float | None
    fold_accuracies: list[float]
    params: list[dict[str, Any]]
    C: list[float] | None
    n_samples: int
    n_folds: int
    n_classes: int
    head: str
    seed: int


class ClassificationScores(TypedDict):
    """Scores of the train/dev/test and train/test protocols (test-set metrics)."""

    main_score: float
    accuracy: float
    f1: float
    f1_average: Literal["binary", "macro"]
    dev_accuracy: float | None
    params: dict[str, Any]
    C: float | None
    selection: Literal["dev", "cv", "none"]
    n_folds: int | None
    n_train: int
    n_dev: int
    n_test: int
    n_classes: int
    head: str
    seed: int


def _c_of(spec: HeadSpec, params: Mapping[str, Any]) -> float | None:
    """The C the fitted estimator used (chosen or fixed), or None if it has none."""
    value = {**spec.estimator.get_params(), **params}.get("C")
    return None if value is None else float(value)


def _points_or_none(value: float | None) -> float | None:
    return None if value is None else points(value)


def _check_same_dim(arrays: Sequence[tuple[str, NDArray[Any]]]) -> None:
    dims = {name: arr.shape[1] for name, arr in arrays}
    if len(set(dims.values())) > 1:
        raise InvalidInputError(
            f"all embedding matrices must have the same number of columns; received {dims}."
        )


def _check_inner_folds(
    y: NDArray[Any], outer: Sequence[tuple[NDArray[Any], NDArray[Any]]], n_folds: int
) -> None:
    for i, (train_idx, _) in enumerate(outer):
        labels, counts = np.unique(y[train_idx], return_counts=True)
        if counts.min() < n_folds:
            label = labels[int(np.argmin(counts))]
            raise InvalidInputError(
                f"the inner {n_folds}-fold selection needs {n_folds} samples of every class "
                f"in each outer training part, but outer fold {i} has {int(counts.min())} "
                f"of class {label!r}. Use a smaller n_folds, pass param_grid={{}} to skip "
                "the selection, or provide more data."
            )


def _outer_fold(
    spec: HeadSpec,
    X: NDArray[Any],
    y: NDArray[Any],
    train_idx: NDArray[Any],
    test_idx: NDArray[Any],
    n_folds: int,
    random_state: int,
    classes: NDArray[Any],
) -> tuple[float, float, dict[str, Any], float | None]:
    X_train, y_train = X[train_idx], y[train_idx]
    params, dev_acc = select_by_cv(
        spec, X_train, y_train, n_folds=n_folds, random_state=random_state
    )
    acc, pred = fit_and_score(spec, params, X_train, y_train, X[test_idx], y[test_idx])
    f1, _ = f1_for(y[test_idx], pred, classes)
    return points(acc), points(f1), params, _points_or_none(dev_acc)


@renamed_parameters(seed="random_state")
def evaluate_classification_cv(
    X: ArrayLike,
    y: ArrayLike,
    *,
    n_folds: int = 10,
    random_state: int = 1111,
    head: HeadName = "logreg",
    estimator: BaseEstimator | None = None,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    n_jobs: int | None = None,
) -> CVClassificationScores:
    """Nested stratified k-fold classification (SentEval's ``InnerKFoldClassifier``).

    Args:
        X: Embeddings, shape ``(n_samples, dim)``, finite.
        y: Class labels, shape ``(n_samples,)``, at least two classes, each with at
            least ``n_folds`` members.
        n_folds: Folds of both the outer evaluation and the inner C selection.
        random_state: Seeds both fold splitters and the estimator.
        head: ``"logreg"`` (SentEval's) or ``"mlp"``; see :mod:`evaluators.heads`.
        estimator: Your own unfitted scikit-learn classifier; it is cloned for every
            fit and never changed.
        param_grid: Candidates for the inner selection; ``None`` is the head's grid,
            ``{}`` fits without selection.
        n_jobs: Outer folds run in parallel with joblib (``-1``: all cores). The
            result does not depend on it.

    Returns:
        :class:`CVClassificationScores` in points (0-100); ``main_score`` is the mean
        test accuracy.

    Raises:
        InvalidInputError: Bad arrays, mismatched lengths, a single class, or a class
            with fewer members than the folds need.
        InvalidParameterError: Bad ``n_folds``, ``random_state``, ``head``,
            ``estimator``, ``param_grid`` or ``n_jobs``.

    Example:
        >>> from sklearn.datasets import make_classification
        >>> X, y = make_classification(n_samples=100, n_features=5, random_state=1)
        >>> s = evaluate_classification_cv(X, y, n_folds=3, random_state=7)
        >>> 50.0 < s["accuracy"] <= 100.0, s["n_folds"], s["seed"]
        (True, 3, 7)
    """
    X_arr = check_embeddings(X, name="X", allow_sparse=True)
    y_arr = check_labels(y, n_samples=X_arr.shape[0], name="y")
    n_folds = check_n_folds(n_folds, y_arr)
    random_state = check_seed(random_state)
    n_jobs = check_n_jobs(n_jobs)
    spec = resolve_head(
        head,
        estimator=estimator,
        param_grid=param_grid,
        random_state=random_state,
        protocol="inner_cv",
    )
    classes = np.unique(y_arr)
    outer = list(
        StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state).split(
            X_arr, y_arr
        )
    )
    if spec.tuned:
        _check_inner_folds(y_arr, outer, n_folds)
    jobs = [(spec, X_arr, y_arr, tr, te, n_folds, random_state, classes) for tr, te in outer]
    results = run_parallel(_outer_fold, jobs, n_jobs)
    accs = [r[0] for r in results]
    dev_accs = [r[3] for r in results]
    params = [r[2] for r in results]
    c_values = [_c_of(spec, p) for p in params]
    c_list = [c for c in c_values if c is not None]
    dev_values = [d for d in dev_accs if d is not None]
    return {
        "main_score": float(np.mean(accs)),
        "accuracy": float(np.mean(accs)),
        "accuracy_std": float(np.std(accs)),
        "f1": float(np.mean([r[1] for r in results])),
        "f1_average": "binary" if classes.size == 2 else "macro",
        "dev_accuracy": None if not dev_values else float(np.mean(dev_values)),
        "fold_accuracies": [float(a) for a in accs],
        "params": params,
        "C": c_list if len(c_list) == len(c_values) else None,
        "n_samples": int(X_arr.shape[0]),
        "n_folds": n_folds,
        "n_classes": int(classes.size),
        "head": spec.name,
        "seed": random_state,
    }


def _test_scores(
    spec: HeadSpec,
    params: dict[str, Any],
    dev_acc: float | None,
    X_train: NDArray[Any],
    y_train: NDArray[Any],
    X_test: NDArray[Any],
    y_test: NDArray[Any],
    *,
    selection: Literal["dev", "cv", "none"],
    n_folds: int | None,
    n_dev: int,
    random_state: int,
) -> ClassificationScores:
    acc, pred = fit_and_score(spec, params, X_train, y_train, X_test, y_test)
    classes = np.unique(np.concatenate([y_train, y_test]))
    f1, average = f1_for(y_test, pred, classes)
    return {
        "main_score": points(acc),
        "accuracy": points(acc),
        "f1": points(f1),
        "f1_average": average,
        "dev_accuracy": _points_or_none(dev_acc),
        "params": params,
        "C": _c_of(spec, params),
        "selection": selection,
        "n_folds": n_folds,
        "n_train": int(X_train.shape[0]),
        "n_dev": n_dev,
        "n_test": int(X_test.shape[0]),
        "n_classes": int(np.unique(y_train).size),
        "head": spec.name,
        "seed": random_state,
    }


@renamed_parameters(seed="random_state")
def evaluate_classification_split(
    X_train: ArrayLike,
    y_train: ArrayLike,
    X_dev: ArrayLike,
    y_dev: ArrayLike,
    X_test: ArrayLike,
    y_test: ArrayLike,
    *,
    random_state: int = 1111,
    head: HeadName = "logreg",
    estimator: BaseEstimator | None = None,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    n_jobs: int | None = None,
) -> ClassificationScores:
    """Train/dev/test classification (SentEval's ``SplitClassifier``).

    Each candidate (C in 0.25 ... 8 for ``"logreg"``) is fitted on train and scored on
    dev; the best is refitted on train and scored on test. The dev and test sets are
    never used for fitting.

    Args:
        X_train: Training embeddings ``(n_train, dim)``.
        y_train: Training labels, at least two classes.
        X_dev: Development embeddings ``(n_dev, dim)``, for the selection only.
        y_dev: Development labels.
        X_test: Test embeddings ``(n_test, dim)``.
        y_test: Test labels.
        random_state: Seeds the estimator.
        head: ``"logreg"`` or ``"mlp"``.
        estimator: Your own unfitted classifier (cloned, never changed).
        param_grid: Candidates; ``None`` is the head's grid, ``{}`` no selection.
        n_jobs: Candidates are fitted in parallel with joblib.

    Returns:
        :class:`ClassificationScores` on the test set, in points (0-100);
        ``main_score`` is accuracy.

    Raises:
        InvalidInputError: Bad arrays, mismatched lengths or dims, a single class.
        InvalidParameterError: Bad ``random_state``, ``head``, ``estimator``,
            ``param_grid``, ``n_jobs``.

    Example:
        >>> from sklearn.datasets import make_classification
        >>> X, y = make_classification(n_samples=90, n_features=5, random_state=2)
        >>> s = evaluate_classification_split(X[:50], y[:50], X[50:70], y[50:70],
        ...                                   X[70:], y[70:], random_state=0)
        >>> s["selection"], s["n_train"], s["n_dev"], s["n_test"]
        ('dev', 50, 20, 20)
    """
    Xtr = check_embeddings(X_train, name="X_train", allow_sparse=True)
    ytr = check_labels(y_train, n_samples=Xtr.shape[0], name="y_train")
    Xdv = check_embeddings(X_dev, name="X_dev", allow_sparse=True)
    ydv = check_labels(y_dev, n_samples=Xdv.shape[0], name="y_dev", min_classes=1)
    Xte = check_embeddings(X_test, name="X_test", allow_sparse=True)
    yte = check_labels(y_test, n_samples=Xte.shape[0], name="y_test", min_classes=1)
    _check_same_dim([("X_train", Xtr), ("X_dev", Xdv), ("X_test", Xte)])
    random_state = check_seed(random_state)
    n_jobs = check_n_jobs(n_jobs)
    spec = resolve_head(
        head,
        estimator=estimator,
        param_grid=param_grid,
        random_state=random_state,
        protocol="split",
    )
    params, dev_acc = select_on_dev(spec, Xtr, ytr, Xdv, ydv, n_jobs=n_jobs)
    return _test_scores(
        spec, params, dev_acc, Xtr, ytr, Xte, yte,
        selection="dev" if spec.tuned else "none", n_folds=None,
        n_dev=int(Xdv.shape[0]), random_state=random_state,
    )  # fmt: skip


@renamed_parameters(seed="random_state")
def evaluate_classification_train_test(
    X_train: ArrayLike,
    y_train: ArrayLike,
    X_test: ArrayLike,
    y_test: ArrayLike,
    *,
    n_folds: int = 10,
    random_state: int = 1111,
    head: HeadName = "logreg",
    estimator: BaseEstimator | None = None,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    n_jobs: int | None = None,
) -> ClassificationScores:
    """Train/test classification with k-fold selection on train (``KFoldClassifier``).

    For tasks with a test set but no dev set (TREC, MRPC): each candidate (C in
    0.5 ... 32 for ``"logreg"``, SentEval's grid for this protocol) is scored by
    ``StratifiedKFold(n_folds, shuffle=True, random_state=random_state)`` on train; the
    best is refitted on all of train and scored on test.

    Args:
        X_train: Training embeddings ``(n_train, dim)``.
        y_train: Training labels; each class needs ``n_folds`` members.
        X_test: Test embeddings ``(n_test, dim)``.
        y_test: Test labels.
        n_folds: Folds of the selection.
        random_state: Seeds the fold splitter and the estimator.
        head: ``"logreg"`` or ``"mlp"``.
        estimator: Your own unfitted classifier (cloned, never changed).
        param_grid: Candidates; ``None`` is the head's grid, ``{}`` no selection.
        n_jobs: Candidate-fold fits run in parallel with joblib.

    Returns:
        :class:`ClassificationScores` on the test set, in points (0-100).

    Raises:
        InvalidInputError: Bad arrays, mismatched lengths or dims, a single class.
        InvalidParameterError: Bad ``n_folds``, ``random_state``, ``head``,
            ``estimator``, ``param_grid``, ``n_jobs``.

    Example:
        >>> from sklearn.datasets import make_classification
        >>> X, y = make_classification(n_samples=80, n_features=5, random_state=3)
        >>> s = evaluate_classification_train_test(X[:60], y[:60], X[60:], y[60:], n_folds=3)
        >>> s["selection"], s["C"] in [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
        ('cv', True)
    """
    Xtr = check_embeddings(X_train, name="X_train", allow_sparse=True)
    ytr = check_labels(y_train, n_samples=Xtr.shape[0], name="y_train")
    Xte = check_embeddings(X_test, name="X_test", allow_sparse=True)
    yte = check_labels(y_test, n_samples=Xte.shape[0], name="y_test", min_classes=1)
    _check_same_dim([("X_train", Xtr), ("X_test", Xte)])
    n_folds = check_n_folds(n_folds, ytr)
    random_state = check_seed(random_state)
    n_jobs = check_n_jobs(n_jobs)
    spec = resolve_head(
        head,
        estimator=estimator,
        param_grid=param_grid,
        random_state=random_state,
        protocol="kfold",
    )
    params, dev_acc = select_by_cv(
        spec, Xtr, ytr, n_folds=n_folds, random_state=random_state, n_jobs=n_jobs
    )
    return _test_scores(
        spec, params, dev_acc, Xtr, ytr, Xte, yte,
        selection="cv" if spec.tuned else "none", n_folds=n_folds if spec.tuned else None,
        n_dev=0, random_state=random_state,
    )  # fmt: skip
