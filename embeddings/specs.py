"""Encoder specs: ``"name:key=value"`` strings, parsed in one place.

A spec names a preset and overrides some of its parameters, e.g.
``glove-6b-50d:pooling=sif:sif_a=0.001``.  Values are read as JSON where they parse
(numbers, ``true``, ``null``, lists), else kept as strings.  ``embeddings.load``,
the ``transferkit`` commands and the parts of a ``concat`` encoder all read specs
through :func:`parse_spec`.

A spec is text, and text can come from anywhere (a command line, a results file, the
``config.json`` of a saved folder), so a spec never sets a *caller-only* parameter
(``trust_pickle``): those widen what a file may make the encoder do, and only the
caller's own Python arguments set them (``embeddings.load(name, trust_pickle=True)``).

Example:
    >>> parse_spec("glove-6b-50d:pooling=sif:sif_a=0.001")
    ('glove-6b-50d', {'pooling': 'sif', 'sif_a': 0.001})
"""

from __future__ import annotations

import json
from typing import Any

from embeddings.errors import InvalidParameterError

__all__ = ["check_spec_overrides", "is_spec", "parse_spec"]


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def is_spec(text: object) -> bool:
    """Whether ``text`` has the ``name:key=value`` form (a name followed by overrides).

    Example:
        >>> is_spec("glove-6b-50d:pooling=sif"), is_spec("glove-6b-50d"), is_spec("C:/x")
        (True, False, False)
    """
    if not isinstance(text, str) or ":" not in text:
        return False
    name, _, rest = text.strip().partition(":")
    return bool(name) and "=" in rest.split(":", 1)[0]


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name:key=value:key=value"`` into a name and its overrides.

    Raises:
        InvalidParameterError: not a non-empty ``str``, an empty name, or an override
            without ``=`` or without a key.

    Example:
        >>> parse_spec("tfidf:max_features=2000")
        ('tfidf', {'max_features': 2000})
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidParameterError(f"encoder spec must be a non-empty str, got {spec!r:.80}")
    name, *parts = spec.strip().split(":")
    overrides: dict[str, Any] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError(
                f"encoder spec {spec!r:.120}: {part!r:.60} is not key=value; write e.g. "
                "'glove-6b-50d:pooling=sif'"
            )
        overrides[key.strip()] = _parse_value(value.strip())
    if not name.strip():
        raise InvalidParameterError(f"encoder spec {spec!r:.120} has no encoder name")
    return name.strip(), overrides


def check_spec_overrides(
    spec: str, overrides: dict[str, Any], caller_only: tuple[str, ...] | list[str]
) -> None:
    """Refuse a caller-only parameter set by a spec string.

    Raises:
        InvalidParameterError: ``overrides`` (parsed from ``spec``) sets one of
            ``caller_only``.

    Example:
        >>> check_spec_overrides("word-vectors:source=v.txt", {"source": "v.txt"}, ["trust_pickle"])
    """
    bad = sorted(k for k in overrides if k in caller_only)
    if bad:
        raise InvalidParameterError(
            f"encoder spec {spec!r:.120} sets {bad}, a decision that only the caller's own "
            "Python arguments can make, never a spec string (it may come from a file or a "
            f"command line). Build the encoder in Python instead, e.g. "
            f"embeddings.load(name, {bad[0]}=True), and pass the object"
        )
