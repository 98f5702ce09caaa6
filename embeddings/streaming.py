"""Out-of-core encoding: corpora bigger than RAM, streamed in chunks, resumable after a kill.

:func:`encode_corpus` reads texts from a file in chunks (never the whole file),
encodes each chunk and writes its vectors before reading the next one, so memory
stays bounded by the chunk size whatever the corpus size.  Sources (by extension):

* ``.txt``: one text per line (lines end with ``\\n`` or ``\\r\\n``; an empty line is
  an empty text);
* ``.csv`` / ``.tsv``: a header line, then one row per text; ``column`` names the text
  column (default ``text``).  CSV follows RFC 4180 quoting (a quoted value may hold
  commas and line breaks); TSV has no quoting (a TAB always separates values).
  Read with pyarrow's streaming CSV reader.  A quoted value that is never closed
  (which would swallow the rest of the file into one text) is an error naming the
  line where it opens, and so is a header line over 1 MiB or a row over 4 MiB;
  error messages never quote the file's content;
* ``.jsonl``: one JSON object per line, ``column`` names the key; blank lines are
  skipped;
* ``.parquet``: ``column`` names a string column; read one row group at a time.

Outputs:

* ``.npy``: a float32 ``(n, dim)`` array in input order.  The row count is needed for
  the header, so one cheap streaming pass counts the rows first (newlines for
  ``.txt``, the footer for parquet, a parse of the text column only for CSV); each
  chunk is then written through a memory map of its own rows, flushed and unmapped,
  so the output never has to fit in memory either.  Counting first (rather than
  writing chunk files and concatenating them at the end) writes every vector once,
  needs no second copy of the output on disk, and gives the progress bar its total.
* ``.parquet``: columns ``id`` (int64, the row number in the source) and ``vector``
  (``fixed_size_list<float32>[dim]``); one row group per chunk.

Resume: every finished chunk is committed in a progress file next to the output
(``OUT.progress.json``, written atomically after the chunk's vectors are flushed).
After a crash or a ``kill -9``, calling :func:`encode_corpus` again with the same
arguments continues after the last committed chunk; committed chunks are never
recomputed.  The progress file records the encoder's fingerprint and the input's
identity (path, size, modification time and a hash of its first MiB), so a resume
with another encoder or a changed input is refused instead of mixing vectors.
While running, the vectors live in ``OUT.partial`` (npy) or ``OUT.parts/`` (parquet,
one file per chunk); the output appears under its final name only when complete.
Vectors do not depend on which texts share a batch (the encoder contract), so the
result is bit-identical to ``encoder.encode(all_texts)``.

Example:
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> import embeddings
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "texts.txt").write_text("the cat sat\\nstocks fell\\n")
    >>> enc = embeddings.load("glove-6b-50d")
    >>> result = encode_corpus(enc, folder / "texts.txt", folder / "v.npy", show_progress=False)
    >>> np.array_equal(np.load(folder / "v.npy"), enc.encode(["the cat sat", "stocks fell"]))
    True
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
import stat
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from embeddings._checks import check_bool, check_int
from embeddings.errors import (
    EncodingError,
    InvalidInputError,
    InvalidParameterError,
)

__all__ = [
    "encode_corpus",
    "read_vectors",
    "TextSource",
    "CorpusEncodeResult",
    "check_progress",
    "parquet_schema",
    "write_parquet_part",
    "SOURCE_KINDS",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_COLUMN",
]

SourceKind = Literal["txt", "csv", "tsv", "jsonl", "parquet"]
OutputFormat = Literal["npy", "parquet"]

#: file extension -> source kind
SOURCE_KINDS: dict[str, SourceKind] = {
    ".txt": "txt",
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
}
OUTPUT_FORMATS: dict[str, OutputFormat] = {".npy": "npy", ".parquet": "parquet"}
DEFAULT_CHUNK_SIZE = 10_000
DEFAULT_COLUMN = "text"
ID_COLUMN = "id"
VECTOR_COLUMN = "vector"
PROGRESS_FORMAT = "transferkit-encode-progress"
PROGRESS_VERSION = 1
#: bytes of the input hashed into its identity
_HEAD_BYTES = 1 << 20
_READ_BLOCK = 1 << 22
#: the longest CSV/TSV header line read
_HEADER_BYTES = 1 << 20
#: a header is listed in messages only when it looks like column names
_SHOWN_COLUMNS, _SHOWN_NAME_CHARS = 50, 64
_PARQUET_BATCH = 1 << 16
#: vectors rarely repeat: dictionary encoding would cost 8x the write time for nothing
_PARQUET_WRITE: dict[str, Any] = {"use_dictionary": False, "compression": "snappy"}


# ------------------------------------------------------------------ sources
class TextSource:
    """A file of texts read in chunks, never whole.

    Args:
        path: a ``.txt``, ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` file.
        column: the text column (CSV/TSV/parquet) or key (JSONL); default ``text``.
            Not allowed for ``.txt``.

    Raises:
        InvalidInputError: a missing file, an unsupported extension, a missing column,
            or a parquet column that does not hold strings.
        InvalidParameterError: ``column`` given for a ``.txt`` file.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
        >>> _ = p.write_text('id,text\\n1,"a cat, a dog"\\n2,stocks fell\\n')
        >>> src = TextSource(p)
        >>> src.count()
        2
        >>> [texts for texts, _ in src.chunks(10)]
        [['a cat, a dog', 'stocks fell']]
    """

    def __init__(self, path: str | os.PathLike[str], column: str | None = None) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in SOURCE_KINDS:
            raise InvalidInputError(
                f"{self.path}: unsupported input extension {suffix!r}; "
                f"supported: {list(SOURCE_KINDS)}"
            )
        if not self.path.is_file():
            raise InvalidInputError(f"{self.path}: no such file")
        self.kind: SourceKind = SOURCE_KINDS[suffix]
        if self.kind == "txt":
            if column is not None:
                raise InvalidParameterError(
                    f"column applies to .csv/.tsv/.jsonl/.parquet input, not .txt "
                    f"(got column={column!r})"
                )
            self.column: str | None = None
        else:
            if column is not None and (not isinstance(column, str) or not column):
                raise InvalidParameterError(f"column must be a non-empty string, got {column!r}")
            self.column = column or DEFAULT_COLUMN
        if self.kind in ("csv", "tsv"):
            self._check_csv_header()
        elif self.kind == "parquet":
            self._check_parquet_column()

    def __repr__(self) -> str:
        col = "" if self.column is None else f", column={self.column!r}"
        return f"TextSource({str(self.path)!r}{col})"

    # ------------------------------------------------------------ identity
    def fingerprint(self) -> dict[str, Any]:
        """The input's identity: resolved path, size, mtime and sha256 of its first MiB.

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
            >>> _ = p.write_text("a\\n")
            >>> TextSource(p).fingerprint()["size"]
            2
        """
        st = self.path.stat()
        with open(self.path, "rb") as fh:
            head = hashlib.sha256(fh.read(_HEAD_BYTES)).hexdigest()
        return {
            "path": str(self.path.resolve()),
            "kind": self.kind,
            "column": self.column,
            "size": int(st.st_size),
            "mtime_ns": int(st.st_mtime_ns),
            "head_sha256": head,
        }

    # ------------------------------------------------------------ counting
    def count(self) -> int:
        """The number of texts, in one streaming pass (parquet: from the footer).

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
            >>> _ = p.write_text("a\\n\\nlast line without newline")
            >>> TextSource(p).count()
            3
        """
        if self.kind == "txt":
            newlines, last = 0, b"\n"
            with open(self.path, "rb") as fh:
                while block := fh.read(_READ_BLOCK):
                    newlines += block.count(b"\n")
                    last = block[-1:]
            return newlines + (0 if last == b"\n" else 1)
        if self.kind == "jsonl":
            with open(self.path, "rb") as fh:
                return sum(1 for line in fh if line.strip())
        if self.kind == "parquet":
            return int(self._parquet_file().metadata.num_rows)
        return sum(batch.num_rows for batch in self._csv_record_batches())

    # ------------------------------------------------------------ reading
    def chunks(
        self, chunk_size: int, *, start_row: int = 0, start_offset: int | None = None
    ) -> Iterator[tuple[list[str], int | None]]:
        """Yield ``(texts, offset)`` chunks of ``chunk_size`` texts (the last may be shorter).

        Args:
            chunk_size: texts per chunk.
            start_row: skip this many texts first.
            start_offset: for ``.txt``/``.jsonl``, the byte offset of text
                ``start_row`` (from an earlier ``offset``): reading seeks there instead
                of skipping ``start_row`` texts.

        Yields:
            The texts of a chunk and, for ``.txt``/``.jsonl``, the byte offset just
            after it (``None`` for CSV and parquet).

        Raises:
            InvalidInputError: a line that is not UTF-8, invalid JSON, a missing key, a
                non-string or null value, or a malformed CSV row; the message names the
                file and the line or row.

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
            >>> _ = p.write_text("a\\nb\\nc\\n")
            >>> list(TextSource(p).chunks(2))
            [(['a', 'b'], 4), (['c'], 6)]
        """
        chunk_size = check_int("chunk_size", chunk_size)
        start_row = check_int("start_row", start_row, minimum=0)
        if self.kind in ("txt", "jsonl"):
            yield from self._line_chunks(chunk_size, start_row, start_offset)
            return
        batches = self._parquet_batches(start_row) if self.kind == "parquet" else None
        if batches is None:
            batches = _skip_rows(self._csv_batches(), start_row)
        buf: list[str] = []
        for texts in batches:
            pos = 0
            while pos < len(texts):
                take = min(chunk_size - len(buf), len(texts) - pos)
                buf.extend(texts[pos : pos + take])
                pos += take
                if len(buf) == chunk_size:
                    yield buf, None
                    buf = []
        if buf:
            yield buf, None

    def _line_chunks(
        self, chunk_size: int, start_row: int, start_offset: int | None
    ) -> Iterator[tuple[list[str], int | None]]:
        jsonl = self.kind == "jsonl"
        col = self.column
        with open(self.path, "rb") as fh:
            offset, lineno, row = 0, 0, 0
            if start_offset is not None:
                offset = check_int("start_offset", start_offset, minimum=0)
                fh.seek(offset)
                row = start_row
                lineno = -1  # unknown after a seek: messages then name the byte offset
            buf: list[str] = []
            for raw in fh:
                line_start = offset
                offset += len(raw)
                if lineno >= 0:
                    lineno += 1
                if jsonl and not raw.strip():
                    continue
                if row < start_row:
                    row += 1
                    continue
                line = raw[:-1] if raw.endswith(b"\n") else raw
                if line.endswith(b"\r"):
                    line = line[:-1]
                try:
                    text = line.decode("utf-8")
                    if jsonl:
                        text = _json_text(text, col)
                except UnicodeDecodeError as err:
                    raise InvalidInputError(
                        f"{self._where(lineno, line_start)}: not valid UTF-8 ({err.reason} "
                        f"at byte {err.start} of the line); re-encode the file as UTF-8"
                    ) from None
                except InvalidInputError as err:
                    raise InvalidInputError(f"{self._where(lineno, line_start)}: {err}") from None
                buf.append(text)
                row += 1
                if len(buf) == chunk_size:
                    yield buf, offset
                    buf = []
            if buf:
                yield buf, offset

    def _where(self, lineno: int, offset: int) -> str:
        return f"{self.path}:{lineno}" if lineno >= 0 else f"{self.path} (line at byte {offset})"

    # -------------------------------------------------------------- CSV
    def _csv_options(self) -> tuple[Any, Any]:
        import pyarrow.csv as pacsv

        parse = pacsv.ParseOptions(
            delimiter="\t" if self.kind == "tsv" else ",",
            quote_char=False if self.kind == "tsv" else '"',
            newlines_in_values=self.kind == "csv",
        )
        read = pacsv.ReadOptions(block_size=_READ_BLOCK, use_threads=False)
        return parse, read

    def _check_csv_header(self) -> None:
        """Check the header line (read within 1 MiB) names ``self.column``."""
        with open(self.path, "rb") as fh:
            head = fh.read(_HEADER_BYTES + 1)
        whole = len(head) <= _HEADER_BYTES
        start = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
        if len(head) == start:
            raise InvalidInputError(
                f"{self.path}: empty file; a .{self.kind} input needs a header line "
                f"naming its columns (one of them {self.column!r})"
            )
        end, unclosed = _first_record_end(head, start, whole=whole, quoted=self.kind == "csv")
        if unclosed:
            raise InvalidInputError(f"{self.path}:1: {_UNCLOSED}")
        if end is None:
            raise InvalidInputError(
                f"{self.path}: the header line is longer than {_HEADER_BYTES >> 20} MiB; a "
                f".{self.kind} input starts with one line naming its columns"
            )
        text = head[start:end].decode("utf-8", "replace")
        try:
            if self.kind == "tsv":
                header = next(csv.reader([text], delimiter="\t", quoting=csv.QUOTE_NONE), [])
            else:
                header = next(csv.reader([text]), [])
        except csv.Error as err:
            raise InvalidInputError(f"{self.path}: cannot read the header line ({err})") from None
        if self.column not in header:
            shown = len(header) <= _SHOWN_COLUMNS and all(
                len(c) <= _SHOWN_NAME_CHARS and c.isprintable() for c in header
            )
            names = f"columns are {header}" if shown else f"the header has {len(header)} columns"
            raise InvalidInputError(
                f"{self.path}: no column {self.column!r}; {names}; pass column= (--column)"
            )

    def _csv_reader(self) -> Any:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        parse, read = self._csv_options()
        convert = pacsv.ConvertOptions(
            include_columns=[self.column],
            column_types={self.column: pa.string()},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        try:
            return pacsv.open_csv(
                self.path, read_options=read, parse_options=parse, convert_options=convert
            )
        except (pa.ArrowInvalid, pa.ArrowKeyError) as err:
            raise self._read_error(err) from None

    def _read_error(self, err: Exception) -> InvalidInputError:
        """The error for a file pyarrow cannot parse: an unclosed quote, else its reason."""
        line = _unclosed_quote_line(self.path) if self.kind == "csv" else None
        if line is not None:
            return InvalidInputError(f"{self.path}:{line}: {_UNCLOSED}")
        return InvalidInputError(f"{self.path}: cannot read as .{self.kind}: {_arrow_reason(err)}")

    def _csv_record_batches(self) -> Iterator[Any]:
        """pyarrow record batches of the text column; a quote left open at the end raises."""
        import pyarrow as pa

        reader = self._csv_reader()
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as err:
                raise self._read_error(err) from None
            yield batch
        line = _unclosed_quote_line(self.path) if self.kind == "csv" else None
        if line is not None:
            raise InvalidInputError(f"{self.path}:{line}: {_UNCLOSED}")

    def _csv_batches(self) -> Iterator[list[str]]:
        for batch in self._csv_record_batches():
            yield batch.column(0).to_pylist()

    # ---------------------------------------------------------- parquet
    def _parquet_file(self) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as err:
            raise InvalidInputError(f"{self.path}: not a readable parquet file: {err}") from None

    def _check_parquet_column(self) -> None:
        import pyarrow as pa

        schema = self._parquet_file().schema_arrow
        if self.column not in schema.names:
            raise InvalidInputError(
                f"{self.path}: no column {self.column!r}; columns are {schema.names}; "
                "pass column= (--column)"
            )
        typ = schema.field(self.column).type
        if pa.types.is_dictionary(typ):
            typ = typ.value_type
        if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)) and not (
            hasattr(pa.types, "is_string_view") and pa.types.is_string_view(typ)
        ):
            raise InvalidInputError(
                f"{self.path}: column {self.column!r} holds {typ}, not strings; "
                "pass the column that holds the texts"
            )

    def _parquet_batches(self, start_row: int) -> Iterator[list[str]]:
        pf = self._parquet_file()
        meta = pf.metadata
        groups: list[int] = []
        first, skip = 0, start_row
        for g in range(meta.num_row_groups):
            n = meta.row_group(g).num_rows
            if skip >= n and not groups:
                skip -= n
                first += n
                continue
            groups.append(g)
        row = first
        if not groups:
            return
        for batch in pf.iter_batches(
            batch_size=_PARQUET_BATCH, columns=[self.column], row_groups=groups, use_threads=False
        ):
            col = batch.column(0)
            if col.null_count:
                bad = row + int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
                raise InvalidInputError(
                    f"{self.path}: row {bad} of column {self.column!r} is null; "
                    "every row must hold a string (use '' for an empty text)"
                )
            texts = col.to_pylist()
            row += len(texts)
            if skip:
                drop = min(skip, len(texts))
                texts = texts[drop:]
                skip -= drop
            if texts:
                yield texts


_UNCLOSED = (
    "a quoted value opens here and is never closed, so the rest of the file would become "
    'one text; close it (a quote inside a quoted value is written twice: "")'
)


def _arrow_reason(err: Exception) -> str:
    """pyarrow's parse error without the row content it quotes."""
    text = str(err).split("\n", 1)[0]
    if "straddl" in text:  # a row that does not fit in one read block
        return f"a row is longer than {_READ_BLOCK >> 20} MiB"
    found = re.search(r"Expected \d+ columns, got \d+", text)
    return text[: found.end()] if found else text[:200]


def _first_break(data: bytes, start: int, stop: int) -> int:
    """The first line break (``\\n`` or ``\\r``) in ``data[start:stop]``, or -1."""
    found = [i for i in (data.find(b"\n", start, stop), data.find(b"\r", start, stop)) if i >= 0]
    return min(found, default=-1)


def _first_record_end(
    data: bytes, start: int, *, whole: bool, quoted: bool
) -> tuple[int | None, bool]:
    """Where the first CSV record of ``data[start:]`` ends, read as pyarrow reads it.

    Returns:
        ``(offset of its line break, False)``; ``(len(data), False)`` when ``whole``
        (``data`` is the entire file) holds one record without a line break;
        ``(None, True)`` when the entire file ends inside a quoted value; and
        ``(None, False)`` when ``data`` ends before the record does.
    """
    pos, in_quote = start, False
    while quoted:
        if in_quote:
            i = data.find(b'"', pos)
            if i < 0 or (i + 1 == len(data) and not whole):
                return None, whole and i < 0
            if data[i + 1 : i + 2] == b'"':
                pos = i + 2
            else:
                in_quote, pos = False, i + 1
            continue
        q = data.find(b'"', pos)
        stop = len(data) if q < 0 else q
        end = _first_break(data, pos, stop)
        if end >= 0:
            return end, False
        if q < 0:
            break
        in_quote = q == start or data[q - 1] in b",\r\n"
        pos = q + 1
    end = _first_break(data, pos, len(data))
    if end >= 0:
        return end, False
    return (len(data), False) if whole else (None, False)


def _count_lines(data: bytes, start: int, end: int, after_cr: bool) -> tuple[int, bool]:
    """Line breaks (``\\n``, ``\\r\\n`` or ``\\r``) in ``data[start:end]``, and whether it
    ends with ``\\r``; ``after_cr``: the bytes before ended with ``\\r``."""
    if start >= end:
        return 0, after_cr
    n = data.count(b"\n", start, end) + data.count(b"\r", start, end)
    n -= data.count(b"\r\n", start, end) + (after_cr and data[start] == 0x0A)
    return n, data[end - 1] == 0x0D


def _unclosed_quote_line(path: Path) -> int | None:
    """The line where a quoted CSV value opens that the file never closes, or ``None``.

    The file is read as pyarrow reads it: a quote opens a value only as the first
    character of a field (at the start of the file, after a UTF-8 BOM, or after a
    comma or a line break); inside, two quotes are a literal quote and one quote
    closes the value.  One pass of ``bytes.find`` calls over 4 MiB blocks.
    """
    line, after_cr, in_quote, open_line = 1, False, False, 0
    prev = b"\n"  # the byte before ``buf``; the start of the file counts as a line break
    with open(path, "rb") as fh:
        buf = fh.read(len(codecs.BOM_UTF8))
        buf = (b"" if buf == codecs.BOM_UTF8 else buf) + fh.read(_READ_BLOCK)
        pos = counted = 0
        while True:
            i = buf.find(b'"', pos)
            if i < 0 or (in_quote and i + 1 == len(buf)):  # need the next block
                more = fh.read(_READ_BLOCK)
                if not more:
                    in_quote = in_quote and i < 0  # a quote as the last byte closes
                    break
                keep = len(buf) if i < 0 else i
                n, after_cr = _count_lines(buf, counted, keep, after_cr)
                line += n
                prev = buf[keep - 1 : keep] or prev
                buf, pos, counted = buf[keep:] + more, 0, 0
                continue
            if in_quote:
                if buf[i + 1] == 0x22:
                    pos = i + 2
                else:
                    in_quote, pos = False, i + 1
                continue
            if (buf[i - 1 : i] if i else prev) in (b",", b"\n", b"\r"):
                n, after_cr = _count_lines(buf, counted, i, after_cr)
                line, counted = line + n, i
                in_quote, open_line = True, line
            pos = i + 1
    return open_line if in_quote else None


def _json_text(line: str, key: str | None) -> str:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise InvalidInputError(f"invalid JSON: {err.msg}") from None
    if not isinstance(obj, dict):
        raise InvalidInputError(
            f"expected a JSON object with a {key!r} key, got {type(obj).__name__}"
        )
    if key not in obj:
        raise InvalidInputError(
            f"no key {key!r}; keys are {sorted(obj)[:10]}; pass column= (--column)"
        )
    value = obj[key]
    if not isinstance(value, str):
        raise InvalidInputError(f"{key!r} must be a string, got {type(value).__name__}")
    return value


def _skip_rows(batches: Iterator[list[str]], skip: int) -> Iterator[list[str]]:
    for texts in batches:
        if skip:
            drop = min(skip, len(texts))
            texts = texts[drop:]
            skip -= drop
        if texts:
            yield texts


# ------------------------------------------------------------------ writers
def parquet_schema(dim: int, metadata: dict[str, Any] | None = None) -> Any:
    """The schema of a vector parquet file: ``id`` int64, ``vector`` float32[dim].

    Example:
        >>> parquet_schema(3).names
        ['id', 'vector']
    """
    import pyarrow as pa

    meta = None if metadata is None else {b"transferkit": json.dumps(metadata).encode()}
    return pa.schema(
        [(ID_COLUMN, pa.int64()), (VECTOR_COLUMN, pa.list_(pa.float32(), dim))], metadata=meta
    )


def vectors_table(start: int, vectors: np.ndarray, schema: Any) -> Any:
    """A pyarrow table of rows ``start ...`` with ``vectors`` (float32, ``(n, dim)``).

    Example:
        >>> import numpy as np
        >>> vectors_table(5, np.zeros((2, 3), np.float32), parquet_schema(3))["id"].to_pylist()
        [5, 6]
    """
    import pyarrow as pa

    n, dim = vectors.shape
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    ids = pa.array(np.arange(start, start + n, dtype=np.int64))
    return pa.Table.from_arrays([ids, pa.FixedSizeListArray.from_arrays(flat, dim)], schema=schema)


def write_parquet_part(path: Path, start: int, vectors: np.ndarray, schema: Any) -> None:
    """Write one chunk of vectors as a parquet file, atomically (fsync, then rename).

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "part-00000.parquet"
        >>> write_parquet_part(p, 0, np.ones((2, 3), np.float32), parquet_schema(3))
        >>> read_vectors(p).shape
        (2, 3)
    """
    import pyarrow.parquet as pq

    from embeddings._atomic import atomic_open

    table = vectors_table(start, vectors, schema)
    with atomic_open(path) as fh:
        pq.write_table(table, fh, row_group_size=max(len(table), 1), **_PARQUET_WRITE)


class _NpyPartial:
    """A ``.npy`` file of known shape, written chunk by chunk through short-lived memory maps."""

    def __init__(self, path: Path, rows: int, dim: int, *, create: bool) -> None:
        self.path, self.rows, self.dim = path, rows, dim
        if create:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            if rows == 0:
                with open(path, "wb") as fh:
                    np.save(fh, np.empty((0, dim), np.float32), allow_pickle=False)
                self.offset = 0
            else:
                mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))
                self.offset = int(mm.offset)
                del mm
        else:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):  # a link or special file is never written through
                raise InvalidParameterError(
                    f"{path}: the partial output of an interrupted run is not a regular file "
                    "(a link, FIFO or device); remove it to start over"
                )
            self.offset = self._read_header()

    def _read_header(self) -> int:
        with open(self.path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            offset = fh.tell()
        expected_size = offset + self.rows * self.dim * 4
        if (
            shape != (self.rows, self.dim)
            or fortran
            or dtype != np.dtype(np.float32)
            or self.path.stat().st_size != expected_size
        ):
            raise ValueError(f"{self.path} is not a float32 {(self.rows, self.dim)} array")
        return offset

    def write(self, start: int, vectors: np.ndarray) -> None:
        if len(vectors) == 0:
            return
        mm = np.memmap(
            self.path,
            dtype=np.float32,
            mode="r+",
            offset=self.offset + start * self.dim * 4,
            shape=vectors.shape,
        )
        mm[:] = vectors
        mm.flush()  # msync: the rows are on disk before the progress file names them
        del mm  # unmap, so resident memory stays bounded by one chunk

    def finish(self, out: Path) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.path, out)


# ------------------------------------------------------------------- result
@dataclass(frozen=True)
class CorpusEncodeResult:
    """What :func:`encode_corpus` did.

    Attributes:
        path: the output file.
        rows: texts encoded in all (the rows of the output).
        dim: the vector dimension.
        chunks: chunks in all.
        chunks_encoded: chunks encoded by this call.
        chunks_resumed: chunks committed by an earlier, interrupted call and reused.
        seconds: wall time of this call.
    """

    path: Path
    rows: int
    dim: int
    chunks: int
    chunks_encoded: int
    chunks_resumed: int
    seconds: float


# ------------------------------------------------------------------ progress
def _side_paths(out: Path) -> tuple[Path, Path, Path, Path]:
    """progress file, npy partial, parquet parts folder, lock file of ``out``."""
    name = out.name
    return (
        out.with_name(name + ".progress.json"),
        out.with_name(name + ".partial"),
        out.with_name(name + ".parts"),
        out.with_name(name + ".lock"),
    )


@contextlib.contextmanager
def _exclusive(lock_path: Path, out: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        yield
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(lock_path, flags | getattr(os, "O_NONBLOCK", 0), 0o644)
    except OSError as err:
        raise InvalidParameterError(
            f"{lock_path}: cannot open the lock file of {out} ({err.strerror}); a link or "
            "special file at that name is never followed"
        ) from None
    fh: IO[bytes] = os.fdopen(fd, "ab")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InvalidParameterError(
                f"{out}: another process is encoding into this output right now "
                f"(it holds {lock_path.name}); wait for it or choose another output"
            ) from None
        yield
    finally:
        fh.close()


def _encoder_fingerprint(encoder: Any) -> str | None:
    fingerprint = getattr(encoder, "fingerprint", None)
    return str(fingerprint()) if callable(fingerprint) else None


def _encoder_name(encoder: Any) -> str:
    return str(getattr(encoder, "name", type(encoder).__name__))


def _describe_input_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    changes = []
    for key in ("path", "kind", "column", "size", "mtime_ns", "head_sha256"):
        before, after = old.get(key), new.get(key)
        if before != after:
            if key == "head_sha256":
                before, after = str(before)[:12], str(after)[:12]
            changes.append(f"{key} {before!r} -> {after!r}")
    return "; ".join(changes)


def check_progress(
    progress: dict[str, Any],
    *,
    path: Path,
    encoder_name: str,
    fingerprint: str | None,
    source: dict[str, Any],
    output: dict[str, Any],
    chunk_size: int | None,
    size_name: str = "chunk_size",
    file_format: str = PROGRESS_FORMAT,
    start_over: str = (
        "pass resume=False (transferkit encode --no-resume) to start over, or choose another output"
    ),
) -> None:
    """Refuse to resume from ``progress`` when the encoder, input or output settings differ.

    Args:
        progress: the recorded progress (or manifest) of the interrupted run.
        path: its file, for messages.
        encoder_name: the encoder of this call, for messages.
        fingerprint: its fingerprint (``None``: it has none, and resuming is refused).
        source: :meth:`TextSource.fingerprint` of this call's input.
        output: output settings that must be equal (format, dim).
        chunk_size: this call's explicit chunk size (``None``: take the recorded one).
        size_name: the name of the chunk size setting, for messages.
        file_format: the expected ``format`` field.
        start_over: how to start over, for messages.

    Raises:
        InvalidParameterError: naming what differs and how to start over.

    Example:
        >>> p = {"format": PROGRESS_FORMAT, "version": 1,
        ...      "encoder": {"name": "e", "fingerprint": "f"}, "input": {"size": 1},
        ...      "output": {"format": "npy"}}
        >>> check_progress(p, path=Path("o.progress.json"), encoder_name="e", fingerprint="f",
        ...                source={"size": 1}, output={"format": "npy"}, chunk_size=None)
    """
    if progress.get("format") != file_format or progress.get("version") != PROGRESS_VERSION:
        raise InvalidParameterError(
            f"{path}: not a progress file of this transferkit version "
            f"(format {progress.get('format')!r}, version {progress.get('version')!r}); "
            + start_over
        )
    recorded = progress.get("encoder") or {}
    if fingerprint is None or recorded.get("fingerprint") != fingerprint:
        what = (
            "this encoder has no fingerprint() to check it against"
            if fingerprint is None
            else f"this call uses {encoder_name} (fingerprint {fingerprint[:12]})"
        )
        raise InvalidParameterError(
            f"{path}: the interrupted run used encoder {recorded.get('name')!r} "
            f"(fingerprint {str(recorded.get('fingerprint'))[:12]}); {what}. Resuming would "
            f"mix vectors of two encoders: {start_over}"
        )
    if progress.get("input") != source:
        raise InvalidParameterError(
            f"{path}: the input changed since the interrupted run "
            f"({_describe_input_change(progress.get('input') or {}, source)}); {start_over}"
        )
    recorded_out = progress.get("output") or {}
    for key, value in output.items():
        if recorded_out.get(key) != value:
            raise InvalidParameterError(
                f"{path}: the interrupted run wrote {key}={recorded_out.get(key)!r}, this "
                f"call {key}={value!r}; {start_over}"
            )
    if chunk_size is not None and recorded_out.get("chunk_size") != chunk_size:
        raise InvalidParameterError(
            f"{path}: the interrupted run used {size_name}={recorded_out.get('chunk_size')}, "
            f"this call {size_name}={chunk_size}; leave {size_name} unset to resume with the "
            f"recorded one, or {start_over}"
        )


def _read_progress(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise InvalidParameterError(
            f"{path}: damaged progress file (not a JSON object); pass resume=False "
            "(transferkit encode --no-resume) to start over"
        )
    return data


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _part_name(index: int, width: int = 5) -> str:
    return f"part-{index:0{width}d}.parquet"


# ------------------------------------------------------------------ encoding
def encode_corpus(
    encoder: Any,
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    column: str | None = None,
    chunk_size: int | None = None,
    batch_size: int = 64,
    format: OutputFormat | None = None,
    show_progress: bool = True,
    resume: bool = True,
) -> CorpusEncodeResult:
    """Encode a text file of any size into ``out`` chunk by chunk, resumable after a kill.

    Memory is bounded by ``chunk_size`` texts and their vectors (plus, for parquet
    input, one row group), not by the corpus.  See the module docs for the formats and
    how resuming works.  The output is bit-identical to
    ``encoder.encode(all_texts)``.

    Args:
        encoder: any encoder (``encode`` and ``dim``); resuming also needs its
            ``fingerprint()`` (every transferkit encoder and ``CachedEncoder`` have one).
            A fitted encoder must be fitted before the call.
        source: a ``.txt``, ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` file.
        out: the output file, ``.npy`` or ``.parquet``.
        column: the text column or key (CSV/TSV/JSONL/parquet; default ``text``).
        chunk_size: texts read, encoded and committed at a time; default 10,000, or
            the one recorded by the interrupted run when resuming.
        batch_size: passed to ``encoder.encode`` (does not change the vectors).
        format: ``"npy"`` or ``"parquet"``; default from the extension of ``out``.
        show_progress: show a tqdm progress bar (texts).
        resume: continue an interrupted run into the same ``out`` (after checking that
            encoder and input are unchanged); ``False`` discards it and starts over.

    Returns:
        A :class:`CorpusEncodeResult` (rows, chunks encoded by this call and reused).

    Raises:
        InvalidInputError: an unreadable or malformed source (see :class:`TextSource`).
        InvalidParameterError: a bad argument, an output another process is writing,
            or a resume whose encoder, input or settings differ from the interrupted
            run's.
        EncodingError: the encoder returned a wrong shape or non-finite values; the
            message names the rows.

    Example:
        >>> import tempfile, pathlib
        >>> import embeddings
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "t.txt").write_text("a cat\\na dog\\nstocks fell\\n")
        >>> r = encode_corpus(embeddings.load("glove-6b-50d"), folder / "t.txt",
        ...                   folder / "v.parquet", chunk_size=2, show_progress=False)
        >>> (r.rows, r.chunks, read_vectors(folder / "v.parquet").shape)
        (3, 2, (3, 50))
    """
    started = time.perf_counter()
    out_path = Path(out)
    if format is None:
        fmt = OUTPUT_FORMATS.get(out_path.suffix.lower())
        if fmt is None:
            raise InvalidParameterError(
                f"cannot tell the output format from {out_path.name!r}: use a .npy or "
                "a .parquet file name, or pass format='npy' or 'parquet'"
            )
    elif format in ("npy", "parquet"):
        fmt = format
    else:
        raise InvalidParameterError(f"format must be 'npy' or 'parquet', got {format!r}")
    if chunk_size is not None:
        chunk_size = check_int("chunk_size", chunk_size)
    check_int("batch_size", batch_size)
    check_bool("show_progress", show_progress)
    check_bool("resume", resume)
    if not callable(getattr(encoder, "encode", None)):
        raise InvalidParameterError(
            f"encoder must have an encode(texts) method, got {type(encoder).__name__}"
        )
    src = TextSource(source, column)
    if out_path.resolve() == src.path.resolve():
        raise InvalidParameterError(f"the output {out_path} is the input file; choose another")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    progress_path, _partial, _parts, lock = _side_paths(out_path)
    try:
        with _exclusive(lock, out_path):
            return _encode_locked(
                encoder,
                src,
                out_path,
                fmt=fmt,
                chunk_size=chunk_size,
                batch_size=batch_size,
                show_progress=show_progress,
                resume=resume,
                started=started,
            )
    finally:
        if not progress_path.exists():  # nothing to resume: no lock file left behind
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


def _encode_locked(
    encoder: Any,
    src: TextSource,
    out_path: Path,
    *,
    fmt: OutputFormat,
    chunk_size: int | None,
    batch_size: int,
    show_progress: bool,
    resume: bool,
    started: float,
) -> CorpusEncodeResult:
    """:func:`encode_corpus` once the output's lock is held."""
    progress_path, partial, parts, _lock = _side_paths(out_path)
    fingerprint = _encoder_fingerprint(encoder)
    name = _encoder_name(encoder)
    dim = int(encoder.dim)
    source_id = src.fingerprint()
    progress = _read_progress(progress_path) if resume else None
    if progress is not None:
        check_progress(
            progress,
            path=progress_path,
            encoder_name=name,
            fingerprint=fingerprint,
            source=source_id,
            output={"format": fmt, "dim": dim},
            chunk_size=chunk_size,
        )
    else:
        for leftover in (progress_path, partial, parts):
            _remove(leftover)
        rows = src.count()
        progress = {
            "format": PROGRESS_FORMAT,
            "version": PROGRESS_VERSION,
            "encoder": {"name": name, "fingerprint": fingerprint},
            "input": source_id,
            "output": {
                "format": fmt,
                "path": str(out_path.resolve()),
                "rows": rows,
                "dim": dim,
                "chunk_size": DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
            },
            "done": {"chunks": 0, "rows": 0, "offset": None},
        }
    size = int(progress["output"]["chunk_size"])
    rows = int(progress["output"]["rows"])
    n_chunks = -(-rows // size)
    done, cleanup_only = _usable_done(progress, fmt, partial, parts, out_path, size, rows)
    progress["done"] = done
    resumed = int(done["chunks"])
    meta = {"encoder": name, "fingerprint": fingerprint, "dim": dim}
    schema = parquet_schema(dim, meta) if fmt == "parquet" else None
    writer = None
    if fmt == "npy" and not cleanup_only:
        writer = _NpyPartial(partial, rows, dim, create=done["rows"] == 0)
    if fmt == "parquet" and not cleanup_only:
        parts.mkdir(exist_ok=True)
    _write_progress(progress_path, progress)

    if show_progress:
        from tqdm.auto import tqdm
    else:  # tqdm.auto would warn in notebooks without ipywidgets, even when disabled
        from tqdm import tqdm
    encoded = 0
    row, index = int(done["rows"]), int(done["chunks"])
    with tqdm(
        total=rows, initial=row, disable=not show_progress, unit="text", desc=f"encode {name}"
    ) as bar:
        offset = done["offset"] if src.kind in ("txt", "jsonl") else None
        chunks = iter(()) if cleanup_only else src.chunks(size, start_row=row, start_offset=offset)
        for texts, next_offset in chunks:
            if row + len(texts) > rows:
                raise InvalidInputError(
                    f"{src.path}: the file grew while it was read (more than the {rows} "
                    "texts counted); encode a file that does not change"
                )
            vectors = _encode_chunk(encoder, texts, batch_size, dim, src.path, row)
            if writer is not None:
                writer.write(row, vectors)
            else:
                write_parquet_part(parts / _part_name(index), row, vectors, schema)
            row += len(texts)
            index += 1
            encoded += 1
            progress["done"] = {"chunks": index, "rows": row, "offset": next_offset}
            _write_progress(progress_path, progress)
            bar.update(len(texts))
    if not cleanup_only:
        if row != rows:
            raise InvalidInputError(
                f"{src.path}: {row} texts read but {rows} were counted; the file changed "
                "while it was read: encode a file that does not change"
            )
        if writer is not None:
            writer.finish(out_path)
        else:
            _assemble_parquet(parts, out_path, n_chunks, schema)
    from embeddings._atomic import fsync_dir

    fsync_dir(out_path.parent)
    _remove(partial)
    _remove(parts)
    _remove(progress_path)
    return CorpusEncodeResult(
        path=out_path,
        rows=rows,
        dim=dim,
        chunks=n_chunks,
        chunks_encoded=encoded,
        chunks_resumed=resumed,
        seconds=time.perf_counter() - started,
    )


def _usable_done(
    progress: dict[str, Any],
    fmt: OutputFormat,
    partial: Path,
    parts: Path,
    out: Path,
    size: int,
    rows: int,
) -> tuple[dict[str, Any], bool]:
    """The committed progress that the files on disk still back, and whether only the
    clean-up after a finished run remains."""
    done = progress.get("done") or {}
    chunks = done.get("chunks")
    if not isinstance(chunks, int) or isinstance(chunks, bool) or chunks < 0:
        chunks = 0
    n_chunks = -(-rows // size)
    chunks = min(chunks, n_chunks)
    fresh = {"chunks": 0, "rows": 0, "offset": None}
    committed = {"chunks": chunks, "rows": min(chunks * size, rows), "offset": done.get("offset")}
    complete = chunks == n_chunks and rows > 0
    if chunks == 0:
        return fresh, False
    if fmt == "npy":
        if not partial.exists():
            if complete and out.exists():  # renamed into place; the clean-up was cut short
                return committed, True
            warnings.warn(
                f"{partial} is missing; encoding {out.name} from the start",
                RuntimeWarning,
                stacklevel=4,
            )
            return fresh, False
        try:
            _NpyPartial(partial, rows, int(progress["output"]["dim"]), create=False)
        except (ValueError, OSError):
            warnings.warn(
                f"{partial} does not match its progress file; encoding {out.name} from the start",
                RuntimeWarning,
                stacklevel=4,
            )
            return fresh, False
        return committed, False
    present = 0
    while present < chunks and (parts / _part_name(present)).is_file():
        present += 1
    if present == chunks:
        return committed, False
    if complete and out.exists():  # assembled; the parts were being removed
        return committed, True
    warnings.warn(
        f"{parts} lacks committed chunk {present}; encoding {out.name} from chunk {present}",
        RuntimeWarning,
        stacklevel=4,
    )
    return {"chunks": present, "rows": present * size, "offset": None}, False


def _encode_chunk(
    encoder: Any, texts: list[str], batch_size: int, dim: int, path: Path, start: int
) -> np.ndarray:
    try:
        vectors = encoder.encode(texts, batch_size=batch_size, show_progress=False)
    except EncodingError as err:
        raise EncodingError(
            f"{path}: texts {start}..{start + len(texts) - 1} (index relative to that chunk): {err}"
        ) from err
    vectors = np.asarray(vectors)
    if vectors.shape != (len(texts), dim) or vectors.dtype != np.float32:
        raise EncodingError(
            f"{_encoder_name(encoder)} returned {vectors.dtype} {vectors.shape} for "
            f"{len(texts)} texts; expected float32 {(len(texts), dim)}"
        )
    return np.ascontiguousarray(vectors)


def _write_progress(path: Path, progress: dict[str, Any]) -> None:
    from embeddings._atomic import atomic_write_text

    atomic_write_text(path, json.dumps(progress, indent=1, sort_keys=True) + "\n")


def _assemble_parquet(parts: Path, out: Path, n_chunks: int, schema: Any) -> None:
    """Concatenate the chunk files into ``out`` (one row group each), atomically."""
    import pyarrow.parquet as pq

    from embeddings._atomic import atomic_open

    with atomic_open(out) as fh:
        writer = pq.ParquetWriter(fh, schema, **_PARQUET_WRITE)
        try:
            for i in range(n_chunks):
                writer.write_table(pq.read_table(parts / _part_name(i), schema=schema))
        finally:
            writer.close()


# ------------------------------------------------------------------ reading
def read_vectors(path: str | os.PathLike[str], *, mmap: bool = True) -> np.ndarray:
    """Read vectors written by :func:`encode_corpus` or :func:`embeddings.distributed.encode`.

    Args:
        path: a ``.npy`` file, a vector parquet file, or a folder of
            ``part-*.parquet`` files (read in name order).
        mmap: memory-map a ``.npy`` file instead of reading it.

    Returns:
        The float32 ``(n, dim)`` array, rows in ``id`` order.

    Raises:
        InvalidInputError: a missing path, or parquet files whose ``id`` column is
            not ``0 .. n-1`` in order.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.npy"
        >>> np.save(p, np.eye(2, dtype=np.float32))
        >>> read_vectors(p).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".npy":
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    if path.is_dir():
        files = sorted(path.glob("part-*.parquet"))
        if not files:
            raise InvalidInputError(f"{path}: no part-*.parquet files")
    elif path.is_file():
        files = [path]
    else:
        raise InvalidInputError(f"{path}: no such file or folder")
    import pyarrow.parquet as pq

    blocks, expected = [], 0
    for f in files:
        table = pq.read_table(f, columns=[ID_COLUMN, VECTOR_COLUMN])
        ids = table.column(ID_COLUMN).to_numpy()
        if ids.size and not np.array_equal(ids, np.arange(expected, expected + ids.size)):
            raise InvalidInputError(
                f"{f}: ids are not {expected}..{expected + ids.size - 1} in order"
            )
        expected += ids.size
        col = table.column(VECTOR_COLUMN).combine_chunks()
        dim = col.type.list_size
        blocks.append(col.flatten().to_numpy().astype(np.float32, copy=False).reshape(-1, dim))
    return np.ascontiguousarray(np.concatenate(blocks)) if blocks else np.empty((0, 0), np.float32)
