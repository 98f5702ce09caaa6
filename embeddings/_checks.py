"""Checks of parameter values, shared by the encoders and the helpers around them.

Each check raises :class:`~embeddings.errors.InvalidParameterError` that names the
parameter, shows what was received and says what is allowed; it returns the value
as a plain Python type.  numpy integers and booleans are accepted (scikit-learn's
parameter grids hand them over), ``bool`` is never taken for an int.

Example:
    >>> from embeddings._checks import check_bool, check_int, check_number
    >>> check_int("epochs", 3), check_bool("lowercase", True), check_number("lr", 0.5)
    (3, True, 0.5)
    >>> check_int("epochs", 0)
    Traceback (most recent call last):
    ...
    embeddings.errors.InvalidParameterError: epochs must be an int >= 1, got 0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from embeddings.errors import InvalidParameterError

__all__ = [
    "is_int",
    "check_int",
    "check_optional_int",
    "check_optional_str",
    "check_bool",
    "check_number",
]


def is_int(value: object) -> bool:
    """True for ``int`` and numpy integers, False for ``bool`` and everything else.

    Example:
        >>> is_int(3), is_int(True), is_int(3.0)
        (True, False, False)
    """
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int, refused unless it is an int >= ``minimum``.

    Example:
        >>> check_int("n_highway", 0, minimum=0)
        0
    """
    if not is_int(value) or value < minimum:
        raise InvalidParameterError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_optional_int(name: str, value: Any, minimum: int = 1) -> int | None:
    """Like :func:`check_int`, and ``None`` passes through.

    Example:
        >>> check_optional_int("max_length", None) is None
        True
    """
    if value is None:
        return None
    if not is_int(value) or value < minimum:
        raise InvalidParameterError(f"{name} must be None or an int >= {minimum}, got {value!r}")
    return int(value)


def check_optional_str(name: str, value: Any, what: str = "a non-empty str") -> str | None:
    """``value`` unchanged when it is ``None`` or a non-empty str; else refused.

    ``what`` says in the message what the string names (a path, a folder, ...).

    Example:
        >>> check_optional_str("path", None) is None
        True
        >>> check_optional_str("path", "", "the release folder")
        Traceback (most recent call last):
        ...
        embeddings.errors.InvalidParameterError: path must be None or the release folder, got ''
    """
    if value is not None and not (isinstance(value, str) and value):
        raise InvalidParameterError(f"{name} must be None or {what}, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool, refused unless it is ``True`` or ``False``.

    Example:
        >>> check_bool("normalize", False)
        False
    """
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_number(
    name: str,
    value: Any,
    ok: Callable[[float], bool] = lambda v: v > 0,
    allowed: str = "> 0",
) -> float:
    """``value`` as a float, refused unless it is a finite real number for which ``ok``
    holds (``allowed`` says the range in the message; by default: > 0).

    Example:
        >>> check_number("dropout", 0.0, lambda v: 0 <= v < 1, "in [0, 1)")
        0.0
    """
    number = not isinstance(value, (bool, np.bool_)) and isinstance(
        value, (int, float, np.integer, np.floating)
    )
    if not (number and np.isfinite(value) and ok(float(value))):
        raise InvalidParameterError(f"{name} must be a finite number {allowed}, got {value!r}")
    return float(value)
