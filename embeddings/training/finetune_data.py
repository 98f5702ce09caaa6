"""Fine-tuning's inputs: parameter and label checks, the stratified sampler, batches.

Example:
    >>> from embeddings.training.finetune_data import stratified_subsample
    >>> stratified_subsample([0, 0, 0, 1, 1, 1], 2, random_state=0).size
    2
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence, Set
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embeddings._checks import check_int
from embeddings._texts import refuse_unordered
from embeddings.base import BaseEncoder, validate_texts
from embeddings.errors import InvalidInputError, InvalidParameterError

__all__ = [
    "Init",
    "Unfreeze",
    "check_encoder",
    "check_finetune_params",
    "check_labelled",
    "check_float",
    "check_pairs",
    "check_texts_labels",
    "check_unfreeze",
    "is_pairs",
    "length_batches",
    "stratified_subsample",
    "train_validation",
    "validation_split",
]

Unfreeze = int | Literal["all"]
Init = Literal["pretrained", "random"]

_HOOKS = ("tokenize", "forward", "trainable_layers", "encode")
_LABEL_KINDS = "iubUS"


# ------------------------------------------------------------------ checks
def check_float(
    name: str, value: Any, *, low: float, high: float | None = None, low_ok: bool = False
) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and math.isfinite(float(value)):
        x = float(value)
        if (x > low or (low_ok and x == low)) and (high is None or x < high):
            return x
    left = "[" if low_ok else "("
    bound = f"in {left}{low}, {high})" if high is not None else f"{'>=' if low_ok else '>'} {low}"
    raise InvalidParameterError(f"{name} must be a number {bound}, got {value!r}")


def is_pairs(X: Any) -> bool:
    """Whether ``X`` holds text pairs: an ``(n, 2)`` array, a two-column DataFrame, or
    a sequence whose first item is a tuple or list (``(text_a, text_b)``; any other
    length is then refused by :func:`check_pairs` with the row it found).

    Example:
        >>> is_pairs([("a cat", "a kitten")]), is_pairs(["a cat"])
        (True, False)
    """
    if isinstance(X, (str, bytes)):
        return False
    if isinstance(X, np.ndarray):
        return X.ndim == 2 and X.shape[1] == 2
    columns = getattr(X, "columns", None)
    if columns is not None and hasattr(X, "itertuples"):
        return len(columns) == 2
    if isinstance(X, Set) and X:
        first: Any = next(iter(X))
    else:
        try:
            first = X.iloc[0] if hasattr(X, "iloc") else X[0]
        except (TypeError, IndexError, KeyError):
            return False
    return isinstance(first, (tuple, list))  # a tuple of another length: check_pairs says so


def check_pairs(X: Any, what: str = "pairs") -> list[tuple[str, str]]:
    """``X`` as a list of ``(text_a, text_b)`` string pairs (see :func:`is_pairs`).

    Raises:
        InvalidInputError: naming the first row that is not a pair of two strings.

    Example:
        >>> check_pairs(np.array([["a cat", "a kitten"]]))
        [('a cat', 'a kitten')]
    """
    refuse_unordered(X, what=what, kind="(text_a, text_b) pairs", item="pair")
    if isinstance(X, (str, bytes)) or not hasattr(X, "__iter__"):
        raise InvalidInputError(
            f"{what} must be a sequence of (text_a, text_b) pairs, got {type(X).__name__}"
        )
    rows = list(X.itertuples(index=False)) if hasattr(X, "itertuples") else list(X)
    for i, row in enumerate(rows):
        if (isinstance(row, (str, bytes)) or not isinstance(row, (tuple, list, np.ndarray))
                or len(row) != 2):  # fmt: skip
            raise InvalidInputError(
                f"{what} must be (text_a, text_b) pairs; item {i} is "
                f"{type(row).__name__} {str(row)[:40]!r}"
            )
    a = validate_texts([r[0] for r in rows], what=f"{what} (first texts)")
    b = validate_texts([r[1] for r in rows], what=f"{what} (second texts)")
    return [(str(x), str(y)) for x, y in zip(a, b, strict=True)]  # np.str_ -> str


def check_texts_labels(
    texts: Any, labels: Any, what: str, *, pairs: bool = False
) -> tuple[list[Any], NDArray[Any]]:
    """``(texts, labels)`` checked: one label (int or str) per text (or per pair)."""
    texts_list: list[Any] = (
        check_pairs(texts, f"{what}_texts")
        if pairs
        else validate_texts(texts, what=f"{what}_texts")
    )
    unit = "pair" if pairs else "text"
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != len(texts_list):
        raise InvalidInputError(
            f"{what}_labels must be one label per {unit}: got shape {y.shape} for "
            f"{len(texts_list)} {unit}s"
        )
    if y.size == 0:  # nothing to check; an empty set is refused where it matters
        return texts_list, y.astype(np.int64)
    if y.dtype.kind == "U" and not isinstance(labels, np.ndarray):
        odd = next((v for v in labels if not isinstance(v, str)), None)
        if odd is not None:
            raise InvalidInputError(
                f"{what}_labels mixes strings and {type(odd).__name__} values (e.g. "
                f"{odd!r}), which would silently become strings; use one type"
            )
    if y.dtype.kind not in _LABEL_KINDS:
        raise InvalidInputError(
            f"{what}_labels must be integers or strings, got dtype {y.dtype}; convert "
            "class names or ids to one type"
        )
    return texts_list, y


def check_unfreeze(unfreeze: Any, n_layers: int) -> Unfreeze:
    if unfreeze == "all" and isinstance(unfreeze, str):
        return "all"
    if isinstance(unfreeze, bool) or not isinstance(unfreeze, (int, np.integer)):
        raise InvalidParameterError(
            f"unfreeze must be an int in [0, {n_layers}] or 'all', got {unfreeze!r}"
        )
    if not 0 <= int(unfreeze) <= n_layers:
        raise InvalidParameterError(
            f"unfreeze={unfreeze} is out of range: the encoder has {n_layers} layers; use "
            f"0..{n_layers} (top layers to train) or 'all' (embeddings too)"
        )
    return int(unfreeze)


def check_encoder(encoder: Any) -> None:
    if isinstance(encoder, (str, os.PathLike)):
        return
    missing = [h for h in _HOOKS if not callable(getattr(encoder, h, None))]
    if missing or not isinstance(encoder, BaseEncoder):
        lacks = f"it lacks {missing}" if missing else "it is not a BaseEncoder"
        raise InvalidParameterError(
            f"{type(encoder).__name__} cannot be fine-tuned: {lacks}. Fine-tuning needs a "
            "torch encoder with tokenize(), forward() and trainable_layers(), such as "
            "embeddings.load('minilm-l6') or a trained Quick-Thought encoder, or its preset "
            "name or saved folder"
        )


def stratified_subsample(
    labels: ArrayLike, size: int | None, random_state: int = 0
) -> NDArray[np.int64]:
    """Sorted indices of a seeded, stratified subsample of ``size`` rows.

    Each class keeps a share proportional to its size (largest remainder), and at
    least one row while ``size`` allows, so tiny samples still see every class.

    Args:
        labels: class label per row.
        size: rows to keep; ``None`` or ``>= len(labels)`` keeps all.
        random_state: seed of :func:`numpy.random.default_rng`.

    Example:
        >>> stratified_subsample([0, 0, 0, 0, 1, 1], 3, random_state=0).size
        3
    """
    y = np.asarray(labels)
    n = int(y.shape[0])
    if size is None or size >= n:
        return np.arange(n, dtype=np.int64)
    size = check_int("size", size, 1)
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    exact = counts * (size / n)
    quota = np.floor(exact).astype(np.int64)
    if size >= classes.size:
        quota = np.maximum(quota, 1)
    while quota.sum() > size:  # the minimum of one row overshot: take from the largest
        quota[int(np.argmax(quota))] -= 1
    remainder = size - int(quota.sum())
    if remainder:
        order = np.argsort(-(exact - quota), kind="stable")
        quota[order[:remainder]] += 1
    rng = np.random.default_rng(random_state)
    picks = [
        rng.choice(np.flatnonzero(inverse == c), size=int(q), replace=False)
        for c, q in enumerate(quota)
    ]
    return np.sort(np.concatenate(picks)).astype(np.int64)


def validation_split(
    y: NDArray[Any], fraction: float, random_state: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    n = int(y.shape[0])
    if fraction == 0:  # no validation: every text trains, every epoch runs
        return np.arange(n, dtype=np.int64), np.zeros(0, dtype=np.int64)
    n_val = max(1, round(n * fraction))
    if n_val >= n:
        raise InvalidInputError(
            f"cannot carve a validation split from {n} training texts; pass more texts or "
            "dev_texts/dev_labels"
        )
    val = stratified_subsample(y, n_val, random_state)
    mask = np.ones(n, dtype=bool)
    mask[val] = False
    return np.flatnonzero(mask).astype(np.int64), val


def length_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator
) -> list[NDArray[np.int64]]:
    """Shuffled batches of similar length: shuffle, sort inside chunks, shuffle batches."""
    perm = rng.permutation(len(lengths))
    chunk = batch_size * 32
    batches: list[NDArray[np.int64]] = []
    for start in range(0, perm.size, chunk):
        part = perm[start : start + chunk]
        part = part[np.argsort([-lengths[i] for i in part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, part.size, batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def check_finetune_params(est: Any) -> None:
    """Validate the hyper-parameters of a :class:`FineTunedEncoder`-like ``est``.

    Raises:
        InvalidParameterError: naming the parameter, its value and what is allowed.
    """
    check_encoder(est.base)
    if est.head != "softmax":
        raise InvalidParameterError(f"head must be 'softmax', got {est.head!r}")
    if est.init not in ("pretrained", "random"):
        raise InvalidParameterError(f"init must be 'pretrained' or 'random', got {est.init!r}")
    u = est.unfreeze
    if not (u == "all" and isinstance(u, str)) and (
        isinstance(u, bool) or not isinstance(u, (int, np.integer)) or u < 0
    ):
        raise InvalidParameterError(f"unfreeze must be an int >= 0 or 'all', got {u!r}")
    for name in ("epochs", "patience", "batch_size", "eval_batch_size"):
        check_int(name, getattr(est, name), 1)
    check_int("random_state", est.random_state, 0)
    if est.threads is not None:
        check_int("threads", est.threads, 1)
    check_float("learning_rate", est.learning_rate, low=0.0)
    check_float("head_learning_rate", est.head_learning_rate, low=0.0)
    check_float("weight_decay", est.weight_decay, low=0.0, low_ok=True)
    check_float("validation_fraction", est.validation_fraction, low=0.0, high=1.0, low_ok=True)
    g = est.max_grad_norm
    if g is not None and (
        isinstance(g, bool) or not isinstance(g, (int, float, np.integer, np.floating))
        or not g > 0
    ):  # fmt: skip
        raise InvalidParameterError(
            f"max_grad_norm must be None or a number > 0 (inf: no clipping), got {g!r}"
        )
    if getattr(est, "objective", None) == "contrastive" and est.unfreeze == 0:
        raise InvalidParameterError(
            "objective='contrastive' trains the encoder, but unfreeze=0 freezes all of "
            "it; pass unfreeze=k (the top k layers) or unfreeze='all'"
        )
    if est.init == "random" and est.unfreeze != "all":
        raise InvalidParameterError(
            f"init='random' with unfreeze={est.unfreeze!r} would keep random frozen "
            "layers; use unfreeze='all' to train the network from scratch"
        )


def train_validation(
    texts: list[str],
    y_idx: NDArray[np.int64],
    classes: NDArray[Any],
    dev_texts: Sequence[Any] | None,
    dev_labels: ArrayLike | None,
    *,
    fraction: float,
    random_state: int,
    pairs: bool = False,
) -> tuple[tuple[list[Any], NDArray[Any]], tuple[list[Any], NDArray[Any]], str]:
    """``(train, validation, how the validation set was made)`` as (texts, class ids).

    The validation set is ``dev_texts``/``dev_labels``, else a seeded, stratified
    ``fraction`` of the training texts; ``fraction=0`` gives none (``"none"``).

    Raises:
        InvalidParameterError: only one of ``dev_texts`` and ``dev_labels``.
        InvalidInputError: an empty dev set, or dev labels unseen in training.
    """
    if (dev_texts is None) != (dev_labels is None):
        raise InvalidParameterError("pass both dev_texts and dev_labels, or neither")
    if dev_texts is None:
        tr, va = validation_split(y_idx, fraction, random_state)
        train = ([texts[i] for i in tr], y_idx[tr])
        how = f"split {fraction}" if va.size else "none"
        return train, ([texts[i] for i in va], y_idx[va]), how
    val_texts, y_val = check_texts_labels(dev_texts, dev_labels, "dev", pairs=pairs)
    if not val_texts:
        raise InvalidInputError("dev_texts is empty")
    unseen = sorted(set(np.unique(y_val).tolist()) - set(classes.tolist()))
    if unseen:
        raise InvalidInputError(
            f"dev_labels has classes not seen in training: {unseen!r}; the head can only "
            f"predict {classes.tolist()!r}"
        )
    return (texts, y_idx), (val_texts, np.searchsorted(classes, y_val)), "dev"


def check_labelled(
    texts: Any, labels: ArrayLike | None, owner: str, *, pairs: bool = False
) -> tuple[list[Any], NDArray[np.int64], NDArray[Any]]:
    """``(texts, class id per text, classes)`` of a labelled training set, checked
    (``pairs``: ``(text_a, text_b)`` pairs instead of texts).

    Raises:
        InvalidInputError: no labels, bad texts or labels, fewer than two classes.
    """
    if labels is None:
        raise InvalidInputError(f"{owner}.fit needs labels: fit(texts, labels), one per text")
    texts_list, y = check_texts_labels(texts, labels, "train", pairs=pairs)
    classes, y_idx = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise InvalidInputError(
            f"fine-tuning needs at least two classes in labels, got {classes.tolist()!r}"
        )
    return texts_list, y_idx, classes
