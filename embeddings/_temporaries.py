"""The temporaries of crash-safe writes: their names, the leftovers of dead writers, recovery.

A file or folder written by :mod:`embeddings._atomic` is first written under a
hidden sibling name that carries the writer's host and process id
(``.NAME.tmp-HOST-PID-RANDOM``, or ``.NAME.old-…`` for a folder moved aside), so:

* :func:`remove_dead_temporaries` / :func:`remove_dead_temporaries_in` remove the
  leftovers of writers that are no longer running, and keep those of running
  writers and of writers on other hosts;
* :func:`recover_folder` moves an old folder back into place when a writer died
  between the two renames of a folder replacement;
* :func:`fsync_dir` makes a rename durable.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> name = temporary_name("model")
    >>> (root / name).mkdir()
    >>> remove_dead_temporaries(root / "model")  # this process is alive: kept
    []
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "STALE_SECONDS",
    "fsync_dir",
    "recover_folder",
    "remove_entry",
    "remove_dead_temporaries",
    "remove_dead_temporaries_in",
    "temporary_name",
]

#: leftovers whose name shows no writer (written by older versions) are removed
#: when they are older than this
STALE_SECONDS = 3600.0
#: how long a loader waits for a running writer between its two renames
_WAIT_FOR_WRITER_SECONDS = 2.0

_TEMP_RE = re.compile(r"^(?P<kind>tmp|old)-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]+$")
#: folders left by earlier transferkit versions, which carry no host: vector-store
#: temporaries ``tmp-`` + 8 ``tempfile`` characters (removed once older than
#: ``STALE_SECONDS``) and old saved folders ``old-PID``
_LEGACY_TMP_RE = re.compile(r"^tmp-[a-z0-9_]{8}$")
_LEGACY_OLD_RE = re.compile(r"^old-(?P<pid>\d+)$")


def _host_tag() -> str:
    """8 hex digits naming this machine (pids are only comparable on one host)."""
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def temporary_name(final_name: str, kind: str = "tmp") -> str:
    """A hidden sibling name for a temporary of ``final_name``, tagged with host and pid.

    Example:
        >>> temporary_name("model").startswith(".model.tmp-")
        True
    """
    return f".{final_name}.{kind}-{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    except OSError:
        return True
    return True


def _writer_dead(suffix: str, path: Path) -> bool | None:
    """Whether the writer of a temporary is dead: True, False, or None when unknown.

    ``suffix`` is the part of the name after ``.NAME.``.
    """
    m = _TEMP_RE.match(suffix)
    if m is not None:
        if m.group("host") != _host_tag():
            return None  # another machine's writer (shared file system): never ours to judge
        return not _pid_alive(int(m.group("pid")))
    legacy_old = _LEGACY_OLD_RE.match(suffix)
    if legacy_old is not None:
        return not _pid_alive(int(legacy_old.group("pid")))
    if _LEGACY_TMP_RE.match(suffix):
        try:
            age = time.time() - path.lstat().st_mtime
        except OSError:
            return None
        return age > STALE_SECONDS
    return None


def _temporaries(target: Path) -> Iterator[tuple[Path, str, bool | None]]:
    """The temporaries of ``target``: (path, kind ``tmp``/``old``, writer dead?)."""
    prefix = f".{target.name}."
    try:
        entries = list(os.scandir(target.parent))
    except (OSError, ValueError):  # missing or unreadable folder, a NUL in the path
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        suffix = entry.name[len(prefix) :]
        kind = "old" if suffix.startswith("old-") else "tmp"
        path = Path(entry.path)
        if not _TEMP_RE.match(suffix):
            legacy = _LEGACY_OLD_RE.match(suffix) or _LEGACY_TMP_RE.match(suffix)
            if legacy is None or not entry.is_dir(follow_symlinks=False):
                continue
        yield path, kind, _writer_dead(suffix, path)


def remove_entry(path: Path) -> None:
    """Remove a file, link or folder tree; errors are ignored (a best-effort clean-up)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def remove_dead_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries of ``target`` left by writers that are no longer running.

    Temporaries of running writers, and of writers on other hosts, are kept; so are
    old folders while ``target`` is missing (:func:`recover_folder` restores them).

    Returns:
        The removed paths.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> (root / ".model.tmp-00000000-999999999-ab").mkdir()
        >>> remove_dead_temporaries(root / "model")  # another host's: kept
        []
    """
    target = Path(target)
    keep_old = not os.path.lexists(target)  # then an old folder may be the only copy
    removed = []
    for path, kind, dead in _temporaries(target):
        if dead and not (keep_old and kind == "old"):
            remove_entry(path)
            removed.append(path)
    return removed


_ANY_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<suffix>(?:tmp|old)-[0-9a-f]{8}-\d+-[0-9a-f]+)$")


def remove_dead_temporaries_in(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove every temporary in ``folder`` whose writer (on this host) is dead.

    Only names written by this module (``.NAME.tmp-HOST-PID-RANDOM``) are considered.

    Returns:
        The removed paths.

    Example:
        >>> import tempfile
        >>> remove_dead_temporaries_in(tempfile.mkdtemp())
        []
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except (OSError, ValueError):
        return removed
    for entry in entries:
        m = _ANY_TEMP_RE.match(entry.name)
        if m is None or m.group("suffix").startswith("old-"):
            continue  # an old folder of a dead writer may be the only copy: recover_folder
        path = Path(entry.path)
        if _writer_dead(m.group("suffix"), path):
            remove_entry(path)
            removed.append(path)
    return removed


def recover_folder(target: str | os.PathLike[str]) -> bool:
    """Move a saved folder back to ``target`` when a writer died between two renames.

    Without ``renameat2(RENAME_EXCHANGE)``, replacing a folder moves the old one
    aside before renaming the new one into place.  When ``target`` is missing and
    such an old folder of a dead writer exists, the newest one is renamed back.
    When the writer is still running, this waits (up to 2 s) for its second rename.

    Returns:
        Whether ``target`` exists afterwards.

    Example:
        >>> import tempfile, pathlib
        >>> recover_folder(pathlib.Path(tempfile.mkdtemp()) / "missing")
        False
    """
    target = Path(target)
    deadline = time.monotonic() + _WAIT_FOR_WRITER_SECONDS
    while True:
        if os.path.lexists(target):
            return True
        olds = [(path, dead) for path, kind, dead in _temporaries(target) if kind == "old"]
        candidates = [path for path, dead in olds if dead and (path / "config.json").is_file()]
        if candidates:
            newest = max(candidates, key=lambda p: p.stat().st_mtime_ns)
            try:
                os.rename(newest, target)
            except OSError:
                if not os.path.lexists(target):
                    raise
            fsync_dir(target.parent)
            return True
        if not any(dead is False for _, dead in olds) or time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync a folder, so the names in it (a rename) are on disk; a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
