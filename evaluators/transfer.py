"""Transfer learning: fine-tuning torch encoders, and learning-curve helpers.

This is the one evaluators module that touches encoders: :func:`fine_tune` trains a
torch encoder (the transformer adapter, and any encoder offering the same hooks)
together with a new softmax head.  torch is imported inside the functions, so
``import evaluators`` stays light.

A fine-tunable encoder offers (the *torch-encoder protocol*):

* ``tokenize(texts) -> batch`` and ``forward(batch) -> (n, dim)`` tensor with
  autograd (the same path ``encode`` uses);
* ``trainable_layers() -> {"modules": [...], "layers": [...], "top": [...]}``: every
  module holding the encoder's parameters, its blocks bottom to top, and the
  modules above the blocks (pooler, final norm, projections);
* ``dim`` and ``encode`` (the :class:`~embeddings.base.BaseEncoder` contract).

``unfreeze=k`` trains the new head, the top ``k`` blocks and the ``top`` modules;
everything else (the lower blocks and the embeddings) gets ``requires_grad=False``,
so no gradient is computed for it and its weights stay bit-identical.  Frozen
modules also run in eval mode (no dropout), so ``unfreeze=0`` trains a softmax on
fixed features, which are computed once.  ``unfreeze="all"`` is full fine-tuning
(embeddings included).  ``init="random"`` re-initialises the same architecture
(``AutoModel.from_config`` for Hugging Face models) before training: the
"no transfer" control of the learning curve.

Training: AdamW (``lr`` for the encoder, ``head_lr`` for the head), cross-entropy,
gradient clipping at 1.0, batches bucketed by length (little padding), early
stopping on validation accuracy (ties broken by validation loss) with ``patience``
epochs, and the best epoch's weights restored.  The validation set is the given
``dev_texts``/``dev_labels``, else a seeded, stratified ``validation_fraction`` of
the training texts.  Everything random (head init, dropout, shuffling, random
init) is seeded from ``random_state`` inside :func:`torch.random.fork_rng`, so the
caller's global RNG is untouched and reruns are bit-identical on the same machine.

Example:
    >>> import embeddings
    >>> from evaluators.transfer import fine_tune
    >>> enc = embeddings.load("minilm-l6", max_seq_length=32)
    >>> texts = ["a great film", "a dull film", "great fun", "dull and slow"] * 5
    >>> labels = [1, 0, 1, 0] * 5
    >>> clf = fine_tune(enc, texts, labels, unfreeze=0, max_epochs=2)  # doctest: +SKIP
    >>> clf.predict(["great"]).shape, clf.encode(["great"]).shape     # doctest: +SKIP
    ((1,), (1, 384))
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embeddings._atomic import write_folder_atomically
from embeddings.errors import (
    InvalidInputError,
    InvalidParameterError,
    ModelFormatError,
)

__all__ = [
    "EpochRecord",
    "FineTunedClassifier",
    "Unfreeze",
    "curve_summary",
    "fine_tune",
    "stratified_subsample",
]

Unfreeze = int | Literal["all"]
Init = Literal["pretrained", "random"]

SAVE_FORMAT = "transferkit-finetuned"
SAVE_FORMAT_VERSION = 1
_CONFIG = "config.json"
_WEIGHTS = "weights.safetensors"
_HOOKS = ("tokenize", "forward", "trainable_layers", "encode")


class EpochRecord(TypedDict):
    """One epoch of :func:`fine_tune` (``epoch`` 0 is the untrained model)."""

    epoch: int
    train_loss: float | None
    val_loss: float
    val_accuracy: float
    seconds: float


# ----------------------------------------------------------------- checks
def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidParameterError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _check_float(
    name: str, value: Any, *, low: float, high: float | None = None, low_ok: bool = False
) -> float:
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if ok and math.isfinite(float(value)):
        x = float(value)
        if (x > low or (low_ok and x == low)) and (high is None or x < high):
            return x
    bound = f"in ({low}, {high})" if high is not None else f"{'>=' if low_ok else '>'} {low}"
    raise InvalidParameterError(f"{name} must be a number {bound}, got {value!r}")


def _check_texts_labels(texts: Any, labels: Any, what: str) -> tuple[list[str], NDArray[Any]]:
    from embeddings.base import validate_texts

    texts_list = validate_texts(texts, what=f"{what}_texts")
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != len(texts_list):
        raise InvalidInputError(
            f"{what}_labels must be one label per text: got shape {y.shape} for "
            f"{len(texts_list)} texts"
        )
    if y.dtype.kind not in "iubUS":
        raise InvalidInputError(
            f"{what}_labels must be integers or strings, got dtype {y.dtype}; convert "
            "class names or ids to one type"
        )
    return texts_list, y


def _check_unfreeze(unfreeze: Any, n_layers: int) -> int | Literal["all"]:
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
    missing = [h for h in _HOOKS if not callable(getattr(encoder, h, None))]
    if missing:
        raise InvalidParameterError(
            f"{type(encoder).__name__} cannot be fine-tuned: it lacks {missing}. Fine-tuning "
            "needs a torch encoder with tokenize(), forward() and trainable_layers(), such as "
            "embeddings.load('minilm-l6')"
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
    size = _check_int("size", size, 1)
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


# -------------------------------------------------------------- the model
class FineTunedClassifier:
    """A fine-tuned encoder plus its softmax head: ``predict`` and ``encode``.

    Built by :func:`fine_tune` or :meth:`load`; not meant to be constructed directly.
    ``encode`` returns the fine-tuned encoder's vectors (the head's input), so the
    object is also an encoder: it has ``dim``, ``name`` and a ``fingerprint()`` that
    covers the fine-tuned weights (safe as a :class:`~embeddings.cache.CachedEncoder`
    key).

    Attributes:
        classes_: the label values, in the order of the head's outputs.
        unfreeze: what was trained (``0``: head only, ``k``: top k layers, ``"all"``).
        init: ``"pretrained"`` or ``"random"`` (trained from scratch).
        history_: one :class:`EpochRecord` per epoch (epoch 0: before training).
        best_epoch_: the epoch whose weights were kept.
        train_seconds_: wall time of :func:`fine_tune`.
        n_trainable_params_: parameters that were trained (head included).
        params_: the training hyper-parameters.

    Example:
        >>> clf = FineTunedClassifier.load("results/ft_sst2")   # doctest: +SKIP
        >>> clf.predict(["a fine film"])                          # doctest: +SKIP
        array([1])
    """

    def __init__(
        self,
        encoder: Any,
        head: Any,
        classes: NDArray[Any],
        *,
        unfreeze: int | Literal["all"],
        init: Init,
        history: list[EpochRecord],
        best_epoch: int,
        train_seconds: float,
        n_trainable_params: int,
        params: dict[str, Any],
    ) -> None:
        self._encoder = encoder
        self._head = head
        self.classes_ = classes
        self.unfreeze = unfreeze
        self.init = init
        self.history_ = history
        self.best_epoch_ = best_epoch
        self.train_seconds_ = train_seconds
        self.n_trainable_params_ = n_trainable_params
        self.params_ = params
        self._fingerprint: str | None = None

    # ------------------------------------------------------------ encoding
    @property
    def name(self) -> str:
        """``<base encoder name>-finetuned``."""
        return f"{getattr(self._encoder, 'name', type(self._encoder).__name__)}-finetuned"

    @property
    def dim(self) -> int:
        """Dimension of :meth:`encode`'s vectors."""
        return int(self._encoder.dim)

    def encode(
        self, texts: Sequence[str], /, *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """The fine-tuned encoder's sentence vectors, float32 ``(n, dim)``.

        Example:
            >>> clf.encode(["a fine film"]).shape   # doctest: +SKIP
            (1, 384)
        """
        return self._encoder.encode(texts, batch_size=batch_size, show_progress=show_progress)

    def predict_proba(
        self, texts: Sequence[str], /, *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Class probabilities, float32 ``(n, n_classes)``, columns in ``classes_`` order."""
        import torch

        X = self.encode(texts, batch_size=batch_size, show_progress=show_progress)
        with torch.inference_mode():
            logits = self._head(torch.from_numpy(X))
            return torch.softmax(logits, dim=1).numpy().astype(np.float32)

    def predict(
        self, texts: Sequence[str], /, *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Predicted labels (values of ``classes_``)."""
        proba = self.predict_proba(texts, batch_size=batch_size, show_progress=show_progress)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, texts: Sequence[str], labels: ArrayLike, *, batch_size: int = 64) -> float:
        """Accuracy on ``texts``/``labels``."""
        texts_list, y = _check_texts_labels(texts, labels, "score")
        return float(np.mean(self.predict(texts_list, batch_size=batch_size) == y))

    # --------------------------------------------------------- persistence
    def _modules(self) -> list[Any]:
        return list(self._encoder.trainable_layers()["modules"])

    def _tensors(self) -> dict[str, Any]:
        tensors: dict[str, Any] = {}
        for i, module in enumerate(self._modules()):
            for key, value in module.state_dict().items():
                tensors[f"encoder.{i}.{key}"] = value.detach().clone().contiguous()
        for key, value in self._head.state_dict().items():
            tensors[f"head.{key}"] = value.detach().clone().contiguous()
        return tensors

    def fingerprint(self) -> str:
        """sha256 of the base encoder's fingerprint, the weights and the classes."""
        if self._fingerprint is None:
            h = hashlib.sha256(b"transferkit-finetuned\0")
            base = getattr(self._encoder, "fingerprint", None)
            h.update(str(base() if callable(base) else type(self._encoder).__name__).encode())
            h.update(json.dumps([str(c) for c in self.classes_.tolist()]).encode())
            for key, value in sorted(self._tensors().items()):
                h.update(key.encode())
                h.update(str(value.dtype).encode())
                h.update(str(tuple(value.shape)).encode())
                h.update(value.cpu().numpy().tobytes())
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` and ``weights.safetensors`` (all weights, no pickle).

        The base encoder is recorded by class and parameters (its tokenizer and
        architecture are read from there again on :meth:`load`); every weight of
        the fine-tuned encoder and of the head is stored.  The folder is replaced
        atomically.

        Raises:
            InvalidParameterError: ``path`` exists and is not a saved model.
        """
        from safetensors.torch import save_file

        target = Path(path)
        get_params = getattr(self._encoder, "get_params", None)
        enc_params = get_params(deep=False) if callable(get_params) else {}
        config = {
            "format": SAVE_FORMAT,
            "format_version": SAVE_FORMAT_VERSION,
            "encoder": {
                "class": f"{type(self._encoder).__module__}:{type(self._encoder).__qualname__}",
                "params": enc_params,
                "preset": self._encoder.__dict__.get("_preset_name"),
            },
            "classes": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str,
            "head": {"type": "softmax", "in": self.dim, "out": int(self.classes_.size)},
            "unfreeze": self.unfreeze,
            "init": self.init,
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "train_seconds": self.train_seconds_,
            "n_trainable_params": self.n_trainable_params_,
            "params": self.params_,
            "fingerprint": self.fingerprint(),
        }
        try:
            blob = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
        except TypeError as err:
            raise InvalidParameterError(
                f"cannot write the encoder parameters to JSON: {err}"
            ) from err

        def fill(tmp: Path) -> None:
            save_file(self._tensors(), str(tmp / _WEIGHTS), metadata={"format": SAVE_FORMAT})
            (tmp / _CONFIG).write_text(blob, encoding="utf-8")

        return write_folder_atomically(target, fill, kind="saved model")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FineTunedClassifier:
        """Rebuild a model written by :meth:`save`.

        Raises:
            ModelFormatError: a missing or invalid ``config.json``/weights, another
                format version, or weights that do not fit the encoder.
        """
        import torch
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        from embeddings.base import import_class

        folder = Path(path)
        try:
            config = json.loads((folder / _CONFIG).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelFormatError(
                f"{folder} is not a saved fine-tuned model: no {_CONFIG}"
            ) from None
        except json.JSONDecodeError as err:
            raise ModelFormatError(f"{folder / _CONFIG}: invalid JSON: {err.msg}") from err
        if not isinstance(config, dict) or config.get("format") != SAVE_FORMAT:
            raise ModelFormatError(f"{folder / _CONFIG}: 'format' must be {SAVE_FORMAT!r}")
        if config.get("format_version") != SAVE_FORMAT_VERSION:
            raise ModelFormatError(
                f"{folder / _CONFIG}: format_version {config.get('format_version')!r} is not "
                f"supported (this transferkit reads {SAVE_FORMAT_VERSION})"
            )
        try:
            klass = import_class(str(config["encoder"]["class"]))
            encoder = klass(**dict(config["encoder"]["params"]))
        except (ImportError, AttributeError, KeyError, TypeError, InvalidParameterError) as err:
            raise ModelFormatError(
                f"{folder / _CONFIG}: cannot rebuild the encoder: {err}"
            ) from err
        if config["encoder"].get("preset"):
            encoder._preset_name = config["encoder"]["preset"]
        try:
            tensors = load_file(str(folder / _WEIGHTS))
        except (FileNotFoundError, SafetensorError, OSError) as err:
            raise ModelFormatError(f"{folder / _WEIGHTS}: cannot read weights: {err}") from err
        modules = list(encoder.trainable_layers()["modules"])
        head_cfg = config["head"]
        head = torch.nn.Linear(int(head_cfg["in"]), int(head_cfg["out"]))
        try:
            for i, module in enumerate(modules):
                prefix = f"encoder.{i}."
                module.load_state_dict(
                    {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
                )
                module.eval()
            head.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("head.")})
        except RuntimeError as err:
            raise ModelFormatError(f"{folder / _WEIGHTS}: weights do not fit: {err}") from err
        head.eval()
        classes = np.asarray(config["classes"], dtype=np.dtype(config["classes_dtype"]))
        unfreeze = config["unfreeze"]
        return cls(
            encoder,
            head,
            classes,
            unfreeze=unfreeze,
            init=config["init"],
            history=list(config["history"]),
            best_epoch=int(config["best_epoch"]),
            train_seconds=float(config["train_seconds"]),
            n_trainable_params=int(config["n_trainable_params"]),
            params=dict(config["params"]),
        )

    def __repr__(self) -> str:
        return (
            f"FineTunedClassifier({self.name}, unfreeze={self.unfreeze!r}, init={self.init!r}, "
            f"classes={self.classes_.tolist()!r})"
        )


# ----------------------------------------------------------- fine-tuning
def _features(encoder: Any, texts: list[str], batch_size: int) -> Any:
    """Pooled vectors with the current (frozen, eval-mode) weights, as a tensor."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = torch.empty((len(texts), int(encoder.dim)), dtype=torch.float32)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = encoder.forward(encoder.tokenize([texts[i] for i in idx])).float()
    return out


def fine_tune(
    encoder: Any,
    texts: Sequence[str],
    labels: ArrayLike,
    *,
    head: Literal["softmax"] = "softmax",
    unfreeze: Unfreeze = 0,
    init: Init = "pretrained",
    dev_texts: Sequence[str] | None = None,
    dev_labels: ArrayLike | None = None,
    validation_fraction: float = 0.1,
    max_epochs: int = 10,
    patience: int = 3,
    batch_size: int = 16,
    lr: float = 5e-5,
    head_lr: float = 1e-3,
    weight_decay: float = 0.01,
    max_grad_norm: float = 1.0,
    eval_batch_size: int = 64,
    random_state: int = 0,
    show_progress: bool = False,
) -> FineTunedClassifier:
    """Fine-tune a torch encoder with a new softmax head and early stopping.

    The encoder passed in is never changed: a copy is trained.

    Args:
        encoder: a torch encoder (see the module docstring), e.g.
            ``embeddings.load("minilm-l6", max_seq_length=64)``.
        texts: training texts.
        labels: one label (int or str) per text; at least two classes.
        head: the output layer; only ``"softmax"`` (a new, randomly initialised
            linear layer + softmax cross-entropy).
        unfreeze: ``0`` trains the head only; ``k`` also the top ``k`` layers and the
            modules above them; ``"all"`` everything, embeddings included.
        init: ``"pretrained"`` or ``"random"``: the same architecture re-initialised
            (seeded), trained like the pretrained one (use with ``unfreeze="all"``).
        dev_texts: validation texts for early stopping; ``None`` carves a seeded,
            stratified ``validation_fraction`` from ``texts``.
        dev_labels: labels of ``dev_texts``.
        validation_fraction: share of ``texts`` held out when no dev set is given.
        max_epochs: passes over the training texts at most.
        patience: stop after this many epochs without a better validation score.
        batch_size: training batch size.
        lr: AdamW learning rate of the encoder's trainable parameters.
        head_lr: AdamW learning rate of the head.
        weight_decay: AdamW weight decay (encoder and head weights).
        max_grad_norm: gradient clipping (``inf`` to disable).
        eval_batch_size: batch size of validation and feature passes.
        random_state: seeds head init, dropout, shuffling, the validation split and
            random init.
        show_progress: a tqdm bar over epochs.

    Returns:
        A :class:`FineTunedClassifier` holding the best epoch's weights.

    Raises:
        InvalidParameterError: an encoder without the torch hooks, an out-of-range
            ``unfreeze``, bad hyper-parameters, ``init="random"`` with nothing of the
            encoder trained.
        InvalidInputError: bad texts/labels, fewer than two classes, dev labels
            unseen in training.

    Example:
        >>> clf = fine_tune(enc, texts, labels, unfreeze=2, max_epochs=3)  # doctest: +SKIP
        >>> clf.history_[clf.best_epoch_]["val_accuracy"]                  # doctest: +SKIP
        0.85
    """
    import torch

    _check_encoder(encoder)
    if head != "softmax":
        raise InvalidParameterError(f"head must be 'softmax', got {head!r}")
    if init not in ("pretrained", "random"):
        raise InvalidParameterError(f"init must be 'pretrained' or 'random', got {init!r}")
    texts_list, y = _check_texts_labels(texts, labels, "train")
    classes, y_idx = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise InvalidInputError(
            f"fine-tuning needs at least two classes in labels, got {classes.tolist()!r}"
        )
    max_epochs = _check_int("max_epochs", max_epochs, 1)
    patience = _check_int("patience", patience, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    eval_batch_size = _check_int("eval_batch_size", eval_batch_size, 1)
    random_state = _check_int("random_state", random_state, 0)
    lr = _check_float("lr", lr, low=0.0)
    head_lr = _check_float("head_lr", head_lr, low=0.0)
    weight_decay = _check_float("weight_decay", weight_decay, low=0.0, low_ok=True)
    if (
        isinstance(max_grad_norm, bool)
        or not isinstance(max_grad_norm, (int, float))
        or not (max_grad_norm > 0)
    ):
        raise InvalidParameterError(f"max_grad_norm must be > 0, got {max_grad_norm!r}")

    if (dev_texts is None) != (dev_labels is None):
        raise InvalidParameterError("pass both dev_texts and dev_labels, or neither")
    if dev_texts is not None:
        val_texts, y_val_raw = _check_texts_labels(dev_texts, dev_labels, "dev")
        if not val_texts:
            raise InvalidInputError("dev_texts is empty")
        unseen = sorted(set(np.unique(y_val_raw).tolist()) - set(classes.tolist()))
        if unseen:
            raise InvalidInputError(
                f"dev_labels has classes not seen in training: {unseen!r}; the head can only "
                f"predict {classes.tolist()!r}"
            )
        y_val = np.searchsorted(classes, y_val_raw)
        train_texts, y_train = texts_list, y_idx
    else:
        fraction = _check_float("validation_fraction", validation_fraction, low=0.0, high=1.0)
        tr, va = _validation_split(y_idx, fraction, random_state)
        train_texts = [texts_list[i] for i in tr]
        y_train = y_idx[tr]
        val_texts = [texts_list[i] for i in va]
        y_val = y_idx[va]

    start_time = time.perf_counter()
    params = {
        "head": head, "unfreeze": unfreeze, "init": init, "max_epochs": max_epochs,
        "patience": patience, "batch_size": batch_size, "lr": lr, "head_lr": head_lr,
        "weight_decay": weight_decay, "max_grad_norm": float(max_grad_norm),
        "random_state": random_state, "n_train": len(train_texts), "n_val": len(val_texts),
        "validation": "dev" if dev_texts is not None else f"split {validation_fraction}",
    }  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_state)
        enc = copy.deepcopy(encoder)  # BaseEncoder copies drop loaded weights: reloaded fresh
        groups = enc.trainable_layers()
        modules = list(groups["modules"])
        layers = list(groups["layers"])
        unfreeze_ = _check_unfreeze(unfreeze, len(layers))
        if init == "random":
            if unfreeze_ != "all":
                raise InvalidParameterError(
                    f"init='random' with unfreeze={unfreeze_!r} would keep random frozen "
                    "layers; use unfreeze='all' to train the network from scratch"
                )
            _reinitialise(modules)
        if unfreeze_ == "all":
            trainable_modules = modules
        elif unfreeze_ == 0:
            trainable_modules = []
        else:
            trainable_modules = [*layers[len(layers) - unfreeze_ :], *groups["top"]]
        all_params = _unique_params(modules)
        trainable_ids = {id(p) for p in _unique_params(trainable_modules)}
        for p in all_params:
            p.requires_grad_(id(p) in trainable_ids)
        enc_params = [p for p in all_params if id(p) in trainable_ids]

        def set_train_mode(training: bool) -> None:
            for m in modules:
                m.eval()
            if training:
                for m in trainable_modules:
                    m.train()

        linear = torch.nn.Linear(int(enc.dim), int(classes.size))
        decay = [p for p in enc_params if p.ndim >= 2]
        no_decay = [p for p in enc_params if p.ndim < 2]
        groups_opt = [
            {"params": [linear.weight], "lr": head_lr, "weight_decay": weight_decay},
            {"params": [linear.bias], "lr": head_lr, "weight_decay": 0.0},
        ]
        if decay:
            groups_opt.append({"params": decay, "lr": lr, "weight_decay": weight_decay})
        if no_decay:
            groups_opt.append({"params": no_decay, "lr": lr, "weight_decay": 0.0})
        optimizer = torch.optim.AdamW(groups_opt)
        train_params = [linear.weight, linear.bias, *enc_params]

        precomputed = not enc_params
        set_train_mode(False)
        if precomputed:  # frozen encoder in eval mode: its vectors never change
            X_train = _features(enc, train_texts, eval_batch_size)
            X_val = _features(enc, val_texts, eval_batch_size)
        yt = torch.from_numpy(np.asarray(y_train, dtype=np.int64))
        yv = torch.from_numpy(np.asarray(y_val, dtype=np.int64))
        lengths = [len(t) for t in train_texts]
        rng = np.random.default_rng(random_state)

        def evaluate() -> tuple[float, float]:
            set_train_mode(False)
            linear.eval()
            with torch.no_grad():
                if precomputed:
                    logits = linear(X_val)
                else:
                    logits = linear(_features(enc, val_texts, eval_batch_size))
                loss = torch.nn.functional.cross_entropy(logits, yv).item()
                acc = (logits.argmax(dim=1) == yv).double().mean().item()
            return float(acc), float(loss)

        def snapshot() -> list[Any]:
            return [p.detach().clone() for p in train_params]

        t0 = time.perf_counter()
        acc, loss = evaluate()
        history: list[EpochRecord] = [
            {"epoch": 0, "train_loss": None, "val_loss": loss, "val_accuracy": acc,
             "seconds": time.perf_counter() - t0}
        ]  # fmt: skip
        best_key, best_epoch, best_state, stale = (acc, -loss), 0, snapshot(), 0
        from tqdm.auto import tqdm

        bar = tqdm(
            range(1, max_epochs + 1), disable=not show_progress, desc="fine-tune", unit="epoch"
        )
        for epoch in bar:
            t0 = time.perf_counter()
            set_train_mode(True)
            linear.train()
            total, count = 0.0, 0
            for idx in _length_batches(lengths, batch_size, rng):
                if precomputed:
                    feats = X_train[idx]
                else:
                    feats = enc.forward(enc.tokenize([train_texts[i] for i in idx]))
                loss_t = torch.nn.functional.cross_entropy(linear(feats), yt[idx])
                optimizer.zero_grad(set_to_none=True)
                loss_t.backward()
                if math.isfinite(max_grad_norm):
                    torch.nn.utils.clip_grad_norm_(train_params, max_grad_norm)
                optimizer.step()
                total += float(loss_t.item()) * len(idx)
                count += len(idx)
            acc, loss = evaluate()
            history.append(
                {"epoch": epoch, "train_loss": total / max(count, 1), "val_loss": loss,
                 "val_accuracy": acc, "seconds": time.perf_counter() - t0}
            )  # fmt: skip
            bar.set_postfix(val_acc=f"{acc:.4f}", val_loss=f"{loss:.4f}")
            if (acc, -loss) > best_key:
                best_key, best_epoch, best_state, stale = (acc, -loss), epoch, snapshot(), 0
            else:
                stale += 1
                if stale >= patience:
                    break
        bar.close()
        with torch.no_grad():
            for p, saved in zip(train_params, best_state, strict=True):
                p.copy_(saved)
        set_train_mode(False)
        linear.eval()
        for p in all_params:
            p.requires_grad_(True)
    params["unfreeze"] = unfreeze_
    return FineTunedClassifier(
        enc,
        linear,
        classes,
        unfreeze=unfreeze_,
        init=init,
        history=history,
        best_epoch=best_epoch,
        train_seconds=time.perf_counter() - start_time,
        n_trainable_params=int(sum(p.numel() for p in train_params)),
        params=params,
    )


# ------------------------------------------------------- learning curves
class CurvePoint(TypedDict):
    """Mean and spread of one method at one labelled-set size."""

    method: str
    size: int
    mean: float
    std: float
    min: float
    max: float
    n_seeds: int


def curve_summary(records: Sequence[dict[str, Any]], *, key: str = "accuracy") -> list[CurvePoint]:
    """Aggregate per-seed results into mean/std/min/max per (method, size).

    Args:
        records: dicts with ``method``, ``size`` and ``key`` (e.g. one per seed).
        key: the score to aggregate.

    Example:
        >>> rows = [{"method": "a", "size": 10, "accuracy": x} for x in (0.5, 0.7)]
        >>> p = curve_summary(rows)[0]
        >>> p["mean"], p["n_seeds"]
        (0.6, 2)
    """
    groups: dict[tuple[str, int], list[float]] = {}
    for rec in records:
        groups.setdefault((str(rec["method"]), int(rec["size"])), []).append(float(rec[key]))
    out: list[CurvePoint] = []
    for (method, size), values in sorted(groups.items()):
        arr = np.asarray(values)
        out.append(
            {"method": method, "size": size, "mean": round(float(arr.mean()), 6),
             "std": round(float(arr.std()), 6), "min": float(arr.min()),
             "max": float(arr.max()), "n_seeds": int(arr.size)}
        )  # fmt: skip
    return out
