"""Package attributes that import their module on first access (PEP 562).

A package face lists ``name -> module``; :func:`lazy_attributes` gives it the
``__getattr__`` and ``__dir__`` that import the module when the name is first read
and keep the value in the package's namespace, so ``import package`` stays cheap
(no torch, no scikit-learn) until a name is used.

Example:
    >>> from embeddings._lazy import lazy_attributes
    >>> namespace = {}
    >>> getter, lister = lazy_attributes("demo", {"sqrt": "math"}, namespace)
    >>> getter("sqrt")(9.0), "sqrt" in lister(), namespace["sqrt"](4.0)
    (3.0, True, 2.0)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, where: Mapping[str, str], namespace: MutableMapping[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` for the names in ``where``.

    Args:
        package: the package's name, for the ``AttributeError`` message.
        where: each lazy name -> the absolute name of the module that defines it.
        namespace: the package's ``globals()``; a loaded value is stored there.

    Example:
        >>> getter, _ = lazy_attributes("demo", {"pi": "math"}, {})
        >>> round(getter("pi"), 2)
        3.14
        >>> getter("tau")
        Traceback (most recent call last):
        ...
        AttributeError: module 'demo' has no attribute 'tau'
    """

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
