"""Training from a corpus on disk: ``fit(path)`` and the deprecated ``fit_corpus``.

:meth:`BaseEncoder.fit <embeddings.base.BaseEncoder.fit>` hands a ``str`` or
``os.PathLike`` to :meth:`CorpusFitMixin._fit_path`.  An encoder that trains on a
corpus streamed from disk (word2vec, fastText, Doc2Vec) sets ``trains_on_corpus`` and
implements ``_fit_corpus(corpus, show_progress=..., **options)``; any other encoder
refuses a path with a message that says to pass a list of texts.

Example:
    >>> from embeddings.adapters.doc2vec import Doc2VecEncoder
    >>> Doc2VecEncoder.trains_on_corpus
    True
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

from embeddings._texts import validate_texts
from embeddings.errors import (
    _WARNED,
    InvalidInputError,
    InvalidParameterError,
    TransferkitDeprecationWarning,
)

__all__ = ["CorpusFitMixin"]


class CorpusFitMixin:
    """``fit(path)`` for :class:`~embeddings.base.BaseEncoder`, and ``fit_corpus`` as its old name.

    Example:
        >>> from embeddings.base import BaseEncoder
        >>> issubclass(BaseEncoder, CorpusFitMixin)
        True
    """

    trains_on_corpus: ClassVar[bool] = False

    # provided by BaseEncoder
    name: Any
    _ensure_loaded: Any
    _fit_key: Any
    fit: Any
    _fitted_for: str
    _state_digest: str | None

    def _fit_path(
        self, path: str | os.PathLike[str], *, show_progress: bool, **corpus_options: Any
    ) -> Any:
        """``fit(path)``: train with :meth:`_fit_corpus` on a file or folder."""
        if not self.trains_on_corpus:
            raise InvalidInputError(
                f"{self.name}.fit takes a list of texts, got a single str or path "
                f"{os.fspath(path)!r:.80}; pass [text] for one text (only encoders that "
                "train on a corpus, such as word2vec, fastText, Doc2Vec and ELMo, read a path)"
            )
        self._check_options(corpus_options)
        self._ensure_loaded()
        self._fit_corpus(path, show_progress=show_progress, **corpus_options)
        self._fitted_for = self._fit_key()
        self._state_digest = None
        return self

    def _fit_corpus(
        self, corpus: str | os.PathLike[str] | list[str], *, show_progress: bool
    ) -> None:
        """Train on a corpus file or folder, or on checked texts (``trains_on_corpus``).

        An encoder may add keyword options (``max_pooling_texts``), which ``fit(path,
        ...)`` passes on; any other keyword is refused by :meth:`_check_options`.
        """
        raise NotImplementedError

    def _check_options(self, options: dict[str, Any]) -> None:
        """Refuse keywords that this encoder's ``_fit_corpus`` does not take."""
        params = inspect.signature(self._fit_corpus).parameters
        known = sorted(k for k, p in params.items() if p.kind is p.KEYWORD_ONLY)
        known.remove("show_progress")
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise InvalidParameterError(
                f"{self.name}.fit: unknown option(s) {unknown} for training from a corpus "
                f"path; allowed: {known or 'none'}"
            )

    def fit_corpus(
        self,
        corpus: Sequence[str] | str | os.PathLike[str],
        *,
        show_progress: bool = False,
        **options: Any,
    ) -> Any:
        """Deprecated name of ``fit``, which takes a corpus path itself.

        Warns once per class (:class:`~embeddings.errors.TransferkitDeprecationWarning`);
        ``progress=`` is accepted as the older name of ``show_progress``.  Texts given
        as a list are streamed like a corpus file.

        Example:
            >>> import warnings
            >>> from embeddings.adapters.doc2vec import Doc2VecEncoder
            >>> enc = Doc2VecEncoder(vector_size=4, min_count=1, epochs=1)
            >>> with warnings.catch_warnings():
            ...     warnings.simplefilter("ignore")
            ...     enc.fit_corpus(["a b c", "b c d"]).dim
            4
        """
        key = (f"{type(self).__module__}.{type(self).__qualname__}", "fit_corpus")
        if key not in _WARNED:
            _WARNED.add(key)
            warnings.warn(
                f"{type(self).__name__}.fit_corpus is renamed fit, which takes the corpus "
                "path itself; the old name will be removed in a future version",
                TransferkitDeprecationWarning,
                stacklevel=2,
            )
        if "progress" in options:  # the older name of show_progress
            show_progress = bool(options.pop("progress"))
        own_corpus = type(self)._fit_corpus is not CorpusFitMixin._fit_corpus
        if isinstance(corpus, (str, os.PathLike)) or not own_corpus:
            return self.fit(corpus, show_progress=show_progress, **options)
        texts = validate_texts(corpus, what="corpus")  # the input policy of ``fit``
        if not texts:
            raise InvalidInputError(f"{self.name}.fit_corpus needs at least one text, got 0")
        self._check_options(options)
        self._ensure_loaded()
        self._fit_corpus(texts, show_progress=bool(show_progress), **options)
        self._fitted_for = self._fit_key()
        self._state_digest = None
        return self
