"""Fine-tuning objectives: what the encoder and the head learn from labelled texts.

An objective is a :class:`~embeddings.training.trainer.Objective` built by
:func:`make_objective` from :data:`OBJECTIVES`, the one place that maps the name
``fine_tune(objective=...)`` takes to its class.  ``"classification"``
(cross-entropy of a new softmax head, early stopping on validation accuracy) is the
default.  ``"contrastive"`` trains the encoder on pairs of texts drawn from the labels:
each epoch pairs every training text with one text of its class (target cosine
similarity 1) and one of another class (target 0), so positives and negatives are
balanced, from the trainer's seeded generator.  The encoder learns to match each
pair's cosine similarity to its target (mean squared error, the recipe of SetFit,
Tunstall et al. 2022); the softmax head learns in the same steps from the new vectors
(cross-entropy on detached vectors, so only the pair loss shapes the encoder).

Labelled ``(text_a, text_b)`` pairs (paraphrase, duplicate or NLI tasks) have their own
two objectives, :data:`PAIR_OBJECTIVES`, under the same names: the head reads the
pair's ``[u, v, |u-v|, u*v]``; ``"classification"`` trains it through the encoder,
the Sentence-BERT recipe on NLI (Reimers & Gurevych 2019); ``"contrastive"`` teaches
the encoder a target cosine similarity per class, ranked by how alike each class's
pairs were before training (:func:`class_targets`).

Example:
    >>> sorted(OBJECTIVES)
    ['classification', 'contrastive']
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
from numpy.typing import NDArray

from embeddings.errors import InvalidInputError, InvalidParameterError
from embeddings.training.finetune_data import length_batches
from embeddings.training.finetune_model import (
    classifier,
    features,
    forward_by_length,
    freeze,
    unique_params,
)
from embeddings.training.trainer import Objective

__all__ = [
    "OBJECTIVES",
    "ClassificationObjective",
    "ContrastiveObjective",
    "EpochRecord",
    "PAIR_OBJECTIVES",
    "PairClassificationObjective",
    "PairContrastiveObjective",
    "TrainingSetup",
    "class_targets",
    "make_objective",
    "pair_vectors",
    "sample_pairs",
    "setup_training",
]


class EpochRecord(TypedDict):
    """One epoch of fine-tuning (``epoch`` 0 is the untrained head, never selected);
    ``val_accuracy`` is in points (0-100), as every printed and returned score, and
    ``None`` with the validation loss when there is no validation set."""

    epoch: int
    train_loss: float | None
    val_loss: float | None
    val_accuracy: float | None
    seconds: float


def _joint_metric(correct: int, loss: float, n: int) -> float:
    """Accuracy with the loss as tie-break: ``(correct + 0.5 / (1 + loss)) / n``.

    The loss term lies in ``(0, 0.5]`` of one example, so a higher accuracy always
    wins and equal accuracies are ordered by the lower loss.
    """
    return (correct + 0.5 / (1.0 + loss)) / n


def _split_metric(metric: float, n: int) -> tuple[float, float]:
    """``(accuracy, loss)`` back from :func:`_joint_metric` (the loss to ~1e-12)."""
    x = metric * n
    correct = math.floor(x)
    return correct / n, 0.5 / max(x - correct, 1e-300) - 1.0


class ClassificationObjective(Objective):
    """Cross-entropy of the head over length-bucketed batches; validation accuracy."""

    unit = "texts"

    def __init__(
        self,
        encoder: Any,
        train: tuple[list[str], NDArray[np.int64]],
        val: tuple[list[str], NDArray[np.int64]],
        *,
        batch_size: int,
        eval_batch_size: int,
        precomputed: bool,
        device: Any,
        show_progress: bool = False,
    ) -> None:
        import torch

        self.show_progress = bool(show_progress)
        self.encoder = encoder
        self.texts, self.val_texts = train[0], val[0]
        self.y = torch.from_numpy(np.asarray(train[1], dtype=np.int64)).to(device)
        self.y_val = torch.from_numpy(np.asarray(val[1], dtype=np.int64)).to(device)
        self.lengths = [self._length(t) for t in self.texts]
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.device = device
        self.X = self.X_val = None
        if precomputed:  # frozen encoder in eval mode: its vectors never change
            self.X = self._features(self.texts, "features (train)").to(device)
            self.X_val = self._features(self.val_texts, "features (validation)").to(device)
        self.records: list[tuple[float, float]] = []

    @staticmethod
    def _length(row: Any) -> int:
        return len(row)

    def _features(self, rows: list[Any], desc: str = "validate") -> Any:
        """The head's input for ``rows`` with the current weights (eval mode, no grad)."""
        return features(
            self.encoder, rows, self.eval_batch_size, show_progress=self.show_progress,
            desc=desc,
        )  # fmt: skip

    def plan(self, epoch: int, rng: np.random.Generator) -> list[NDArray[np.int64]]:
        return length_batches(self.lengths, self.batch_size, rng)

    def loss(self, model: Any, batch: NDArray[np.int64]) -> tuple[Any, int]:
        import torch

        idx = torch.from_numpy(batch).to(self.device)
        if self.X is not None:
            feats = self.X[idx]
        else:
            feats = self.encoder.forward(self.encoder.tokenize([self.texts[i] for i in batch]))
        return torch.nn.functional.cross_entropy(model.head(feats), self.y[idx]), len(batch)

    def measure(self, model: Any) -> tuple[float, float, int]:
        """``(accuracy, loss, correct)`` on the validation set, in eval mode."""
        import torch

        model.eval()
        with torch.no_grad():
            X = self.X_val
            if X is None:
                X = self._features(self.val_texts).to(self.device)
            logits = model.head(X)
            loss = float(torch.nn.functional.cross_entropy(logits, self.y_val).item())
            correct = int((logits.argmax(dim=1) == self.y_val).sum().item())
        return correct / len(self.val_texts), loss, correct

    def evaluate(self, model: Any) -> float | None:
        if not self.val_texts:  # no validation set: the trainer keeps the last epoch
            self.records.append((math.nan, math.nan))
            return None
        acc, loss, correct = self.measure(model)
        self.records.append((acc, loss))
        return _joint_metric(correct, loss, len(self.val_texts))

    def untrained_record(self, model: Any) -> EpochRecord:
        """The epoch-0 record: the untrained head on the validation set."""
        t0 = time.perf_counter()
        if not self.val_texts:
            return {"epoch": 0, "train_loss": None, "val_loss": None, "val_accuracy": None,
                    "seconds": 0.0}  # fmt: skip
        acc, loss, _ = self.measure(model)
        return {"epoch": 0, "train_loss": None, "val_loss": loss, "val_accuracy": 100 * acc,
                "seconds": time.perf_counter() - t0}  # fmt: skip

    def history(self, result: Any) -> list[EpochRecord]:
        """One record per trained epoch of the trainer's ``result`` (epochs from 1).

        Epochs run before a resume are not in :attr:`records`; their accuracy and
        loss are read back from the trainer's dev metric.
        """
        out: list[EpochRecord] = []
        offset = len(result.history) - len(self.records)
        previous = 0.0
        for i, rec in enumerate(result.history):
            if not self.val_texts:
                acc = loss = None
            elif i >= offset:
                acc, loss = self.records[i - offset]
            else:
                acc, loss = _split_metric(float(rec["dev_metric"]), len(self.val_texts))
            out.append(
                {"epoch": int(rec["epoch"]) + 1, "train_loss": float(rec["train_loss"]),
                 "val_loss": loss, "val_accuracy": None if acc is None else 100 * acc,
                 "seconds": float(rec["seconds"]) - previous}
            )  # fmt: skip
            previous = float(rec["seconds"])
        return out


