"""Downstream heads: which estimator is trained, over which grid, and how it is selected.

A *head* is an unfitted scikit-learn estimator plus a grid of candidate parameters.
The evaluators never fit the estimator they were given: every fit uses a fresh
:func:`sklearn.base.clone`, so a user's estimator is never mutated or shared between
folds.

Built-in heads (``head=``):

* ``"logreg"``: ``LogisticRegression(C=C, random_state=random_state)`` with every other
  parameter at scikit-learn's default, exactly the call in SentEval's
  ``senteval/tools/validation.py``. No feature standardization (SentEval feeds the raw
  embeddings). ``C`` is tuned over ``2**t for t in range(-2, 4)`` (SentEval's grid for
  the inner-k-fold and train/dev/test protocols) or ``2**t for t in range(-1, 6)``
  (SentEval's grid for the train/test k-fold protocol used by MRPC and TREC).
* ``"mlp"``: scikit-learn's ``MLPClassifier`` with one hidden layer of 50 sigmoid units
  (SentEval's MLP uses ``nn.Sigmoid``), Adam, batch size 64, and early stopping on a
  stratified 10 % validation split of the training data, seeded with
  ``random_state=random_state``. SentEval checks dev accuracy every ``epoch_size=4``
  passes and stops after ``tenacity=5`` checks without improvement, for at most
  ``max_epoch=200`` checks; in passes that is a patience of 20 (``n_iter_no_change=20``)
  and at most 800 passes (``max_iter=800``). (A patience of 5 passes stops the sigmoid
  MLP before it has learned anything on small data.) The L2 strength ``alpha`` is tuned
  over SentEval's PyTorch grid ``10**t for t in range(-5, -1)``.
  Why scikit-learn rather than a torch MLP: it is a real estimator (``clone``,
  ``get_params`` and the ``estimator=`` override work the same as for logistic
  regression), it is deterministic given ``random_state`` without touching torch's
  global RNG, and it keeps ``import evaluators`` free of torch. SentEval's own MLP
  stops early on the held-out fold itself; the ``alpha`` values are not on the same
  scale as torch's ``weight_decay``, so MLP numbers are comparable in spirit only.

A user estimator (``estimator=``) replaces the head's default estimator. With
``param_grid=None`` the head's grid is still searched (so
``estimator=LogisticRegression(solver="liblinear")`` reproduces the older SentEval
runs, where liblinear was scikit-learn's default solver); if the estimator lacks the
head's parameter an :class:`~embeddings.errors.InvalidParameterError` says so. Pass
``param_grid={}`` to fit the estimator as it is, or your own grid such as
``{"C": [0.1, 1, 10]}``. When the estimator has a ``random_state`` parameter left at
``None``, the clone gets ``random_state=random_state`` so that results are reproducible.

Model selection follows SentEval: each candidate's mean accuracy is converted to a
percentage rounded to 2 decimals, and the first candidate with the best rounded
score wins (``np.argmax``), so ties go to the candidate listed first.

Example:
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=60, random_state=0)
    >>> spec = resolve_head("logreg", random_state=0)
    >>> [p["C"] for p in spec.candidates]
    [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    >>> params, dev_acc = select_by_cv(spec, X, y, n_folds=3, random_state=0)
    >>> params["C"] in [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    True
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np
from joblib import Parallel, delayed
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import ParameterGrid, StratifiedKFold
from sklearn.neural_network import MLPClassifier

from embeddings.errors import InvalidParameterError, renamed_parameters

__all__ = [
    "HeadName",
    "HeadSpec",
    "LOGREG_C_GRID",
    "LOGREG_C_GRID_KFOLD",
    "MLP_ALPHA_GRID",
    "resolve_head",
    "make_estimator",
    "select_by_cv",
    "select_on_dev",
    "fit_and_score",
    "f1_for",
    "check_n_jobs",
    "quiet_convergence",
    "fit_logreg_selected",
]

HeadName = Literal["logreg", "mlp"]
Protocol = Literal["inner_cv", "split", "kfold"]

#: SentEval's C grid for InnerKFoldClassifier and SplitClassifier: 2**t, t in [-2, 4).
LOGREG_C_GRID: tuple[float, ...] = tuple(2.0**t for t in range(-2, 4))
#: SentEval's C grid for KFoldClassifier (train/test tasks such as MRPC, TREC).
LOGREG_C_GRID_KFOLD: tuple[float, ...] = tuple(2.0**t for t in range(-1, 6))
#: SentEval's L2 grid for its PyTorch MLP: 10**t, t in [-5, -1).
MLP_ALPHA_GRID: tuple[float, ...] = tuple(10.0**t for t in range(-5, -1))

_HEADS: tuple[str, ...] = ("logreg", "mlp")

T = TypeVar("T")


@dataclass(frozen=True)
class HeadSpec:
    """An unfitted estimator prototype and the ordered candidates to select from.

    Attributes:
        name: ``"logreg"``, ``"mlp"``, or ``"custom:<ClassName>"`` for a user estimator.
        estimator: The prototype. It is only ever cloned, never fitted.
        candidates: Parameter dicts tried in this order (``({},)`` means no search).
    """

    name: str
    estimator: BaseEstimator
    candidates: tuple[dict[str, Any], ...]

    @property
    def tuned(self) -> bool:
        """Whether there is more than one candidate (or any tuned parameter)."""
        return len(self.candidates) > 1 or bool(self.candidates[0])


def _default_estimator(head: str, random_state: int) -> BaseEstimator:
    if head == "logreg":
        return LogisticRegression(random_state=random_state)
    return MLPClassifier(
        hidden_layer_sizes=(50,),
        activation="logistic",
        solver="adam",
        batch_size=64,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        max_iter=800,
        random_state=random_state,
    )


def _default_grid(head: str, protocol: Protocol) -> dict[str, Sequence[Any]]:
    if head == "logreg":
        return {"C": LOGREG_C_GRID_KFOLD if protocol == "kfold" else LOGREG_C_GRID}
    return {"alpha": MLP_ALPHA_GRID}


def _candidates(grid: Mapping[str, Sequence[Any]]) -> tuple[dict[str, Any], ...]:
    if not isinstance(grid, Mapping):
        raise InvalidParameterError(
            "param_grid must be a dict mapping parameter names to lists of values, such "
            f"as {{'C': [0.5, 1.0]}}, or {{}} for no search; received "
            f"{type(grid).__name__}."
        )
    lists: dict[str, list[Any]] = {}
    for key, values in grid.items():
        if isinstance(values, str) or not isinstance(values, Iterable):
            raise InvalidParameterError(
                f"param_grid[{key!r}] must be a non-empty list of values; received {values!r}."
            )
        lists[key] = list(values)  # a generator is read once, here
        if not lists[key]:
            raise InvalidParameterError(f"param_grid[{key!r}] is empty; give at least one value.")
    if len(lists) <= 1:  # keep the user's order for a single parameter
        if not lists:
            return ({},)
        ((key, values),) = lists.items()
        return tuple({key: v} for v in values)
    return tuple(dict(p) for p in ParameterGrid(lists))


@renamed_parameters(seed="random_state")
def resolve_head(
    head: HeadName = "logreg",
    *,
    estimator: BaseEstimator | None = None,
    param_grid: Mapping[str, Sequence[Any]] | None = None,
    random_state: int = 1111,
    protocol: Protocol = "inner_cv",
) -> HeadSpec:
    """Build the head's estimator prototype and its candidate parameters.

    Args:
        head: ``"logreg"`` or ``"mlp"``; picks the default estimator and grid.
        estimator: An unfitted scikit-learn classifier replacing the default one.
            It is cloned here and later; the object passed in is never changed.
        param_grid: Parameters to select from; ``None`` uses the head's grid,
            ``{}`` disables the search.
        random_state: Seed for the default estimators, and for a user estimator whose
            ``random_state`` is ``None``.
        protocol: ``"kfold"`` picks SentEval's wider C grid for train/test tasks.

    Returns:
        A :class:`HeadSpec`.

    Raises:
        InvalidParameterError: For an unknown head, an object that is not a
            scikit-learn estimator, or a grid naming a parameter the estimator lacks.

    Example:
        >>> spec = resolve_head("mlp", random_state=3)
        >>> spec.estimator.random_state, len(spec.candidates)
        (3, 4)
    """
    if head not in _HEADS:
        raise InvalidParameterError(f"head must be one of {list(_HEADS)}; received {head!r}.")
    name: str = head
    if estimator is None:
        proto = _default_estimator(head, random_state)
    else:
        if not (hasattr(estimator, "get_params") and hasattr(estimator, "fit")):
            raise InvalidParameterError(
                "estimator must be an unfitted scikit-learn estimator (with get_params and "
                f"fit); received {type(estimator).__name__}."
            )
        try:
            proto = clone(estimator)
        except (TypeError, RuntimeError) as err:
            raise InvalidParameterError(
                f"estimator {type(estimator).__name__} cannot be cloned by "
                f"sklearn.base.clone: {err}"
            ) from err
        if not hasattr(proto, "predict"):
            raise InvalidParameterError(
                f"estimator {type(estimator).__name__} has no predict method; a classifier "
                "is required."
            )
        params = proto.get_params()
        if "random_state" in params and params["random_state"] is None:
            proto.set_params(random_state=random_state)
        name = f"custom:{type(estimator).__name__}"
    grid_given = param_grid is not None
    grid = param_grid if param_grid is not None else _default_grid(head, protocol)
    candidates = _candidates(grid)  # validates that grid is a mapping of value lists
    valid = set(proto.get_params(deep=True))
    for key in grid:
        if key not in valid:
            hint = (
                "Pass param_grid={} to fit it as it is, or a grid of its own parameters."
                if not grid_given
                else f"Its parameters are: {sorted(valid)}."
            )
            raise InvalidParameterError(
                f"estimator {type(proto).__name__} has no parameter {key!r} to tune "
                f"(from the {'given' if grid_given else repr(head) + ' head'}'s grid). {hint}"
            )
    return HeadSpec(name=name, estimator=proto, candidates=candidates)


def make_estimator(spec: HeadSpec, params: Mapping[str, Any]) -> BaseEstimator:
    """Return a fresh clone of the head's prototype with ``params`` set.

    Example:
        >>> make_estimator(resolve_head(random_state=0), {"C": 2.0}).C
        2.0
    """
    est = clone(spec.estimator)
    if params:
        est.set_params(**params)
    return est


def check_n_jobs(n_jobs: Any) -> int | None:
    """Validate ``n_jobs``: ``None`` (sequential) or a non-zero int (joblib's meaning).

    Example:
        >>> check_n_jobs(-1)
        -1
    """
    if n_jobs is None:
        return None
    if not isinstance(n_jobs, numbers.Integral) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise InvalidParameterError(
            f"n_jobs must be None or a non-zero int (-1 for all cores); received {n_jobs!r}."
        )
    return int(n_jobs)


def run_parallel(
    func: Callable[..., T], arg_tuples: Sequence[tuple[Any, ...]], n_jobs: int | None
) -> list[T]:
    """Run ``func(*args)`` for each tuple, in order, with joblib when ``n_jobs`` asks."""
    if n_jobs is None or n_jobs == 1 or len(arg_tuples) <= 1:
        return [func(*args) for args in arg_tuples]
    return list(Parallel(n_jobs=n_jobs)(delayed(func)(*args) for args in arg_tuples))


@contextlib.contextmanager
def quiet_convergence() -> Iterator[None]:
    """Silence scikit-learn's ConvergenceWarning inside the block.

    For loops that fit hundreds of heads over a C grid: the large values of C hit
    lbfgs's iteration cap on some folds, and each fold's score already says how well
    the head did.

    Example:
        >>> with quiet_convergence():
        ...     pass
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def fit_logreg_selected(
    X: NDArray[Any],
    y: NDArray[Any],
    *,
    random_state: int,
    max_folds: int = 3,
    targets: Any = None,
) -> tuple[BaseEstimator, float]:
    """Logistic regression with C chosen by a small inner CV, fitted on all of ``X``.

    C comes from :data:`LOGREG_C_GRID` by stratified CV over at most ``max_folds`` folds
    and no more folds than the rarest class of ``y`` has rows; with fewer than 2 such
    folds there is no search and C is 1.  ``targets`` (default ``y``) are the labels the
    final head learns, e.g. the label names of the class ids in ``y``.
    ConvergenceWarnings are silenced (:func:`quiet_convergence`).

    Returns:
        The fitted estimator and its C.

    Example:
        >>> from sklearn.datasets import make_classification
        >>> X, y = make_classification(n_samples=60, random_state=0)
        >>> head, C = fit_logreg_selected(X, y, random_state=0)
        >>> C in LOGREG_C_GRID
        True
    """
    spec = resolve_head("logreg", random_state=random_state)
    counts = np.bincount(np.asarray(y))
    folds = int(min(max_folds, counts[counts > 0].min()))
    params: dict[str, Any] = {"C": 1.0}
    with quiet_convergence():
        if folds >= 2:
            params, _ = select_by_cv(spec, X, y, n_folds=folds, random_state=random_state)
        head = make_estimator(spec, params).fit(X, y if targets is None else targets)
    return head, float(params["C"])


def fit_and_score(
    spec: HeadSpec,
    params: Mapping[str, Any],
    X_train: NDArray[Any],
    y_train: NDArray[Any],
    X_test: NDArray[Any],
    y_test: NDArray[Any],
) -> tuple[float, NDArray[Any]]:
    """Fit a fresh clone on the train part; return test accuracy and predictions.

    Example:
        >>> from sklearn.datasets import make_classification
        >>> X, y = make_classification(n_samples=40, random_state=0)
        >>> acc, _ = fit_and_score(resolve_head(random_state=0), {"C": 1.0}, X, y, X, y)
        >>> 0.5 < acc <= 1.0
        True
    """
    est = make_estimator(spec, params)
    est.fit(X_train, y_train)
    pred = np.asarray(est.predict(X_test))
    return float(accuracy_score(y_test, pred)), pred


def _senteval_pick(mean_accuracies: Sequence[float]) -> int:
    """Index of the best candidate on SentEval's rounded percentage scale."""
    rounded = [round(100.0 * a, 2) for a in mean_accuracies]
    return int(np.argmax(rounded))


@renamed_parameters(seed="random_state")
def select_by_cv(
    spec: HeadSpec,
    X: NDArray[Any],
    y: NDArray[Any],
    *,
    n_folds: int,
    random_state: int,
    n_jobs: int | None = None,
) -> tuple[dict[str, Any], float | None]:
    """Pick the candidate with the best mean accuracy over stratified k folds of (X, y).

    The folds are ``StratifiedKFold(n_folds, shuffle=True, random_state=random_state)``.
    Without a search (a single candidate) nothing is fitted and the accuracy is
    ``None``.

    Returns:
        The chosen parameters and their (unrounded) mean validation accuracy.

    Example:
        >>> from sklearn.datasets import make_classification
        >>> X, y = make_classification(n_samples=60, random_state=0)
        >>> spec = resolve_head(random_state=0)
        >>> params, acc = select_by_cv(spec, X, y, n_folds=3, random_state=0)
        >>> sorted(params)
        ['C']
    """
    if not spec.tuned:
        return dict(spec.candidates[0]), None
    folds = list(
        StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state).split(X, y)
    )
    jobs = [
        (spec, params, X[tr], y[tr], X[te], y[te]) for params in spec.candidates for tr, te in folds
    ]
    accs = [acc for acc, _ in run_parallel(fit_and_score, jobs, n_jobs)]
    means = [
        float(np.mean(accs[i * len(folds) : (i + 1) * len(folds)]))
        for i in range(len(spec.candidates))
    ]
    best = _senteval_pick(means)
    return dict(spec.candidates[best]), means[best]


