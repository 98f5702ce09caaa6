"""Crash-safe writes: files and folders appear complete under their final name, or not at all.

Every atomic write in transferkit goes through this module:

* :func:`atomic_write_bytes` / :func:`atomic_write_text` write a file in one piece;
  :func:`atomic_open` does the same for writers that stream (large vector files).
* :func:`write_folder_atomically` writes a folder (a saved encoder, a vector store).

A file or folder is first written under a temporary sibling name, flushed to disk
(``fsync`` of every file and of the folder), then renamed into place; the parent
folder is fsynced after the rename, so the new name survives a power cut.

Replacing an existing folder is the hard case: POSIX ``rename`` cannot replace a
non-empty folder.  On Linux the new folder and the old one are swapped in one step
with ``renameat2(RENAME_EXCHANGE)``, so the target path always holds a complete
folder.  Where the file system or platform lacks it, the old folder is first moved
aside to ``.NAME.old-…`` and the new one renamed into place; a crash between the two
renames leaves no folder at the target, and :func:`recover_folder` (called by every
loader) moves the old folder back.

Links are never written through: a file or folder is put in place by a rename, which
replaces a symbolic link at the target itself and leaves what it points to alone, and
the entries an existing folder hands on to its replacement (``keep=``) are carried
over only as regular files and folders, never through a link.

Temporary names carry the writer's host and process id
(``.NAME.tmp-HOST-PID-RANDOM``), so the leftovers of a killed writer are recognised
and removed by the next writer (:func:`remove_dead_temporaries`), while the
temporaries of a writer that is still running are left alone.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> def fill(tmp):
    ...     (tmp / "config.json").write_text("{}")
    >>> write_folder_atomically(root / "model", fill, kind="saved encoder").name
    'model'
    >>> atomic_write_text(root / "notes.txt", "hello").read_text()
    'hello'
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from embeddings.errors import InvalidParameterError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_open",
    "write_folder_atomically",
    "recover_folder",
    "remove_dead_temporaries",
    "remove_dead_temporaries_in",
    "fsync_dir",
    "temporary_name",
    "check_writable",
]

#: leftovers whose name shows no writer (written by older versions) are removed
#: when they are older than this
STALE_SECONDS = 3600.0
#: how long a loader waits for a running writer between its two renames
_WAIT_FOR_WRITER_SECONDS = 2.0

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
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


def _remove(path: Path) -> None:
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
            _remove(path)
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
            _remove(path)
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


def _fsync_tree(root: Path) -> None:
    """fsync every file under ``root`` and every folder, deepest first."""
    for folder, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(folder)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Open a temporary file for binary writing; on success it replaces ``path`` atomically.

    The file is flushed and fsynced before the rename, and the folder after it.  On an
    exception the temporary file is removed and ``path`` is left as it was.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.bin"
        >>> with atomic_open(p) as fh:
        ...     _ = fh.write(b"abc")
        >>> p.read_bytes()
        b'abc'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(temporary_name(target.name))
    try:
        with open(tmp, "xb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_dir(target.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename, fsync folder).

    Creates missing parent folders.  Readers see the old content or the new one,
    never a part.

    Example:
        >>> import tempfile, pathlib
        >>> p = atomic_write_bytes(pathlib.Path(tempfile.mkdtemp()) / "sub" / "f.bin", b"x")
        >>> p.read_bytes()
        b'x'
    """
    with atomic_open(path) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`).

    Example:
        >>> import tempfile, pathlib
        >>> atomic_write_text(pathlib.Path(tempfile.mkdtemp()) / "a.json", "{}").read_text()
        '{}'
    """
    return atomic_write_bytes(path, text.encode(encoding))


def _libc_renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_RENAMEAT2 = _libc_renameat2()


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` in one step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns:
        ``False`` when the platform or file system cannot (nothing was changed).
    """
    if _RENAMEAT2 is None:
        return False
    rc = _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _replace_folder(tmp: Path, target: Path) -> None:
    """Put the complete folder ``tmp`` at ``target``, which exists; remove the old one.

    The old entry may be a folder or a symbolic link (removed as a link)."""
    if _exchange(tmp, target):
        fsync_dir(target.parent)
        _remove(tmp)  # ``tmp`` now holds the old folder (or link)
        return
    old = target.with_name(temporary_name(target.name, "old"))
    os.replace(target, old)
    os.replace(tmp, target)
    fsync_dir(target.parent)
    _remove(old)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # link() never follows a link at ``src`` (Linux, macOS)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def _carry_over(src: Path, dst: Path) -> list[str]:
    """Copy the regular files and folders under ``src`` to ``dst`` (hard links where possible).

    Nothing is read through a link: symbolic links (at any depth) and special files
    (FIFOs, sockets, devices) are left out.  The walk is iterative, so a deep tree
    cannot exhaust the stack.

    Returns:
        The left-out entries, relative to ``src.parent``.
    """
    skipped: list[str] = []
    pending = [(src, dst)]
    while pending:
        folder, out = pending.pop()
        os.mkdir(out)
        with os.scandir(folder) as entries:
            for entry in entries:
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    pending.append((Path(entry.path), out / entry.name))
                elif stat.S_ISREG(mode):
                    _link_or_copy(entry.path, str(out / entry.name))
                else:
                    skipped.append(os.path.relpath(entry.path, src.parent))
    return skipped


def _keep_entries(target: Path, tmp: Path, keep: tuple[str, ...]) -> None:
    """Carry the folders named in ``keep`` from ``target`` into ``tmp`` (see ``keep=``)."""
    skipped: list[str] = []
    for name in keep:
        entry = target / name
        try:
            mode = entry.lstat().st_mode
        except FileNotFoundError:
            continue
        if os.path.lexists(tmp / name):
            continue
        if stat.S_ISDIR(mode):
            skipped += _carry_over(entry, tmp / name)
        else:
            skipped.append(name)
    if skipped:
        shown = ", ".join(skipped[:5]) + (
            f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        )
        warnings.warn(
            f"{target}: {shown} not carried over to the new folder (only regular files and "
            "folders are; symbolic links and special files are left out)",
            RuntimeWarning,
            stacklevel=3,
        )


def check_writable(path: str | os.PathLike[str], *, what: str, folder: bool = False) -> Path:
    """Check, before any long work, that a file (or folder) can be written at ``path``.

    The nearest existing ancestor must be a folder in which a file can be created
    (tried with a temporary name that is removed at once); an existing ``path``
    must be a file (``folder=False``) or a folder (``folder=True``).  Nothing is
    created that is not removed again.

    Args:
        path: where the output will be written.
        what: how the caller names the path in messages (``"--output"``).
        folder: whether the output is a folder.

    Raises:
        InvalidParameterError: naming the path and why it cannot be written.

    Example:
        >>> import tempfile, pathlib
        >>> check_writable(pathlib.Path(tempfile.mkdtemp()) / "new" / "v.npy", what="out").name
        'v.npy'
    """
    path = Path(path)
    if "\0" in str(path):
        raise InvalidParameterError(f"{what} {str(path)!r}: not a usable path (a NUL character)")
    try:
        is_dir = path.is_dir()
        exists = os.path.lexists(path)
    except (OSError, ValueError) as err:
        raise InvalidParameterError(f"{what} {path}: not a usable path ({err})") from None
    if exists and folder and not is_dir:
        raise InvalidParameterError(f"{what} {path} exists and is not a folder")
    if exists and not folder and is_dir:
        raise InvalidParameterError(f"{what} {path} is a folder; give the path of a file to write")
    parent = path if folder and is_dir else path.parent
    probe = parent
    while not os.path.lexists(probe) and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise InvalidParameterError(
            f"{what} {path}: {probe} is not a folder, so nothing can be written under it"
        )
    trial = probe / temporary_name("write-check")
    try:
        os.mkdir(trial)
    except OSError as err:
        if probe == parent:
            why = f"cannot write in {parent} ({err.strerror})"
        else:
            why = f"cannot create {parent} ({err.strerror} in {probe})"
        raise InvalidParameterError(f"{what} {path}: {why}") from None
    os.rmdir(trial)
    return path


def write_folder_atomically(
    target: str | os.PathLike[str],
    fill: Callable[[Path], None],
    *,
    kind: str,
    replace: bool = True,
    keep: tuple[str, ...] = (),
) -> Path:
    """Write a folder via ``fill(temporary_folder)`` and move it to ``target`` atomically.

    A crash leaves either the old folder or the new one, never a half-written one
    (see the module docs).  An existing ``target`` is only replaced when it is
    empty or holds a ``config.json`` (a previous save); anything else is refused and
    left untouched.  Temporaries left by dead writers of ``target`` are removed.

    Args:
        target: the folder to write.
        fill: writes the files into the temporary folder it is given.
        kind: what the folder is, for messages (``"saved encoder"``).
        replace: ``False`` keeps an existing ``target`` (e.g. a store another process
            wrote first) and discards the new folder.
        keep: names of folders of an existing ``target`` that the new folder keeps
            (hard links into the new folder before the swap, so they survive a
            crash too); a ``target`` holding only such entries may be replaced.
            Only regular files and folders are carried over: a kept entry that is
            a symbolic link, and links or special files at any depth inside one,
            are left out with a ``RuntimeWarning``, so nothing outside ``target``
            is ever linked into the new folder.

    A ``target`` that is a symbolic link is replaced as a link: the new folder takes
    its place, and nothing is read or written through it (with ``replace=False`` the
    link is kept).

    Raises:
        InvalidParameterError: ``target`` exists and is not a previous save.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> fill = lambda tmp: (tmp / "config.json").write_text("{}")
        >>> _ = write_folder_atomically(root / "m", fill, kind="saved encoder")
        >>> write_folder_atomically(root / "m", fill, kind="saved encoder").is_dir()
        True
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(target)
    is_link = target.is_symlink()
    if is_link and not replace:
        return target
    if (
        replace
        and not is_link
        and target.exists()
        and not (target.is_dir() and not any(target.iterdir()))
    ):
        only_kept = target.is_dir() and not (set(os.listdir(target)) - set(keep))
        if not (target / "config.json").is_file() and not only_kept:
            raise InvalidParameterError(
                f"refusing to overwrite {target}: it exists and is not a {kind}"
            )
    remove_dead_temporaries(target)
    tmp = target.with_name(temporary_name(target.name))
    tmp.mkdir()
    try:
        fill(tmp)
        if replace and not is_link:
            _keep_entries(target, tmp, keep)
        _fsync_tree(tmp)
        if is_link:
            _replace_folder(tmp, target)
            return target
        try:
            os.replace(tmp, target)  # succeeds when target is missing or an empty folder
            fsync_dir(target.parent)
        except OSError as err:
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not target.is_dir():
                raise
            if replace:
                _replace_folder(tmp, target)
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)
    return target
