"""Lazy import of optional dependencies with a clear install hint."""

from __future__ import annotations

import contextlib
import importlib
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
