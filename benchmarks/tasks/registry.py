"""Look tasks up by name (case-insensitive, with "did you mean") and list them.

Example:
    >>> get_task("sst2").name
    'SST2'
    >>> "STS12" in list_tasks(family="sts")
    True
    >>> try:
    ...     get_task("STS-b2")
    ... except UnknownTaskError as err:
    ...     print(str(err).split("; ")[1])
    did you mean 'STS-B'? (also close: 'STS12', 'SST2') (see `transferkit data list`)
"""

from __future__ import annotations

import difflib
from typing import Any, get_args

from benchmarks.tasks._errors import UnknownTaskError
from benchmarks.tasks.base import Task
from benchmarks.tasks.catalog import TASKS
from benchmarks.tasks.catalog_training import TRAINING_TASKS
from benchmarks.tasks.metadata import Family
from embeddings.errors import InvalidParameterError

__all__ = ["get_task", "get_task_class", "list_tasks", "load_task"]

_BY_KEY: dict[str, type[Task]] = {
    cls.metadata.name.lower(): cls for cls in (*TASKS, *TRAINING_TASKS)
}  # training data (SNLI, MultiNLI) is found by name but not listed


def get_task_class(name: str) -> type[Task]:
    """The task class registered under ``name`` (case-insensitive).

    Raises:
        UnknownTaskError: No such task; the message suggests close names.

    Example:
        >>> get_task_class("trec-FINE").metadata.name
        'TREC-fine'
    """
    if not isinstance(name, str):
        raise UnknownTaskError(f"task name must be a str, got {type(name).__name__}")
    cls = _BY_KEY.get(name.strip().lower())
    if cls is not None:
        return cls
    names = [c.metadata.name for c in TASKS]
    close = difflib.get_close_matches(name.lower(), list(_BY_KEY), n=3, cutoff=0.5)
    if close:
        first, *others = (repr(_BY_KEY[k].metadata.name) for k in close)
        hint = f"did you mean {first}?"
        if others:
            hint += f" (also close: {', '.join(others)})"
    else:
        hint = f"known tasks: {', '.join(names)}"
    raise UnknownTaskError(f"unknown task {name!r}; {hint} (see `transferkit data list`)")


def get_task(name: str, **params: Any) -> Task:
    """A task instance by name.

    Args:
        name: Registered name, any case (``"sst2"``, ``"STS-B"``, ``"TREC-fine"``).
        **params: Constructor parameters, e.g. ``data_dir=...`` or, for SST2,
            ``train_file="sentences"``.

    Raises:
        UnknownTaskError: Unknown name (with suggestions).
        InvalidParameterError: A parameter the task does not take.

    Example:
        >>> get_task("SST2", train_file="sentences")
        SST2(train_file='sentences')
    """
    cls = get_task_class(name)
    try:
        return cls(**params)
    except TypeError as err:
        import inspect

        allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        raise InvalidParameterError(
            f"{cls.metadata.name} got unexpected parameters {sorted(params)}; "
            f"it takes {allowed} ({err})"
        ) from None


load_task = get_task
"""Alias of :func:`get_task` (MTEB-style name); returns the task, not its data."""


def list_tasks(family: Family | None = None) -> list[str]:
    """Registered task names, in catalogue order, optionally of one family.

    Args:
        family: ``"classification"``, ``"pair_classification"``, ``"similarity"``,
            ``"sts"`` or ``"clustering"``; ``None`` for all.

    Example:
        >>> list_tasks("pair_classification")
        ['MRPC', 'SICK-E']
    """
    families = get_args(Family)
    if family is not None and family not in families:
        raise InvalidParameterError(f"family must be one of {list(families)}, got {family!r}")
    return [c.metadata.name for c in TASKS if family is None or c.metadata.family == family]
