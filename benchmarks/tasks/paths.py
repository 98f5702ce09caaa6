"""Where benchmark data lives, and one-line errors when a file is not there.

Lookup order for :func:`data_dir`:

1. ``$TRANSFERKIT_DATA`` when set (a prepared tree such as the shared data folder);
2. otherwise the user cache :func:`cache_dir`, where ``transferkit data download``
   writes: ``$TRANSFERKIT_CACHE/data`` if ``TRANSFERKIT_CACHE`` is set, else
   ``$XDG_CACHE_HOME/transferkit/data``, else ``~/.cache/transferkit/data``.

Both hold the same normalised layout: ``<folder>/<file>.tsv`` (see the data README).

Example:
    >>> import os
    >>> saved = os.environ.get("TRANSFERKIT_DATA")
    >>> os.environ["TRANSFERKIT_DATA"] = "/srv/data"
    >>> str(data_dir())
    '/srv/data'
    >>> _ = os.environ.pop("TRANSFERKIT_DATA") if saved is None else os.environ.update(
    ...     TRANSFERKIT_DATA=saved)
"""

from __future__ import annotations

import os
from pathlib import Path

from embeddings.errors import DataNotFoundError

__all__ = ["ENV_CACHE", "ENV_DATA", "cache_dir", "data_dir", "describe_data_dir", "find_file"]

ENV_DATA = "TRANSFERKIT_DATA"
"""Environment variable naming a prepared data folder (read-only use is fine)."""

ENV_CACHE = "TRANSFERKIT_CACHE"
"""Environment variable naming the transferkit cache root (data goes to ``<root>/data``)."""


def cache_dir() -> Path:
    """The user cache folder that downloads go to (not created here).

    Example:
        >>> cache_dir().name
        'data'
    """
    root = os.environ.get(ENV_CACHE)
    if root:
        return Path(root).expanduser() / "data"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "transferkit" / "data"


def data_dir() -> Path:
    """The folder tasks read from: ``$TRANSFERKIT_DATA`` if set, else :func:`cache_dir`.

    Example:
        >>> isinstance(data_dir(), Path)
        True
    """
    env = os.environ.get(ENV_DATA)
    return Path(env).expanduser() if env else cache_dir()


def describe_data_dir(root: Path | None = None) -> str:
    """Say which folder is searched and why, for messages.

    Args:
        root: An explicit folder (a task's ``data_dir`` parameter), or ``None``.

    Example:
        >>> describe_data_dir(Path("/x"))
        '/x (given as data_dir)'
    """
    if root is not None:
        return f"{root} (given as data_dir)"
    if os.environ.get(ENV_DATA):
        return f"{data_dir()} (from {ENV_DATA})"
    return f"{cache_dir()} (the download cache; {ENV_DATA} is not set)"


def find_file(relpath: str, *, task: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Locate a normalised data file, or raise a one-line :class:`DataNotFoundError`.

    Args:
        relpath: Path inside the data folder, e.g. ``"SST2/dev.tsv"``.
        task: The task name, for the fix-it hint.
        root: A folder to search instead of :func:`data_dir`.

    Returns:
        The existing file's path.

    Raises:
        DataNotFoundError: The file is not there; the message names the file, the
            folder searched and both fixes.

    Example:
        >>> try:
        ...     find_file("MR/all.tsv", task="MR", root="/nonexistent")
        ... except DataNotFoundError as err:
        ...     print(str(err).split(";")[0])
        benchmark data file 'MR/all.tsv' not found in /nonexistent (given as data_dir)
    """
    base = Path(root).expanduser() if root is not None else data_dir()
    path = base / relpath
    if path.is_file():
        return path
    where = describe_data_dir(base if root is not None else None)
    raise DataNotFoundError(
        f"benchmark data file {relpath!r} not found in {where}; "
        f"set {ENV_DATA} to a folder that holds it, or run `transferkit data download {task}`"
    )
