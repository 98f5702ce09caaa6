"""Opening vector files safely: regular files only, bounded decompression, clean errors.

Every reader in :mod:`embeddings.formats` opens its input through this module:

* :func:`check_regular_file` refuses a missing path, a folder, a FIFO, a device or
  a socket before anything is opened (opening a FIFO for reading would block, and
  a device such as ``/dev/zero`` never ends); with ``inside=`` it also refuses a
  path whose target lies outside a given folder (a link out of a store folder).
* :func:`open_regular_file` opens without blocking and checks the opened file
  itself, so a path swapped for a FIFO between the check and the open is refused too.
* :func:`open_vector_file` returns a :class:`VectorFile`: plain or gzip-decompressed
  bytes, where a gzip stream may expand to at most :data:`MAX_GZIP_RATIO` times its
  compressed size (plus :data:`GZIP_SLACK_BYTES`), and every ``OSError``,
  ``EOFError`` or ``zlib.error`` of reading becomes a
  :class:`~embeddings.errors.ModelFormatError` naming the file.
* :func:`reading_errors` does the same for a whole block of parsing code.
* :func:`read_json_file` (from :mod:`embeddings._jsonfile`, a leaf that imports only
  the standard library) reads a bounded UTF-8 JSON file: a config, a catalogue, a pins
  or lock file, a result; every error becomes the caller's transferkit error class,
  naming the file.

Messages name the file and what went wrong; they never quote the file's content.

Example:
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> check_regular_file(d, what="vector file")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ModelFormatError: ...: is a folder, expected a vector file
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, cast

from embeddings._jsonfile import file_kind as _kind
from embeddings._jsonfile import read_json_file
from embeddings.errors import ModelFormatError, TransferkitError

try:
    import fcntl
except ImportError:  # not on Windows, which has no FIFOs to block on either
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MAX_WORDS",
    "MAX_DIM",
    "MAX_GZIP_RATIO",
    "GZIP_SLACK_BYTES",
    "check_regular_file",
    "open_regular_file",
    "open_vector_file",
    "reading_errors",
    "read_json_file",
    "VectorFile",
]

#: the most words a vector file header may announce (the largest published tables
#: hold a few million; Tencent's has 12 million)
MAX_WORDS = 50_000_000
#: the largest vector dimension a binary header may announce
MAX_DIM = 10_000
#: a gzip stream may decompress to at most this many times its compressed size ...
#: (published vector files compress 1.1 to 4 times: float32 barely, decimal text a
#: little more; a file of zeros compresses about 1000 times)
MAX_GZIP_RATIO = 16
#: ... plus this many bytes (so that tiny files are never refused)
GZIP_SLACK_BYTES = 1 << 20


def check_regular_file(
    path: str | os.PathLike[str], *, what: str = "vector file", inside: Path | None = None
) -> Path:
    """``path`` as a Path if it is a regular file (links followed), else a clear error.

    Args:
        path: the file to check.
        what: how the file is named in messages (``"vector file"``, ``"store file"``).
        inside: if given, the file (links resolved) must lie inside this folder.

    Raises:
        ModelFormatError: a missing path, a folder, a FIFO, a device, a socket, or a
            path that leads outside ``inside``.

    Example:
        >>> check_regular_file("/dev/null")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ModelFormatError: /dev/null: is a device file, expected a vector file
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ModelFormatError(f"{p}: no such {what}") from None
    except OSError as err:
        raise ModelFormatError(f"{p}: cannot access the {what}: {err.strerror}") from None
    kind = _kind(st.st_mode)
    if kind is not None:
        raise ModelFormatError(f"{p}: is {kind}, expected a {what} (a regular file)")
    if inside is not None:
        try:
            real = p.resolve(strict=True)
            root = Path(inside).resolve(strict=True)
        except (OSError, RuntimeError) as err:
            raise ModelFormatError(f"{p}: cannot resolve the path of the {what}: {err}") from None
        if root not in real.parents:
            raise ModelFormatError(
                f"{p}: a link to a file outside {root}; a {what} must lie inside its folder"
            )
    return p


def open_regular_file(path: str | os.PathLike[str], *, what: str = "vector file") -> BinaryIO:
    """Open a regular file for binary reading; anything else is refused before it is read.

    The file is opened non-blocking (so opening a FIFO returns at once) and the open
    file itself is checked, which also covers a path replaced after a check.

    Raises:
        ModelFormatError: see :func:`check_regular_file`, or an unreadable file.
    """
    p = check_regular_file(path, what=what)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except FileNotFoundError:
        raise ModelFormatError(f"{p}: no such {what}") from None
    except OSError as err:
        raise ModelFormatError(f"{p}: cannot open the {what}: {err.strerror}") from None
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise ModelFormatError(f"{p}: is {kind}, expected a {what} (a regular file)")
        if fcntl is not None and hasattr(os, "O_NONBLOCK"):
            fl = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, fl & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _describe(err: BaseException) -> str:
    """A short description of a low-level reading error, without any file content."""
    if isinstance(err, gzip.BadGzipFile):
        return "not a valid gzip file (bad header)"
    if isinstance(err, EOFError):
        return "the compressed data ends early (truncated file)"
    if isinstance(err, zlib.error):
        return "corrupt compressed data"
    if isinstance(err, OSError):
        return err.strerror or type(err).__name__
    if isinstance(err, UnicodeDecodeError):
        return f"not valid UTF-8 ({err.reason})"
    return type(err).__name__


