"""Lazy import of optional dependencies with a clear install hint, and the CPU threads
this process runs its numerical libraries on."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from types import ModuleType

from embeddings.errors import MissingDependencyError


def require(module: str, *, extra: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the pip extra.

    Example:
        >>> require("json", extra="models").__name__
        'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        pkg = package or module
        raise MissingDependencyError(
            f"{pkg} is needed for this but is not installed ({err}). "
            f"Install it with: pip install 'transferkit[{extra}]'  (or: pip install {pkg})"
        ) from err


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch with ``n`` intra-op threads, restoring the caller's setting after.

    Example:
        >>> with torch_threads(1):
        ...     pass
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


#: the threads a Dask worker gives this process (:func:`pin_process_threads`); ``None``:
#: every CPU it may run on
_PINNED_THREADS: int | None = None
#: torch's intra-op threads before the first pin, restored when the pin is lifted
_TORCH_BEFORE_PIN: int | None = None


def process_threads() -> int:
    """The CPU threads this process runs on: the CPUs it may use, or fewer where a Dask
    worker pinned it (:func:`pin_process_threads`).

    Encoders whose ``threads`` is ``None`` (ONNX Runtime) run with this many.

    Example:
        >>> process_threads() >= 1
        True
    """
    try:
        cpus = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        cpus = max(1, os.cpu_count() or 1)
    return cpus if _PINNED_THREADS is None else min(cpus, _PINNED_THREADS)


def pin_process_threads(threads: int | None) -> None:
    """Run this process's numerical work on ``threads`` threads: torch's intra-op pool
    (when torch is installed) and :func:`process_threads`; ``None`` lifts the pin and
    gives torch back the threads it had before.

    A Dask worker with ``nthreads=k`` calls it with ``k``, so that the worker processes of
    one machine do not each start a thread per core.  No vector changes.

    Example:
        >>> pin_process_threads(1); process_threads()
        1
        >>> pin_process_threads(None)
    """
    global _PINNED_THREADS, _TORCH_BEFORE_PIN
    has_torch = "torch" in sys.modules or importlib.util.find_spec("torch") is not None
    if threads is None:
        if has_torch and _TORCH_BEFORE_PIN is not None:
            import torch

            torch.set_num_threads(_TORCH_BEFORE_PIN)
        _PINNED_THREADS = _TORCH_BEFORE_PIN = None
        return
    pinned = max(1, int(threads))
    if has_torch:
        import torch

        if _PINNED_THREADS is None:
            _TORCH_BEFORE_PIN = torch.get_num_threads()
        torch.set_num_threads(pinned)
    _PINNED_THREADS = pinned
