"""Readers and writers for the text word-vector formats.

* **word2vec text** (also fastText ``.vec``): a header line ``COUNT DIM``, then one
  line per word: ``word v1 v2 ... vDIM``.
* **GloVe text**: the same lines without a header; the dimension is taken from the
  first line.

Both are UTF-8 with single spaces.  Files ending in ``.gz`` are decompressed on the
fly.  Words that contain spaces (a known quirk of GloVe 840B) are recovered by
splitting the last ``DIM`` fields off the right end of the line.  A malformed or
truncated file raises :class:`~embeddings.errors.ModelFormatError` naming the file,
the line and what was expected; messages never quote the file's content.  Header
numbers are ASCII digits only, no line longer than :data:`MAX_LINE_BYTES` is read
into memory, and a ``.gz`` file may expand only a bounded number of times its size
(:mod:`embeddings.formats._files`), so memory stays proportional to the vectors
actually present in the file.  Only regular files are read (never a FIFO or a
device).

The file is read in pieces of about 8 MiB of whole lines.  A piece whose lines are
all ``word v1 ... vDIM`` with single spaces is split and parsed by Arrow in a few
calls (no Python code per line or per number); any other piece (blank lines, tabs,
carriage returns, words with spaces, a bad field) is read line by line, which
handles or reports it.  Numbers are parsed as float64 with correct rounding and
rounded once to float32, the same values as gensim's ``load_word2vec_format``.  A
word that the file repeats keeps its first row (as gensim) or, with
``keep="last"``, its last row (as a dict filled line by line), with a
``RuntimeWarning``.

Example:
    >>> import numpy as np, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> p = os.path.join(d, "v.txt")
    >>> write_word2vec_text(p, ["a", "b"], np.array([[1, 2], [3, 4]], dtype=np.float32))
    >>> t = read_word2vec_text(p)
    >>> t.vocab, t.vectors.tolist()
    (['a', 'b'], [[1.0, 2.0], [3.0, 4.0]])
"""

from __future__ import annotations

import gzip
import io
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import numpy as np

from embeddings._atomic import atomic_open
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.formats._files import VectorFile, open_vector_file, reading_errors
from embeddings.formats._text_fields import check_finite, parse_lines, parse_plain_block
from embeddings.formats.table import VectorTable

__all__ = [
    "KEEP_CHOICES",
    "MAX_LINE_BYTES",
    "TEXT_READERS",
    "check_keep",
    "read_word2vec_text",
    "read_glove_text",
    "read_fasttext_vec",
    "write_word2vec_text",
    "write_glove_text",
    "open_binary",
]

_READ_BYTES = 1 << 23  # bytes of whole lines read, split and parsed at a time
#: the longest line a text reader accepts (a 100,000-dimensional vector of
#: 20-character numbers fits); a longer one is refused before it is read whole
MAX_LINE_BYTES = 1 << 24
_ASCII_DIGITS = frozenset("0123456789")


def parse_count(field: str | bytes) -> int | None:
    """The integer written by ``field`` if it is ASCII digits only, else ``None``.

    ``str.isdigit`` also accepts superscripts and other scripts' digits (``"²"``,
    ``"١٢"``), which are no header numbers.

    Example:
        >>> parse_count("300"), parse_count("²"), parse_count(b"12"), parse_count("-1")
        (300, None, 12, None)
    """
    text = field.decode("ascii", errors="replace") if isinstance(field, bytes) else field
    if not text or not _ASCII_DIGITS.issuperset(text):
        return None
    return int(text)


def open_binary(path: str | os.PathLike[str]) -> VectorFile:
    """Open a regular vector file for binary reading, decompressing ``.gz`` files.

    See :func:`embeddings.formats._files.open_vector_file`: FIFOs and devices are
    refused before reading, a ``.gz`` file's expansion is bounded, and reading
    errors are :class:`~embeddings.errors.ModelFormatError`.
    """
    return open_vector_file(path)


