"""Fine-tuning: a new softmax head on a torch encoder, with the top ``k`` layers unfrozen.

A fine-tunable encoder offers the torch-encoder protocol (``tokenize``,
``forward``, ``trainable_layers``), and ``unfreeze``/``init`` choose what trains:
:mod:`embeddings.training.finetune_model` describes both.  The package splits by
concern: :mod:`~embeddings.training.finetune_data` (checks, the stratified sampler,
batches), :mod:`~embeddings.training.finetune_model` (freezing, the head),
:mod:`~embeddings.training.finetune_objectives` (what is learnt, one registry of
objectives), :mod:`~embeddings.training.finetune_state` (the saved state).

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
import inspect
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embeddings._params import store_params
from embeddings.base import BaseEncoder
from embeddings.errors import InvalidInputError, InvalidParameterError, renamed_parameters
from embeddings.training.checkpoint import data_digest, weights_digest
from embeddings.training.finetune_data import (
    Init,
    Unfreeze,
    check_encoder,
    check_finetune_params,
    check_labelled,
    check_pairs,
    check_texts_labels,
    is_pairs,
    stratified_subsample,
    train_validation,
)
from embeddings.training.finetune_model import param_groups
from embeddings.training.finetune_objectives import (
    OBJECTIVES,
    EpochRecord,
    pair_vectors,
    setup_training,
)
from embeddings.training.finetune_state import (
    build_finetuned,
    check_finetuned_state,
    classes_from_json,
    finetuned_state,
)
from embeddings.training.trainer import TrainConfig, Trainer

__all__ = [
    "EpochRecord",
    "FineTunedClassifier",
    "FineTunedEncoder",
    "Init",
    "Unfreeze",
    "fine_tune",
    "stratified_subsample",
]


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
            when :meth:`fit` gets no dev set; ``0`` holds none out (every text trains,
            all ``epochs`` run and the last is kept; few-shot training).
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
        objective: ``"classification"`` (cross-entropy through the head) or
            ``"contrastive"`` (cosine-similarity loss on pairs of texts sampled from
            the labels, the head trained on the new vectors).  Fitted on
            ``(text_a, text_b)`` pairs, the head reads ``[u, v, |u-v|, u*v]`` and
            ``"contrastive"`` trains on the given pairs (see
            :mod:`~embeddings.training.finetune_objectives`).

    Attributes:
        classes_: the label values, in the order of the head's outputs.
        input_: ``"texts"``, or ``"pairs"`` when fitted on ``(text_a, text_b)`` pairs
            (``predict``, ``predict_proba`` and ``score`` then take pairs; ``encode``
            always takes texts).
        pair_targets_: contrastive fine-tuning on pairs: the target cosine similarity of
            each class's pairs (``{label: target}``); else ``None``.
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
        objective: str = "classification",
    ) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------ validation
    def _validate(self) -> None:
        check_finetune_params(self)
        if not isinstance(self.objective, str) or self.objective not in OBJECTIVES:
            raise InvalidParameterError(
                f"objective must be one of {sorted(OBJECTIVES)}, got {self.objective!r}"
            )

    def __sklearn_tags__(self) -> Any:
        """A classifier to scikit-learn (``is_classifier``; ``cross_val_score`` then
        splits stratified), that needs ``y`` to fit."""
        from sklearn.utils import ClassifierTags

        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        return tags

    # ---------------------------------------------------------------- fitting
    def _fresh_base(self) -> Any:
        """A copy of ``base`` that training may change (``base`` itself never changes)."""
        if isinstance(self.base, (str, os.PathLike)):
            from embeddings.registry import load

            encoder: Any = load(os.fspath(self.base))
            check_encoder(encoder)
            return encoder
        return copy.deepcopy(self.base)  # a BaseEncoder copy reloads its resources lazily

    def fit(  # type: ignore[override]
        self,
        texts: Sequence[str] | Sequence[tuple[str, str]],
        labels: ArrayLike | None = None,
        *,
        dev_texts: Sequence[str] | Sequence[tuple[str, str]] | None = None,
        dev_labels: ArrayLike | None = None,
        workdir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        max_minutes: float | None = None,
        show_progress: bool = False,
    ) -> FineTunedEncoder:
        """Fine-tune a copy of ``base`` with a new softmax head on labelled texts.

        Args:
            texts: training texts, or ``(text_a, text_b)`` pairs (a list of tuples, an
                ``(n, 2)`` array or a two-column DataFrame) for a pair task.
            labels: one label (int or str) per text (or pair); at least two classes.
            dev_texts: validation texts (pairs, if ``texts`` are) for early stopping;
                ``None`` carves a seeded, stratified ``validation_fraction`` from
                ``texts``.
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
            85.0
        """
        import torch

        from embeddings._deps import torch_threads

        self._validate()
        if isinstance(texts, Iterator):  # a generator: read it once
            texts = list(texts)
        pairs = is_pairs(texts)
        texts_list, y_idx, classes = check_labelled(texts, labels, type(self).__name__,
                                                    pairs=pairs)  # fmt: skip
        train, val, validation = train_validation(
            texts_list, y_idx, classes, dev_texts, dev_labels,
            fraction=float(self.validation_fraction), random_state=int(self.random_state),
            pairs=pairs,
        )  # fmt: skip
        if pairs and self.objective == "contrastive":
            absent = classes[np.setdiff1d(np.arange(classes.size), train[1])]
            if absent.size:
                raise InvalidInputError(
                    "contrastive fine-tuning on pairs ranks every class by how alike its "
                    f"training pairs are; {absent.tolist()!r} has no training pair left "
                    f"(validation: {validation}); pass more pairs of it, dev_texts and "
                    "dev_labels, or validation_fraction=0"
                )
        started = time.perf_counter()
        threads = torch.get_num_threads() if self.threads is None else int(self.threads)
        with torch.random.fork_rng(devices=[]), torch_threads(threads):
            torch.manual_seed(int(self.random_state))
            run = setup_training(
                self._fresh_base(), self._objective_name(), int(classes.size), train, val,
                unfreeze=self.unfreeze, init=self.init, pairs=pairs,
                batch_size=int(self.batch_size), eval_batch_size=int(self.eval_batch_size),
                show_progress=show_progress,
            )  # fmt: skip
        config = self._train_config(len(train[0]), threads, max_minutes, show_progress)
        groups = param_groups(
            run.head, run.enc_params, learning_rate=float(self.learning_rate),
            head_learning_rate=float(self.head_learning_rate),
            weight_decay=float(self.weight_decay),
        )  # fmt: skip
        run_key = None if workdir is None else self._run_key(pairs, classes, train, val, run.model)
        trainer = Trainer(run.model, run.objective, config, workdir, param_groups=groups,
                          run_key=run_key)  # fmt: skip
        result = trainer.fit(resume=resume)
        training = {
            "n_train": len(train[0]), "n_val": len(val[0]), "validation": validation,
            "input": "pairs" if pairs else "texts", **run.finish(result),
            "train_seconds": time.perf_counter() - started,
        }  # fmt: skip
        history = [run.untrained, *run.objective.history(result)]
        self._store(run.enc, run.model, run.head, classes, history, training)
        self.training_result_ = result
        return self

    def _run_key(self, pairs: bool, classes: np.ndarray, train: Any, val: Any,
                 model: Any) -> dict[str, Any]:  # fmt: skip
        """What a resumed fit must share with the run whose checkpoints it continues:
        the parameters that decide the result, the classes, the data, and the starting
        weights (the base encoder's and the new head's, so another base under the same
        name or path is caught)."""
        skip = ("threads", "eval_batch_size", "base")
        return {
            "estimator": type(self).__name__,
            "params": {k: v for k, v in self._json_params().items() if k not in skip},
            "input": "pairs" if pairs else "texts",
            "classes": [str(c) for c in classes.tolist()],
            "data": data_digest([train, val]),
            "initial_weights": weights_digest(model),
        }

    def _objective_name(self) -> str:
        """The fine-tuning objective: a key of
        :data:`~embeddings.training.finetune_objectives.OBJECTIVES`."""
        return str(self.objective)

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
        self._weights, self._meta = finetuned_state(enc, model, classes, history, training)
        self._encoder, self._head = enc, head
        self._expose()
        self._state_digest = None
        self._fitted_for = self._fit_key()
        self._loaded_for = self._params_key()

    def _expose(self) -> None:
        """Set the public fitted attributes from the state metadata."""
        meta = self._meta
        training = meta["training"]
        self.classes_ = classes_from_json(meta["classes"], meta["classes_dtype"])
        self.input_: str = str(training.get("input", "texts"))
        targets = training.get("pair_targets")
        self.pair_targets_: dict[Any, float] | None = (
            None if targets is None else dict(zip(self.classes_.tolist(), targets, strict=True))
        )
        self.history_: list[EpochRecord] = [dict(h) for h in meta["history"]]  # type: ignore[misc]
        if meta.get("history_scale") != 100:  # saved when the history held fractions (0-1)
            for h in self.history_:
                if isinstance(h.get("val_accuracy"), (int, float)):
                    h["val_accuracy"] = 100 * h["val_accuracy"]
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
        check_finetuned_state(arrays, meta)

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self._weights = dict(arrays)
        self._meta = dict(meta)
        self._build()
        self._expose()

    def _load(self) -> None:
        self._encoder = None
        self._head = None
        if self.__dict__.get("_weights") is not None and self.__dict__.get("_meta"):
            self._build()

    def _build(self) -> None:
        """The fine-tuned encoder copy and the head, from the stored state."""
        roots = self.__dict__.get("_config_roots")
        self._encoder, self._head = build_finetuned(self._weights, self._meta, roots)

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

    def _head_input(self, X: Any, batch_size: int, show_progress: bool) -> Any:
        """The head's input tensor for texts, or for pairs (their :func:`pair_vectors`)."""
        import torch

        if getattr(self, "input_", "texts") == "pairs":
            rows = check_pairs(X, "pairs")
            both = self.encode([a for a, _ in rows] + [b for _, b in rows],
                               batch_size=batch_size, show_progress=show_progress)  # fmt: skip
            both_t = torch.from_numpy(both)
            return pair_vectors(both_t[: len(rows)], both_t[len(rows) :])
        if is_pairs(X):
            raise InvalidInputError(
                f"{self.name} was fine-tuned on single texts, so it predicts texts; got "
                "(text_a, text_b) pairs. Fine-tune on pairs for a pair task"
            )
        return torch.from_numpy(self.encode(X, batch_size=batch_size, show_progress=show_progress))

    def predict_proba(
        self, texts: Any, /, *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Class probabilities, float32 ``(n, n_classes)``, columns in ``classes_`` order.

        ``texts`` are ``(text_a, text_b)`` pairs when the model was fitted on pairs.

        Example:
            >>> clf.predict_proba(["a fine film"]).shape   # doctest: +SKIP
            (1, 2)
        """
        import torch

        X = self._head_input(texts, batch_size, show_progress)
        with torch.inference_mode():
            logits = self._head(X)
            return torch.softmax(logits, dim=1).numpy().astype(np.float32)

    def predict(
        self, texts: Any, /, *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Predicted labels (values of ``classes_``); pairs when fitted on pairs.

        Example:
            >>> clf.predict(["a fine film"])   # doctest: +SKIP
            array([1])
        """
        proba = self.predict_proba(texts, batch_size=batch_size, show_progress=show_progress)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(
        self,
        texts: Any,
        labels: ArrayLike,
        *,
        batch_size: int = 64,
        show_progress: bool = False,
    ) -> float:
        """Accuracy on ``texts`` (pairs when fitted on pairs) and ``labels``
        (``show_progress``: a bar while encoding).

        Example:
            >>> clf.score(["a fine film", "a dull film"], [1, 0])   # doctest: +SKIP
            1.0
        """
        texts_list, y = check_texts_labels(
            texts, labels, "score", pairs=getattr(self, "input_", "texts") == "pairs"
        )
        if not texts_list:
            raise InvalidInputError("score needs at least one text (or pair) and its label")
        predicted = self.predict(texts_list, batch_size=batch_size, show_progress=show_progress)
        return float(np.mean(predicted == y))


#: the name of :class:`FineTunedEncoder` in transferkit before it became an encoder
FineTunedClassifier = FineTunedEncoder


# ---------------------------------------------------------------- function
def fine_tune(
    encoder: BaseEncoder | str, texts: Sequence[str], labels: ArrayLike, **options: Any
) -> FineTunedEncoder:
    """Fine-tune a torch encoder with a new softmax head and early stopping.

    The same as ``FineTunedEncoder(encoder, **params).fit(texts, labels, **fit_options)``;
    the encoder passed in is never changed (a copy is trained).  ``options`` are the
    keyword parameters of :class:`FineTunedEncoder` (``unfreeze``, ``epochs``,
    ``learning_rate`` ...) and of :meth:`FineTunedEncoder.fit` (``dev_texts``,
    ``workdir``, ``resume`` ...), with the same defaults; ``inspect.signature(fine_tune)``
    lists them all.

    Returns:
        a fitted :class:`FineTunedEncoder` holding the best epoch's weights.

    Raises:
        InvalidParameterError: an encoder without the torch hooks, an out-of-range
            ``unfreeze``, bad hyper-parameters, ``init="random"`` with nothing of the
            encoder trained, an unknown keyword.
        InvalidInputError: bad texts/labels, fewer than two classes, dev labels
            unseen in training.

    Example:
        >>> import embeddings
        >>> clf = fine_tune(embeddings.load("minilm-l6"), texts, labels,
        ...                 unfreeze=2)               # doctest: +SKIP
        >>> clf.history_[clf.best_epoch_]["val_accuracy"]  # doctest: +SKIP
        85.0
    """
    check_encoder(encoder)
    fit_options = {k: options.pop(k) for k in _FIT_OPTIONS if k in options}
    unknown = sorted(set(options) - _ENCODER_PARAMS.keys() - FineTunedEncoder.renamed_params.keys())
    if unknown:
        raise InvalidParameterError(
            f"fine_tune got unknown keyword(s) {unknown}; allowed: "
            f"{sorted(_ENCODER_PARAMS) + sorted(_FIT_OPTIONS)}"
        )
    return FineTunedEncoder(encoder, **options).fit(texts, labels, **fit_options)


def _keywords(function: Any, skip: tuple[str, ...]) -> dict[str, inspect.Parameter]:
    """The parameters of ``function`` but ``skip``, as keyword-only parameters."""
    return {
        name: p.replace(kind=p.KEYWORD_ONLY)
        for name, p in inspect.signature(function).parameters.items()
        if name not in skip
    }


_ENCODER_PARAMS = _keywords(FineTunedEncoder.__init__, ("self", "base"))
_FIT_OPTIONS = _keywords(FineTunedEncoder.fit, ("self", "texts", "labels"))
_own = inspect.signature(fine_tune)
fine_tune.__signature__ = _own.replace(  # type: ignore[attr-defined]
    parameters=[
        *[p for p in _own.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD],
        *_ENCODER_PARAMS.values(),
        *_FIT_OPTIONS.values(),
    ]
)
del _own
