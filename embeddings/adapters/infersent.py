"""InferSent (Conneau et al., EMNLP 2017): a BiLSTM-max sentence encoder trained on NLI.

"Supervised learning of universal sentence representations from natural language
inference data": a bidirectional LSTM reads the (frozen) pretrained vectors of a
sentence's words, and the sentence vector is the element-wise maximum of its
hidden states over time.  The encoder is trained through a classifier that sees
``[u, v, |u - v|, u * v]`` for the premise ``u`` and the hypothesis ``v`` of a
natural language inference pair (entailment, neutral, contradiction).

This file holds the network and the objective; packed LSTMs and pooling come from
:mod:`embeddings.nn`, the NLI readers from :mod:`embeddings.training.nli`, the
training loop (checkpoints, resume, time budget) from
:mod:`embeddings.training.trainer`, the checkpoint reader from
:mod:`embeddings.formats.infersent`.

* **Word vectors** come from any source the toolkit reads (``word_vectors``: the
  embedded ``"glove-6b-50d"``, a word2vec / GloVe / fastText file, a store, our
  trained vectors) and stay frozen.  They are looked up in the source itself, not
  copied into the network, so every word of the source is usable when encoding
  (not only the words of the training pairs) and a saved folder holds the LSTM and
  classifier only.  A token is looked up exactly as tokenized (lowercased first
  when ``lowercase``); words without a vector are dropped.
* **A text with no word that has a vector** (empty, or all out of vocabulary) is
  read as one step whose word vector is all zeros; its vector is the LSTM's
  response to that step: finite, the same for every such text.
* **Pooling**: ``"max"`` (InferSent), ``"mean"`` or ``"last"`` over the valid steps.
* **Input limit**: the first 512 tokens of a text (before the sentence markers are
  added and words without a vector dropped), read from its first ``512 * 64``
  characters; the rest is cut off, in training and encoding.  NLI sentences are far
  shorter; the limit bounds the time and memory of one text (the BiLSTM reads one
  token per step).
* **Training** (:class:`InferSentEncoder`): by default SGD with the paper's schedule
  (learning rate 0.1, times 0.99 after every epoch, divided by 5 whenever the dev
  accuracy is not a new best, stop once it is below 1e-5 or after ``epochs``; the
  best dev epoch's weights are kept); gradient-norm clipping at 5; batches of 64
  pairs.  On small data (SICK-E's 4,500 pairs: 71 steps an epoch) that schedule
  stalls, since the first epochs tie at the majority class and every tie divides
  the rate; ``optimizer="adam"`` (constant rate, early stopping with ``patience``)
  is the alternative the ``infersent-sick`` preset uses.
* **Published checkpoints** (:class:`InferSentCheckpointEncoder`): see below.

Published checkpoints: ``infersent1.pkl`` (GloVe 840B 300d) and ``infersent2.pkl``
(fastText crawl-300d-2M) load with ``embeddings.load("infersent", checkpoint=PATH,
word_vectors=VECTORS, version=1 | 2)``.  A sentence is prepared as the published
``encode`` does: tokenized with NLTK's ``word_tokenize`` (``tokenizer="nltk"``; for
version 2 ``" n't "`` becomes ``"n 't "``) or split on whitespace
(``tokenizer="split"``, the published ``tokenize=False``), framed by ``<s>`` ...
``</s>`` (version 1) or ``<p>`` ... ``</p>`` (version 2), words without a vector
(markers included) dropped, and a sentence left empty replaced by the end marker.
The vectors are those of the published code run on one sentence at a time.
Deliberate differences:

* the published code pools over the padded steps of a batch (version 1 takes zeros
  from padding into its maximum), so its vectors depend on the other sentences of
  the batch; here a vector never does (each sentence is pooled over its own steps);
* inference runs in float64 and is rounded to float32 (differences to the float32
  published computation are at float32 rounding level);
* when the end marker has no vector either (the published code then fails), the
  all-zeros step above is used.

Example:
    >>> from embeddings.adapters.infersent import InferSentEncoder
    >>> pairs = [("a man is playing a guitar", "a man plays music"),
    ...          ("a dog runs", "a cat sleeps"), ("a woman cooks", "nobody is cooking")] * 4
    >>> labels = ["entailment", "neutral", "contradiction"] * 4
    >>> enc = InferSentEncoder(hidden_size=8, fc_dim=8, epochs=1).fit(pairs, labels)
    >>> enc.encode(["a man sings"]).shape
    (1, 16)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_bool, check_int, check_number, check_optional_int
from embeddings._params import store_params
from embeddings.adapters._infersent_base import (
    ZERO_STEP,
    Pooling,
    Tokenizer,
    _InferSentBase,
    _network,
)
from embeddings.adapters.infersent_checkpoint import InferSentCheckpointEncoder
from embeddings.base import validate_texts
from embeddings.errors import (
    InvalidInputError,
    InvalidParameterError,
)
from embeddings.training.nli import NLI_LABELS, NLIPairs, label_ids, load_nli
from embeddings.training.objectives.infersent import _NLIData, _NLIObjective, _Rows

__all__ = ["InferSentEncoder", "InferSentCheckpointEncoder"]

# a saved folder names "embeddings.adapters.infersent:InferSentCheckpointEncoder" (the
# allow-listed path, also part of the fingerprint), whichever file defines the class
InferSentCheckpointEncoder.__module__ = __name__


class InferSentEncoder(_InferSentBase):
    """InferSent trained here: BiLSTM-max over frozen word vectors, trained on NLI pairs.

    ``fit`` takes labelled sentence pairs: ``fit(pairs, labels)`` with ``(premise,
    hypothesis)`` tuples and labels ``entailment`` / ``neutral`` / ``contradiction``
    (any case, or 0 / 1 / 2), optionally ``dev=(pairs, labels)`` for the learning-rate
    schedule and the choice of the best epoch; or ``fit(spec)`` with a spec of
    :func:`embeddings.training.nli.load_nli` (``"SICK-E"``, an SNLI/MultiNLI
    ``.jsonl``, a TSV or a folder, comma-separated), whose dev pairs are used the
    same way.  Plain texts are refused: there is nothing to learn from them.

    Args:
        word_vectors: the frozen word vectors: an embedded set (``"glove-6b-50d"``)
            or the path of a word2vec / GloVe / fastText file or store.
        hidden_size: LSTM state size per direction; ``dim`` is ``2 * hidden_size``.
        pooling: ``"max"`` (InferSent), ``"mean"`` or ``"last"`` over time.
        tokenizer: ``"words"`` (transferkit's word tokenizer), ``"nltk"`` (NLTK's
            ``word_tokenize``) or ``"split"`` (whitespace, for pre-tokenized text).
        lowercase: lowercase texts before tokenizing (GloVe 6B is lowercase).
        fc_dim: width of the classifier's two hidden layers.
        nonlinear_fc: ``tanh`` after each hidden layer of the classifier (an MLP);
            ``False`` stacks linear layers, as the published training script's default.
        dropout_fc: dropout before each classifier layer.
        epochs: the most epochs to train.
        batch_size: pairs per optimizer step.
        optimizer: ``"sgd"`` with the paper's schedule (``lr_decay``, ``lr_shrink``,
            ``min_lr``), or ``"adam"`` with a constant learning rate (for small data
            such as SICK-E, where an epoch is too few steps for the schedule: the
            dev accuracy of the first epochs ties, and each tie divides the rate).
        learning_rate: initial learning rate (the paper: 0.1 with SGD).
        lr_decay: SGD: multiply the learning rate by this after every epoch.
        lr_shrink: SGD: divide the learning rate by this after an epoch whose dev
            accuracy is not a new best.
        min_lr: SGD: stop once the learning rate falls below this.
        max_grad_norm: gradient norm clipping threshold.
        patience: stop after this many epochs without a new best dev accuracy;
            ``None``: only the schedule (SGD) or ``epochs`` stops the run.
        random_state: seed of initialisation, batch order and dropout.
        threads: torch threads during ``fit`` and ``encode``; ``1`` (the default)
            makes training bit-reproducible.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Example:
        >>> pairs = [("a man sleeps", "a man rests"), ("a dog runs", "a cat sits")] * 3
        >>> enc = InferSentEncoder(hidden_size=4, fc_dim=4, epochs=1)
        >>> enc.fit(pairs, ["entailment", "neutral"] * 3).dim
        8
    """

    adapter_version = "1"

    def __init__(
        self,
        *,
        word_vectors: str = "glove-6b-50d",
        hidden_size: int = 2048,
        pooling: Pooling = "max",
        tokenizer: Tokenizer = "words",
        lowercase: bool = True,
        fc_dim: int = 512,
        nonlinear_fc: bool = True,
        dropout_fc: float = 0.0,
        epochs: int = 20,
        batch_size: int = 64,
        optimizer: Literal["sgd", "adam"] = "sgd",
        learning_rate: float = 0.1,
        lr_decay: float = 0.99,
        lr_shrink: float = 5.0,
        min_lr: float = 1e-5,
        max_grad_norm: float = 5.0,
        patience: int | None = None,
        random_state: int = 0,
        threads: int = 1,
        device: str = "cpu",
    ) -> None:
        store_params(self, locals())

    def _validate(self) -> None:
        super()._validate()
        if self.word_vectors is None:
            raise InvalidParameterError("word_vectors must be given, got None")
        for name in ("hidden_size", "fc_dim", "epochs", "batch_size"):
            check_int(name, getattr(self, name))
        checks = {
            "learning_rate": (lambda v: v > 0, "> 0"),
            "lr_decay": (lambda v: 0 < v <= 1, "in (0, 1]"),
            "lr_shrink": (lambda v: v >= 1, ">= 1"),
            "min_lr": (lambda v: v > 0, "> 0"),
            "max_grad_norm": (lambda v: v > 0, "> 0"),
            "dropout_fc": (lambda v: 0 <= v < 1, "in [0, 1)"),
        }
        for name, (ok, allowed) in checks.items():
            check_number(name, getattr(self, name), ok, allowed)
        if self.optimizer not in ("sgd", "adam"):
            raise InvalidParameterError(
                f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}"
            )
        check_optional_int("patience", self.patience)
        check_bool("nonlinear_fc", self.nonlinear_fc)

    # ---------------------------------------------------------------- network
    def _load(self) -> None:
        self._load_vectors()
        super()._load()

    def _arch(self) -> dict[str, Any]:
        return {
            "word_dim": self._word_dim(),
            "hidden_size": int(self.hidden_size),
            "fc_dim": int(self.fc_dim),
            "nonlinear_fc": bool(self.nonlinear_fc),
        }

    def _output_dim(self) -> int:
        return 2 * int(self.hidden_size)

    def _build_module(self) -> Any:
        classifier = {"fc_dim": int(self.fc_dim), "dropout": float(self.dropout_fc),
                      "nonlinear": bool(self.nonlinear_fc)}  # fmt: skip
        return _network(self._word_dim(), int(self.hidden_size), classifier)

    def _init_module(self, module: Any, generator: Any) -> dict[str, Any]:
        """LSTM U(-1/sqrt(h), 1/sqrt(h)); each linear layer U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        import torch

        with torch.no_grad():
            bound = 1.0 / float(np.sqrt(int(self.hidden_size)))
            for p in module.encoder.parameters():
                p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * bound)
            for layer in module.classifier:
                if isinstance(layer, torch.nn.Linear):
                    b = 1.0 / float(np.sqrt(layer.in_features))
                    for p in (layer.weight, layer.bias):
                        p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * b)
        return {}

    # --------------------------------------------------------------- training
    def fit(  # type: ignore[override]
        self,
        X: Any,
        y: Any = None,
        *,
        dev: tuple[Sequence[tuple[str, str]], Sequence[Any]] | None = None,
        **kwargs: Any,
    ) -> InferSentEncoder:
        """Train on labelled NLI pairs, or on the sources of an NLI spec.

        Args:
            X: ``(premise, hypothesis)`` pairs with ``y`` their labels, or an NLI spec
                (``"SICK-E"``, files, folders; see :func:`embeddings.training.nli.load_nli`).
            y: the labels of the pairs (names or 0-2); ``None`` with a spec.
            dev: ``(pairs, labels)`` for early stopping and the learning-rate
                schedule (a spec brings its own dev pairs).
            **kwargs: ``workdir``, ``resume``, ``max_minutes``, ``show_progress``,
                ``checkpoint_every``, ``log_every`` of :meth:`TorchEncoder.fit
                <embeddings.nn.encoder.TorchEncoder.fit>`.

        Returns:
            self; ``training_info_`` summarises the data and the run.

        Raises:
            InvalidInputError: plain texts, pairs that are not two strings, labels
                that are not NLI labels, or a different number of pairs and labels.
        """
        self.__dict__["_pending_dev"] = dev
        try:
            super().fit(X, y, **kwargs)
        finally:
            self.__dict__.pop("_pending_dev", None)
        result = self.training_result_
        nli = self._meta["nli"]
        self.training_info_ = {
            "sentences": 2 * nli["train_pairs"],
            "pairs": nli["train_pairs"],
            "dev_pairs": nli["dev_pairs"],
            "epochs": int(self.epochs),
            "dev_accuracy": [h["dev_metric"] for h in result.history],
            "loss_per_epoch": [h["train_loss"] for h in result.history],
            "seconds": result.seconds,
            "sentences_per_second": result.items_per_second,
        }
        return self

    def _fit_source(self, texts: Any, y: Any) -> Any:
        dev = self.__dict__.get("_pending_dev")
        if isinstance(texts, (str, os.PathLike)):
            if y is not None or dev is not None:
                raise InvalidInputError(
                    "fit(spec) reads the labels and dev pairs from the spec's files; pass no "
                    "y and no dev with it"
                )
            return str(texts)
        train = _pairs(texts, y, "fit")
        return (train, None if dev is None else _pairs(*_dev_tuple(dev), "dev"))

    def _training_data(self, source: Any, workdir: Path | None) -> _NLIData:
        if isinstance(source, str):
            train, dev = load_nli(source)
            spec: str | None = source
        else:
            (train, dev), spec = source, None
        if len(train) == 0:
            raise InvalidInputError(f"{self.name}.fit: no labelled training pair was found")
        rows = {side: _Rows.build([self._rows(t) for t in getattr(train, side)])
                for side in ("premises", "hypotheses")}  # fmt: skip
        dev_data = None
        if dev is not None and len(dev):
            dev_data = _NLIData(
                _Rows.build([self._rows(t) for t in dev.premises]),
                _Rows.build([self._rows(t) for t in dev.hypotheses]),
                dev.labels,
            )
        data = _NLIData(rows["premises"], rows["hypotheses"], train.labels, dev_data)
        kept = np.concatenate([rows["premises"].flat, rows["hypotheses"].flat])
        self._meta = {
            "nli": {
                "spec": spec,
                "train_pairs": len(train),
                "dev_pairs": 0 if dev is None else len(dev),
                "dropped_without_gold_label": int(train.dropped),
                "label_counts": train.counts(),
                "files": dict(train.files) | ({} if dev is None else dict(dev.files)),
                "zero_step_sentences": int(np.sum(kept == ZERO_STEP)),
            }
        }
        return data

    def _objective(self, data: _NLIData) -> _NLIObjective:
        return _NLIObjective(self, data, int(self.batch_size))

    def _train_config(self) -> Any:
        from embeddings.training.trainer import TrainConfig

        sgd = self.optimizer == "sgd"
        return TrainConfig(
            epochs=int(self.epochs),
            lr=float(self.learning_rate),
            optimizer="sgd" if sgd else "adam",
            max_grad_norm=float(self.max_grad_norm),
            epoch_decay=float(self.lr_decay) if sgd else 1.0,
            plateau_factor=1.0 / float(self.lr_shrink) if sgd else None,
            min_lr=float(self.min_lr) if sgd else None,
            patience=None if self.patience is None else int(self.patience),
            random_state=int(self.random_state),
            threads=int(self.threads),
        )

    # ---------------------------------------------------------------- predict
    def predict_pairs(
        self, premises: Sequence[str], hypotheses: Sequence[str], *, batch_size: int = 256
    ) -> np.ndarray:
        """The trained NLI classifier's label for every pair.

        Args:
            premises: first sentences.
            hypotheses: second sentences, as many.
            batch_size: pairs per forward pass (does not change the result).

        Returns:
            an array of ``"entailment"`` / ``"neutral"`` / ``"contradiction"``.

        Example:
            >>> enc.predict_pairs(["a man sleeps"], ["a man rests"])  # doctest: +SKIP
            array(['entailment'], dtype='<U13')
        """
        import torch

        from embeddings._deps import torch_threads

        left = validate_texts(premises, what="premises")
        right = validate_texts(hypotheses, what="hypotheses")
        if len(left) != len(right):
            raise InvalidInputError(
                f"premises and hypotheses differ in length: {len(left)} vs {len(right)}"
            )
        self._ensure_loaded()
        self._check_fitted()
        out = np.empty(len(left), dtype=np.int64)
        model = self._inference_module()
        with torch_threads(int(self.threads)), torch.no_grad():
            for start in range(0, len(left), max(int(batch_size), 1)):
                stop = min(start + max(int(batch_size), 1), len(left))
                u = self._forward(model, self.tokenize(left[start:stop]))
                v = self._forward(model, self.tokenize(right[start:stop]))
                out[start:stop] = model.classify(u, v).argmax(dim=1).cpu().numpy()
        return np.asarray(NLI_LABELS)[out]


