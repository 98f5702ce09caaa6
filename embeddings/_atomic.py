"""Atomic replacement of a saved-model folder (``config.json`` + weights).

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> def fill(tmp):
    ...     (tmp / "config.json").write_text("{}")
    >>> write_folder_atomically(root / "model", fill, kind="saved encoder").name
    'model'
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from embeddings.errors import InvalidParameterError


def write_folder_atomically(
    target: str | os.PathLike[str], fill: Callable[[Path], None], *, kind: str
) -> Path:
    """Write a folder via ``fill(temporary_folder)`` and move it to ``target`` atomically.

    A crash leaves either the old folder or the new one, never a half-written one.
    An existing ``target`` is only replaced when it is empty or holds a
    ``config.json`` (a previous save); anything else is refused and left untouched.

    Raises:
        InvalidParameterError: ``target`` exists and is not a previous save.
    """
    target = Path(target)
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        if not (target / "config.json").is_file():
            raise InvalidParameterError(
                f"refusing to overwrite {target}: it exists and is not a {kind}"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        fill(tmp)
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
