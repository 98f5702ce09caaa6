"""Where transferkit keeps what it makes or fetches: the model cache.

A leaf module (it imports nothing from transferkit), so that adapters and the
download code can share one answer.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root", "default_cache_dir", "model_cache_dir"]


def cache_root() -> Path:
    """transferkit's cache folder: ``$TRANSFERKIT_CACHE`` when set, else
    ``$XDG_CACHE_HOME/transferkit`` (``~/.cache/transferkit``).

    Example:
        >>> import os
        >>> os.environ["TRANSFERKIT_CACHE"] = "/tmp/tk"
        >>> str(cache_root())
        '/tmp/tk'
        >>> del os.environ["TRANSFERKIT_CACHE"]
    """
    root = os.environ.get("TRANSFERKIT_CACHE")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "transferkit"


def model_cache_dir() -> Path:
    """The folder of models made by transferkit (ONNX exports, assembled models):
    ``cache_root() / "models"``.

    Example:
        >>> model_cache_dir() == cache_root() / "models"
        True
    """
    return cache_root() / "models"


def default_cache_dir() -> Path:
    """The default folder of the embedding cache (:class:`embeddings.cache.CachedEncoder`):
    ``cache_root() / "embeddings"``, so ``$TRANSFERKIT_CACHE/embeddings`` when
    ``TRANSFERKIT_CACHE`` is set, else ``~/.cache/transferkit/embeddings``.

    Example:
        >>> default_cache_dir() == cache_root() / "embeddings"
        True
    """
    return cache_root() / "embeddings"
