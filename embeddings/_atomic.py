"""Crash-safe writes: files and folders appear complete under their final name, or not at all.

Every atomic write in transferkit goes through this module:

* :func:`atomic_write_bytes` / :func:`atomic_write_text` write a file in one piece;
  :func:`atomic_open` does the same for writers that stream (large vector files).
* :func:`write_folder_atomically` writes a folder (a saved encoder, a vector store).
* :func:`atomic_write_json` writes a JSON document (every JSON file transferkit writes).

Naming, finding and removing the temporaries of dead writers, and recovering a
folder after a crash, live in :mod:`embeddings._temporaries` (re-exported here).

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
import json
import os
import shutil
import stat
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from embeddings._temporaries import (
    fsync_dir,
    recover_folder,
    remove_dead_temporaries,
    remove_dead_temporaries_in,
    remove_entry,
    temporary_name,
)
from embeddings.errors import InvalidParameterError, TransferkitError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_open",
    "write_folder_atomically",
    "recover_folder",
    "remove_dead_temporaries",
    "remove_dead_temporaries_in",
    "fsync_dir",
    "temporary_name",
    "check_writable",
    "writing_errors",
]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


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


def atomic_write_json(
    path: str | os.PathLike[str],
    value: Any,
    *,
    indent: int | None = 2,
    sort_keys: bool = False,
    allow_nan: bool = False,
) -> Path:
    """Write ``value`` as UTF-8 JSON (ending in a newline) to ``path`` atomically.

    Every JSON file transferkit writes goes through this function, so each one is
    complete under its final name or absent, and reads back with
    :func:`embeddings._jsonfile.read_json_file`.

    Args:
        path: the file to write (missing parent folders are created).
        value: a JSON-serialisable value.
        indent: the indentation (``None`` for one line).
        sort_keys: write the keys of every object sorted.
        allow_nan: write ``NaN`` and ``Infinity`` (not JSON numbers, but read back by
            Python); otherwise such a value is refused.

    Raises:
        InvalidParameterError: a value that is not JSON-serialisable, or a non-finite
            number without ``allow_nan``; nothing is written.

    Example:
        >>> import tempfile, pathlib
        >>> p = atomic_write_json(pathlib.Path(tempfile.mkdtemp()) / "a.json", {"b": [1]})
        >>> p.read_text().split()
        ['{', '"b":', '[', '1', ']', '}']
    """
    try:
        text = json.dumps(
            value, indent=indent, sort_keys=sort_keys, allow_nan=allow_nan, ensure_ascii=False
        )
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(
            f"{path}: cannot write the value as JSON ({err}); write only strings, numbers, "
            "booleans, null, lists and objects with string keys, and finite numbers unless "
            "NaN is allowed"
        ) from None
    return atomic_write_text(path, text + "\n")


@contextlib.contextmanager
def writing_errors(
    what: str, *, fix: str, error: type[TransferkitError] = InvalidParameterError
) -> Iterator[None]:
    """Turn an ``OSError`` raised in the block into ``error``, naming the path and the fix.

    Errors of transferkit itself pass through unchanged.

    Args:
        what: what the block does, after "cannot" (``"store the downloaded data"``).
        fix: what the user can do about it.
        error: the transferkit error class raised.

    Example:
        >>> try:
        ...     with writing_errors("write the report", fix="choose another folder"):
        ...         raise PermissionError(13, "Permission denied", "/r.json")
        ... except InvalidParameterError as err:
        ...     print(err)
        /r.json: cannot write the report (Permission denied); choose another folder
    """
    try:
        yield
    except TransferkitError:
        raise
    except OSError as err:
        where = err.filename if err.filename is not None else "a file"
        raise error(f"{where}: cannot {what} ({err.strerror or err}); {fix}") from err


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
        remove_entry(tmp)  # ``tmp`` now holds the old folder (or link)
        return
    old = target.with_name(temporary_name(target.name, "old"))
    os.replace(target, old)
    os.replace(tmp, target)
    fsync_dir(target.parent)
    remove_entry(old)


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
            remove_entry(tmp)
    return target
