"""Constructor parameters stored as attributes, the scikit-learn way.

scikit-learn's estimators keep each ``__init__`` parameter, unchanged, in an attribute
of the same name and do nothing else in the constructor; ``get_params``, ``clone``
and ``set_params`` rely on it.  :func:`store_params` does exactly that for every
parameter of the calling constructor, so a parameter added to a signature is stored
without a second line to keep in step.

Example:
    >>> from embeddings._params import store_params
    >>> class Pooler:
    ...     def __init__(self, *, pooling: str = "mean", weights: str | None = None):
    ...         store_params(self, locals())
    >>> vars(Pooler(pooling="max"))
    {'pooling': 'max', 'weights': None}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["store_params"]

_NOT_PARAMS = frozenset({"self", "__class__"})


def store_params(obj: object, values: Mapping[str, Any]) -> None:
    """Set ``obj.<name> = value`` for each constructor parameter in ``values``.

    ``values`` is the constructor's ``locals()``, taken as its first statement, when
    it holds the parameters and nothing else (``self``, and the ``__class__`` cell
    that ``super()`` adds, are skipped).

    Example:
        >>> class Head:
        ...     def __init__(self, *, n_layers: int = 1) -> None:
        ...         store_params(self, locals())
        >>> Head(n_layers=2).n_layers
        2
    """
    for name, value in values.items():
        if name not in _NOT_PARAMS:
            setattr(obj, name, value)