def sample_pairs(labels: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.int64]:
    """Balanced pairs ``(i, j, same)``: per text one positive and one negative partner.

    A text whose class has no other member gets no positive pair.

    Example:
        >>> pairs = sample_pairs(np.array([0, 0, 1, 1]), np.random.default_rng(0))
        >>> pairs.shape, int(pairs[:, 2].sum())
        ((8, 3), 4)
    """
    labels = np.asarray(labels, dtype=np.int64)
    by_class = {int(c): np.flatnonzero(labels == c) for c in np.unique(labels)}
    rows: list[tuple[int, int, int]] = []
    for i, c in enumerate(labels.tolist()):
        same = by_class[c][by_class[c] != i]
        if same.size:
            rows.append((i, int(same[rng.integers(same.size)]), 1))
        other = np.flatnonzero(labels != c)
        rows.append((i, int(other[rng.integers(other.size)]), 0))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def refit_softmax_head(head: Any, X: Any, y: Any, random_state: int = 0) -> None:
    """Set the linear softmax ``head`` to logistic regression fitted on ``(X, y)``.

    Multinomial logistic regression is a linear layer under a softmax, so its
    coefficients are the head's weights (two classes: the one logit difference split
    over two rows); scikit-learn's default ``C=1.0``, the head SetFit trains.

    Example:
        >>> import torch
        >>> head = torch.nn.Linear(2, 2)
        >>> X = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
        >>> refit_softmax_head(head, X, torch.tensor([0, 1, 0, 1]))
        >>> head(X).argmax(dim=1).tolist()
        [0, 1, 0, 1]
    """
    import torch
    from sklearn.linear_model import LogisticRegression

    Xn = X.detach().to("cpu", torch.float64).numpy()
    yn = y.detach().to("cpu").numpy()
    lr = LogisticRegression(max_iter=1000, random_state=random_state).fit(Xn, yn)
    n_out = int(head.weight.shape[0])
    W = np.zeros((n_out, Xn.shape[1]))
    b = np.zeros(n_out)
    if lr.coef_.shape[0] == 1:  # binary: logit(class 1) - logit(class 0) = coef . x + b
        W[lr.classes_[0]], b[lr.classes_[0]] = -lr.coef_[0] / 2, -lr.intercept_[0] / 2
        W[lr.classes_[1]], b[lr.classes_[1]] = lr.coef_[0] / 2, lr.intercept_[0] / 2
    else:
        W[lr.classes_], b[lr.classes_] = lr.coef_, lr.intercept_
        b[np.setdiff1d(np.arange(n_out), lr.classes_)] = -1e4  # a class it never saw
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(W).to(head.weight))
        head.bias.copy_(torch.from_numpy(b).to(head.bias))


