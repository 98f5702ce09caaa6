"""Fine-tuning: a new softmax head on a torch encoder, with the top ``k`` layers unfrozen.

A fine-tunable encoder offers the *torch-encoder protocol*, which
:class:`~embeddings.nn.encoder.TorchEncoder` (every net transferkit trains) and the
transformer adapter implement:

* ``tokenize(texts) -> batch`` and ``forward(batch) -> (n, dim)`` tensor with
  autograd (the same path ``encode`` uses);
* ``trainable_layers() -> {"modules": [...], "layers": [...], "top": [...]}``: every
  module holding the encoder's parameters, its blocks bottom to top, and the
  modules above the blocks (pooler, final norm, projections);
* optionally ``after_training()``, called once the modules' weights have changed
  so that ``encode`` uses them.

``unfreeze=k`` trains the new head, the top ``k`` blocks and the ``top`` modules;
everything else (the lower blocks and the embeddings) gets ``requires_grad=False``,
so no gradient is computed for it and its weights stay bit-identical.  Frozen
modules also run in eval mode (no dropout), so ``unfreeze=0`` trains a softmax on
fixed features, which are computed once.  ``unfreeze="all"`` is full fine-tuning
(embeddings included).  ``init="random"`` re-initialises the same architecture
(``AutoModel.from_config`` for Hugging Face models, ``reset_parameters`` otherwise)
before training: the "no transfer" control of the learning curve.

The loop is the shared :class:`~embeddings.training.trainer.Trainer`: AdamW (``learning_rate``
for the encoder, ``head_learning_rate`` for the head, no weight decay on biases and norms),
cross-entropy over shuffled batches of similar length, gradient clipping, early
stopping on validation accuracy (ties broken by the lower validation loss) with
``patience`` epochs, and the best epoch's weights restored.  With a ``workdir`` it
also writes ``log.jsonl``, ``loss.png`` and checkpoints, and ``resume=True``
continues a killed run.  The validation set is ``dev_texts``/``dev_labels``, else a
seeded, stratified ``validation_fraction`` of the training texts.  Everything
random (head init, dropout, batch order, random init) comes from ``random_state``
inside :func:`torch.random.fork_rng`, so the caller's global RNG is untouched and
reruns are bit-identical on the same machine and thread count.

The result is a :class:`FineTunedEncoder`: ``encode`` gives the fine-tuned vectors
(the head's input), ``predict``/``predict_proba``/``score`` use the head, and
``save`` writes the standard ``config.json`` + ``weights.safetensors`` that
``embeddings.load(folder)`` opens.

Example:
    >>> from embeddings.adapters.quick_thought import QuickThoughtEncoder
    >>> from embeddings.training.finetune import fine_tune
    >>> texts = ["a fine film", "a good film", "", "stocks fell", "banks sank"] * 4
    >>> qt = QuickThoughtEncoder(hidden_size=4, embedding_dim=4, epochs=1, min_count=1)
    >>> qt = qt.fit(texts)
    >>> labelled = ["a fine film", "a good film", "stocks fell", "banks sank"] * 3
    >>> clf = fine_tune(qt, labelled, [1, 1, 0, 0] * 3, unfreeze=1, epochs=2)
    >>> clf.predict(["a fine film"]).shape, clf.encode(["a fine film"]).shape
    ((1,), (1, 8))
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embeddings._checks import check_int
from embeddings.base import BaseEncoder, check_meta, check_state_arrays, validate_texts
from embeddings.errors import (
    InvalidInputError,
    InvalidParameterError,
    ModelFormatError,
    renamed_parameters,
)
from embeddings.training.trainer import Objective, TrainConfig, Trainer

__all__ = [
    "EpochRecord",
    "FineTunedClassifier",
    "FineTunedEncoder",
    "Init",
    "Unfreeze",
    "fine_tune",
    "stratified_subsample",
]

Unfreeze = int | Literal["all"]
Init = Literal["pretrained", "random"]

_HOOKS = ("tokenize", "forward", "trainable_layers", "encode")
_LABEL_KINDS = "iubUS"


class EpochRecord(TypedDict):
    """One epoch of fine-tuning (``epoch`` 0 is the untrained head, never selected)."""

    epoch: int
    train_loss: float | None
    val_loss: float
    val_accuracy: float
    seconds: float


# ------------------------------------------------------------------ checks
def _check_float(
    name: str, value: Any, *, low: float, high: float | None = None, low_ok: bool = False
) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and math.isfinite(float(value)):
        x = float(value)
        if (x > low or (low_ok and x == low)) and (high is None or x < high):
            return x
    bound = f"in ({low}, {high})" if high is not None else f"{'>=' if low_ok else '>'} {low}"
    raise InvalidParameterError(f"{name} must be a number {bound}, got {value!r}")


def _check_texts_labels(texts: Any, labels: Any, what: str) -> tuple[list[str], NDArray[Any]]:
    texts_list = validate_texts(texts, what=f"{what}_texts")
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != len(texts_list):
        raise InvalidInputError(
            f"{what}_labels must be one label per text: got shape {y.shape} for "
            f"{len(texts_list)} texts"
        )
    if y.dtype.kind not in _LABEL_KINDS:
        raise InvalidInputError(
            f"{what}_labels must be integers or strings, got dtype {y.dtype}; convert "
            "class names or ids to one type"
        )
    return texts_list, y


def _check_unfreeze(unfreeze: Any, n_layers: int) -> Unfreeze:
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


def _check_encoder(encoder: Any) -> None:
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


def _validation_split(
    y: NDArray[Any], fraction: float, random_state: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    n = int(y.shape[0])
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


def _length_batches(
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


def _unique_params(modules: Sequence[Any]) -> list[Any]:
    seen: set[int] = set()
    out = []
    for module in modules:
        for p in module.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def _reinitialise(modules: Sequence[Any]) -> None:
    """Random weights for the same architecture (uses torch's current RNG state)."""
    for module in modules:
        config = getattr(module, "config", None)
        if config is not None and hasattr(module, "save_pretrained"):
            import transformers

            fresh = transformers.AutoModel.from_config(config)
            if type(fresh) is not type(module):
                fresh = type(module)(config)
            module.load_state_dict(fresh.state_dict())
        else:
            for sub in module.modules():
                reset = getattr(sub, "reset_parameters", None)
                if callable(reset):
                    reset()


def _features(
    encoder: Any,
    texts: list[str],
    batch_size: int,
    *,
    show_progress: bool = False,
    desc: str = "validate",
) -> Any:
    """Pooled vectors with the current (frozen, eval-mode) weights, as a CPU tensor."""
    import torch

    from embeddings._progress import progress

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = torch.empty((len(texts), int(encoder.dim)), dtype=torch.float32)
    with (
        torch.no_grad(),
        progress(
            enabled=show_progress, total=len(texts), desc=desc, unit="text", leave=False
        ) as bar,
    ):
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            vecs = encoder.forward(encoder.tokenize([texts[i] for i in idx]))
            out[idx] = vecs.to("cpu", torch.float32)
            bar.update(len(idx))
    return out


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


def _classifier(modules: Sequence[Any], head: Any, trainable: Sequence[Any]) -> Any:
    """The encoder modules and the head as one ``nn.Module`` for the trainer.

    Its state dict names are ``encoder.{i}.*`` and ``head.*``.  ``train()`` puts the
    frozen modules in eval mode (no dropout) and only the trained ones in train mode.
    """
    import torch

    class FineTuneModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = torch.nn.ModuleList(modules)
            self.head = head
            self.trained_modules = list(trainable)

        def train(self, mode: bool = True) -> FineTuneModel:
            self.training = mode
            for m in self.encoder:
                m.eval()
            for m in self.trained_modules:
                m.train(mode)
            self.head.train(mode)
            return self

    return FineTuneModel()


class _Classification(Objective):
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
        self.lengths = [len(t) for t in self.texts]
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.device = device
        self.X = self.X_val = None
        if precomputed:  # frozen encoder in eval mode: its vectors never change
            self.X = _features(
                encoder, self.texts, eval_batch_size, show_progress=self.show_progress,
                desc="features (train)",
            ).to(device)  # fmt: skip
            self.X_val = _features(
                encoder, self.val_texts, eval_batch_size, show_progress=self.show_progress,
                desc="features (validation)",
            ).to(device)  # fmt: skip
        self.records: list[tuple[float, float]] = []

    def plan(self, epoch: int, rng: np.random.Generator) -> list[NDArray[np.int64]]:
        return _length_batches(self.lengths, self.batch_size, rng)

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
                X = _features(
                    self.encoder, self.val_texts, self.eval_batch_size,
                    show_progress=self.show_progress,
                ).to(self.device)  # fmt: skip
            logits = model.head(X)
            loss = float(torch.nn.functional.cross_entropy(logits, self.y_val).item())
            correct = int((logits.argmax(dim=1) == self.y_val).sum().item())
        return correct / len(self.val_texts), loss, correct

    def evaluate(self, model: Any) -> float:
        acc, loss, correct = self.measure(model)
        self.records.append((acc, loss))
        return _joint_metric(correct, loss, len(self.val_texts))

    def untrained_record(self, model: Any) -> EpochRecord:
        """The epoch-0 record: the untrained head on the validation set."""
        t0 = time.perf_counter()
        acc, loss, _ = self.measure(model)
        return {"epoch": 0, "train_loss": None, "val_loss": loss, "val_accuracy": acc,
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
            if i >= offset:
                acc, loss = self.records[i - offset]
            else:
                acc, loss = _split_metric(float(rec["dev_metric"]), len(self.val_texts))
            out.append(
                {"epoch": int(rec["epoch"]) + 1, "train_loss": float(rec["train_loss"]),
                 "val_loss": loss, "val_accuracy": acc,
                 "seconds": float(rec["seconds"]) - previous}
            )  # fmt: skip
            previous = float(rec["seconds"])
        return out


# ---------------------------------------------------------------- the model
class FineTunedEncoder(BaseEncoder):
    """A torch encoder fine-tuned with a softmax head: ``encode`` and ``predict``.

    The constructor only stores its parameters; :meth:`fit` (or :func:`fine_tune`)
    trains a copy of ``base``, which is never changed.  ``encode`` returns the
    fine-tuned encoder's vectors (the head's input), so the model is an encoder like
    any other: cacheable by :meth:`fingerprint`, usable in ``EmbeddingTransformer``,
    saved with :meth:`save` and opened with ``embeddings.load(folder)``.  The saved
    state holds every weight of the fine-tuned encoder (``encoder.{i}.*``) and of the
    head (``head.*``), the fitted state of a base that has one (``base.*``, e.g. a
    Quick-Thought vocabulary), the classes and the training history.

    Args:
        base: the encoder to fine-tune (a :class:`~embeddings.base.BaseEncoder` with
            the torch hooks, see the module docstring), or a preset name or saved
            folder for :func:`embeddings.load`.  ``sklearn.base.clone`` clones an
            instance without its fitted state, so pass a trained base (Quick-Thought)
            as its saved folder when cloning.
        head: the output layer; only ``"softmax"`` (a new, randomly initialised
            linear layer + softmax cross-entropy).
        unfreeze: ``0`` trains the head only; ``k`` also the top ``k`` layers and the
            modules above them; ``"all"`` everything, embeddings included.
        init: ``"pretrained"`` or ``"random"``: the same architecture re-initialised
            (seeded), trained like the pretrained one (needs ``unfreeze="all"``).
        validation_fraction: share of the training texts held out for early stopping
            when :meth:`fit` gets no dev set.
        epochs: passes over the training texts at most.
        patience: stop after this many epochs without a better validation score.
        batch_size: training batch size.
        learning_rate: AdamW learning rate of the encoder's trainable parameters.
        head_learning_rate: AdamW learning rate of the head.
        weight_decay: AdamW weight decay (weight matrices of the encoder and head).
        max_grad_norm: gradient-norm clipping; ``None`` or ``inf`` does not clip.
        eval_batch_size: batch size of validation and feature passes.
        random_state: seeds head init, dropout, batch order, the validation split
            and random init.
        threads: torch threads while training; ``None`` keeps torch's current setting.

    Attributes:
        classes_: the label values, in the order of the head's outputs.
        history_: one :class:`EpochRecord` per epoch (epoch 0: before training).
        best_epoch_: the epoch whose weights were kept; ``None`` when a time budget
            stopped training (the weights are then the latest; resume to finish).
        train_seconds_: wall time of :meth:`fit`.
        n_trainable_params_: parameters that were trained (head included).
        params_: the hyper-parameters with ``n_train``, ``n_val`` and ``validation``.

    Example:
        >>> import embeddings
        >>> clf = FineTunedEncoder("minilm-l6", unfreeze=2).fit(texts, labels)  # doctest: +SKIP
        >>> clf.save("models/sst2-head")                                         # doctest: +SKIP
        >>> embeddings.load("models/sst2-head").predict(["a fine film"])          # doctest: +SKIP
        array([1])
    """

    family = "finetuned"
    renamed_params: ClassVar[dict[str, str]] = {
        "max_epochs": "epochs",
        "lr": "learning_rate",
        "head_lr": "head_learning_rate",
    }
    path_params = ("base",)
    adapter_version = "1"
    requires_fit = True
    trainable = True
    transient = ("_encoder", "_head")
    _weights: dict[str, np.ndarray]
    _meta: dict[str, Any]

    @renamed_parameters(max_epochs="epochs", lr="learning_rate", head_lr="head_learning_rate")
    def __init__(
        self,
        base: BaseEncoder | str = "minilm-l6",
        *,
        head: Literal["softmax"] = "softmax",
        unfreeze: Unfreeze = 0,
        init: Init = "pretrained",
        validation_fraction: float = 0.1,
        epochs: int = 10,
        patience: int = 3,
        batch_size: int = 16,
        learning_rate: float = 5e-5,
        head_learning_rate: float = 1e-3,
        weight_decay: float = 0.01,
        max_grad_norm: float | None = 1.0,
        eval_batch_size: int = 64,
        random_state: int = 0,
        threads: int | None = None,
    ) -> None:
        self.base = base
        self.head = head
        self.unfreeze = unfreeze
        self.init = init
        self.validation_fraction = validation_fraction
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.head_learning_rate = head_learning_rate
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.eval_batch_size = eval_batch_size
        self.random_state = random_state
        self.threads = threads

    # ------------------------------------------------------------ validation
    def _validate(self) -> None:
        _check_encoder(self.base)
        if self.head != "softmax":
            raise InvalidParameterError(f"head must be 'softmax', got {self.head!r}")
        if self.init not in ("pretrained", "random"):
            raise InvalidParameterError(f"init must be 'pretrained' or 'random', got {self.init!r}")
        u = self.unfreeze
        if not (u == "all" and isinstance(u, str)) and (
            isinstance(u, bool) or not isinstance(u, (int, np.integer)) or u < 0
        ):
            raise InvalidParameterError(f"unfreeze must be an int >= 0 or 'all', got {u!r}")
        for name in ("epochs", "patience", "batch_size", "eval_batch_size"):
            check_int(name, getattr(self, name), 1)
        check_int("random_state", self.random_state, 0)
        if self.threads is not None:
            check_int("threads", self.threads, 1)
        _check_float("learning_rate", self.learning_rate, low=0.0)
        _check_float("head_learning_rate", self.head_learning_rate, low=0.0)
        _check_float("weight_decay", self.weight_decay, low=0.0, low_ok=True)
        _check_float("validation_fraction", self.validation_fraction, low=0.0, high=1.0)
        g = self.max_grad_norm
        if g is not None and (
            isinstance(g, bool) or not isinstance(g, (int, float, np.integer, np.floating))
            or not g > 0
        ):  # fmt: skip
            raise InvalidParameterError(
                f"max_grad_norm must be None or a number > 0 (inf: no clipping), got {g!r}"
            )
        if self.init == "random" and self.unfreeze != "all":
            raise InvalidParameterError(
                f"init='random' with unfreeze={self.unfreeze!r} would keep random frozen "
                "layers; use unfreeze='all' to train the network from scratch"
            )

    # ---------------------------------------------------------------- fitting
    def _fresh_base(self) -> Any:
        """A copy of ``base`` that training may change (``base`` itself never changes)."""
        if isinstance(self.base, (str, os.PathLike)):
            from embeddings.registry import load

            encoder: Any = load(os.fspath(self.base))
            _check_encoder(encoder)
            return encoder
        return copy.deepcopy(self.base)  # a BaseEncoder copy reloads its resources lazily

    def fit(
        self,
        texts: Sequence[str],
        labels: ArrayLike | None = None,
        *,
        dev_texts: Sequence[str] | None = None,
        dev_labels: ArrayLike | None = None,
        workdir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        max_minutes: float | None = None,
        show_progress: bool = False,
    ) -> FineTunedEncoder:
        """Fine-tune a copy of ``base`` with a new softmax head on labelled texts.

        Args:
            texts: training texts.
            labels: one label (int or str) per text; at least two classes.
            dev_texts: validation texts for early stopping; ``None`` carves a seeded,
                stratified ``validation_fraction`` from ``texts``.
            dev_labels: labels of ``dev_texts``.
            workdir: folder for checkpoints, ``log.jsonl`` and ``loss.png``.
            resume: continue from the newest checkpoint in ``workdir``.
            max_minutes: stop after this many minutes (after a checkpoint); the model
                then holds the latest weights and ``resume=True`` finishes the run.
            show_progress: progress of training (loss, texts/s) and of every
                validation pass (see :mod:`embeddings._progress`).

        Returns:
            self, holding the best epoch's weights.

        Raises:
            InvalidParameterError: an encoder without the torch hooks, an out-of-range
                ``unfreeze``, bad hyper-parameters, ``resume`` without ``workdir``.
            InvalidInputError: bad texts/labels, fewer than two classes, dev labels
                unseen in training.

        Example:
            >>> clf = FineTunedEncoder(enc, unfreeze=2).fit(texts, labels)  # doctest: +SKIP
            >>> clf.history_[clf.best_epoch_]["val_accuracy"]               # doctest: +SKIP
            0.85
        """
        import torch

        from embeddings._deps import torch_threads

        self._validate()
        if labels is None:
            raise InvalidInputError(
                f"{type(self).__name__}.fit needs labels: fit(texts, labels), one per text"
            )
        texts_list, y = _check_texts_labels(texts, labels, "train")
        classes, y_idx = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise InvalidInputError(
                f"fine-tuning needs at least two classes in labels, got {classes.tolist()!r}"
            )
        train, val, validation = self._split(texts_list, y_idx, classes, dev_texts, dev_labels)
        started = time.perf_counter()
        threads = torch.get_num_threads() if self.threads is None else int(self.threads)
        with torch.random.fork_rng(devices=[]), torch_threads(threads):
            torch.manual_seed(int(self.random_state))
            enc = self._fresh_base()
            modules, trained, enc_params = self._freeze(enc)
            device = next(iter(_unique_params(modules)), torch.empty(0)).device
            head = torch.nn.Linear(int(enc.dim), int(classes.size)).to(device)
            model = _classifier(modules, head, trained).eval()
            objective = _Classification(
                enc, train, val, batch_size=int(self.batch_size),
                eval_batch_size=int(self.eval_batch_size), precomputed=not enc_params,
                device=device, show_progress=show_progress,
            )  # fmt: skip
            untrained = objective.untrained_record(model)
        config = self._train_config(len(train[0]), threads, max_minutes, show_progress)
        groups = self._param_groups(head, enc_params)
        result = Trainer(model, objective, config, workdir, param_groups=groups).fit(resume=resume)
        model.eval()
        for p in _unique_params(modules):
            p.requires_grad_(True)
        head.to("cpu")
        after = getattr(enc, "after_training", None)
        if callable(after):
            after()
        training: dict[str, Any] = {
            "n_train": len(train[0]), "n_val": len(val[0]), "validation": validation,
            "stop_reason": result.stop_reason, "finished": result.finished,
            "steps": result.steps, "train_seconds": time.perf_counter() - started,
            "n_trainable_params": sum(int(p.numel()) for p in [*head.parameters(), *enc_params]),
        }  # fmt: skip
        if result.finished and result.best_epoch is not None:
            training["best_epoch"] = result.best_epoch + 1  # history's epoch 0 is untrained
        history = [untrained, *objective.history(result)]
        self._store(enc, model, head, classes, history, training)
        self.training_result_ = result
        return self

    def _freeze(self, enc: Any) -> tuple[list[Any], list[Any], list[Any]]:
        """``(modules, trained modules, trained parameters)``; the rest stops getting gradients."""
        groups = enc.trainable_layers()
        modules, layers = list(groups["modules"]), list(groups["layers"])
        unfreeze = _check_unfreeze(self.unfreeze, len(layers))
        if self.init == "random":
            _reinitialise(modules)
        if unfreeze == "all":
            trained = modules
        else:
            trained = [*layers[len(layers) - unfreeze :], *groups["top"]] if unfreeze else []
        trained_ids = {id(p) for p in _unique_params(trained)}
        params = _unique_params(modules)
        for p in params:
            p.requires_grad_(id(p) in trained_ids)
        return modules, trained, [p for p in params if id(p) in trained_ids]

    def _param_groups(self, head: Any, enc_params: list[Any]) -> list[dict[str, Any]]:
        """AdamW groups: ``head_learning_rate`` for the head, ``learning_rate`` for the
        encoder; no decay on 1-D parameters."""
        wd = float(self.weight_decay)
        groups = [
            {"params": [head.weight], "lr": float(self.head_learning_rate), "weight_decay": wd},
            {"params": [head.bias], "lr": float(self.head_learning_rate), "weight_decay": 0.0},
        ]
        decay = [p for p in enc_params if p.ndim >= 2]
        no_decay = [p for p in enc_params if p.ndim < 2]
        if decay:
            lr = float(self.learning_rate)
            groups.append({"params": decay, "lr": lr, "weight_decay": wd})
        if no_decay:
            groups.append(
                {"params": no_decay, "lr": float(self.learning_rate), "weight_decay": 0.0}
            )
        return groups

    def _train_config(
        self, n_train: int, threads: int, max_minutes: float | None, show_progress: bool
    ) -> TrainConfig:
        clip = self.max_grad_norm
        return TrainConfig(
            epochs=int(self.epochs), lr=float(self.learning_rate), optimizer="adamw",
            weight_decay=float(self.weight_decay),
            max_grad_norm=None if clip is None or math.isinf(clip) else float(clip),
            patience=int(self.patience), max_minutes=max_minutes,
            checkpoint_every=max(1, min(200, -(-n_train // int(self.batch_size)))),
            random_state=int(self.random_state), threads=threads,
            show_progress=bool(show_progress),
        )  # fmt: skip

    def _store(
        self,
        enc: Any,
        model: Any,
        head: Any,
        classes: NDArray[Any],
        history: list[EpochRecord],
        training: dict[str, Any],
    ) -> None:
        """Keep the trained copy, and its weights and metadata as the fitted state."""
        weights = {k: v.detach().to("cpu").numpy().copy() for k, v in model.state_dict().items()}
        meta: dict[str, Any] = {
            "base": {"__encoder__": enc._class_path(), "params": enc._json_params()},
            "classes": _classes_to_json(classes),
            "classes_dtype": classes.dtype.str,
            "history": history,
            "training": training,
        }
        if enc.__dict__.get("_preset_name"):
            meta["base_preset"] = str(enc._preset_name)
        if (enc.requires_fit or enc.trainable) and enc.is_fitted:  # e.g. a vocabulary
            base_arrays, base_meta = enc._get_state()
            weights.update({f"base.{k}": np.asarray(v) for k, v in base_arrays.items()})
            meta["base_state"] = dict(base_meta)
        self._weights, self._meta = weights, meta
        self._encoder, self._head = enc, head
        self._expose()
        self._state_digest = None
        self._fitted_for = self._fit_key()
        self._loaded_for = self._params_key()

    def _split(
        self,
        texts: list[str],
        y_idx: NDArray[np.int64],
        classes: NDArray[Any],
        dev_texts: Sequence[str] | None,
        dev_labels: ArrayLike | None,
    ) -> tuple[tuple[list[str], NDArray], tuple[list[str], NDArray], str]:
        """``(train, validation, how the validation set was made)`` as (texts, class ids)."""
        if (dev_texts is None) != (dev_labels is None):
            raise InvalidParameterError("pass both dev_texts and dev_labels, or neither")
        if dev_texts is None:
            fraction = float(self.validation_fraction)
            tr, va = _validation_split(y_idx, fraction, int(self.random_state))
            train = ([texts[i] for i in tr], y_idx[tr])
            return train, ([texts[i] for i in va], y_idx[va]), f"split {fraction}"
        val_texts, y_val = _check_texts_labels(dev_texts, dev_labels, "dev")
        if not val_texts:
            raise InvalidInputError("dev_texts is empty")
        unseen = sorted(set(np.unique(y_val).tolist()) - set(classes.tolist()))
        if unseen:
            raise InvalidInputError(
                f"dev_labels has classes not seen in training: {unseen!r}; the head can only "
                f"predict {classes.tolist()!r}"
            )
        return (texts, y_idx), (val_texts, np.searchsorted(classes, y_val)), "dev"

    def _expose(self) -> None:
        """Set the public fitted attributes from the state metadata."""
        meta = self._meta
        training = meta["training"]
        self.classes_ = _classes_from_json(meta["classes"], meta["classes_dtype"])
        self.history_: list[EpochRecord] = [dict(h) for h in meta["history"]]  # type: ignore[misc]
        self.best_epoch_: int | None = training.get("best_epoch")
        self.train_seconds_ = float(training["train_seconds"])
        self.n_trainable_params_ = int(training["n_trainable_params"])
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "base"}
        keep = ("n_train", "n_val", "validation")
        self.params_: dict[str, Any] = {**params, **{k: training[k] for k in keep}}

    # ------------------------------------------------------------ state/load
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return dict(self._weights), copy.deepcopy(self._meta)

    def _check_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        owner = "saved fine-tuned encoder"
        check_meta(
            meta,
            {"base": "dict", "base_preset": "str", "base_state": "dict", "classes": "list",
             "classes_dtype": "str", "history": "list", "training": "dict"},
            optional=("base_preset", "base_state"), owner=owner,
        )  # fmt: skip
        check_meta(
            meta["training"],
            {"n_train": "int", "n_val": "int", "validation": "str", "stop_reason": "str",
             "finished": "bool", "steps": "int", "train_seconds": "number",
             "n_trainable_params": "int", "best_epoch": "int"},
            optional=("best_epoch",), owner=f"{owner} (training)",
        )  # fmt: skip
        if not all(isinstance(h, dict) for h in meta["history"]):
            raise ModelFormatError(f"{owner}: 'history' must be a list of epoch records")
        classes = _classes_from_json(meta["classes"], meta["classes_dtype"])
        if classes.size < 2 or np.unique(classes).size != classes.size:
            raise ModelFormatError(
                f"{owner}: 'classes' must hold at least two distinct labels, got "
                f"{meta['classes']!r:.80}"
            )
        head = {k: v for k, v in arrays.items() if k.startswith("head.")}
        check_state_arrays(
            head,
            {"head.weight": ("float32", (classes.size, None)),
             "head.bias": ("float32", (classes.size,))},
            owner=owner,
        )  # fmt: skip
        has_base = "base_state" in meta
        stray = sorted(
            k for k in arrays
            if not (k.startswith(("encoder.", "head.")) or (has_base and k.startswith("base.")))
        )  # fmt: skip
        if stray:
            raise ModelFormatError(
                f"{owner}: unexpected array(s) {stray[:5]}; allowed: 'encoder.*', 'head.*'"
                + (", 'base.*'" if has_base else "")
            )

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self._weights = dict(arrays)
        self._meta = dict(meta)
        self._build()
        self._expose()

    def _load(self) -> None:
        self._validate()
        self._encoder = None
        self._head = None
        if self.__dict__.get("_weights") is not None and self.__dict__.get("_meta"):
            self._build()

    def _build(self) -> None:
        """The fine-tuned encoder copy and the head, from the stored state."""
        import torch

        from embeddings._saved import check_named_paths, from_json_param, restore_state

        meta = self._meta
        enc = from_json_param(dict(meta["base"]), where="state.base")
        if not isinstance(enc, BaseEncoder):
            raise ModelFormatError(f"state.base must name an encoder, got {meta['base']!r:.80}")
        roots = self.__dict__.get("_config_roots")
        if roots:  # read from a saved folder: its files stay inside it
            check_named_paths(
                enc, Path(roots[0]), allow_paths=roots[1:], where=f"{roots[0]}: state.base"
            )
        if meta.get("base_preset"):
            enc._preset_name = meta["base_preset"]
        if "base_state" in meta:
            base_arrays = {k[5:]: v for k, v in self._weights.items() if k.startswith("base.")}
            restore_state(enc, base_arrays, dict(meta["base_state"]), where="state.base")
        _check_encoder(enc)
        modules = list(enc.trainable_layers()["modules"])
        weight = self._weights["head.weight"]
        with torch.random.fork_rng(devices=[]):
            head = torch.nn.Linear(int(weight.shape[1]), int(weight.shape[0]))
        model = _classifier(modules, head, [])
        state = {
            k: torch.from_numpy(np.array(v))
            for k, v in self._weights.items()
            if k.startswith(("encoder.", "head."))
        }
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise ModelFormatError(
                f"saved fine-tuned weights do not fit {type(enc).__name__}: {err}"
            ) from err
        model.eval()
        after = getattr(enc, "after_training", None)
        if callable(after):
            after()
        if int(enc.dim) != int(weight.shape[1]):
            raise ModelFormatError(
                f"saved head takes {weight.shape[1]} features, the encoder gives {enc.dim}"
            )
        self._encoder, self._head = enc, head

    # -------------------------------------------------------------- encoding
    @property
    def name(self) -> str:
        """``<base encoder name>-finetuned``."""
        preset = self.__dict__.get("_preset_name")
        if preset:
            return str(preset)
        base = self.base
        base_name = base.name if isinstance(base, BaseEncoder) else Path(os.fspath(base)).name
        return f"{base_name}-finetuned"

    def _output_dim(self) -> int:
        return int(self._encoder.dim)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._encoder.encode(texts, batch_size=max(len(texts), 1))

    def predict_proba(
        self, texts: Sequence[str], /, *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Class probabilities, float32 ``(n, n_classes)``, columns in ``classes_`` order.

        Example:
            >>> clf.predict_proba(["a fine film"]).shape   # doctest: +SKIP
            (1, 2)
        """
        import torch

        X = self.encode(texts, batch_size=batch_size, show_progress=show_progress)
        with torch.inference_mode():
            logits = self._head(torch.from_numpy(X))
            return torch.softmax(logits, dim=1).numpy().astype(np.float32)

    def predict(
        self, texts: Sequence[str], /, *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Predicted labels (values of ``classes_``).

        Example:
            >>> clf.predict(["a fine film"])   # doctest: +SKIP
            array([1])
        """
        proba = self.predict_proba(texts, batch_size=batch_size, show_progress=show_progress)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(
        self,
        texts: Sequence[str],
        labels: ArrayLike,
        *,
        batch_size: int = 64,
        show_progress: bool = False,
    ) -> float:
        """Accuracy on ``texts``/``labels`` (``show_progress``: a bar while encoding).

        Example:
            >>> clf.score(["a fine film", "a dull film"], [1, 0])   # doctest: +SKIP
            1.0
        """
        texts_list, y = _check_texts_labels(texts, labels, "score")
        predicted = self.predict(texts_list, batch_size=batch_size, show_progress=show_progress)
        return float(np.mean(predicted == y))


#: the name of :class:`FineTunedEncoder` in transferkit before it became an encoder
FineTunedClassifier = FineTunedEncoder


def _classes_to_json(classes: NDArray[Any]) -> list[Any]:
    if classes.dtype.kind == "S":
        return [c.decode("latin-1") for c in classes.tolist()]
    return classes.tolist()


def _classes_from_json(values: Any, dtype: Any) -> NDArray[Any]:
    try:
        dt = np.dtype(str(dtype))
    except TypeError as err:
        raise ModelFormatError(f"classes_dtype {dtype!r:.40} is not a numpy dtype") from err
    if dt.kind not in _LABEL_KINDS or not isinstance(values, list):
        raise ModelFormatError(
            f"classes must be a list of int/bool/str labels with a dtype of kind "
            f"{list(_LABEL_KINDS)}, got {dtype!r:.40}"
        )
    if dt.kind == "S":
        values = [str(v).encode("latin-1") for v in values]
    try:
        return np.asarray(values, dtype=dt)
    except (TypeError, ValueError, OverflowError) as err:
        raise ModelFormatError(f"classes {values!r:.60} do not fit dtype {dt}") from err


# ---------------------------------------------------------------- function
@renamed_parameters(max_epochs="epochs", lr="learning_rate", head_lr="head_learning_rate")
def fine_tune(
    encoder: BaseEncoder | str,
    texts: Sequence[str],
    labels: ArrayLike,
    *,
    head: Literal["softmax"] = "softmax",
    unfreeze: Unfreeze = 0,
    init: Init = "pretrained",
    dev_texts: Sequence[str] | None = None,
    dev_labels: ArrayLike | None = None,
    validation_fraction: float = 0.1,
    epochs: int = 10,
    patience: int = 3,
    batch_size: int = 16,
    learning_rate: float = 5e-5,
    head_learning_rate: float = 1e-3,
    weight_decay: float = 0.01,
    max_grad_norm: float | None = 1.0,
    eval_batch_size: int = 64,
    random_state: int = 0,
    threads: int | None = None,
    show_progress: bool = False,
    workdir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    max_minutes: float | None = None,
) -> FineTunedEncoder:
    """Fine-tune a torch encoder with a new softmax head and early stopping.

    The same as ``FineTunedEncoder(encoder, ...).fit(texts, labels, ...)``; the
    encoder passed in is never changed (a copy is trained).  The parameters are
    those of :class:`FineTunedEncoder` and :meth:`FineTunedEncoder.fit`.

    Returns:
        a fitted :class:`FineTunedEncoder` holding the best epoch's weights.

    Raises:
        InvalidParameterError: an encoder without the torch hooks, an out-of-range
            ``unfreeze``, bad hyper-parameters, ``init="random"`` with nothing of the
            encoder trained.
        InvalidInputError: bad texts/labels, fewer than two classes, dev labels
            unseen in training.

    Example:
        >>> import embeddings
        >>> clf = fine_tune(embeddings.load("minilm-l6"), texts, labels,
        ...                 unfreeze=2)               # doctest: +SKIP
        >>> clf.history_[clf.best_epoch_]["val_accuracy"]  # doctest: +SKIP
        0.85
    """
    _check_encoder(encoder)
    model = FineTunedEncoder(
        encoder, head=head, unfreeze=unfreeze, init=init,
        validation_fraction=validation_fraction, epochs=epochs, patience=patience,
        batch_size=batch_size, learning_rate=learning_rate,
        head_learning_rate=head_learning_rate, weight_decay=weight_decay,
        max_grad_norm=max_grad_norm, eval_batch_size=eval_batch_size,
        random_state=random_state, threads=threads,
    )  # fmt: skip
    return model.fit(
        texts, labels, dev_texts=dev_texts, dev_labels=dev_labels, workdir=workdir,
        resume=resume, max_minutes=max_minutes, show_progress=show_progress,
    )  # fmt: skip
