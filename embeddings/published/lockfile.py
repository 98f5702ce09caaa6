"""The lock file: the sha256 of each published file that has no published hash.

The first download of such a file records its sha256 and size in
``transferkit-models.lock.json`` (in the current folder, or the path in
``TRANSFERKIT_MODELS_LOCK``); commit and share it, and every later download and
load is checked against it.

Example:
    >>> import os, tempfile
    >>> os.environ["TRANSFERKIT_MODELS_LOCK"] = os.path.join(tempfile.mkdtemp(), "l.json")
    >>> _ = record_locks({"glove.6B/glove.6B.zip": {"sha256": "0" * 64, "size": 3, "url": "x"}})
    >>> read_lock()["glove.6B/glove.6B.zip"]["size"]
    3
    >>> del os.environ["TRANSFERKIT_MODELS_LOCK"]
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from embeddings._atomic import atomic_write_json
from embeddings._jsonfile import read_json_file
from embeddings.errors import ModelFormatError

__all__ = ["LOCK_NAME", "lock_path", "read_lock", "record_locks"]

LOCK_NAME = "transferkit-models.lock.json"
_MAX_LOCK_BYTES = 4 * 1024 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}/[A-Za-z0-9_][A-Za-z0-9._/-]{0,399}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def lock_path() -> Path:
    """``$TRANSFERKIT_MODELS_LOCK`` when set, else ``transferkit-models.lock.json`` here."""
    value = os.environ.get("TRANSFERKIT_MODELS_LOCK", "").strip()
    return Path(value).expanduser() if value else Path.cwd() / LOCK_NAME


def read_lock(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The entries of the lock file, keyed ``ARTIFACT/FILE`` (empty when there is none).

    Raises:
        ModelFormatError: the lock file is not a regular file, too large, not JSON, or an
            entry breaks the schema (the message names the entry and field).
    """
    p = lock_path() if path is None else path
    if not os.path.lexists(p):
        return {}
    raw = read_json_file(p, what="models lock file", limit=_MAX_LOCK_BYTES)
    if (
        not isinstance(raw, dict)
        or raw.get("format") != "transferkit-models-lock"
        or raw.get("version") != 1
        or not isinstance(raw.get("files"), dict)
    ):
        raise ModelFormatError(
            f"{p}: expected an object with format 'transferkit-models-lock', version 1 and "
            "'files'; delete the file to start a new lock"
        )
    files: dict[str, dict[str, Any]] = {}
    for key, entry in raw["files"].items():
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ModelFormatError(f"{p}: files: key {key[:80]!r} is not ARTIFACT/FILE")
        if not isinstance(entry, dict):
            raise ModelFormatError(f"{p}: files.{key}: must be an object")
        sha, size = entry.get("sha256"), entry.get("size")
        if not (isinstance(sha, str) and _SHA256.match(sha)):
            raise ModelFormatError(f"{p}: files.{key}.sha256: must be 64 lowercase hex digits")
        if type(size) is not int or size < 0:
            raise ModelFormatError(f"{p}: files.{key}.size: must be a non-negative int")
        url = entry.get("url")
        files[key] = {"sha256": sha, "size": size, "url": url if isinstance(url, str) else None}
    return files


def record_locks(entries: dict[str, dict[str, Any]], path: Path | None = None) -> Path:
    """Add ``entries`` (``ARTIFACT/FILE`` → sha256, size, url) to the lock file, atomically."""
    p = lock_path() if path is None else path
    files = read_lock(p)
    files.update(entries)
    body = {
        "format": "transferkit-models-lock",
        "version": 1,
        "files": {k: files[k] for k in sorted(files)},
    }
    return atomic_write_json(p, body)
