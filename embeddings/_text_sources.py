"""Text sources of out-of-core encoding: files of texts read in chunks, never whole.

:class:`TextSource` reads ``.txt`` (one text per line), ``.csv`` / ``.tsv`` (a header
line, then one row per text; quoting as RFC 4180, except that a quoted TSV value ends
on its line), ``.jsonl`` (one JSON object per line) and ``.parquet`` (a string
column, one row group at a time).  :func:`read_delimited` reads a whole TSV/CSV file
with the same rule (own tasks of ``bench --task-file``).
It counts the texts in one streaming pass, yields them in chunks (resuming at a row
or a byte offset), and gives the input's identity for resume checks.  Also here: the
CSV header check and the scanners that name the line where a quoted value opens that
is never closed.  Error messages name the file and the line or row, and never
quote the file's content.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_int
from embeddings._delimited import (
    _READ_BLOCK,
    _UNCLOSED,
    _arrow_reason,
    _delimited_options,
    _first_record_end,
    _open_quote_line,
    _unclosed,
    read_delimited,
)
from embeddings.errors import InvalidInputError, InvalidParameterError

__all__ = [
    "TextSource",
    "SourceKind",
    "SOURCE_KINDS",
    "DEFAULT_COLUMN",
    "decode_line",
    "read_delimited",
]

SourceKind = Literal["txt", "csv", "tsv", "jsonl", "parquet"]

#: file extension -> source kind
SOURCE_KINDS: dict[str, SourceKind] = {
    ".txt": "txt",
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
}
DEFAULT_COLUMN = "text"
#: bytes of the input hashed into its identity
_HEAD_BYTES = 1 << 20
#: the longest CSV/TSV header line read
_HEADER_BYTES = 1 << 20
#: a header is listed in messages only when it looks like column names
_SHOWN_COLUMNS, _SHOWN_NAME_CHARS = 50, 64
_PARQUET_BATCH = 1 << 16


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
    def fingerprint(self, *, read_head: bool = True) -> dict[str, Any]:
        """The input's identity: resolved path, size, mtime and sha256 of its first MiB.

        Args:
            read_head: hash the first MiB; ``False`` identifies the file by its
                metadata only, without reading it.

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
            >>> _ = p.write_text("a\\n")
            >>> TextSource(p).fingerprint()["size"]
            2
        """
        st = self.path.stat()
        head = None
        if read_head:
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
                buf.append(decode_line(raw, col if jsonl else None, self.path, lineno, line_start))
                row += 1
                if len(buf) == chunk_size:
                    yield buf, offset
                    buf = []
            if buf:
                yield buf, offset

    # -------------------------------------------------------------- CSV
    def _csv_options(self) -> tuple[Any, Any]:
        return _delimited_options("\t" if self.kind == "tsv" else ",")

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
                header = next(csv.reader([text], delimiter="\t"), [])
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
        sep = "\t" if self.kind == "tsv" else ","
        line = _open_quote_line(self.path, sep)
        if line is not None:
            return InvalidInputError(f"{self.path}:{line}: {_unclosed(sep)}")
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
        sep = "\t" if self.kind == "tsv" else ","
        line = _open_quote_line(self.path, sep)
        if line is not None:
            raise InvalidInputError(f"{self.path}:{line}: {_unclosed(sep)}")

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
        return _skip_rows(self._parquet_rows(pf, groups, first), skip)

    def _parquet_rows(self, pf: Any, groups: list[int], row: int) -> Iterator[list[str]]:
        """The texts of ``groups`` (the first at row ``row``), checked for nulls."""
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
            yield texts


def decode_line(raw: bytes, key: str | None, path: Path, lineno: int, offset: int) -> str:
    """The text of one raw line (``\\n``, ``\\r\\n`` or no ending): a ``.txt`` line, or
    the value of ``key`` in a JSONL object when ``key`` is given.

    Raises:
        InvalidInputError: not UTF-8, or not a JSON object with a string ``key``; the
            message names ``path`` and the line (``lineno`` >= 1) or its byte ``offset``.

    Example:
        >>> decode_line(b'{"text": "a cat"}\\r\\n', "text", Path("t.jsonl"), 1, 0)
        'a cat'
    """
    line = raw[:-1] if raw.endswith(b"\n") else raw
    if line.endswith(b"\r"):
        line = line[:-1]
    where = f"{path}:{lineno}" if lineno >= 0 else f"{path} (line at byte {offset})"
    try:
        text = line.decode("utf-8")
        return text if key is None else _json_text(text, key)
    except UnicodeDecodeError as err:
        raise InvalidInputError(
            f"{where}: not valid UTF-8 ({err.reason} at byte {err.start} of the line); "
            "re-encode the file as UTF-8"
        ) from None
    except InvalidInputError as err:
        raise InvalidInputError(f"{where}: {err}") from None


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
