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

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "TransferkitDeprecationWarning",
    "renamed_parameters",
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
    "NonFiniteLossError",
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


class NonFiniteLossError(TransferkitError, FloatingPointError):
    """A training loss that became NaN or infinite; the message names the epoch and step."""


class TransferkitDeprecationWarning(FutureWarning):
    """An old name that still works but will go: the message names the new one."""


_F = TypeVar("_F", bound=Callable[..., Any])
#: (function, old name) pairs already warned about: each warns once per process
_WARNED: set[tuple[str, str]] = set()  # (module.function, old name)


def renamed_parameters(**renames: str) -> Callable[[_F], _F]:
    """Accept old keyword names as aliases of new ones, warning once per name.

    ``@renamed_parameters(seed="random_state")`` lets callers still pass ``seed=``:
    the value goes to ``random_state``, with one
    :class:`TransferkitDeprecationWarning` per process.  Passing both names raises
    :class:`InvalidParameterError`.

    Example:
        >>> @renamed_parameters(seed="random_state")
        ... def f(*, random_state=0):
        ...     return random_state
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     f(seed=3)
        3
    """

    def wrap(func: _F) -> _F:
        params = inspect.signature(func).parameters
        open_ended = any(p.kind is p.VAR_KEYWORD for p in params.values())  # **params
        missing = [new for new in renames.values() if new not in params]
        if missing and not open_ended:
            raise TypeError(f"{func.__qualname__} has no parameter(s) {missing}")

        owner = func.__qualname__.removesuffix(".__init__")

        @functools.wraps(func)
        def inner(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise InvalidParameterError(
                        f"{owner}: pass {new}= only ({old}= is its old name)"
                    )
                kwargs[new] = kwargs.pop(old)
                key = (f"{func.__module__}.{func.__qualname__}", old)
                if key not in _WARNED:
                    _WARNED.add(key)
                    warnings.warn(
                        f"{owner}: {old}= is renamed {new}=; the old name will be "
                        "removed in a future version",
                        TransferkitDeprecationWarning,
                        stacklevel=2,
                    )
            return func(*args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap
