"""Semantic textual similarity: unsupervised cosine scores and a trained relatedness head.

**Unsupervised (STS12-16 style).** :func:`evaluate_similarity` scores each pair by the
cosine of ``u`` and ``v`` (a zero vector scores 0, as SentEval's ``nan_to_num``) and
correlates the scores with the gold scores (``scipy.stats.pearsonr`` and
``spearmanr``). :func:`evaluate_sts` does that for several named subsets, as
SentEval's ``senteval/sts.py`` does for the years' datasets, and reports

* each subset's Pearson and Spearman;
* ``mean``: the unweighted average of the subsets' correlations (SentEval's
  ``mean``);
* ``wmean``: the average weighted by the subsets' numbers of pairs (SentEval's
  ``wmean``, which its log calls "ALL (weighted average)");
* ``all``: the correlations over the concatenation of every subset's scores (the
  "all" setting of the STS shared tasks and of later papers; SentEval does not
  compute it).

**Supervised (SICK-R, STS-B).** :func:`evaluate_relatedness` ports SentEval's
``senteval/tools/relatedness.py`` (``RelatednessPytorch``) with the label encoding
of ``senteval/sick.py`` (``encode_labels``, from Tai, Socher and Manning, 2015):

* features are ``[|u - v|, u * v]`` (``features="senteval"``);
* a gold score ``y`` becomes a distribution ``p`` over the integer scores
  ``min_score .. max_score``: ``p[floor(y)] = floor(y) - y + 1`` and
  ``p[floor(y) + 1] = y - floor(y)``;
* the model is one linear layer and a softmax; the loss is the summed squared error
  between the softmax and ``p`` (``MSELoss`` with ``size_average=False``); Adam with
  learning rate 1e-3 and no weight decay; batches of 64 in a seeded random order;
* the prediction is the expected score ``softmax(x) @ [min_score .. max_score]``;
* training runs in chunks of 50 epochs; after each chunk the Pearson correlation
  on dev is computed; the best model so far is kept; training stops at the 4th
  chunk that does not improve it (SentEval's ``early_stop_count >= 3`` check; the
  count is never reset on an improvement, as in SentEval) or after ``epochs``
  epochs (SentEval's ``maxepoch``: 1000, checked as ``nepoch <= maxepoch``, so at
  most 1050 epochs);
* Pearson, Spearman and MSE of the kept model on test are reported.

Correlations are returned in points (x100, as SentEval's tables print them); the MSE
stays in the units of the gold scores.

SentEval uses ``nclasses=5`` and scores 1..5 for both SICK-R and STS-B, although
STS-B gold scores are 0..5: pass ``min_score=0`` for STS-B to give the score 0 a class
of its own (the default, 1..5, is SICK-R's). Torch is imported only inside
:func:`evaluate_relatedness`; the model is seeded without touching torch's global RNG
state (``torch.random.fork_rng``).

Example:
    >>> import numpy as np
    >>> U = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    >>> V = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    >>> s = evaluate_similarity(U, V, [5.0, 3.0, 0.0])
    >>> s["main_score"] == s["spearman"] == 100.0
    True
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any, Literal, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from sklearn.base import BaseEstimator, clone

from embeddings.errors import InvalidInputError, InvalidParameterError, renamed_parameters
from evaluators.metrics import (
    CorrelationScores,
    check_positive_int,
    check_scores,
    check_seed,
    correlations,
    paired_cosine,
    points,
)
from evaluators.pairs import PairFeatures, pair_features

__all__ = [
    "SimilarityScores",
    "STSScores",
    "RelatednessScores",
    "evaluate_similarity",
    "evaluate_sts",
    "score_distribution",
    "evaluate_relatedness",
]


class SimilarityScores(TypedDict):
    """Correlations of cosine similarities with gold scores, in points (x100)."""

    main_score: float
    spearman: float
    pearson: float
    n_samples: int


class STSScores(TypedDict):
    """Per-subset and aggregated correlations of :func:`evaluate_sts`, in points."""

    main_score: float
    main: Literal["wmean", "mean", "all"]
    subsets: dict[str, SimilarityScores]
    mean: CorrelationScores
    wmean: CorrelationScores
    all: SimilarityScores
    n_samples: int


class RelatednessScores(TypedDict):
    """Test-set scores of the trained relatedness head (correlations in points)."""

    main_score: float
    pearson: float
    spearman: float
    mse: float
    dev_pearson: float
    n_epochs: int | None
    n_train: int
    n_dev: int
    n_test: int
    min_score: int
    max_score: int
    head: str
    seed: int


# ------------------------------------------------------------------ unsupervised STS


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def evaluate_similarity(U: ArrayLike, V: ArrayLike, gold: ArrayLike) -> SimilarityScores:
    """Correlate the cosine of each pair with its gold similarity score.

    Args:
        U: First-sentence embeddings ``(n, dim)``.
        V: Second-sentence embeddings ``(n, dim)``.
        gold: Gold scores ``(n,)``, not all equal.

    Returns:
        :class:`SimilarityScores`; ``main_score`` is Spearman's rho x100.

    Raises:
        InvalidInputError: Bad arrays, mismatched shapes or lengths, constant gold.

    Warns:
        UserWarning: If all cosines are equal (both correlations are then 0.0).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> U = rng.normal(size=(20, 3)); V = rng.normal(size=(20, 3))
        >>> s = evaluate_similarity(U, V, paired_cosine(U, V) * 5)
        >>> round(s["spearman"], 6), s["n_samples"]
        (100.0, 20)
    """
    cos = paired_cosine(U, V)
    gold_arr = check_scores(gold, n_samples=cos.shape[0], name="gold")
    corr = correlations(cos, gold_arr)
    return {
        "main_score": corr["spearman"],
        "spearman": corr["spearman"],
        "pearson": corr["pearson"],
        "n_samples": int(cos.shape[0]),
    }


def evaluate_sts(
    subsets: Mapping[str, tuple[ArrayLike, ArrayLike, ArrayLike]],
    *,
    main: Literal["wmean", "mean", "all"] = "wmean",
) -> STSScores:
    """Cosine STS over named subsets with SentEval's mean, weighted mean, and "all".

    Args:
        subsets: ``{name: (U, V, gold)}``, e.g. STS14's ``"deft-forum"``,
            ``"headlines"`` ... Each subset is validated like
            :func:`evaluate_similarity`.
        main: Which aggregate's Spearman is ``main_score``: ``"wmean"`` (weighted by
            the number of pairs; default), ``"mean"`` or ``"all"`` (concatenation).

    Returns:
        :class:`STSScores`.

    Raises:
        InvalidInputError: No subsets, or a bad subset (the message names it).
        InvalidParameterError: Unknown ``main``.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> def make(n):
        ...     U = rng.normal(size=(n, 4)); V = U + rng.normal(size=(n, 4))
        ...     return U, V, paired_cosine(U, V) + rng.normal(scale=0.3, size=n)
        >>> s = evaluate_sts({"a": make(30), "b": make(10)})
        >>> sorted(s["subsets"]), s["n_samples"]
        (['a', 'b'], 40)
    """
    if main not in ("wmean", "mean", "all"):
        raise InvalidParameterError(
            f"main must be one of ['wmean', 'mean', 'all']; received {main!r}."
        )
    if not isinstance(subsets, Mapping) or len(subsets) == 0:
        raise InvalidInputError(
            "subsets must be a non-empty dict {name: (U, V, gold)}; received "
            f"{type(subsets).__name__} {_short(subsets)}."
        )
    per: dict[str, SimilarityScores] = {}
    all_cos: list[NDArray[np.float64]] = []
    all_gold: list[NDArray[np.float64]] = []
    for name, triple in subsets.items():
        if not isinstance(triple, tuple | list) or len(triple) != 3:
            raise InvalidInputError(
                f"subset {name!r} must be a (U, V, gold) tuple; received {type(triple).__name__}."
            )
        U, V, gold = triple
        try:
            per[str(name)] = evaluate_similarity(U, V, gold)
            cos = paired_cosine(U, V)
        except InvalidInputError as err:
            raise InvalidInputError(f"subset {name!r}: {err}") from err
        all_cos.append(cos)
        all_gold.append(check_scores(gold, n_samples=cos.shape[0], name="gold"))
    weights = np.array([s["n_samples"] for s in per.values()], dtype=np.float64)
    pearsons = np.array([s["pearson"] for s in per.values()])
    spearmans = np.array([s["spearman"] for s in per.values()])
    mean: CorrelationScores = {
        "pearson": float(np.average(pearsons)),
        "spearman": float(np.average(spearmans)),
    }
    wmean: CorrelationScores = {
        "pearson": float(np.average(pearsons, weights=weights)),
        "spearman": float(np.average(spearmans, weights=weights)),
    }
    corr_all = correlations(np.concatenate(all_cos), np.concatenate(all_gold))
    all_scores: SimilarityScores = {
        "main_score": corr_all["spearman"],
        "spearman": corr_all["spearman"],
        "pearson": corr_all["pearson"],
        "n_samples": int(weights.sum()),
    }
    main_value = {"wmean": wmean, "mean": mean, "all": all_scores}[main]["spearman"]
    return {
        "main_score": float(main_value),
        "main": main,
        "subsets": per,
        "mean": mean,
        "wmean": wmean,
        "all": all_scores,
        "n_samples": int(weights.sum()),
    }


# ------------------------------------------------------------- supervised relatedness


def _check_score_range(min_score: Any, max_score: Any) -> tuple[int, int]:
    def as_int(value: Any, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise InvalidParameterError(f"{name} must be an integer; received {value!r}.")
        if not math.isfinite(float(value)) or float(value) != int(value):
            raise InvalidParameterError(f"{name} must be an integer; received {value!r}.")
        return int(value)

    lo, hi = as_int(min_score, "min_score"), as_int(max_score, "max_score")
    if hi <= lo:
        raise InvalidParameterError(
            f"max_score must be greater than min_score; received min_score={lo}, max_score={hi}."
        )
    return lo, hi


def score_distribution(
    scores: ArrayLike, *, min_score: int = 1, max_score: int = 5
) -> NDArray[np.float32]:
    """Encode real scores as distributions over the integer scores (Tai et al., 2015).

    Score ``y`` puts ``floor(y) - y + 1`` on class ``floor(y)`` and ``y - floor(y)``
    on class ``floor(y) + 1``, so the expected class equals ``y``. With the default
    range 1..5 this is SentEval's ``encode_labels`` for SICK-R.

    Args:
        scores: Gold scores in ``[min_score, max_score]``.
        min_score: The lowest integer score (class 0).
        max_score: The highest integer score.

    Returns:
        A float32 array ``(n, max_score - min_score + 1)`` whose rows sum to 1.

    Raises:
        InvalidInputError: Scores outside the range, NaN, or not 1-D.
        InvalidParameterError: A non-integer range or ``max_score <= min_score``.

    Example:
        >>> score_distribution([1.0, 3.4, 5.0]).astype(float).round(2).tolist()
        [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.6, 0.4, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0]]
    """
    lo, hi = _check_score_range(min_score, max_score)
    arr = np.asarray(scores)
    y = check_scores(arr, n_samples=arr.shape[0] if arr.ndim == 1 else -1, name="scores")
    if y.size and (y.min() < lo or y.max() > hi):
        raise InvalidInputError(
            f"scores must lie in [min_score, max_score] = [{lo}, {hi}]; received values in "
            f"[{y.min()}, {y.max()}]. For STS-B (0..5) pass min_score=0."
        )
    n_classes = hi - lo + 1
    out = np.zeros((y.shape[0], n_classes), dtype=np.float64)
    floor = np.floor(y)
    idx = (floor - lo).astype(np.int64)
    rows = np.arange(y.shape[0])
    out[rows, idx] = floor - y + 1.0
    upper = idx + 1 < n_classes
    out[rows[upper], idx[upper] + 1] = (y - floor)[upper]
    return out.astype(np.float32)


def _pearson_or_zero(pred: NDArray[Any], gold: NDArray[Any]) -> float:
    """Pearson r, or 0.0 when either side is constant (SentEval maps NaN to 0)."""
    if np.ptp(pred) == 0 or np.ptp(gold) == 0:
        return 0.0
    return float(stats.pearsonr(pred, gold)[0])


def _train_softmax_loop(
    torch: Any,
    X_train: NDArray[np.float32],
    P_train: NDArray[np.float32],
    X_dev: NDArray[np.float32],
    y_dev: NDArray[np.float64],
    X_test: NDArray[np.float32],
    classes: NDArray[np.float64],
    *,
    random_state: int,
    batch_size: int,
    epochs_per_check: int,
    epochs: int,
    patience: int,
    learning_rate: float,
    l2: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], float, int]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_state)
        model = torch.nn.Sequential(
            torch.nn.Linear(X_train.shape[1], classes.size), torch.nn.Softmax(dim=1)
        )
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=l2)
    rng = np.random.RandomState(random_state)
    xt = torch.from_numpy(X_train)
    pt = torch.from_numpy(P_train)
    r = torch.from_numpy(classes)

    def predict(X: NDArray[np.float32]) -> NDArray[np.float64]:
        model.eval()
        with torch.no_grad():
            probs = model(torch.from_numpy(X)).double()
        return (probs @ r).numpy()

    best_pr = -1.0
    best_state = copy.deepcopy(model.state_dict())
    n_epoch = 0
    stale = 0
    while n_epoch <= epochs:
        model.train()
        for _ in range(epochs_per_check):
            order = rng.permutation(X_train.shape[0])
            for start in range(0, order.size, batch_size):
                idx = torch.from_numpy(order[start : start + batch_size])
                loss = loss_fn(model(xt[idx]), pt[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        n_epoch += epochs_per_check
        pr = _pearson_or_zero(predict(X_dev), y_dev)
        if pr > best_pr:
            best_pr = pr
            best_state = copy.deepcopy(model.state_dict())
        else:
            if stale >= patience:
                break
            stale += 1
    model.load_state_dict(best_state)
    return predict(X_dev), predict(X_test), best_pr, n_epoch


@renamed_parameters(seed="random_state", max_epochs="epochs")
def evaluate_relatedness(
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
    min_score: int = 1,
    max_score: int = 5,
    features: PairFeatures = "senteval",
    random_state: int = 1111,
    batch_size: int = 64,
    epochs_per_check: int = 50,
    epochs: int = 1000,
    patience: int = 3,
    learning_rate: float = 1e-3,
    l2: float = 0.0,
    estimator: BaseEstimator | None = None,
) -> RelatednessScores:
    """Trained relatedness (SICK-R, STS-B) with SentEval's softmax-expectation regressor.

    See the module docstring for the exact procedure. Only the training pairs are fit;
    dev decides the early stopping; test is scored once with the kept model.

    Args:
        U_train: First-sentence embeddings of the training pairs.
        V_train: Second-sentence embeddings of the training pairs.
        y_train: Training gold scores in ``[min_score, max_score]``.
        U_dev: First-sentence embeddings of the dev pairs.
        V_dev: Second-sentence embeddings of the dev pairs.
        y_dev: Dev gold scores (used for early stopping only).
        U_test: First-sentence embeddings of the test pairs.
        V_test: Second-sentence embeddings of the test pairs.
        y_test: Test gold scores.
        min_score: Lowest integer score (1 for SICK-R; 0 for STS-B).
        max_score: Highest integer score (5 for both).
        features: ``"senteval"`` (``[|u-v|, u*v]``, SentEval's) or ``"infersent"``.
        random_state: Seeds the initial weights and the batch order.
        batch_size: Minibatch size (SentEval: 64).
        epochs_per_check: Epochs between dev checks (SentEval: 50).
        epochs: Epoch budget (SentEval: 1000).
        patience: Non-improving checks tolerated before stopping (SentEval: 3).
        learning_rate: Adam's learning rate (SentEval: torch's default, 1e-3).
        l2: Adam's weight decay (SentEval: 0).
        estimator: Instead of the softmax model, an unfitted scikit-learn *regressor*
            (cloned, never changed) fit directly on the features and raw scores.

    Returns:
        :class:`RelatednessScores`; ``main_score`` is test Pearson x100 (SentEval
        reports Pearson for SICK-R and STS-B).

    Raises:
        InvalidInputError: Bad arrays, mismatched shapes, scores outside the range,
            constant gold scores.
        InvalidParameterError: Bad ranges, counts, rates or estimator.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> U = rng.normal(size=(300, 6))
        >>> V = U + rng.normal(scale=rng.uniform(0, 1.5, (300, 1)), size=(300, 6))
        >>> y = np.clip(5 - np.linalg.norm(U - V, axis=1), 1, 5)
        >>> tr, dv, te = slice(0, 200), slice(200, 250), slice(250, 300)
        >>> s = evaluate_relatedness(U[tr], V[tr], y[tr], U[dv], V[dv], y[dv],
        ...                          U[te], V[te], y[te], epochs_per_check=20,
        ...                          epochs=200, random_state=0)
        >>> s["main_score"] > 70.0, s["head"]
        (True, 'senteval-softmax')
    """
    lo, hi = _check_score_range(min_score, max_score)
    random_state = check_seed(random_state)
    batch_size = check_positive_int(batch_size, name="batch_size")
    epochs_per_check = check_positive_int(epochs_per_check, name="epochs_per_check")
    epochs = check_positive_int(epochs, name="epochs", minimum=0)
    patience = check_positive_int(patience, name="patience", minimum=0)
    for name, value in (("learning_rate", learning_rate), ("l2", l2)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
            or (name == "learning_rate" and value == 0)
        ):
            allowed = "> 0" if name == "learning_rate" else ">= 0"
            raise InvalidParameterError(
                f"{name} must be a finite number {allowed}; received {value!r}."
            )

    feats = {}
    golds = {}
    for split, (U, V, y) in {
        "train": (U_train, V_train, y_train),
        "dev": (U_dev, V_dev, y_dev),
        "test": (U_test, V_test, y_test),
    }.items():
        try:
            F = pair_features(U, V, features=features)
            g = check_scores(y, n_samples=F.shape[0], name=f"y_{split}")
        except InvalidInputError as err:
            raise InvalidInputError(f"{split} pairs: {err}") from err
        if g.shape[0] < 2 or np.ptp(g) == 0:
            raise InvalidInputError(
                f"y_{split} needs at least 2 pairs with different scores; received "
                f"{g.shape[0]} pair(s) with range {np.ptp(g) if g.size else 'empty'}."
            )
        feats[split] = F.astype(np.float32)
        golds[split] = g
    dims = {k: v.shape[1] for k, v in feats.items()}
    if len(set(dims.values())) > 1:
        raise InvalidInputError(
            f"train, dev and test embeddings must have the same dim; feature widths {dims}."
        )

    if estimator is None:
        P_train = score_distribution(golds["train"], min_score=lo, max_score=hi)
        try:
            score_distribution(golds["dev"], min_score=lo, max_score=hi)
        except InvalidInputError as err:
            raise InvalidInputError(f"y_dev: {err}") from err
        classes = np.arange(lo, hi + 1, dtype=np.float64)
        import torch  # lazy: keep `import evaluators` light

        # One linear layer on small batches: torch's intra-op threads only add overhead
        # (20x slower on a busy 2-core machine) and make float sums order-dependent.
        threads_before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            _, test_pred, dev_pr, n_epochs = _train_softmax_loop(
                torch, feats["train"], P_train, feats["dev"], golds["dev"], feats["test"],
                classes, random_state=random_state, batch_size=batch_size,
                epochs_per_check=epochs_per_check, epochs=epochs, patience=patience,
                learning_rate=float(learning_rate), l2=float(l2),
            )  # fmt: skip
        finally:
            torch.set_num_threads(threads_before)
        head = "senteval-softmax"
        n_ep: int | None = n_epochs
    else:
        if not (hasattr(estimator, "get_params") and hasattr(estimator, "fit")):
            raise InvalidParameterError(
                "estimator must be an unfitted scikit-learn regressor; received "
                f"{type(estimator).__name__}."
            )
        model = clone(estimator)
        if model.get_params().get("random_state", 0) is None:
            model.set_params(random_state=random_state)
        model.fit(feats["train"], golds["train"])
        dev_pr = _pearson_or_zero(np.asarray(model.predict(feats["dev"]), float), golds["dev"])
        test_pred = np.asarray(model.predict(feats["test"]), dtype=np.float64)
        head = f"custom:{type(estimator).__name__}"
        n_ep = None

    if not np.isfinite(test_pred).all():
        raise InvalidInputError(
            "the relatedness head produced NaN or infinite predictions; check the inputs' "
            "scale or lower learning_rate."
        )
    corr = correlations(test_pred, golds["test"])
    return {
        "main_score": corr["pearson"],
        "pearson": corr["pearson"],
        "spearman": corr["spearman"],
        "mse": float(np.mean((test_pred - golds["test"]) ** 2)),
        "dev_pearson": points(dev_pr),
        "n_epochs": n_ep,
        "n_train": int(feats["train"].shape[0]),
        "n_dev": int(feats["dev"].shape[0]),
        "n_test": int(feats["test"].shape[0]),
        "min_score": lo,
        "max_score": hi,
        "head": head,
        "seed": random_state,
    }
