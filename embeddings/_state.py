"""Checks of a saved state's arrays and JSON metadata, shared by every family.

Example:
    >>> import numpy as np
    >>> check_state_arrays({"w": np.zeros(3, np.float32)}, {"w": ("float32", (3,))}, owner="x")
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from embeddings.errors import ModelFormatError

__all__ = ["check_meta", "check_names", "check_state_arrays"]


def check_state_arrays(
    arrays: Mapping[str, np.ndarray],
    expected: Mapping[str, tuple[str, tuple[int | None, ...]]],
    *,
    optional: Iterable[str] = (),
    owner: str,
) -> None:
    """Check saved arrays against their expected names, dtypes and shapes.

    Args:
        arrays: the arrays read from ``weights.safetensors``.
        expected: name -> (dtype name, shape); ``None`` in a shape is any size.
        optional: names of ``expected`` that may be absent.
        owner: what the arrays belong to, for messages (``"saved TF-IDF state"``).

    Raises:
        ModelFormatError: a missing or unexpected array, or a wrong dtype or shape
            (the message names the array, what it is and what was expected).

    Example:
        >>> import numpy as np
        >>> check_state_arrays({"w": np.zeros(3, np.float32)}, {"w": ("float32", (3,))}, owner="x")
        >>> try:
        ...     check_state_arrays({"w": np.zeros(2, np.float32)}, {"w": ("float32", (3,))},
        ...                        owner="x")
        ... except ModelFormatError as err:
        ...     print(err)
        x: array 'w' has shape (2,), expected (3,)
    """
    check_names(arrays, expected, optional=optional, where=owner, what="array", odd="unexpected")
    for name, (dtype, shape) in expected.items():
        if name not in arrays:
            continue
        arr = arrays[name]
        if arr.dtype != np.dtype(dtype):
            raise ModelFormatError(
                f"{owner}: array {name!r} has dtype {arr.dtype}, expected {dtype}"
            )
        want = "(" + ", ".join("any" if d is None else str(d) for d in shape)
        want += ",)" if len(shape) == 1 else ")"
        if arr.ndim != len(shape) or any(
            d is not None and d != got for d, got in zip(shape, arr.shape)
        ):
            raise ModelFormatError(
                f"{owner}: array {name!r} has shape {tuple(arr.shape)}, expected {want}"
            )


def check_names(
    got: Iterable[str],
    known: Iterable[str],
    *,
    where: str,
    what: str,
    optional: Iterable[str] = (),
    lacks: str = "missing",
    odd: str = "unknown",
) -> None:
    """Refuse a known name that ``got`` lacks (unless optional), and a name it has that
    is not known.

    Args:
        got: the names present (the keys of a mapping).
        known: every allowed name.
        where: what the names belong to, for messages (a path, an encoder).
        what: what one name is, for messages (``"array"``, ``"field"``).
        optional: known names that may be absent.
        lacks: the words before the missing names (``"missing"``).
        odd: the words before the names that are not known (``"unknown"``).

    Raises:
        ModelFormatError: naming the missing or the unknown names, and the known ones.

    Example:
        >>> try:
        ...     check_names({"a": 1, "z": 2}, ["a", "b"], optional=["b"], where="x", what="field")
        ... except ModelFormatError as err:
        ...     print(err)
        x: unknown field(s) ['z']; known: ['a', 'b']
    """
    present, allowed, optional_set = set(got), list(known), set(optional)
    missing = sorted(k for k in allowed if k not in present and k not in optional_set)
    if missing:
        raise ModelFormatError(f"{where}: {lacks} {what}(s) {missing}")
    unknown = sorted(present.difference(allowed))
    if unknown:
        raise ModelFormatError(f"{where}: {odd} {what}(s) {unknown}; known: {sorted(allowed)}")


_META_KINDS: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "number": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


def check_meta(
    meta: Mapping[str, Any],
    fields: Mapping[str, str],
    *,
    optional: Iterable[str] = (),
    owner: str,
) -> None:
    """Check the JSON metadata of a saved state: known keys only, each of its kind.

    Args:
        meta: the ``state`` object of ``config.json``.
        fields: key -> kind: ``"int"`` (an integer >= 0), ``"number"`` (finite),
            ``"str"``, ``"bool"``, ``"list"`` or ``"dict"``.
        optional: keys that may be absent.
        owner: what the metadata belongs to, for messages.

    Raises:
        ModelFormatError: a missing, unknown or mistyped key (named in the message).

    Example:
        >>> check_meta({"n_words": 3}, {"n_words": "int"}, owner="x")
        >>> try:
        ...     check_meta({"n_words": "3"}, {"n_words": "int"}, owner="x")
        ... except ModelFormatError as err:
        ...     print(err)
        x: state field 'n_words' must be an integer >= 0, got '3'
    """
    check_names(
        meta, fields, optional=optional, where=owner, what="field", lacks="state lacks",
        odd="unknown state",
    )  # fmt: skip
    for key, kind in fields.items():
        if key not in meta:
            continue
        value = meta[key]
        ok = isinstance(value, _META_KINDS[kind])
        ok = ok and (kind == "bool" or not isinstance(value, bool))
        if ok and kind == "int":
            ok = value >= 0
        if ok and kind == "number":
            ok = isinstance(value, int) or math.isfinite(value)
        if not ok:
            what = {"int": "an integer >= 0", "number": "a finite number"}.get(kind, f"a {kind}")
            raise ModelFormatError(
                f"{owner}: state field {key!r} must be {what}, got {value!r:.60}"
            )