def select_on_dev(
    spec: HeadSpec,
    X_train: NDArray[Any],
    y_train: NDArray[Any],
    X_dev: NDArray[Any],
    y_dev: NDArray[Any],
    *,
    n_jobs: int | None = None,
) -> tuple[dict[str, Any], float]:
    """Fit every candidate on train, pick the best dev accuracy (SentEval's rounding).

    Returns:
        The chosen parameters and their dev accuracy. Without a search the single
        candidate is still scored on dev.

    Example:
        >>> from sklearn.datasets import make_classification
        >>> X, y = make_classification(n_samples=60, random_state=0)
        >>> spec = resolve_head(random_state=0)
        >>> params, acc = select_on_dev(spec, X[:40], y[:40], X[40:], y[40:])
        >>> 0.0 <= acc <= 1.0
        True
    """
    jobs = [(spec, params, X_train, y_train, X_dev, y_dev) for params in spec.candidates]
    accs = [acc for acc, _ in run_parallel(fit_and_score, jobs, n_jobs)]
    best = _senteval_pick(accs)
    return dict(spec.candidates[best]), accs[best]


def f1_for(
    y_true: NDArray[Any], y_pred: NDArray[Any], classes: NDArray[Any]
) -> tuple[float, Literal["binary", "macro"]]:
    """F1 of the last (largest) class for two classes (MRPC's F1), macro F1 otherwise.

    ``zero_division=0.0``: a class never predicted scores 0, not NaN.

    Example:
        >>> f1_for(np.array([0, 1, 1]), np.array([0, 1, 0]), np.array([0, 1]))
        (0.6666666666666666, 'binary')
    """
    if classes.size == 2:
        value = f1_score(y_true, y_pred, pos_label=classes[-1], average="binary", zero_division=0.0)
        return float(value), "binary"
    value = f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0.0)
    return float(value), "macro"
