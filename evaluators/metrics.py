"""Metrics and input checks shared by every evaluator.

The evaluators take plain arrays, so every public entry point validates them the
same way, here: embeddings must be finite 2-D numeric arrays, labels and scores
1-D arrays of the same length, and parameters such as ``n_folds`` or ``random_state``
ints in range.  Bad input raises :class:`~embeddings.errors.InvalidInputError`
(arrays) or :class:`~embeddings.errors.InvalidParameterError` (parameters) with
a message that says what was received and what is allowed.

Scores are points, 0-100: a fraction (accuracy, F1, V-measure) or a correlation
times :data:`SCORE_SCALE`, as SentEval's tables and MTEB's leaderboard show them.
Every evaluator returns points; :func:`correlations` does too.  Cosines
(:func:`paired_cosine`) are similarities, not scores, and stay in ``[-1, 1]``.

The metric functions never return NaN silently: a correlation against constant
gold scores raises, and a correlation of constant *predictions* (a degenerate
encoder) is reported as ``0.0`` with a ``UserWarning``, as SentEval's SICK code
maps NaN to 0.

Example:
    >>> import numpy as np
    >>> from evaluators.metrics import paired_cosine, correlations
    >>> U = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> V = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    >>> paired_cosine(U, V).round(3).tolist()
    [1.0, 0.707, 0.0]
    >>> correlations(paired_cosine(U, V), [5.0, 2.5, 0.0])["spearman"]
    100.0
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any, TypedDict

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from embeddings.errors import InvalidInputError, InvalidParameterError, renamed_parameters

__all__ = [
    "SCORE_SCALE",
    "CorrelationScores",
    "check_embeddings",
    "check_labels",
    "check_scores",
    "check_n_folds",
    "check_seed",
    "check_positive_int",
    "paired_cosine",
    "correlations",
    "points",
]

SCORE_SCALE = 100
"""Scores are reported in points: a fraction or a correlation times 100."""


def points(value: float) -> float:
    """A fraction or a correlation (``0.8125``) as points (``81.25``).

    Example:
        >>> points(0.8125)
        81.25
    """
    return float(value) * SCORE_SCALE


class CorrelationScores(TypedDict):
    """Pearson and Spearman correlation of predictions against gold scores, in points."""

    pearson: float
    spearman: float


# ----------------------------------------------------------------------------- checks


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_embeddings(
    X: ArrayLike, *, name: str = "X", min_rows: int = 1, allow_sparse: bool = False
) -> NDArray[Any]:
    """Validate an embedding matrix and return it as a numeric ndarray.

    Args:
        X: A 2-D array of shape ``(n_samples, dim)`` with real, finite values.
        name: The argument's name, used in error messages.
        min_rows: The smallest number of rows accepted.
        allow_sparse: Accept a ``scipy.sparse`` matrix (returned as CSR), for the
            heads that train on sparse features (TF-IDF); otherwise a sparse input
            gets an error that says how to densify it.

    Returns:
        ``X`` as an ndarray (no copy when it already is one). The dtype is kept
        (float32 stays float32); integer and bool arrays are accepted as they are.

    Raises:
        InvalidInputError: If ``X`` is not numeric, not 2-D, has too few rows, zero
            columns, or holds NaN or infinity.

    Example:
        >>> check_embeddings([[0.0, 1.0], [1.0, 0.0]]).shape
        (2, 2)
    """
    sparse = bool(scipy.sparse.issparse(X))
    if sparse:
        if not allow_sparse:
            raise InvalidInputError(
                f"{name} is a scipy.sparse matrix; this evaluator needs a dense array: "
                f"pass {name}.toarray()."
            )
        arr = X.tocsr()  # type: ignore[union-attr]
    else:
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError) as err:  # ragged nested lists
            raise InvalidInputError(
                f"{name} must be a 2-D numeric array (n_samples, dim); could not convert "
                f"{type(X).__name__}: {err}"
            ) from err
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(
            f"{name} must hold real numbers (float or int dtype); received dtype "
            f"{arr.dtype}. Convert it with np.asarray({name}, dtype=np.float32)."
        )
    if arr.ndim != 2:
        raise InvalidInputError(
            f"{name} must be 2-D with shape (n_samples, dim); received ndim={arr.ndim} "
            f"with shape {arr.shape}. Reshape a single vector with {name}.reshape(1, -1)."
        )
    if arr.shape[0] < min_rows:
        raise InvalidInputError(
            f"{name} must have at least {min_rows} row(s); received shape {arr.shape}."
        )
    if arr.shape[1] == 0:
        raise InvalidInputError(
            f"{name} must have at least one column; received shape {arr.shape}."
        )
    if arr.dtype.kind == "f":
        values = arr.data if sparse else arr
        finite = np.isfinite(values)
        if not finite.all():
            if sparse:  # rows of the non-finite stored values
                bad = np.flatnonzero(~finite)
                bad_rows = np.unique(np.searchsorted(arr.indptr, bad, side="right") - 1)
            else:
                bad_rows = np.flatnonzero(~finite.all(axis=1))
            raise InvalidInputError(
                f"{name} contains NaN or infinity in {bad_rows.size} row(s), first at row "
                f"{int(bad_rows[0])}; only finite values are allowed. Check the encoder "
                "output or drop those rows."
            )
    return arr  # type: ignore[no-any-return]


def check_labels(
    y: ArrayLike, *, n_samples: int, name: str = "y", min_classes: int = 2
) -> NDArray[Any]:
    """Validate class labels: 1-D, ``n_samples`` long, no NaN, enough classes.

    Args:
        y: Class labels (ints or strings).
        n_samples: The number of rows of the matching embedding matrix.
        name: The argument's name, used in error messages.
        min_classes: The smallest number of distinct classes accepted.

    Returns:
        ``y`` as a 1-D ndarray.

    Raises:
        InvalidInputError: On a wrong ndim, a length mismatch, NaN labels or too
            few distinct classes.

    Example:
        >>> check_labels([0, 1, 1], n_samples=3).tolist()
        [0, 1, 1]
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise InvalidInputError(
            f"{name} must be 1-D with one label per row; received shape {arr.shape}."
        )
    if arr.shape[0] != n_samples:
        raise InvalidInputError(
            f"{name} has {arr.shape[0]} labels but the embeddings have {n_samples} rows; "
            "they must have the same length."
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InvalidInputError(f"{name} contains NaN or infinity; labels must be finite.")
    if arr.dtype.kind not in "biufUSO":
        raise InvalidInputError(f"{name} must hold ints or strings; received dtype {arr.dtype}.")
    try:
        uniques = np.unique(arr)
    except TypeError as err:  # an object array mixing e.g. str and int
        raise InvalidInputError(
            f"{name} mixes label types that cannot be compared ({err}); use one type, "
            "all ints or all strings."
        ) from err
    n_classes = uniques.size
    if n_classes < min_classes:
        raise InvalidInputError(
            f"{name} must have at least {min_classes} distinct classes; received "
            f"{n_classes} ({_describe(uniques.tolist())})."
        )
    return arr


def check_scores(y: ArrayLike, *, n_samples: int, name: str = "scores") -> NDArray[np.float64]:
    """Validate real-valued scores (gold similarities): 1-D, finite, right length.

    Args:
        y: The scores.
        n_samples: The expected length.
        name: The argument's name, used in error messages.

    Returns:
        The scores as a float64 1-D ndarray.

    Raises:
        InvalidInputError: On non-numeric values, a wrong ndim, a length mismatch or
            NaN/infinity.

    Example:
        >>> check_scores([0.5, 4], n_samples=2).tolist()
        [0.5, 4.0]
    """
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(f"{name} must be real numbers; received dtype {arr.dtype}.")
    if arr.ndim != 1:
        raise InvalidInputError(f"{name} must be 1-D; received shape {arr.shape}.")
    if arr.shape[0] != n_samples:
        raise InvalidInputError(
            f"{name} has {arr.shape[0]} values but the embeddings have {n_samples} rows; "
            "they must have the same length."
        )
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        first = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise InvalidInputError(
            f"{name} contains NaN or infinity (first at index {first}); only finite "
            "values are allowed."
        )
    return arr


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_positive_int(value: Any, *, name: str, minimum: int = 1) -> int:
    """Validate an int parameter that must be at least ``minimum``.

    Example:
        >>> check_positive_int(3, name="n_runs")
        3
    """
    if not _is_int(value) or value < minimum:
        raise InvalidParameterError(
            f"{name} must be an int >= {minimum}; received {_describe(value)}."
        )
    return int(value)


@renamed_parameters(seed="random_state")
def check_seed(random_state: Any, *, name: str = "random_state") -> int:
    """Validate a random seed (``random_state``): an int in ``[0, 2**32 - 1]``.

    Args:
        random_state: The value to check.
        name: How the message names the value.

    Example:
        >>> check_seed(1111)
        1111
    """
    if not _is_int(random_state) or not 0 <= random_state < 2**32:
        raise InvalidParameterError(
            f"{name} must be an int in [0, 2**32 - 1]; received {_describe(random_state)}. "
            "Pass a fixed int such as 1111 (SentEval's default)."
        )
    return int(random_state)


def check_n_folds(n_folds: Any, y: NDArray[Any]) -> int:
    """Validate ``n_folds`` for stratified k-fold over labels ``y``.

    Every class needs at least ``n_folds`` members, so that each fold sees it.

    Example:
        >>> check_n_folds(2, np.array([0, 0, 1, 1]))
        2
    """
    if not _is_int(n_folds) or n_folds < 2:
        raise InvalidParameterError(f"n_folds must be an int >= 2; received {_describe(n_folds)}.")
    classes, counts = np.unique(y, return_counts=True)
    smallest = int(counts.min())
    if n_folds > smallest:
        label = classes[int(np.argmin(counts))]
        raise InvalidInputError(
            f"n_folds={n_folds} needs at least {n_folds} samples of every class, but "
            f"class {_describe(label.item() if hasattr(label, 'item') else label)} has "
            f"{smallest}. Use n_folds <= {smallest} or more data."
        )
    return int(n_folds)


# ----------------------------------------------------------------------------- metrics


def paired_cosine(U: ArrayLike, V: ArrayLike) -> NDArray[np.float64]:
    """Cosine similarity of each row of ``U`` with the same row of ``V``.

    A zero vector has cosine ``0.0`` with everything (SentEval applies
    ``nan_to_num`` to the same effect), so the result never holds NaN.

    Args:
        U: Embeddings of the first sentences, shape ``(n, dim)``.
        V: Embeddings of the second sentences, same shape.

    Returns:
        A float64 array of shape ``(n,)``.

    Raises:
        InvalidInputError: If the arrays are invalid or their shapes differ.

    Example:
        >>> paired_cosine([[1.0, 0.0]], [[0.0, 2.0]]).tolist()
        [0.0]
    """
    u = check_embeddings(U, name="U").astype(np.float64)
    v = check_embeddings(V, name="V").astype(np.float64)
    if u.shape != v.shape:
        raise InvalidInputError(
            f"U and V must have the same shape; received {u.shape} and {v.shape}."
        )
    dots = np.einsum("ij,ij->i", u, v)
    norms = np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1)
    out = np.zeros_like(dots)
    nonzero = norms > 0
    out[nonzero] = dots[nonzero] / norms[nonzero]
    return np.clip(out, -1.0, 1.0)


