"""Lazy import of optional dependencies with a clear install hint."""

from __future__ import annotations

import importlib
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
            f"{pkg} is needed for this encoder but is not installed ({err}). "
            f"Install it with: pip install 'transferkit[{extra}]'  (or: pip install {pkg})"
        ) from err