def _pairs(pairs: Any, labels: Any, what: str) -> NLIPairs:
    """Validate ``(premise, hypothesis)`` pairs and their labels."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
        raise InvalidInputError(
            f"{what}: expected a sequence of (premise, hypothesis) pairs with their labels, "
            f"or an NLI spec string; got {type(pairs).__name__}"
        )
    if labels is None:
        kind = "plain texts" if pairs and all(isinstance(p, str) for p in pairs) else "pairs"
        raise InvalidInputError(
            f"{what}: InferSent learns from labelled sentence pairs, got {kind} without labels. "
            "Call fit(pairs, labels) with (premise, hypothesis) tuples, or fit('SICK-E') / "
            "fit(path) with NLI files; `transferkit train infersent --nli SICK-E --out DIR` "
            "trains and saves one"
        )
    premises, hypotheses = [], []
    for i, pair in enumerate(pairs):
        if (
            isinstance(pair, (str, bytes))
            or not isinstance(pair, Sequence)
            or len(pair) != 2
            or not all(isinstance(s, str) for s in pair)
        ):
            raise InvalidInputError(
                f"{what}: pairs[{i}] must be a (premise, hypothesis) tuple of two str, "
                f"got {pair!r:.80}"
            )
        premises.append(pair[0])
        hypotheses.append(pair[1])
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
        raise InvalidInputError(f"{what}: labels must be a sequence, got {type(labels).__name__}")
    if len(labels) != len(premises):
        raise InvalidInputError(
            f"{what}: {len(premises)} pairs but {len(labels)} labels; give one label per pair"
        )
    return NLIPairs(premises, hypotheses, label_ids(list(labels)))


def _dev_tuple(dev: Any) -> tuple[Any, Any]:
    if not isinstance(dev, tuple) or len(dev) != 2:
        raise InvalidInputError(f"dev must be a (pairs, labels) tuple, got {type(dev).__name__}")
    return dev[0], dev[1]