def correlations(predicted: ArrayLike, gold: ArrayLike) -> CorrelationScores:
    """Pearson and Spearman correlation (scipy.stats) of predictions with gold scores.

    Args:
        predicted: System scores, 1-D.
        gold: Gold scores, 1-D, same length, at least two distinct values.

    Returns:
        ``{"pearson": 100 * r, "spearman": 100 * rho}`` as Python floats (points).

    Raises:
        InvalidInputError: On fewer than 2 pairs, a length mismatch, NaN, or
            constant gold scores (the correlation is undefined).

    Warns:
        UserWarning: If the predictions are constant (up to float rounding, relative
            range below 1e-12); both correlations are then reported as ``0.0``.

    Example:
        >>> correlations([0.1, 0.2, 0.9], [1.0, 2.0, 3.0])["spearman"]
        100.0
    """
    gold_arr = np.asarray(gold)
    n_gold = gold_arr.shape[0] if gold_arr.ndim == 1 else -1  # a wrong ndim raises below
    g = check_scores(gold_arr, n_samples=n_gold, name="gold")
    p = check_scores(predicted, n_samples=g.shape[0], name="predicted")
    if g.shape[0] < 2:
        raise InvalidInputError(f"correlations need at least 2 pairs; received {g.shape[0]}.")
    if np.ptp(g) == 0:
        raise InvalidInputError(
            f"gold scores are all equal ({g[0]!r}); Pearson and Spearman correlations are "
            "undefined. Check that the right score column was loaded."
        )
    if np.ptp(p) <= 1e-12 * max(1.0, float(np.abs(p).max())):  # constant up to rounding
        warnings.warn(
            "predicted scores are constant (a degenerate encoder?); their correlation "
            "with the gold scores is undefined and is reported as 0.0.",
            UserWarning,
            stacklevel=2,
        )
        return {"pearson": 0.0, "spearman": 0.0}
    pearson = points(stats.pearsonr(p, g)[0])
    spearman = points(stats.spearmanr(p, g)[0])
    return {"pearson": pearson, "spearman": spearman}


def as_float_list(values: Sequence[float] | NDArray[Any]) -> list[float]:
    """Convert numbers to a list of Python floats (JSON-friendly).

    Example:
        >>> as_float_list(np.array([1, 2]))
        [1.0, 2.0]
    """
    return [float(v) for v in values]
