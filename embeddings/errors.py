"""The transferkit error hierarchy.

Every error raised on purpose by transferkit derives from :class:`TransferkitError`
and also from the builtin exception a caller would naturally catch (``TypeError``,
``ValueError``, ``KeyError``, ``ImportError`` ...), so both ``except TransferkitError``
and ``except ValueError`` work.

Example:
    >>> import embeddings
    >>> try:
    ...     embeddings.load("glove-6b-5od")
    ... except embeddings.UnknownEncoderError as err:
    ...     print("did you mean" in str(err))
    True
"""

from __future__ import annotations

__all__ = [
    "TransferkitError",
    "UnknownEncoderError",
    "UnknownWordError",
    "MissingDependencyError",
    "InvalidInputError",
    "InvalidParameterError",
    "NotFittedError",
    "ModelFormatError",
    "EncodingError",
    "DataNotFoundError",
    "ChecksumError",
]


class TransferkitError(Exception):
    """Root of every error that transferkit raises on purpose."""


class UnknownEncoderError(TransferkitError, KeyError):
    """A preset name that is not registered (and is not a saved-encoder folder)."""

    def __str__(self) -> str:  # KeyError would repr() the message and add quotes
        return str(self.args[0]) if self.args else ""


class UnknownWordError(TransferkitError, KeyError):
    """A word that is not in an encoder's vocabulary (``most_similar``), as gensim's KeyError."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(TransferkitError, ImportError):
    """An optional dependency is not installed; the message names the pip extra."""


class InvalidInputError(TransferkitError, TypeError):
    """Texts of the wrong type: a bare ``str``, or an item that is not a ``str``."""


class InvalidParameterError(TransferkitError, ValueError):
    """A constructor or call parameter outside the allowed values, or an unknown keyword."""


class NotFittedError(TransferkitError, ValueError, AttributeError):
    """An encoder or head that must be fitted was used before ``fit`` (mirrors scikit-learn's)."""


class ModelFormatError(TransferkitError, ValueError):
    """A model or vector file that is truncated, malformed or of an unsupported version."""


class EncodingError(TransferkitError, RuntimeError):
    """An encoder produced unusable output (wrong shape, NaN or infinity)."""


class DataNotFoundError(TransferkitError, FileNotFoundError):
    """A benchmark data file that is neither in ``TRANSFERKIT_DATA`` nor downloadable."""


class ChecksumError(TransferkitError, ValueError):
    """A downloaded or cached file whose sha256 does not match the pinned value."""
