"""Managing the embedding cache: :func:`cache_info`, :func:`clear_cache`, :func:`compact`.

These functions work on the folders written by :class:`embeddings.cache.CachedEncoder`
(one per encoder fingerprint) and never touch any other file or folder.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     cache_info(d), clear_cache(d), compact(d)
    ([], 0, [])
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from embeddings._atomic import remove_dead_temporaries_in
from embeddings._cache_store import (
    FINGERPRINT_RE,
    KEY_BYTES,
    LOCK_NAME,
    STALE_TMP_SECONDS,
    TMP_PREFIX,
    ShardStore,
    list_shards,
    read_header,
    read_meta,
    resolve_dir,
    shard_meta,
    write_shard,
)
from embeddings.errors import InvalidParameterError

__all__ = ["CacheInfo", "CompactStats", "cache_info", "clear_cache", "compact"]


class _Entry(TypedDict):
    """The encoder name and fingerprint of one cache folder."""

    name: str
    fingerprint: str


class CacheInfo(_Entry):
    """What :func:`cache_info` reports for one encoder fingerprint."""

    encoder_class: str
    n_vectors: int
    dim: int | None
    bytes: int
    shards: int
    created: str
    path: str


class CompactStats(_Entry):
    """What :func:`compact` did to one encoder fingerprint."""

    shards_before: int
    shards_after: int
    n_vectors: int
    bytes_freed: int


# ---------------------------------------------------------------- management
def _entry_folders(root: Path) -> Iterator[Path]:
    """Fingerprint folders under ``root`` (other files and folders are never touched)."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for e in entries:
        if e.is_dir(follow_symlinks=False) and FINGERPRINT_RE.match(e.name):
            yield Path(e.path)


def _folder_bytes(folder: Path) -> int:
    total = 0
    for e in os.scandir(folder):
        with contextlib.suppress(OSError):
            if e.is_file(follow_symlinks=False):
                total += e.stat(follow_symlinks=False).st_size
    return total


def _count_unique(shards: list[Path]) -> tuple[int, int | None]:
    """Distinct keys over readable shards, reading only headers and key bytes."""
    seen: set[bytes] = set()
    dim: int | None = None
    for path in shards:
        try:
            header, offset = read_header(path)
            meta = shard_meta(header)
            begin, end = header["keys"]["data_offsets"]
            with open(path, "rb") as f:
                f.seek(offset + int(begin))
                raw = f.read(int(end) - int(begin))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        seen.update(raw[i : i + KEY_BYTES] for i in range(0, len(raw), KEY_BYTES))
        if dim is None:
            with contextlib.suppress(ValueError, TypeError):
                dim = int(meta["dim"])
    return len(seen), dim


def _entry(folder: Path, meta: dict[str, Any]) -> _Entry:
    return _Entry(name=str(meta.get("name", "?")), fingerprint=folder.name)


def _select(
    cache_dir: str | os.PathLike[str] | None, fingerprint: str | None, name: str | None
) -> list[tuple[Path, dict[str, Any]]]:
    """The fingerprint folders of the cache (and their meta) that match the filters."""
    root = resolve_dir(cache_dir)
    if fingerprint is not None and (
        not isinstance(fingerprint, str) or not re.fullmatch(r"[0-9a-f]{1,64}", fingerprint)
    ):
        raise InvalidParameterError(
            f"fingerprint must be hex characters (a full sha256 or a prefix of one), "
            f"got {fingerprint!r}"
        )
    chosen = []
    for folder in _entry_folders(root):
        meta = read_meta(folder)
        if fingerprint is not None and not folder.name.startswith(fingerprint):
            continue
        if name is not None and meta.get("name") != name:
            continue
        chosen.append((folder, meta))
    return chosen


def cache_info(cache_dir: str | os.PathLike[str] | None = None) -> list[CacheInfo]:
    """Describe every encoder stored in the cache.

    Args:
        cache_dir: the cache folder; ``None`` uses :func:`default_cache_dir`.

    Returns:
        One :class:`CacheInfo` per fingerprint, sorted by name.  ``n_vectors``
        counts distinct texts; ``bytes`` includes metadata and temporary files.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     cache_info(d)
        []
    """
    out: list[CacheInfo] = []
    for folder, meta in _select(cache_dir, None, None):
        shards = list_shards(folder)
        n, dim = _count_unique(shards)
        meta_dim = meta.get("dim")
        out.append(
            CacheInfo(
                **_entry(folder, meta),
                encoder_class=str(meta.get("class", "?")),
                n_vectors=n,
                dim=int(meta_dim) if isinstance(meta_dim, int) else dim,
                bytes=_folder_bytes(folder),
                shards=len(shards),
                created=str(meta.get("created", "")),
                path=os.fspath(folder),
            )
        )
    return sorted(out, key=lambda r: (r["name"], r["fingerprint"]))