def _decode(raw: bytes, path: Path, lineno: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelFormatError(
            f"{path}: line {lineno}: not valid UTF-8 at byte {err.start} of the line "
            f"({err.reason}); expected a UTF-8 text file"
        ) from None


def _numbered_lines(fh: VectorFile, path: Path, start: int) -> Iterator[tuple[int, str]]:
    lineno = start
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES:
            raise _too_long(path, lineno)
        line = _decode(raw, path, lineno).rstrip()
        if line:
            yield lineno, line
        lineno += 1


class _LongLine(Exception):
    """A line of :data:`MAX_LINE_BYTES` or more, ``index`` lines after the last piece."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def _raw_blocks(fh: VectorFile) -> Iterator[memoryview]:
    """The rest of the file in pieces of whole lines.

    Each piece is about :data:`_READ_BYTES` long and ends before a newline (the last one
    at the end of the file); a line of :data:`MAX_LINE_BYTES` or more raises
    :class:`_LongLine`, without holding more than that line.  The pieces are views of
    one buffer that the next piece reuses: a piece is to be parsed before the next
    one is asked for.
    """
    buf = bytearray(_READ_BYTES)
    held = 0  # bytes of an unfinished line at the start of ``buf``
    while True:
        if held == len(buf):  # one line fills the buffer: a larger one (views stay valid)
            buf = buf + bytearray(len(buf))
        view = memoryview(buf)
        n = fh.readinto(view[held:])
        if not n:
            break
        end = held + n
        cut = buf.rfind(b"\n", 0, end)
        if cut < 0:
            held = end
            if held > MAX_LINE_BYTES:
                raise _LongLine(0)
            continue
        if cut + 1 > MAX_LINE_BYTES:  # a line may be too long (with its newline)
            lengths = [len(x) + 1 for x in bytes(view[:cut]).split(b"\n")]
            if max(lengths) > MAX_LINE_BYTES:
                raise _LongLine([n > MAX_LINE_BYTES for n in lengths].index(True))
        yield view[:cut]
        held = end - cut - 1
        buf[:held] = buf[cut + 1 : end]  # the same size: views of ``buf`` stay valid
    if held:
        yield memoryview(buf)[:held]


def _too_long(path: Path, lineno: int) -> ModelFormatError:
    return ModelFormatError(
        f"{path}: line {lineno} is longer than {MAX_LINE_BYTES} bytes; expected one "
        "word vector per line (is this a text vector file?)"
    )


def _block_lines(body: bytes, lineno: int, path: Path) -> tuple[list[str], list[int] | None]:
    """The non-blank lines of a piece (right-stripped), and their numbers when any is blank."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        for i, raw in enumerate(body.split(b"\n")):
            _decode(raw, path, lineno + i)  # raises with the line and the byte
        raise
    lines = [line.rstrip() for line in text.split("\n")]
    if "" not in lines:
        return lines, None
    numbers = [lineno + i for i, line in enumerate(lines) if line]
    return [line for line in lines if line], numbers


def _read_body(
    fh: VectorFile,
    lineno: int,
    dim: int,
    path: Path,
    *,
    first: tuple[int, str] | None = None,
    limit: int | None = None,
) -> tuple[list[str], np.ndarray, int]:
    """The word lines from line ``lineno`` on (plus ``first``): vocabulary, vectors, last line.

    The file is read in large pieces; each piece's lines are split in one pass and
    its numbers parsed in one call, so no Python code runs per number.  Reading
    stops after ``limit`` words.  The float32 rows go into one buffer sized from the
    file's size and the length of the first piece's lines (:class:`_Rows`).
    """
    vocab: list[str] = []
    rows = _Rows(dim, 1024 if limit is None else min(limit, 1024))
    last = 0

    def pieces() -> Iterator[tuple[list[str], Sequence[int], np.ndarray]]:
        """Words, line numbers and float64 vectors (not yet checked for NaN/inf)."""
        if first is not None and (limit is None or limit > 0):
            yield parse_lines([first[1]], [first[0]], dim, path)
        blocks = _raw_blocks(fh)
        start = lineno  # the number of the first line of the next piece
        while True:
            try:
                body = next(blocks, None)
            except _LongLine as err:
                raise _too_long(path, start + err.index) from None
            if body is None or (limit is not None and len(vocab) >= limit):
                return
            plain = parse_plain_block(body, dim)
            if plain is not None:  # one word per line: as many lines as words
                words, block = plain
                if start == lineno and words:  # the first piece: rows the file may hold
                    expect = int(1.1 * fh.size * len(words) / (len(body) + 1)) + 1
                    rows.reserve(expect if limit is None else min(limit, expect))
                start += len(words)
                yield words, range(start - len(words), start), block
                continue
            raw = bytes(body)
            lines, numbers = _block_lines(raw, start, path)
            linenos = numbers or list(range(start, start + len(lines)))
            start += raw.count(b"\n") + 1
            if limit is not None:  # lines past the limit are not read
                lines, linenos = lines[: limit - len(vocab)], linenos[: limit - len(vocab)]
            if lines:
                yield parse_lines(lines, linenos, dim, path)

    for words, linenos, block in pieces():
        if limit is not None and len(vocab) + len(words) > limit:
            keep = limit - len(vocab)
            words, linenos, block = words[:keep], linenos[:keep], block[:keep]
        if not words:
            break
        rows.append(check_finite(block, linenos, path))
        vocab += words
        last = linenos[-1]
        if limit is not None and len(vocab) >= limit:
            break
    return vocab, rows.array(), last


class _Rows:
    """Float32 rows appended piece by piece into one buffer, grown by half when full.

    Rows of the buffer past the last one appended are never written, so their memory
    pages are never touched: room reserved in excess costs address space only.
    """

    def __init__(self, dim: int, capacity: int) -> None:
        self.buf = np.empty((max(capacity, 1), dim), dtype=np.float32)
        self.n = 0

    def reserve(self, capacity: int) -> None:
        """Make room for ``capacity`` rows in all."""
        if capacity > self.buf.shape[0]:
            grown = np.empty((capacity, self.buf.shape[1]), dtype=np.float32)
            grown[: self.n] = self.buf[: self.n]
            self.buf = grown

    def append(self, block: np.ndarray) -> None:
        """Append rows, rounded to float32 as ``astype`` rounds them."""
        end = self.n + block.shape[0]
        if end > self.buf.shape[0]:
            self.reserve(max(end, self.buf.shape[0] * 3 // 2))
        self.buf[self.n : end] = block
        self.n = end

    def array(self) -> np.ndarray:
        """The rows appended (a view of the buffer)."""
        return self.buf[: self.n]


#: which row of a word repeated in a vector file the readers keep
KEEP_CHOICES: tuple[str, ...] = ("first", "last")


def check_keep(keep: object) -> str:
    """``keep`` checked to be ``"first"`` or ``"last"`` (``InvalidParameterError`` if not)."""
    if not isinstance(keep, str) or keep not in KEEP_CHOICES:
        raise InvalidParameterError(
            f"keep must be 'first' or 'last' (which row of a repeated word is kept), "
            f"got {keep!r:.60}"
        )
    return keep


def _dedupe(
    vocab: list[str], vectors: np.ndarray, path: Path, keep: str = "first"
) -> tuple[list[str], np.ndarray]:
    """One row per word: the first or the last row of a repeated word, in file order."""
    if len(set(vocab)) == len(vocab):
        return vocab, vectors
    if keep == "last":  # later rows overwrite earlier ones
        rows = sorted({w: i for i, w in enumerate(vocab)}.values())
    else:
        rows = sorted({w: i for i, w in reversed(list(enumerate(vocab)))}.values())
    warnings.warn(
        f"{path}: {len(vocab) - len(rows)} duplicated word(s); keeping the {keep} vector of each",
        RuntimeWarning,
        stacklevel=3,
    )
    return [vocab[i] for i in rows], vectors[np.asarray(rows)]


def read_word2vec_text(
    path: str | os.PathLike[str], *, limit: int | None = None, keep: str = "first"
) -> VectorTable:
    """Read a word2vec text file (header ``COUNT DIM``); fastText ``.vec`` files too.

    Args:
        path: the file (``.gz`` is decompressed).
        limit: read only the first ``limit`` vectors (the most frequent, by convention).
        keep: the row kept for a word that the file repeats, ``"first"`` (gensim's
            choice) or ``"last"`` (what a dict built line by line holds); a
            ``RuntimeWarning`` counts the repeated words.

    Raises:
        ModelFormatError: a missing/invalid header (two numbers of ASCII digits), a
            line with the wrong number of values, a non-number, a line longer than
            :data:`MAX_LINE_BYTES`, or fewer lines than the header announces.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "v.vec")
        >>> _ = open(p, "w").write("2 2\\nx 1 0\\ny 0 1\\n")
        >>> read_word2vec_text(p).dim
        2
    """
    check_keep(keep)
    p = Path(path)
    with open_binary(p) as fh, reading_errors(p):
        lines = _numbered_lines(fh, p, 1)
        header = next(lines, None)
        if header is None:
            raise ModelFormatError(f"{p}: empty file; expected a header line 'COUNT DIM'")
        lineno, text = header
        fields = text.split()
        numbers = [parse_count(f) for f in fields]
        if len(fields) != 2 or None in numbers:
            got = (
                f"{len(fields)} field(s)"
                if len(fields) != 2
                else "a field that is not ASCII digits"
            )
            raise ModelFormatError(
                f"{p}: line {lineno}: expected the word2vec header 'COUNT DIM' (two "
                f"integers of ASCII digits 0-9), got {got}; for GloVe files without "
                "a header use format='glove-text'"
            )
        count, dim = int(fields[0]), int(fields[1])
        if dim < 1:
            raise ModelFormatError(f"{p}: line {lineno}: dimension must be >= 1, got {dim}")
        want = count if limit is None else min(count, limit)
        vocab, vectors, last = _read_body(fh, lineno + 1, dim, p, limit=want)
    if len(vocab) < want:
        raise ModelFormatError(
            f"{p}: truncated: the header (line {lineno}) announces {count} vectors but the "
            f"file ends after {len(vocab)} (last line read: {last or lineno})"
        )
    vocab, vectors = _dedupe(vocab, vectors, p, keep)
    return VectorTable(vocab, vectors, source=str(p))


def read_fasttext_vec(
    path: str | os.PathLike[str], *, limit: int | None = None, keep: str = "first"
) -> VectorTable:
    """Read a fastText ``.vec`` file (the word2vec text format; no subword vectors).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "v.vec")
        >>> _ = open(p, "w").write("1 3\\nx 1 2 3\\n")
        >>> read_fasttext_vec(p).vocab
        ['x']
    """
    return read_word2vec_text(path, limit=limit, keep=keep)


def read_glove_text(
    path: str | os.PathLike[str], *, limit: int | None = None, keep: str = "first"
) -> VectorTable:
    """Read a GloVe text file (no header; the dimension comes from the first line).

    ``limit`` and ``keep`` are those of :func:`read_word2vec_text`.

    Raises:
        ModelFormatError: an empty file, a header line (use word2vec text), a line
            with a different number of values than the first one, a non-number, or a
            line longer than :data:`MAX_LINE_BYTES`.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "g.txt")
        >>> _ = open(p, "w").write("the 0.5 -1\\ncat 1 2\\n")
        >>> read_glove_text(p).vectors.shape
        (2, 2)
    """
    check_keep(keep)
    p = Path(path)
    with open_binary(p) as fh, reading_errors(p):
        lines = _numbered_lines(fh, p, 1)
        first = next(lines, None)
        if first is None:
            raise ModelFormatError(f"{p}: empty file; expected lines 'word v1 v2 ...'")
        fields = first[1].split()
        if len(fields) == 2 and all(parse_count(f) is not None for f in fields):
            raise ModelFormatError(
                f"{p}: line {first[0]} looks like a word2vec header 'COUNT DIM'; "
                "use format='word2vec-text'"
            )
        dim = len(fields) - 1
        if dim < 1:
            raise ModelFormatError(
                f"{p}: line {first[0]} has {len(fields)} field(s); a GloVe/word2vec text line "
                "is a word followed by DIM numbers (is this a vector file?)"
            )
        vocab, vectors, _ = _read_body(fh, first[0] + 1, dim, p, first=first, limit=limit)
    vocab, vectors = _dedupe(vocab, vectors, p, keep)
    return VectorTable(vocab, vectors, source=str(p))


#: the text formats and their readers (each takes ``limit`` and ``keep``)
TEXT_READERS = {
    "word2vec-text": read_word2vec_text,
    "fasttext-vec": read_fasttext_vec,
    "glove-text": read_glove_text,
}


def _check_writable(vocab: Sequence[str], vectors: np.ndarray, *, binary: bool) -> np.ndarray:
    arr = np.asarray(vectors)
    if arr.ndim != 2 or arr.shape[0] != len(vocab):
        raise InvalidParameterError(
            f"vectors must have shape (len(vocab), dim) = ({len(vocab)}, dim), got {arr.shape}"
        )
    for i, w in enumerate(vocab):
        if not isinstance(w, str) or not w or any(c.isspace() for c in w):
            if binary and isinstance(w, str) and w and " " not in w and "\n" not in w:
                continue
            raise InvalidParameterError(
                f"vocab[{i}] = {w!r:.40} cannot be written: words must be non-empty strings "
                "without whitespace in these formats"
            )
    return arr


def _write_lines(
    path: Path,
    header: str | None,
    vocab: Sequence[str],
    vectors: np.ndarray,
    precision: int,
) -> None:
    fmt = f"{{:.{int(precision)}g}}".format
    with atomic_open(path) as out:
        raw: IO[bytes] = out
        if path.suffix == ".gz":
            raw = gzip.GzipFile(filename=path.name, mode="wb", fileobj=out)  # type: ignore[assignment]
        fh = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
        if header is not None:
            fh.write(header + "\n")
        for word, row in zip(vocab, vectors):
            fh.write(word + " " + " ".join(map(fmt, row.tolist())) + "\n")
        fh.flush()
        fh.detach()
        if raw is not out:
            raw.close()  # writes the gzip trailer; ``out`` stays open


def write_word2vec_text(
    path: str | os.PathLike[str],
    vocab: Sequence[str],
    vectors: np.ndarray,
    *,
    precision: int = 9,
) -> None:
    """Write the word2vec text format (header ``COUNT DIM``), atomically.

    Args:
        path: target file (``.gz`` compresses).
        vocab: the words (non-empty, no whitespace).
        vectors: ``(len(vocab), dim)`` numbers.
        precision: significant digits; 9 round-trips float32 exactly.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "v.txt")
        >>> write_word2vec_text(p, ["hi"], np.array([[0.5, 1.0]]))
        >>> open(p).read()
        '1 2\\nhi 0.5 1\\n'
    """
    arr = _check_writable(vocab, vectors, binary=False)
    _write_lines(Path(path), f"{arr.shape[0]} {arr.shape[1]}", vocab, arr, precision)


def write_glove_text(
    path: str | os.PathLike[str],
    vocab: Sequence[str],
    vectors: np.ndarray,
    *,
    precision: int = 9,
) -> None:
    """Write the GloVe text format (no header), atomically.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "g.txt")
        >>> write_glove_text(p, ["hi"], np.array([[0.25, -1.0]]))
        >>> open(p).read()
        'hi 0.25 -1\\n'
    """
    arr = _check_writable(vocab, vectors, binary=False)
    _write_lines(Path(path), None, vocab, arr, precision)