@contextlib.contextmanager
def reading_errors(path: str | os.PathLike[str], *, what: str = "vector file") -> Iterator[None]:
    """Turn the low-level errors of reading ``path`` into a ModelFormatError naming it.

    ``OSError`` (``gzip.BadGzipFile`` included), ``EOFError``, ``zlib.error``,
    ``UnicodeDecodeError`` and any other ``ValueError`` raised inside the block are
    reported as a :class:`~embeddings.errors.ModelFormatError`; errors of transferkit
    itself pass through unchanged.  The message never quotes the file's content.

    Example:
        >>> with reading_errors("v.bin"):  # doctest: +IGNORE_EXCEPTION_DETAIL
        ...     raise EOFError("cut")
        Traceback (most recent call last):
        ModelFormatError: v.bin: cannot read the vector file: the compressed data ends early
    """
    try:
        yield
    except TransferkitError:
        raise
    except FileNotFoundError:
        raise ModelFormatError(f"{path}: no such {what}") from None
    except (OSError, EOFError, zlib.error, ValueError) as err:
        raise ModelFormatError(f"{path}: cannot read the {what}: {_describe(err)}") from None


class VectorFile:
    """A binary reader over a regular file, decompressing ``.gz`` files with a bound.

    Only ``read``, ``readinto``, ``readline`` and ``close`` are offered (and the context
    manager); every error of reading is a :class:`~embeddings.errors.ModelFormatError`.

    Attributes:
        path: the file, for messages.
        compressed: whether the file is gzip-decompressed.
    """

    def __init__(self, path: Path, raw: BinaryIO, *, what: str, compressed: bool) -> None:
        self.path = path
        self.what = what
        self.compressed = compressed
        self._raw = raw
        self._gz: gzip.GzipFile | None = (
            gzip.GzipFile(fileobj=raw, mode="rb") if compressed else None
        )
        self._out = 0

    @property
    def size(self) -> int:
        """The size of the file on disk (compressed, for ``.gz``)."""
        return os.fstat(self._raw.fileno()).st_size

    @property
    def max_bytes(self) -> int | None:
        """The most bytes a ``.gz`` file may decompress to (``None`` for a plain file)."""
        if not self.compressed:
            return None
        return GZIP_SLACK_BYTES + MAX_GZIP_RATIO * self.size

    def _count(self, data: bytes) -> bytes:
        self._counted(len(data))
        return data

    def _counted(self, n: int) -> None:
        """Add ``n`` decompressed bytes; refuse a ``.gz`` file that expands too much."""
        if self._gz is not None:
            self._out += n
            consumed = self._raw.tell()
            if self._out > GZIP_SLACK_BYTES + MAX_GZIP_RATIO * consumed:
                raise ModelFormatError(
                    f"{self.path}: the gzip data expands more than {MAX_GZIP_RATIO} times "
                    f"({self._out} bytes from the first {consumed} compressed bytes); vector "
                    "files do not compress that much, so this is refused as a decompression "
                    "bomb (decompress the file yourself to read it anyway)"
                )

    def fileno(self) -> int:
        """The descriptor of the underlying (compressed, for ``.gz``) file."""
        return self._raw.fileno()

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all remaining bytes for ``-1``; bounded for ``.gz``)."""
        with reading_errors(self.path, what=self.what):
            if self._gz is None:
                return self._raw.read(size)
            if size < 0:
                chunks = []
                while chunk := self._count(self._gz.read(1 << 20)):
                    chunks.append(chunk)
                return b"".join(chunks)
            return self._count(self._gz.read(size))

    def readinto(self, buffer: memoryview) -> int:
        """Fill ``buffer`` with the next bytes; how many were read (0 at the end).

        Bounded for ``.gz`` as :meth:`read` is.
        """
        with reading_errors(self.path, what=self.what):
            if self._gz is None:
                return cast(io.BufferedIOBase, self._raw).readinto(buffer) or 0  # open(..., 'rb')
            n = self._gz.readinto(buffer)
            self._counted(n)
            return n

    def readline(self, size: int = -1) -> bytes:
        """One line of at most ``size`` bytes, with its newline."""
        with reading_errors(self.path, what=self.what):
            if self._gz is None:
                return self._raw.readline(size)
            return self._count(self._gz.readline(size))

    def close(self) -> None:
        """Close the file (and the decompressor)."""
        try:
            if self._gz is not None:
                self._gz.close()
        finally:
            self._raw.close()

    def __enter__(self) -> VectorFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_vector_file(path: str | os.PathLike[str], *, what: str = "vector file") -> VectorFile:
    """Open a regular vector file for binary reading; ``.gz`` files are decompressed.

    Raises:
        ModelFormatError: see :func:`open_regular_file`.

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "v.txt")
        >>> _ = open(p, "wb").write(b"a 1\\n")
        >>> with open_vector_file(p) as fh:
        ...     fh.readline()
        b'a 1\\n'
    """
    p = Path(path)
    raw = open_regular_file(p, what=what)
    return VectorFile(p, raw, what=what, compressed=p.suffix == ".gz")
