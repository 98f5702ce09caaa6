"""The functions behind ``Task.evaluate``, ``Task.from_dataframe`` and ``Task.from_file``.

The task modules hold data and metadata and import only downward, yet a task keeps
its methods: each method looks its function up here, and the module that implements
it registers it when it is imported.

=====================  =========================================  =====================
hook                   implemented by                             registered by
=====================  =========================================  =====================
``"evaluate"``         :func:`benchmarks.protocols.evaluate`      ``import benchmarks``
``"from_dataframe"``   :func:`benchmarks.tasks.own.from_dataframe` ``import benchmarks.tasks``
``"from_file"``        :func:`benchmarks.tasks.own.from_file`      ``import benchmarks.tasks``
=====================  =========================================  =====================

Importing any ``benchmarks`` module runs both registrations first, so the methods
always find their functions.

Example:
    >>> import benchmarks.tasks
    >>> lookup("from_file").__module__
    'benchmarks.tasks.own'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, get_args

from embeddings.errors import InvalidParameterError, MissingDependencyError

__all__ = ["Hook", "lookup", "provide"]

Hook = Literal["evaluate", "from_dataframe", "from_file"]
"""The task methods whose function is registered by a module above the tasks."""

_PROVIDERS: dict[str, str] = {
    "evaluate": "benchmarks.protocols",
    "from_dataframe": "benchmarks.tasks.own",
    "from_file": "benchmarks.tasks.own",
}
_HOOKS: dict[str, Callable[..., Any]] = {}


def provide(name: Hook, function: Callable[..., Any]) -> None:
    """Register the function behind a task method (replacing an earlier one).

    Raises:
        InvalidParameterError: An unknown hook name, or a function that is not callable.

    Example:
        >>> provide("from_file", lookup("from_file"))
    """
    if name not in get_args(Hook):
        raise InvalidParameterError(
            f"unknown task hook {name!r}; the hooks are {list(get_args(Hook))}"
        )
    if not callable(function):
        raise InvalidParameterError(
            f"the {name!r} task hook must be callable, got {type(function).__name__}"
        )
    _HOOKS[name] = function


def lookup(name: Hook) -> Callable[..., Any]:
    """The function registered for a task method.

    Raises:
        MissingDependencyError: Nothing is registered (the module that provides it was
            not imported).
    """
    try:
        return _HOOKS[name]
    except KeyError:
        provider = _PROVIDERS.get(name, "a module above benchmarks.tasks")
        raise MissingDependencyError(
            f"Task.{name} is provided by {provider}, which has not registered it; "
            f"import {provider} first"
        ) from None
