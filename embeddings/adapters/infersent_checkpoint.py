"""The published InferSent checkpoints (v1 with GloVe, v2 with fastText), frozen; see
:mod:`embeddings.adapters.infersent`."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_optional_str
from embeddings._params import store_params
from embeddings.adapters._infersent_base import Pooling, Tokenizer, _InferSentBase, _network
from embeddings.base import BaseEncoder
from embeddings.errors import (
    InvalidParameterError,
)

__all__ = ["InferSentCheckpointEncoder"]


class InferSentCheckpointEncoder(_InferSentBase):
    """A published InferSent encoder (``infersent1.pkl`` / ``infersent2.pkl``), frozen.

    The checkpoint is read with torch's weights-only loader
    (:func:`embeddings.formats.infersent.read_infersent_checkpoint`) and its
    ``enc_lstm.*`` tensors become the LSTM of the network; the word vectors are the
    user's.  A saved folder refers to both files (it does not copy them), and the
    fingerprint covers the checkpoint's sha256 and the vector store's.  See the
    module docstring for how a sentence is prepared and where the result differs
    from the published code.

    Args:
        checkpoint: path of ``infersent1.pkl`` or ``infersent2.pkl``.
        word_vectors: the vectors the checkpoint was trained with: GloVe 840B 300d
            (``glove.840B.300d.txt``) for version 1, fastText ``crawl-300d-2M.vec`` for
            version 2 (any file or store the toolkit reads).
        version: ``1`` (``<s>``/``</s>`` markers) or ``2`` (``<p>``/``</p>``, exact zeros
            never win the max, ``n't`` split as ``n 't`` by the NLTK tokenizer).
        tokenizer: ``"nltk"`` (the published default; NLTK's Treebank words without
            punkt data, :func:`embeddings.tokenize.nltk_word_tokenize`),
            ``"split"`` (whitespace: pre-tokenized text, the published
            ``tokenize=False``) or ``"words"`` (transferkit's tokenizer).
        lowercase: lowercase texts first (the published models read cased text).
        pooling: ``"max"`` (how both models were trained), ``"mean"`` or ``"last"``.
        threads: torch threads while encoding.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Example:
        >>> import embeddings
        >>> enc = embeddings.load("infersent", checkpoint="infersent1.pkl",
        ...                       word_vectors="glove.840B.300d.txt", version=1)  # doctest: +SKIP
        >>> enc.encode(["A man is playing a guitar ."]).shape  # doctest: +SKIP
        (1, 4096)
    """

    adapter_version = "1"
    path_params = ("checkpoint", "word_vectors")
    requires_fit = False
    trainable = False
    transient = (*_InferSentBase.transient, "_checkpoint_id", "_ckpt_shape")
    random_state = 0  # nothing here is random; fine-tuning brings its own seed

    def __init__(
        self,
        *,
        checkpoint: str | None = None,
        word_vectors: str | None = None,
        version: Literal[1, 2] = 1,
        tokenizer: Tokenizer = "nltk",
        lowercase: bool = False,
        pooling: Pooling = "max",
        threads: int = 1,
        device: str = "cpu",
    ) -> None:
        store_params(self, locals())

    def _version(self) -> int | None:
        return int(self.version)

    def _validate(self) -> None:
        super()._validate()
        if isinstance(self.version, bool) or self.version not in (1, 2):
            raise InvalidParameterError(
                f"version must be 1 (infersent1.pkl, GloVe) or 2 (infersent2.pkl, fastText), "
                f"got {self.version!r}"
            )
        check_optional_str(
            "checkpoint", self.checkpoint, "the path of infersent1.pkl / infersent2.pkl"
        )

    def _load(self) -> None:
        import torch

        from embeddings.formats.infersent import read_infersent_checkpoint

        if self.checkpoint is None:
            raise InvalidParameterError(
                "checkpoint is required: the path of the published infersent1.pkl (version=1, "
                "GloVe 840B 300d) or infersent2.pkl (version=2, fastText crawl-300d-2M), e.g. "
                "embeddings.load('infersent', checkpoint=..., word_vectors=..., version=1)"
            )
        self._load_vectors()
        ckpt = read_infersent_checkpoint(self.checkpoint)
        if ckpt.word_dim != self._word_dim():
            raise InvalidParameterError(
                f"the checkpoint's LSTM reads {ckpt.word_dim}-d word vectors but word_vectors "
                f"{self.word_vectors!r} has {self._word_dim()} dimensions; give the vectors the "
                "checkpoint was trained with (version 1: GloVe 840B 300d, version 2: fastText "
                "crawl-300d-2M)"
            )
        self._ckpt_shape = (ckpt.word_dim, ckpt.hidden_size)
        module = self._new_module()
        state = {f"encoder.rnn.{k}": torch.from_numpy(v) for k, v in ckpt.arrays.items()}
        module.load_state_dict(state, strict=True)
        from embeddings.nn.encoder import resolve_device

        module.to(resolve_device(self.device))
        module.eval()
        self._module, self._infer = module, None
        digest = hashlib.sha256()
        with open(self.checkpoint, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        self._checkpoint_id = digest.hexdigest()
        self._weights, self._meta = {}, {}

    def _arch(self) -> dict[str, Any]:
        word_dim, hidden = self._ckpt_shape
        return {"word_dim": int(word_dim), "hidden_size": int(hidden)}

    def _build_module(self) -> Any:
        word_dim, hidden = self._ckpt_shape
        return _network(int(word_dim), int(hidden), None)

    def _output_dim(self) -> int:
        return 2 * int(self._ckpt_shape[1])

    def _resource_id(self) -> str:
        self._ensure_loaded()
        return f"{self._vectors_id};checkpoint-sha256:{self._checkpoint_id}"

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {}  # the checkpoint and the vectors are referenced by the parameters

    def fit(self, texts: Any, y: Any = None, **kwargs: Any) -> InferSentCheckpointEncoder:
        """A no-op (a published checkpoint is used as it is), as for every frozen encoder.

        Train your own InferSent with :class:`InferSentEncoder` or ``transferkit train
        infersent``.
        """
        if kwargs:
            raise InvalidParameterError(
                f"a published InferSent checkpoint is not trained; fit takes no "
                f"{sorted(kwargs)} (train your own with InferSentEncoder.fit)"
            )
        BaseEncoder.fit(self, texts, y)
        return self
