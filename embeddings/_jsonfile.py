"""Reading a bounded JSON file: one reader for every JSON file transferkit reads.

:func:`read_json_file` opens the file without blocking, refuses anything but a
regular file before reading it (a folder, FIFO, device or socket), reads at most a
given number of bytes, decodes UTF-8 and parses JSON; every failure is the caller's
transferkit error class with a message that names the file and never quotes it.

This module imports only the standard library, so the preset table can be read
without importing numpy.

Example:
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "c.json")
    >>> _ = open(p, "w").write("[1, 2]")
    >>> read_json_file(p, what="list", limit=100)
    [1, 2]
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embeddings.errors import ModelFormatError, TransferkitError

__all__ = ["file_kind", "read_json_file"]


def file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words (``None`` for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


#: a key quoted in messages; any other key is described, never quoted
_SAFE_KEY = re.compile(r"[A-Za-z0-9_.+/-]{1,64}")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            shown = repr(key) if _SAFE_KEY.fullmatch(key) else "a key"
            raise ValueError(f"{shown} appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _read_bounded(
    path: Path, *, what: str, limit: int, follow_links: bool, error: type[TransferkitError]
) -> bytes:
    """At most ``limit`` bytes of a regular file; anything else is refused unread."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:  # non-blocking: a FIFO is refused below instead of blocking the open
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP and not follow_links:
            raise error(
                f"{path}: a symbolic link; a {what} is read only from inside its folder, "
                "so links are not followed (copy the file there instead)"
            ) from None
        raise error(f"{path}: cannot read the {what} ({err.strerror}); check the path") from None
    try:
        info = os.fstat(fd)
        kind = file_kind(info.st_mode)
        if kind is not None:
            raise error(
                f"{path}: is {kind}, not a regular file; expected a {what}, which must be a "
                "regular file"
            )
        if info.st_size > limit:
            raise error(
                f"{path}: {info.st_size} bytes, too big for a {what} (more than {limit} bytes: "
                f"at most {limit} are read)"
            )
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as err:
        raise error(f"{path}: cannot read the {what} ({err.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise error(f"{path}: the {what} grew past {limit} bytes while it was read")
    return data


def read_json_file(
    path: str | os.PathLike[str],
    *,
    what: str,
    limit: int,
    error: type[TransferkitError] = ModelFormatError,
    follow_links: bool = True,
    strict: bool = False,
    parse_int: Callable[[str], Any] | None = None,
) -> Any:
    """The JSON value of ``path``, a regular UTF-8 file of at most ``limit`` bytes.

    The file is opened without blocking and checked before anything is read, so a
    folder, FIFO or device is refused at once, and a file larger than ``limit`` is
    never read.  Every failure is an ``error`` naming the file, never quoting it.

    Args:
        path: the file.
        what: how the file is named in messages (``"pins file"``, ``"config.json"``).
        limit: the most bytes read.
        error: the transferkit error class raised (default :class:`ModelFormatError`).
        follow_links: read through a symbolic link at ``path``; ``False`` refuses a link
            (for the files of a folder, which must not lead outside it).
        strict: also refuse a key that appears twice in one object, and ``NaN`` or
            ``Infinity`` (which are not JSON numbers).
        parse_int: called with the digits of every JSON integer (to bound them).

    Raises:
        TransferkitError: of class ``error``; a missing, special, too large, non-UTF-8
            or malformed file, or a value refused by ``strict`` or ``parse_int``.

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "c.json")
        >>> _ = open(p, "w").write('{"a": 1}')
        >>> read_json_file(p, what="config", limit=100)
        {'a': 1}
    """
    p = Path(path)
    data = _read_bounded(p, what=what, limit=limit, follow_links=follow_links, error=error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(
            f"{p}: not UTF-8 JSON (invalid byte at offset {err.start}); a {what} must be UTF-8 JSON"
        ) from None
    hooks: dict[str, Any] = {"parse_int": parse_int}
    if strict:
        hooks.update(object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    try:
        return json.loads(text, **hooks)
    except json.JSONDecodeError as err:
        raise error(
            f"{p}: not valid JSON for a {what}: invalid JSON syntax, {err.msg} at line "
            f"{err.lineno}, column {err.colno}"
        ) from None
    except RecursionError:
        raise error(f"{p}: JSON nested too deeply, not valid as a {what}") from None
    except ValueError as err:  # a refused key or number, or an integer too long to convert
        reason = str(err)[:160]
        if "integer string conversion" in reason:
            reason = "a number too long (more digits than Python converts)"
        raise error(f"{p}: {reason} (refused in the {what})") from None
