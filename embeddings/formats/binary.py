"""Reader and writer for the word2vec binary format.

Layout (Mikolov's ``word2vec.c``): an ASCII header ``COUNT DIM\\n``, then ``COUNT``
entries ``word<space><DIM little-endian float32>``, each optionally followed by a
newline.  The reader memory-maps plain files and streams ``.gz`` files (never
decompressing more than the entries it reads), and slices the float bytes with
numpy, so there is no per-number Python work.

The header (ASCII digits only) is checked before anything is allocated: every entry
takes at least ``1 + 4 * DIM`` bytes, so the header must fit the file's size (for a
``.gz`` file, the most it may expand to, see :mod:`embeddings.formats._files`), and
it may announce at most :data:`~embeddings.formats._files.MAX_WORDS` words of at most
:data:`~embeddings.formats._files.MAX_DIM` values.  Rows are allocated as they are
read for ``.gz`` (and sparse) files, so memory follows the data actually present.
Only regular files are read (never a FIFO or a device), and messages name the file,
the entry and the byte offset without quoting the file's content.

Example:
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "v.bin")
    >>> write_word2vec_binary(p, ["a", "b"], np.array([[1, 2], [3, 4]], dtype=np.float32))
    >>> read_word2vec_binary(p).vectors.tolist()
    [[1.0, 2.0], [3.0, 4.0]]
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Literal

import numpy as np

from embeddings._atomic import atomic_open
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.formats._files import (
    MAX_DIM,
    MAX_WORDS,
    VectorFile,
    open_vector_file,
    reading_errors,
)
from embeddings.formats.table import VectorTable
from embeddings.formats.text import _check_writable, _dedupe, parse_count

__all__ = ["read_word2vec_binary", "write_word2vec_binary"]

_MAX_WORD_BYTES = 10_000
_HEADER_BYTES = 200
_FIRST_CHUNK = 1 << 16  # bytes first read from a compressed stream at a time ...
_CHUNK = 1 << 22  # ... doubling up to this many
_BLOCK_BYTES = 1 << 25  # rows are allocated this many bytes at a time when not preallocated


class _Window:
    """The bytes of a file: a whole memory map, or a window read ahead from a stream.

    ``data[pos:]`` are the next bytes; ``base`` is the file offset of ``data[0]``.
    """

    def __init__(self, data: bytes | mmap.mmap, stream: VectorFile | None = None) -> None:
        self.data = data
        self.pos = 0
        self.base = 0
        self.stream = stream
        self.chunk = _FIRST_CHUNK

    def available(self, want: int) -> int:
        """Bytes available from ``pos``: at least ``want`` unless the file ends first."""
        have = len(self.data) - self.pos
        if self.stream is None or have >= want:
            return have
        parts = [bytes(self.data[self.pos :])]
        while have < want:
            chunk = self.stream.read(max(self.chunk, want - have))
            self.chunk = min(2 * self.chunk, _CHUNK)
            if not chunk:
                self.stream = None
                break
            parts.append(chunk)
            have += len(chunk)
        self.base += self.pos
        self.data = b"".join(parts)
        self.pos = 0
        return have

    def offset(self, pos: int) -> int:
        """The file offset of ``data[pos]``."""
        return self.base + pos


class _Rows:
    """float32 rows filled one at a time; preallocated, or allocated in blocks as they come."""

    def __init__(self, n: int, dim: int, *, preallocate: bool) -> None:
        self.n = n
        self.dim = dim
        self.block = n if preallocate else max(1, min(n, _BLOCK_BYTES // (4 * dim)))
        self.blocks: list[np.ndarray] = []
        self.current = np.empty((0, dim), dtype=np.float32)
        self.filled = self.size = 0
        self.count = 0

    def add(self, data: bytes | mmap.mmap, offset: int) -> None:
        if self.filled == self.size:
            rows = min(self.block, self.n - self.count)
            self.current = np.empty((rows, self.dim), dtype=np.float32)
            self.blocks.append(self.current)
            self.filled, self.size = 0, rows
        self.current[self.filled] = np.frombuffer(data, dtype="<f4", count=self.dim, offset=offset)
        self.filled += 1
        self.count += 1

    def preallocated(self) -> np.ndarray | None:
        """The whole ``(n, dim)`` array when rows are preallocated (then fill it directly)."""
        if self.block != self.n or self.n == 0:
            return None
        self.current = np.empty((self.n, self.dim), dtype=np.float32)
        self.blocks = [self.current]
        self.filled = self.size = self.count = self.n
        return self.current

    def array(self) -> np.ndarray:
        if not self.blocks:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(self.blocks) == 1:
            return self.blocks[0]
        return np.concatenate(self.blocks)


def _open(path: Path) -> tuple[_Window, VectorFile, int | None, bool]:
    """The file's bytes, its handle, its size (``None`` if compressed), and whether
    rows may be preallocated."""
    fh = open_vector_file(path)
    if fh.compressed:
        return _Window(b"", fh), fh, None, False
    try:
        with reading_errors(path):
            fileno = fh.fileno()
            st = os.fstat(fileno)
            if st.st_size == 0:
                return _Window(b""), fh, 0, True
            # a sparse file holds fewer bytes than its size: allocate rows as they are read
            blocks = getattr(st, "st_blocks", None)
            dense = blocks is None or blocks * 512 >= st.st_size // 2
            try:
                data = mmap.mmap(fileno, 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # a file system without memory maps
                return _Window(b"", fh), fh, st.st_size, False
            return _Window(data), fh, st.st_size, dense
    except BaseException:
        fh.close()
        raise


def _parse_header(p: Path, window: _Window) -> tuple[int, int, int]:
    """``(count, dim, header length)`` of a word2vec binary file."""
    have = window.available(_HEADER_BYTES)
    data = window.data
    end = data.find(b"\n", 0, min(have, _HEADER_BYTES))
    fields = bytes(data[: end if end >= 0 else min(have, _HEADER_BYTES)]).split()
    if end < 0 or len(fields) != 2 or None in map(parse_count, fields):
        got = "no newline in the first 200 bytes" if end < 0 else f"{len(fields)} field(s)"
        if end >= 0 and len(fields) == 2:
            got = "a field that is not ASCII digits"
        raise ModelFormatError(
            f"{p}: byte offset 0: expected the word2vec binary header 'COUNT DIM\\n' "
            f"(two integers of ASCII digits 0-9), got {got}"
        )
    count, dim = int(fields[0]), int(fields[1])
    if dim < 1:
        raise ModelFormatError(f"{p}: header: dimension must be >= 1, got {dim}")
    return count, dim, end + 1


def read_word2vec_binary(
    path: str | os.PathLike[str],
    *,
    limit: int | None = None,
    unicode_errors: Literal["strict", "replace", "ignore"] = "strict",
) -> VectorTable:
    """Read a word2vec binary file.

    Args:
        path: the ``.bin`` file (``.bin.gz`` is decompressed as it is read).
        limit: read only the first ``limit`` vectors.
        unicode_errors: how to decode words that are not valid UTF-8 (the original
            GoogleNews vectors have a few); ``"strict"`` raises.

    Raises:
        ModelFormatError: not a regular file, a bad header (two numbers of ASCII
            digits), a header that announces more entries than the file can hold or
            more than ``MAX_WORDS`` words or ``MAX_DIM`` values, a truncated entry
            (with its index and byte offset), an over-long word, invalid UTF-8 under
            ``"strict"``, or damaged compressed data.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "v.bin")
        >>> _ = open(p, "wb").write(b"1 2\\nhi " + np.float32([1, 2]).tobytes())
        >>> read_word2vec_binary(p).vocab
        ['hi']
    """
    p = Path(path)
    window, handle, size, dense = _open(p)
    try:
        count, dim, pos = _parse_header(p, window)
        n = count if limit is None else min(count, limit)
        nbytes = 4 * dim
        limit_bytes = handle.max_bytes
        if size is not None:  # a plain file: its size is known
            body = size - pos
            if n * (nbytes + 1) > body:  # a space and DIM float32 per entry, at least
                raise ModelFormatError(
                    f"{p}: truncated or wrong header: the header announces {count} vectors of "
                    f"{dim} float32 values; reading {n} of them needs at least "
                    f"{n * (nbytes + 1)} bytes, but only {body} bytes follow the header"
                )
        if count > MAX_WORDS or dim > MAX_DIM:
            raise ModelFormatError(
                f"{p}: header: announces {count} vectors of {dim} values; at most "
                f"{MAX_WORDS} vectors of at most {MAX_DIM} values are accepted"
            )
        if limit_bytes is not None and pos + n * (nbytes + 1) > limit_bytes:
            raise ModelFormatError(
                f"{p}: truncated or wrong header: the header announces {count} vectors of "
                f"{dim} float32 values; reading {n} of them needs at least "
                f"{n * (nbytes + 1)} bytes, more than this compressed file may expand to "
                f"({limit_bytes} bytes)"
            )
        rows = _Rows(n, dim, preallocate=dense)
        vocab: list[str] = []
        entry = _MAX_WORD_BYTES + 1 + nbytes  # the longest entry
        streaming = window.stream is not None
        data, end = window.data, len(window.data)
        target = rows.preallocated()
        frombuffer = np.frombuffer

        def refill(pos: int, want: int) -> tuple[bytes | mmap.mmap, int, int]:
            window.pos = pos
            window.available(want)
            return window.data, window.pos, len(window.data)

        for i in range(n):
            if streaming and end - pos < entry + 2:
                data, pos, end = refill(pos, entry + 2)
            while pos < end and data[pos] in (10, 13):  # newlines after the previous vector
                pos += 1
                if streaming and pos == end:
                    data, pos, end = refill(pos, entry + 2)
            if streaming and end - pos < entry:
                data, pos, end = refill(pos, entry)
            space = data.find(b" ", pos, min(end, pos + _MAX_WORD_BYTES))
            if space < 0:
                if end - pos < _MAX_WORD_BYTES:
                    raise ModelFormatError(
                        f"{p}: truncated: entry {i + 1} of {count} at byte offset "
                        f"{window.offset(pos)}: expected a word followed by a space, found the "
                        "end of the file"
                    )
                raise ModelFormatError(
                    f"{p}: entry {i + 1} at byte offset {window.offset(pos)}: no space within "
                    f"{_MAX_WORD_BYTES} bytes; expected 'word<space><{dim} float32>' "
                    "(is this really a word2vec binary file?)"
                )
            try:
                word = data[pos:space].decode("utf-8", errors=unicode_errors)
            except UnicodeDecodeError as err:
                raise ModelFormatError(
                    f"{p}: entry {i + 1} at byte offset {window.offset(pos)}: the word is not "
                    f"valid UTF-8 ({err.reason} at byte {err.start} of the word); pass "
                    "unicode_errors='replace' to accept it"
                ) from None
            start = space + 1
            if end - start < nbytes:
                raise ModelFormatError(
                    f"{p}: truncated: entry {i + 1} of {count} at byte offset "
                    f"{window.offset(start)}: expected {nbytes} bytes of float32 values, only "
                    f"{end - start} left"
                )
            if target is not None:
                target[i] = frombuffer(data, dtype="<f4", count=dim, offset=start)
            else:
                rows.add(data, start)
            vocab.append(word)
            pos = start + nbytes
        window.pos = pos
        vectors = rows.array()
    finally:
        if isinstance(window.data, mmap.mmap):
            window.data.close()
        handle.close()
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ModelFormatError(
            f"{p}: entry {j + 1} has NaN or infinite values; expected finite float32 numbers "
            "(wrong byte order or not float32?)"
        )
    vocab, vectors = _dedupe(vocab, vectors, p)
    return VectorTable(vocab, vectors, source=str(p))


def write_word2vec_binary(
    path: str | os.PathLike[str], vocab: Sequence[str], vectors: np.ndarray
) -> None:
    """Write the word2vec binary format (as ``word2vec.c`` does), atomically.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "v.bin")
        >>> write_word2vec_binary(p, ["x"], np.array([[1.5]]))
        >>> open(p, "rb").read()[:6]
        b'1 1\\nx '
    """
    arr = _check_writable(vocab, vectors, binary=True)
    if not np.isfinite(arr).all():
        raise InvalidParameterError("vectors contain NaN or infinite values")
    target = Path(path)
    f32 = np.ascontiguousarray(arr, dtype="<f4")
    import gzip

    with atomic_open(target) as out:
        fh: IO[bytes] = out
        if target.suffix == ".gz":
            fh = gzip.GzipFile(filename=target.name, mode="wb", fileobj=out)  # type: ignore[assignment]
        fh.write(f"{f32.shape[0]} {f32.shape[1]}\n".encode())
        for word, row in zip(vocab, f32):
            fh.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
        if fh is not out:
            fh.close()  # writes the gzip trailer; ``out`` stays open
