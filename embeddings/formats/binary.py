"""Reader and writer for the word2vec binary format.

Layout (Mikolov's ``word2vec.c``): an ASCII header ``COUNT DIM\\n``, then ``COUNT``
entries ``word<space><DIM little-endian float32>``, each optionally followed by a
newline.  The reader memory-maps plain files (``.gz`` files are decompressed into
memory) and slices the float bytes with numpy, so there is no per-number Python
work.  The header (ASCII digits only) is checked against the file's size before
anything is allocated: every entry takes at least ``1 + 4 * DIM`` bytes.

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
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

from embeddings._atomic import atomic_open
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.formats.table import VectorTable
from embeddings.formats.text import _check_writable, open_binary, parse_count

__all__ = ["read_word2vec_binary", "write_word2vec_binary"]

_MAX_WORD_BYTES = 10_000


def _buffer(path: Path) -> tuple[bytes | mmap.mmap, object]:
    if path.suffix == ".gz":
        with open_binary(path) as fh:
            try:
                return fh.read(), None
            except (OSError, EOFError) as err:
                raise ModelFormatError(f"{path}: cannot decompress: {err}") from err
    fh = open_binary(path)
    try:
        if os.fstat(fh.fileno()).st_size == 0:
            fh.close()
            return b"", None
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ), fh
    except (OSError, ValueError):
        data = fh.read()
        fh.close()
        return data, None


def read_word2vec_binary(
    path: str | os.PathLike[str],
    *,
    limit: int | None = None,
    unicode_errors: Literal["strict", "replace", "ignore"] = "strict",
) -> VectorTable:
    """Read a word2vec binary file.

    Args:
        path: the ``.bin`` file (``.bin.gz`` is decompressed).
        limit: read only the first ``limit`` vectors.
        unicode_errors: how to decode words that are not valid UTF-8 (the original
            GoogleNews vectors have a few); ``"strict"`` raises.

    Raises:
        ModelFormatError: a bad header (two numbers of ASCII digits), a header that
            announces more entries than the file can hold, a truncated entry (with
            its index and byte offset), an over-long word, or invalid UTF-8 under
            ``"strict"``.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "v.bin")
        >>> _ = open(p, "wb").write(b"1 2\\nhi " + np.float32([1, 2]).tobytes())
        >>> read_word2vec_binary(p).vocab
        ['hi']
    """
    p = Path(path)
    data, handle = _buffer(p)
    try:
        end = data.find(b"\n", 0, 200)
        header = bytes(data[: end if end >= 0 else 200])
        fields = header.split()
        if end < 0 or len(fields) != 2 or None in map(parse_count, fields):
            raise ModelFormatError(
                f"{p}: byte offset 0: expected the word2vec binary header 'COUNT DIM\\n' "
                f"(two integers of ASCII digits 0-9), got {header[:60]!r}"
            )
        count, dim = int(fields[0]), int(fields[1])
        if dim < 1:
            raise ModelFormatError(f"{p}: header: dimension must be >= 1, got {dim}")
        n = count if limit is None else min(count, limit)
        size = len(data)
        nbytes = 4 * dim
        pos = end + 1
        body = size - pos
        if n * (nbytes + 1) > body:  # a space and DIM float32 per entry, at least
            raise ModelFormatError(
                f"{p}: truncated or wrong header: the header announces {count} vectors of "
                f"{dim} float32 values; reading {n} of them needs at least "
                f"{n * (nbytes + 1)} bytes, but only {body} bytes follow the header"
            )
        vectors = np.empty((n, dim), dtype=np.float32)
        vocab: list[str] = []
        for i in range(n):
            while pos < size and data[pos] in (10, 13):  # newline after the previous vector
                pos += 1
            space = data.find(b" ", pos, min(size, pos + _MAX_WORD_BYTES))
            if space < 0:
                if size - pos < _MAX_WORD_BYTES:
                    raise ModelFormatError(
                        f"{p}: truncated: entry {i + 1} of {count} at byte offset {pos}: "
                        "expected a word followed by a space, found the end of the file"
                    )
                raise ModelFormatError(
                    f"{p}: entry {i + 1} at byte offset {pos}: no space within "
                    f"{_MAX_WORD_BYTES} bytes; expected 'word<space><{dim} float32>' "
                    "(is this really a word2vec binary file?)"
                )
            raw = bytes(data[pos:space])
            try:
                word = raw.decode("utf-8", errors=unicode_errors)
            except UnicodeDecodeError as err:
                raise ModelFormatError(
                    f"{p}: entry {i + 1} at byte offset {pos}: word {raw[:40]!r} is not "
                    f"valid UTF-8 ({err.reason}); pass unicode_errors='replace' to accept it"
                ) from None
            start = space + 1
            if start + nbytes > size:
                raise ModelFormatError(
                    f"{p}: truncated: entry {i + 1} of {count} ({word!r:.40}) at byte offset "
                    f"{start}: expected {nbytes} bytes of float32 values, only "
                    f"{size - start} left"
                )
            vectors[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=start)
            vocab.append(word)
            pos = start + nbytes
    finally:
        if isinstance(data, mmap.mmap):
            data.close()
        if handle is not None:
            handle.close()  # type: ignore[attr-defined]
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ModelFormatError(
            f"{p}: entry {j + 1} ({vocab[j]!r:.40}) has NaN or infinite values; "
            "expected finite float32 numbers (wrong byte order or not float32?)"
        )
    if len(set(vocab)) != len(vocab):
        seen: set[str] = set()
        keep = [i for i, w in enumerate(vocab) if not (w in seen or seen.add(w))]  # type: ignore[func-returns-value]
        warnings.warn(
            f"{p}: {len(vocab) - len(keep)} duplicated word(s); keeping the first vector of each",
            RuntimeWarning,
            stacklevel=2,
        )
        vocab = [vocab[i] for i in keep]
        vectors = vectors[np.asarray(keep)]
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
        fh: BinaryIO = out
        if target.suffix == ".gz":
            fh = gzip.GzipFile(filename=target.name, mode="wb", fileobj=out)  # type: ignore[assignment]
        fh.write(f"{f32.shape[0]} {f32.shape[1]}\n".encode())
        for word, row in zip(vocab, f32):
            fh.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
        if fh is not out:
            fh.close()  # writes the gzip trailer; ``out`` stays open
