"""Extract the expected members of a downloaded archive, and nothing else.

An archive is refused as a whole when any member name is absolute or has a ``..``
part, or a member that is to be extracted is a link, a device or a FIFO, or is larger
than the cap; an expected member that is missing is an error.  Sizes are checked
while copying, so an archive that lies about a member's size stops at the cap.

Example:
    >>> import tempfile, zipfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(d / "a.zip", "w") as z:
    ...     z.writestr("v.txt", "a 1 2\\n")
    ...     z.writestr("readme", "x")
    >>> extract(d / "a.zip", "zip", ("v.txt",), d / "out")
    {'v.txt': 6}
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO

from embeddings.errors import ModelFormatError
from embeddings.formats._files import open_regular_file

__all__ = ["extract", "MAX_MEMBER_BYTES"]

#: the largest member extracted (the biggest published file, cc.en.300.bin, is ~7 GB)
MAX_MEMBER_BYTES = 64 * 1024**3
_MAX_MEMBERS = 100_000
_CHUNK = 1 << 20


def _unsafe(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":")


def _copy(src: IO[bytes], dest: Path, archive: Path, member: str, limit: int) -> int:
    """Copy at most ``limit`` bytes; more is an error (the archive's sizes lie)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(dest, "xb") as sink:
        while chunk := src.read(_CHUNK):
            n += len(chunk)
            if n > limit:
                raise ModelFormatError(
                    f"{archive}: member {member!r} holds more than {limit} bytes"
                )
            sink.write(chunk)
    return n


def _zip(archive: Path, members: tuple[str, ...], target: Path, limit: int) -> dict[str, int]:
    try:
        with open_regular_file(archive, what="zip archive") as fh, zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise ModelFormatError(f"{archive}: {len(infos)} members, at most {_MAX_MEMBERS}")
            bad = [i.filename for i in infos if _unsafe(i.filename)]
            if bad:
                raise ModelFormatError(
                    f"{archive}: member {bad[0][:120]!r} would be written outside the target "
                    "folder; the archive is refused"
                )
            by_name = {i.filename: i for i in infos}
            missing = [m for m in members if m not in by_name]
            if missing:
                raise ModelFormatError(f"{archive}: expected member(s) {missing[:5]} are missing")
            out: dict[str, int] = {}
            for m in members:
                info = by_name[m]
                mode = info.external_attr >> 16
                if info.is_dir() or (mode and (mode & 0o170000) not in (0, 0o100000)):
                    raise ModelFormatError(f"{archive}: member {m!r} is not a regular file")
                if info.flag_bits & 0x1:
                    raise ModelFormatError(f"{archive}: member {m!r} is encrypted")
                if info.file_size > limit:
                    raise ModelFormatError(
                        f"{archive}: member {m!r} declares {info.file_size} bytes, at most {limit}"
                    )
                with zf.open(info) as src:
                    out[m] = _copy(src, target / m, archive, m, min(limit, info.file_size))
            return out
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        zlib.error,
        NotImplementedError,
        RuntimeError,
        ValueError,
        UnicodeDecodeError,
    ) as err:
        if isinstance(err, ModelFormatError):
            raise
        raise ModelFormatError(
            f"{archive}: not a readable zip archive ({type(err).__name__}: {str(err)[:120]})"
        ) from None


def _tar(
    archive: Path, members: tuple[str, ...] | None, target: Path, limit: int
) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with (
            open_regular_file(archive, what="tar.gz archive") as fh,
            tarfile.open(fileobj=fh, mode="r:gz") as tf,
        ):
            infos = []
            for info in tf:  # streamed: the member count is bounded as it is read
                infos.append(info)
                if len(infos) > _MAX_MEMBERS:
                    raise ModelFormatError(f"{archive}: more than {_MAX_MEMBERS} members")
                name = info.name.removeprefix("./")
                if _unsafe(info.name):
                    raise ModelFormatError(
                        f"{archive}: member {info.name[:120]!r} would be written outside the "
                        "target folder; the archive is refused"
                    )
                wanted = name in members if members is not None else info.isfile()
                if not wanted or info.isdir():
                    continue
                if not info.isfile():
                    raise ModelFormatError(f"{archive}: member {name!r} is not a regular file")
                if info.size > limit:
                    raise ModelFormatError(
                        f"{archive}: member {name!r} declares {info.size} bytes, at most {limit}"
                    )
                if name in out:
                    raise ModelFormatError(f"{archive}: member {name!r} appears twice")
                src = tf.extractfile(info)
                if src is None:
                    raise ModelFormatError(f"{archive}: member {name!r} cannot be read")
                with src:
                    out[name] = _copy(src, target / name, archive, name, min(limit, info.size))
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as err:
        if isinstance(err, ModelFormatError):
            raise
        raise ModelFormatError(
            f"{archive}: not a readable tar.gz archive ({type(err).__name__}: {str(err)[:120]})"
        ) from None
    missing = [m for m in members or () if m not in out]
    if missing:
        raise ModelFormatError(f"{archive}: expected member(s) {missing[:5]} are missing")
    if not out:
        raise ModelFormatError(f"{archive}: holds no regular file")
    return out


def _gzip(archive: Path, member: str, target: Path, limit: int) -> dict[str, int]:
    try:
        with open_regular_file(archive, what="gzip file") as fh, gzip.GzipFile(fileobj=fh) as src:
            return {member: _copy(src, target / member, archive, member, limit)}  # type: ignore[arg-type]
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ModelFormatError(
            f"{archive}: not a readable gzip file ({type(err).__name__})"
        ) from None


def extract(
    archive: Path,
    kind: str,
    members: tuple[str, ...] | None,
    target: Path,
    *,
    limit: int = MAX_MEMBER_BYTES,
) -> dict[str, int]:
    """Extract ``members`` of ``archive`` (``"zip"``, ``"tar.gz"`` or ``"gzip"``) into
    ``target``; ``members=None`` (tar.gz only) extracts every regular file.

    Returns:
        The size of each extracted member, by name.

    Raises:
        ModelFormatError: an unsafe, damaged or incomplete archive (see the module docs).
    """
    target.mkdir(parents=True, exist_ok=True)
    if kind == "zip" and members is not None:
        return _zip(archive, members, target, limit)
    if kind == "tar.gz":
        return _tar(archive, members, target, limit)
    if kind == "gzip" and members is not None and len(members) == 1:
        return _gzip(archive, members[0], target, limit)
    raise ModelFormatError(f"{archive}: cannot extract a {kind!r} archive with members {members}")


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open_regular_file(path, what="downloaded file") as fh:
        shutil.copyfileobj(fh, _Hasher(h), _CHUNK)
    return h.hexdigest()


class _Hasher:
    def __init__(self, h: hashlib._Hash) -> None:
        self.h = h

    def write(self, data: bytes) -> int:
        self.h.update(data)
        return len(data)
