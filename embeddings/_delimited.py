"""Delimited text files (TSV, CSV): one quoting rule, and the scanners behind its errors.

:func:`read_delimited` reads a whole file with a header into a DataFrame of strings
(own tasks of ``bench --task-file``); :class:`~embeddings._text_sources.TextSource`
streams one column of the same files with the same pyarrow options
(:func:`_delimited_options`).  The rule: a field that starts with ``"`` is quoted and
``""`` inside it is a literal quote; a quoted CSV value may span lines, a quoted TSV
value ends on its line.  A quote left open is an error naming the line where it
opens, found by the scanners here; pyarrow alone would join the following rows into
one text.  Messages name the file and the line, and never quote its content.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path
from typing import Any

from embeddings.errors import InvalidInputError, InvalidParameterError

__all__ = ["read_delimited"]

#: bytes read at a time (pyarrow's block, the scanners' block)
_READ_BLOCK = 1 << 22


def _delimited_options(delimiter: str) -> tuple[Any, Any]:
    """pyarrow's parse and read options of a delimited file: the one quoting rule.

    A field that starts with ``"`` is quoted, ``""`` inside it is a literal quote (as
    pandas, Excel and RFC 4180 write them).  In a TAB-separated file a quoted value
    ends on its line; a quote it leaves open is an error naming that line, never rows
    joined into one text.  With any other separator a quoted value may span lines, and
    a quote the file never closes is an error naming the line where it opens.
    """
    import pyarrow.csv as pacsv

    parse = pacsv.ParseOptions(
        delimiter=delimiter, quote_char='"', newlines_in_values=delimiter != "\t"
    )
    return parse, pacsv.ReadOptions(block_size=_READ_BLOCK, use_threads=False)


def read_delimited(path: str | os.PathLike[str], sep: str = "\t") -> Any:
    """A whole TSV/CSV file with a header line, every column as strings (``''`` for an
    empty field), read with the quoting rule of :class:`TextSource`.

    Args:
        path: the file (UTF-8, optionally with a BOM).
        sep: the one-character field separator; ``"\\t"`` (no quoting) or another
            (RFC 4180 quoting).

    Returns:
        A ``pandas.DataFrame``.

    Raises:
        InvalidInputError: a quote opened and never closed (naming its line), rows
            whose field count differs from the header's, or an unreadable file.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.tsv"
        >>> _ = p.write_text('label\\ttext\\n1\\t"a ""fine"" cat"\\n0\\tstocks fell\\n')
        >>> read_delimited(p)["text"].tolist()
        ['a "fine" cat', 'stocks fell']
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    where = Path(path)
    if not isinstance(sep, str) or len(sep) != 1 or sep in '\r\n"':
        raise InvalidParameterError(f"sep must be one character other than a quote, got {sep!r}")
    parse, read = _delimited_options(sep)
    try:
        names = pacsv.open_csv(where, read_options=read, parse_options=parse).schema.names
        convert = pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        table = pacsv.read_csv(
            where, read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid as err:
        line = _open_quote_line(where, sep)
        if line is not None:
            raise InvalidInputError(f"{where}:{line}: {_unclosed(sep)}") from None
        kind = "tsv" if sep == "\t" else "csv"
        raise InvalidInputError(f"{where}: cannot read as .{kind}: {_arrow_reason(err)}") from None
    line = _open_quote_line(where, sep)
    if line is not None:
        raise InvalidInputError(f"{where}:{line}: {_unclosed(sep)}")
    return table.to_pandas()


def _unclosed(sep: str) -> str:
    if sep != "\t":
        return _UNCLOSED
    return (
        "a quoted value opens here and is not closed on its line (a quoted value of a "
        '.tsv ends on its line); close it, write a quote inside it twice (""), or do not '
        "start the field with a quote"
    )


def _open_quote_line(path: Path, sep: str) -> int | None:
    """The line where a quoted value opens that is never closed (on its line, for a
    TAB-separated file), or ``None``."""
    return _tsv_open_quote_line(path) if sep == "\t" else _unclosed_quote_line(path)


def _tsv_open_quote_line(path: Path) -> int | None:
    """The first line of a TAB-separated file where a field starts with a quote that
    the line does not close, or ``None``; lines without a quote are skipped fast."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if b'"' not in raw:
                continue
            line = raw.rstrip(b"\r\n")
            if lineno == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8) :]
            start = 0
            while start >= 0:
                end = start
                if line[start : start + 1] == b'"':
                    end = start + 1
                    while True:
                        end = line.find(b'"', end)
                        if end < 0:
                            return lineno
                        if line[end + 1 : end + 2] != b'"':
                            break
                        end += 2
                start = line.find(b"\t", end)
                start = start + 1 if start >= 0 else -1
    return None


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