class _RefitHead:
    """Contrastive objectives: after training the head is refitted
    (:func:`refit_softmax_head`) on the final vectors of every training row, since the
    head trained in the same steps follows a moving encoder and lags it when the steps
    are few (on 240 MRPC pairs, 3 epochs: the in-step head predicted the majority class,
    66.4% of the test pairs, where the refitted one scored 75.2%)."""

    def refit_head(self, head: Any) -> None:
        """Logistic regression on the final vectors (the objective's ``_features`` of
        its training rows), copied into ``head`` (eval mode)."""
        own: Any = self
        refit_softmax_head(head, own._features(own.texts, "features (head)"), own.y)


class ContrastiveObjective(_RefitHead, ClassificationObjective):
    """Cosine-similarity loss on sampled pairs, plus the head on the new vectors."""

    unit = "pairs"

    def plan(self, epoch: int, rng: np.random.Generator) -> list[NDArray[np.int64]]:
        pairs = sample_pairs(self.y.cpu().numpy(), rng)
        pairs = pairs[rng.permutation(len(pairs))]
        size = max(1, self.batch_size // 2)  # two texts per pair
        return [pairs[s : s + size] for s in range(0, len(pairs), size)]

    def loss(self, model: Any, batch: NDArray[np.int64]) -> tuple[Any, int]:
        import torch

        left = torch.from_numpy(np.ascontiguousarray(batch[:, 0])).to(self.device)
        right = torch.from_numpy(np.ascontiguousarray(batch[:, 1])).to(self.device)
        target = torch.from_numpy(batch[:, 2].astype(np.float32)).to(self.device)
        if self.X is not None:
            a, b = self.X[left], self.X[right]
        else:
            # random pairs: two passes over texts of similar length pad far less
            both = forward_by_length(
                self.encoder, [self.texts[i] for i in (*batch[:, 0], *batch[:, 1])]
            )
            a, b = both[: len(batch)], both[len(batch) :]
        cos = torch.nn.functional.cosine_similarity(a, b, dim=1)
        pair_loss = torch.nn.functional.mse_loss(cos, target)
        head_loss = torch.nn.functional.cross_entropy(model.head(a.detach()), self.y[left])
        return pair_loss + head_loss, len(batch)


def pair_vectors(u: Any, v: Any) -> Any:
    """``[u, v, |u-v|, u*v]`` of two ``(n, dim)`` tensors: the head's input for pairs,
    the columns of :func:`evaluators.pairs.pair_features` (Conneau et al. 2017)."""
    import torch

    return torch.cat([u, v, (u - v).abs(), u * v], dim=1)


class PairClassificationObjective(ClassificationObjective):
    """Cross-entropy of the head on the pair vectors of ``(text_a, text_b)`` pairs.

    A batch holds ``batch_size // 2`` pairs (``batch_size`` texts), as contrastive
    batches do.
    """

    unit = "pairs"

    @staticmethod
    def _length(row: Any) -> int:
        return len(row[0]) + len(row[1])

    def _vectors(self, rows: list[Any], desc: str) -> tuple[Any, Any]:
        """Both texts' vectors of ``rows`` with the current weights (eval mode, no grad)."""
        both = features(
            self.encoder, [a for a, _ in rows] + [b for _, b in rows], self.eval_batch_size,
            show_progress=self.show_progress, desc=desc,
        )  # fmt: skip
        return both[: len(rows)], both[len(rows) :]

    def _features(self, rows: list[Any], desc: str = "validate") -> Any:
        return pair_vectors(*self._vectors(rows, desc))

    def plan(self, epoch: int, rng: np.random.Generator) -> list[NDArray[np.int64]]:
        return length_batches(self.lengths, max(1, self.batch_size // 2), rng)

    def _forward(self, batch: NDArray[np.int64]) -> tuple[Any, Any]:
        """Both texts' vectors of the pairs ``batch``, through the trainable encoder."""
        rows = [self.texts[i] for i in batch]
        both = forward_by_length(self.encoder, [a for a, _ in rows] + [b for _, b in rows])
        return both[: len(rows)], both[len(rows) :]

    def loss(self, model: Any, batch: NDArray[np.int64]) -> tuple[Any, int]:
        import torch

        idx = torch.from_numpy(batch).to(self.device)
        feats = self.X[idx] if self.X is not None else pair_vectors(*self._forward(batch))
        return torch.nn.functional.cross_entropy(model.head(feats), self.y[idx]), len(batch)


def class_targets(cosines: NDArray[Any], labels: NDArray[np.int64], n_classes: int) -> list[float]:
    """Target cosine similarity per class: the classes ranked by the mean cosine
    similarity of their pairs, spread evenly over [0, 1] (ties keep class order).

    Raises:
        InvalidInputError: a class without pairs (nothing to rank it by).

    Example:
        >>> class_targets(np.array([0.9, 0.8, 0.2, 0.1]), np.array([1, 1, 0, 0]), 2)
        [0.0, 1.0]
    """
    absent = [c for c in range(n_classes) if not np.any(labels == c)]
    if absent or n_classes < 2:
        raise InvalidInputError(
            f"class targets rank at least two classes by their pairs; class id(s) {absent} "
            f"of {n_classes} have no pair"
        )
    means = [float(np.mean(cosines[labels == c])) for c in range(n_classes)]
    targets = [0.0] * n_classes
    for rank, c in enumerate(np.argsort(means, kind="stable").tolist()):
        targets[c] = rank / (n_classes - 1)
    return targets


class PairContrastiveObjective(_RefitHead, PairClassificationObjective):
    """Cosine-similarity loss on the given pairs toward their class's target, plus the
    head on the new pair vectors (cross-entropy on detached vectors).

    The targets (:func:`class_targets`) come from the encoder before training: the
    class whose pairs are the most alike gets 1, the least alike 0, so "duplicate"
    gets 1 whatever its label is called, and NLI's entailment, neutral and
    contradiction get 1, 0.5 and 0.
    """

    def __init__(self, encoder: Any, train: Any, val: Any, **options: Any) -> None:
        import torch

        super().__init__(encoder, train, val, **options)
        u, v = self._vectors(self.texts, "pair targets")
        cos = torch.nn.functional.cosine_similarity(u, v, dim=1).numpy()
        labels = self.y.cpu().numpy()
        self.class_targets = class_targets(cos, labels, int(labels.max()) + 1)
        self.targets = torch.tensor(self.class_targets, dtype=torch.float32, device=self.device)

    def loss(self, model: Any, batch: NDArray[np.int64]) -> tuple[Any, int]:
        import torch

        idx = torch.from_numpy(batch).to(self.device)
        u, v = self._forward(batch)
        cos = torch.nn.functional.cosine_similarity(u, v, dim=1)
        pair_loss = torch.nn.functional.mse_loss(cos, self.targets[self.y[idx]])
        head = model.head(pair_vectors(u, v).detach())
        return pair_loss + torch.nn.functional.cross_entropy(head, self.y[idx]), len(batch)


#: ``fine_tune(objective=...)`` name -> the objective class; the one place to add one
OBJECTIVES: dict[str, Callable[..., Objective]] = {
    "classification": ClassificationObjective,
    "contrastive": ContrastiveObjective,
}
#: the same names, for ``(text_a, text_b)`` pairs
PAIR_OBJECTIVES: dict[str, Callable[..., Objective]] = {
    "classification": PairClassificationObjective,
    "contrastive": PairContrastiveObjective,
}


def make_objective(
    name: str,
    encoder: Any,
    train: tuple[list[str], NDArray[np.int64]] | None = None,
    val: tuple[list[str], NDArray[np.int64]] | None = None,
    *,
    pairs: bool = False,
    **options: Any,
) -> Objective:
    """The fine-tuning objective called ``name`` over ``encoder``.

    Args:
        name: a key of :data:`OBJECTIVES`.
        encoder: the encoder being fine-tuned.
        train: the training texts and class ids.
        val: the validation texts and class ids.
        pairs: the texts are ``(text_a, text_b)`` pairs (:data:`PAIR_OBJECTIVES`).
        options: the objective's keyword arguments (batch sizes, device, progress).

    Raises:
        InvalidParameterError: an unknown ``name``.

    Example:
        >>> try:
        ...     make_objective("regression", None)
        ... except InvalidParameterError as err:
        ...     print(err)
        objective must be one of ['classification', 'contrastive'], got 'regression'
    """
    cls = (PAIR_OBJECTIVES if pairs else OBJECTIVES).get(name) if isinstance(name, str) else None
    if cls is None:
        raise InvalidParameterError(f"objective must be one of {sorted(OBJECTIVES)}, got {name!r}")
    return cls(encoder, train, val, **options)


@dataclass
class TrainingSetup:
    """What fine-tuning trains: the encoder copy, its modules, the head, the objective."""

    enc: Any
    modules: list[Any]
    enc_params: list[Any]
    head: Any
    model: Any
    objective: Any
    untrained: EpochRecord

    def finish(self, result: Any) -> dict[str, Any]:
        """After training: gradients back on, the head on the CPU, the encoder told
        (``after_training``); returns the training summary of the trainer's ``result``."""
        self.model.eval()
        refit = getattr(self.objective, "refit_head", None)
        if callable(refit):  # contrastive: the usual head, trained on the final vectors
            refit(self.head)
        for p in unique_params(self.modules):
            p.requires_grad_(True)
        self.head.to("cpu")
        after = getattr(self.enc, "after_training", None)
        if callable(after):
            after()
        n_params = sum(int(p.numel()) for p in [*self.head.parameters(), *self.enc_params])
        training: dict[str, Any] = {
            "stop_reason": result.stop_reason, "finished": result.finished,
            "steps": result.steps, "n_trainable_params": n_params,
        }  # fmt: skip
        if result.finished and result.best_epoch is not None:
            training["best_epoch"] = result.best_epoch + 1  # history's epoch 0 is untrained
        elif result.finished and not self.objective.val_texts:  # no validation: the last
            training["best_epoch"] = int(result.epochs_done)
        targets = getattr(self.objective, "class_targets", None)
        if targets is not None:  # contrastive pairs: target cosine per class
            training["pair_targets"] = [float(t) for t in targets]
        return training


def setup_training(
    enc: Any,
    objective: str,
    n_classes: int,
    train: tuple[list[str], NDArray[np.int64]],
    val: tuple[list[str], NDArray[np.int64]],
    *,
    unfreeze: Any,
    init: str,
    pairs: bool = False,
    **options: Any,
) -> TrainingSetup:
    """Freeze ``enc`` as ``unfreeze`` says, add a new head and build the objective.

    With ``pairs`` the texts are ``(text_a, text_b)`` pairs and the head reads their
    :func:`pair_vectors` (``4 * dim`` features).

    ``options`` go to the objective (:func:`make_objective`).  Runs inside the
    caller's seeded torch RNG (the head's initial weights).
    """
    import torch

    modules, trained, enc_params = freeze(enc, unfreeze, init)
    device = next(iter(unique_params(modules)), torch.empty(0)).device
    head = torch.nn.Linear(int(enc.dim) * (4 if pairs else 1), n_classes).to(device)
    model = classifier(modules, head, trained).eval()
    built = make_objective(
        objective, enc, train, val, pairs=pairs, precomputed=not enc_params, device=device,
        **options,
    )  # fmt: skip
    untrained = built.untrained_record(model)  # type: ignore[attr-defined]
    return TrainingSetup(enc, modules, enc_params, head, model, built, untrained)
