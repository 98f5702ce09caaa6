"""sha256 verification of data files, computed once per file version per process.

The digest of a file is cached under ``(resolved path, mtime_ns, size)``, so a file
is hashed again only when it changes on disk.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "f.tsv"
    >>> _ = p.write_bytes(b"label\\ttext\\n")
    >>> verify_file(p, sha256_bytes(b"label\\ttext\\n"))
    >>> try:
    ...     verify_file(p, "0" * 64)
    ... except ChecksumError as err:
    ...     print("does not match" in str(err))
    True
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from embeddings.errors import ChecksumError

__all__ = ["clear_checksum_cache", "file_sha256", "sha256_bytes", "verify_file"]

_DIGESTS: dict[tuple[str, int, int], str] = {}
_LOCK = threading.Lock()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``.

    Example:
        >>> sha256_bytes(b"")[:8]
        'e3b0c442'
    """
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, memoised per ``(path, mtime, size)``.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "e"
        >>> _ = p.write_bytes(b"")
        >>> file_sha256(p)[:8]
        'e3b0c442'
    """
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
    with _LOCK:
        cached = _DIGESTS.get(key)
    if cached is not None:
        return cached
    with open(resolved, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    with _LOCK:
        _DIGESTS[key] = digest
    return digest


def verify_file(path: str | os.PathLike[str], expected: str, *, hint: str = "") -> None:
    """Raise :class:`ChecksumError` unless the file's sha256 equals ``expected``.

    Args:
        path: The file.
        expected: The pinned hex sha256.
        hint: How to fix it, appended to the message.

    Raises:
        ChecksumError: On mismatch; the message gives both hashes.
    """
    actual = file_sha256(path)
    if actual != expected:
        fix = hint or "delete the file and download it again with `transferkit data download TASK`"
        raise ChecksumError(
            f"{path}: sha256 {actual} does not match the pinned {expected}; "
            f"the file is corrupt, edited or from another release; {fix}"
        )


def clear_checksum_cache() -> None:
    """Forget every memoised digest (for tests)."""
    with _LOCK:
        _DIGESTS.clear()