def _remove_folder(folder: Path) -> int:
    freed = 0
    for e in list(os.scandir(folder)):
        try:
            if e.is_dir(follow_symlinks=False):
                size = sum(p.stat().st_size for p in Path(e.path).rglob("*") if p.is_file())
                shutil.rmtree(e.path)
            else:
                size = e.stat(follow_symlinks=False).st_size
                os.unlink(e.path)
        except OSError:
            continue
        freed += size
    with contextlib.suppress(OSError):
        folder.rmdir()  # fails if a concurrent writer just added a shard: that is fine
    return freed


def clear_cache(
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    fingerprint: str | None = None,
    name: str | None = None,
) -> int:
    """Delete cached vectors; returns the number of bytes freed.

    Only fingerprint folders (64 hex characters) are removed, so pointing
    ``cache_dir`` at the wrong folder deletes nothing else.

    Args:
        cache_dir: the cache folder; ``None`` uses :func:`default_cache_dir`.
        fingerprint: only this encoder fingerprint (a unique prefix is enough).
        name: only encoders with this name (e.g. ``"glove-6b-50d"``).

    Raises:
        InvalidParameterError: a fingerprint that is not hex, or a prefix that
            matches more than one entry.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     clear_cache(d, name="glove-6b-50d")
        0
    """
    chosen = _select(cache_dir, fingerprint, name)
    if fingerprint is not None and len(fingerprint) < 64 and len(chosen) > 1:
        raise InvalidParameterError(
            f"fingerprint prefix {fingerprint!r} matches {len(chosen)} entries "
            f"({', '.join(f.name[:12] for f, _ in chosen)}); give more characters"
        )
    return sum(_remove_folder(folder) for folder, _ in chosen)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    import fcntl

    with open(folder / LOCK_NAME, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def compact(
    cache_dir: str | os.PathLike[str] | None = None, *, fingerprint: str | None = None
) -> list[CompactStats]:
    """Merge each encoder's shards into one, dropping duplicates, damaged shards and
    temporary files left by crashed writers (older than an hour).

    Safe while other processes encode: the merged shard is written atomically before
    the merged shards are removed, and shards that appear meanwhile are kept.

    Args:
        cache_dir: the cache folder; ``None`` uses :func:`default_cache_dir`.
        fingerprint: only this encoder fingerprint (a prefix is enough).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     compact(d, fingerprint="0a1b")
        []
    """
    stats: list[CompactStats] = []
    for folder, meta in _select(cache_dir, fingerprint, None):
        before = _folder_bytes(folder)
        with _locked(folder):
            shards = list_shards(folder)
            store = ShardStore(folder, folder.name)
            merged = [path for path in shards if store.add_shard(path, stacklevel=4)]
            n = len(store.index)
            if len(merged) > 1:
                keys_out = np.frombuffer(b"".join(store.index), dtype=np.uint8)
                vecs_out = np.empty((n, store.dim or 0), dtype=np.float32)
                store.gather(np.fromiter(store.index.values(), dtype=np.intp, count=n), vecs_out)
                write_shard(folder, folder.name, keys_out.reshape(n, KEY_BYTES), vecs_out)
                for path in merged:
                    with contextlib.suppress(OSError):
                        path.unlink()
            remove_dead_temporaries_in(folder)
            now = time.time()
            for e in os.scandir(folder):  # temporary files of earlier versions
                if e.name.startswith(TMP_PREFIX):
                    with contextlib.suppress(OSError):
                        if now - e.stat().st_mtime > STALE_TMP_SECONDS:
                            os.unlink(e.path)
        stats.append(
            CompactStats(
                **_entry(folder, meta),
                shards_before=len(shards),
                shards_after=len(list_shards(folder)),
                n_vectors=n,
                bytes_freed=max(0, before - _folder_bytes(folder)),
            )
        )
    return stats
