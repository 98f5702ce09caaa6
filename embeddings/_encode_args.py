"""The arguments of ``encode``, with sentence-transformers' names accepted as aliases.

``BaseEncoder.encode`` and ``CachedEncoder.encode`` share this, so both accept what a
sentence-transformers user types: ``encode(texts, 32)``, ``sentences=``,
``normalize_embeddings=``, ``show_progress_bar=``, ``convert_to_numpy=True`` and
``convert_to_tensor=True`` (the same float32 array wrapped as a torch tensor, without a
copy).  A bare string gives one 1-D vector, as in sentence-transformers.

Example:
    >>> call = encode_call("a text", 8, None, False, sentences=None, normalize_embeddings=None,
    ...                    show_progress_bar=None, convert_to_numpy=True,
    ...                    convert_to_tensor=False)
    >>> call.texts, call.single, call.batch_size
    (['a text'], True, 8)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embeddings._checks import check_bool, check_int
from embeddings._deps import require
from embeddings.errors import InvalidInputError, InvalidParameterError

__all__ = ["EncodeCall", "EncodeMixin", "encode_call", "encode_result"]


@dataclass(frozen=True)
class EncodeCall:
    """One ``encode`` call's arguments, resolved."""

    texts: Any
    single: bool
    batch_size: int
    show_progress: bool
    normalize: bool
    to_tensor: bool


def _alias(name: str, value: Any, alias: str, alias_value: Any, default: Any) -> Any:
    if alias_value is None:
        return default if value is None else value
    if value is not None and value != alias_value:
        raise InvalidParameterError(
            f"{name}={value!r} and {alias}={alias_value!r} disagree; pass one of them"
        )
    return alias_value


def encode_call(
    texts: Any,
    batch_size: Any,
    show_progress: Any,
    normalize: Any,
    *,
    sentences: Any,
    normalize_embeddings: Any,
    show_progress_bar: Any,
    convert_to_numpy: Any,
    convert_to_tensor: Any,
) -> EncodeCall:
    """Resolve the aliases and check the flags of one ``encode`` call.

    Raises:
        InvalidInputError: neither ``texts`` nor ``sentences`` was given, or both.
        InvalidParameterError: a flag that is not a bool, a bad ``batch_size``,
            aliases that disagree, or ``convert_to_numpy=False`` without a tensor.
    """
    if sentences is not None:
        if texts is not None:
            raise InvalidInputError("pass the texts once: as texts or as sentences=, not both")
        texts = sentences
    if texts is None:
        raise InvalidInputError("encode needs texts: encode(['a sentence', ...])")
    check_int("batch_size", batch_size)
    show = _alias("show_progress", show_progress, "show_progress_bar", show_progress_bar, False)
    norm = _alias("normalize", normalize, "normalize_embeddings", normalize_embeddings, False)
    check_bool("show_progress", show)
    check_bool("normalize", norm)
    check_bool("convert_to_numpy", convert_to_numpy)
    check_bool("convert_to_tensor", convert_to_tensor)
    if not convert_to_numpy and not convert_to_tensor:
        raise InvalidParameterError(
            "encode returns a float32 numpy array (convert_to_numpy=True) or the same array "
            "as a torch tensor (convert_to_tensor=True); convert_to_numpy=False alone is not "
            "supported"
        )
    single = isinstance(texts, str)
    return EncodeCall(
        texts=[texts] if single else texts,
        single=single,
        batch_size=int(batch_size),
        show_progress=bool(show),
        normalize=bool(norm),
        to_tensor=bool(convert_to_tensor),
    )


def encode_result(out: np.ndarray, call: EncodeCall) -> Any:
    """The array (row 0 alone for a single text), as a torch tensor when asked."""
    result = out[0] if call.single else out
    if not call.to_tensor:
        return result
    torch = require("torch", extra="models")
    return torch.from_numpy(result)


class EncodeMixin:
    """``encode`` with sentence-transformers' names, ``similarity`` and
    ``get_sentence_embedding_dimension``, over a class's ``_encode`` and ``dim``
    (:class:`~embeddings.base.BaseEncoder`, :class:`~embeddings.cache.CachedEncoder`)."""

    @property
    def dim(self) -> int:
        """The output dimension."""
        raise NotImplementedError

    def _encode(
        self, texts: Any, batch_size: int, show_progress: bool, normalize: bool
    ) -> np.ndarray:
        raise NotImplementedError

    def encode(
        self,
        texts: Sequence[str] | str | None = None,
        batch_size: int = 64,
        show_progress: bool | None = None,
        normalize: bool | None = None,
        *,
        sentences: Sequence[str] | str | None = None,
        normalize_embeddings: bool | None = None,
        show_progress_bar: bool | None = None,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
    ) -> Any:
        """Encode texts into a float32 array of shape ``(len(texts), dim)``.

        Texts are sorted by length into batches (less padding), encoded, and put
        back in input order.  sentence-transformers' names work too:
        ``encode(texts, 32)``, ``sentences=``, ``normalize_embeddings=``,
        ``show_progress_bar=``, ``convert_to_numpy=True`` and ``convert_to_tensor=True``.

        Args:
            texts: a sequence of strings (a list, a 1-D array, a pandas Series or a
                one-column DataFrame), or one string, which gives one 1-D vector.
            batch_size: texts per batch; does not change the result.
            show_progress: show progress (a bar in a terminal or notebook, else one line
                when done; see :mod:`embeddings._progress`).
            normalize: scale each row to unit length (a zero row stays zero), so that
                dot products are cosine similarities; the type and shape are unchanged.
            sentences: the same as ``texts`` (sentence-transformers' name).
            normalize_embeddings: the same as ``normalize``.
            show_progress_bar: the same as ``show_progress``.
            convert_to_numpy: must stay ``True`` unless ``convert_to_tensor`` is set.
            convert_to_tensor: return the same array as a CPU torch tensor (no copy).

        Returns:
            C-contiguous float32 array, row ``i`` for ``texts[i]`` (``(dim,)`` for one
            string), or the same as a torch tensor.

        Example:
            >>> import embeddings
            >>> enc = embeddings.load("glove-6b-50d")
            >>> enc.encode([]).shape, enc.encode("a cat").shape
            ((0, 50), (50,))
        """
        call = encode_call(
            texts,
            batch_size,
            show_progress,
            normalize,
            sentences=sentences,
            normalize_embeddings=normalize_embeddings,
            show_progress_bar=show_progress_bar,
            convert_to_numpy=convert_to_numpy,
            convert_to_tensor=convert_to_tensor,
        )
        out = self._encode(call.texts, call.batch_size, call.show_progress, call.normalize)
        return encode_result(out, call)

    def similarity(self, a: Any, b: Any | None = None) -> np.ndarray:
        """Cosine similarity of the rows of two vector arrays (sentence-transformers'
        ``model.similarity``); see :func:`embeddings.util.similarity`.

        Example:
            >>> import embeddings
            >>> enc = embeddings.load("glove-6b-50d")
            >>> enc.similarity(enc.encode(["a cat"]), enc.encode(["a cat", "stocks"])).shape
            (1, 2)
        """
        from embeddings.util import similarity

        return similarity(a, b)

    def get_sentence_embedding_dimension(self) -> int:
        """The output dimension (sentence-transformers' name for :attr:`dim`).

        Example:
            >>> import embeddings
            >>> embeddings.load("glove-6b-50d").get_sentence_embedding_dimension()
            50
        """
        return self.dim
