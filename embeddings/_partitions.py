"""Partitions of a text file that each worker reads itself, planned without reading it.

A ``.txt`` or ``.jsonl`` file is cut into byte ranges of ``partition_bytes`` from its
size alone; a text belongs to the range in which its line *starts*, so a reader of
``[start, end)`` skips the line that ``start`` falls inside (unless ``start`` begins a
line) and reads on past ``end`` to finish the last line it started.  Every line is
read by exactly one range, whatever the cut points: ``\\r\\n`` endings, empty lines
(a text each in ``.txt``; skipped in ``.jsonl``) and a last line without a newline
included.  A ``.parquet`` file is cut at row-group boundaries, planned from its
footer.  Row numbers of byte ranges come from :func:`count_range`, run where the file
is read.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
    >>> _ = p.write_bytes(b"a cat\\r\\n\\nstocks fell")
    >>> ranges = byte_ranges(p.stat().st_size, 4)
    >>> [t for start, end in ranges for t in range_texts(p, start, end)]
    ['a cat', '', 'stocks fell']
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from embeddings._checks import check_int
from embeddings._text_sources import decode_line

__all__ = [
    "byte_ranges",
    "default_partition_bytes",
    "range_lines",
    "range_texts",
    "count_range",
    "row_group_plan",
]

#: the largest default partition of a ``.txt``/``.jsonl`` file, in bytes
DEFAULT_PARTITION_BYTES = 16 << 20
#: the smallest default partition: below it, a task's own cost outweighs its texts
MIN_PARTITION_BYTES = 64 << 10
#: default partitions per worker thread, so that a slow partition does not idle the rest
PARTITIONS_PER_THREAD = 4


def default_partition_bytes(size: int, threads: int) -> int:
    """Bytes per partition when none are given: a file of ``size`` bytes is cut so that
    each of ``threads`` worker threads gets :data:`PARTITIONS_PER_THREAD` partitions,
    within [:data:`MIN_PARTITION_BYTES`, :data:`DEFAULT_PARTITION_BYTES`].

    Example:
        >>> default_partition_bytes(12_000_000, 2)   # 8 partitions of 1.5 MB
        1500000
        >>> default_partition_bytes(10_000, 2) == MIN_PARTITION_BYTES
        True
    """
    share = -(-int(size) // (PARTITIONS_PER_THREAD * max(1, int(threads))))
    return max(MIN_PARTITION_BYTES, min(DEFAULT_PARTITION_BYTES, share))


def byte_ranges(size: int, partition_bytes: int) -> list[tuple[int, int]]:
    """``[start, end)`` ranges of ``partition_bytes`` covering a file of ``size`` bytes.

    Example:
        >>> byte_ranges(10, 4)
        [(0, 4), (4, 8), (8, 10)]
    """
    size = check_int("size", size, minimum=0)
    step = check_int("partition_bytes", partition_bytes)
    return [(start, min(start + step, size)) for start in range(0, size, step)]


def range_lines(path: str | os.PathLike[str], start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """``(offset, raw line)`` of every line that starts in ``[start, end)``.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
        >>> _ = p.write_bytes(b"ab\\ncd\\n")
        >>> list(range_lines(p, 1, 6))
        [(3, b'cd\\n')]
    """
    with open(path, "rb") as fh:
        pos = start
        if start > 0:
            fh.seek(start - 1)
            if fh.read(1) != b"\n":  # ``start`` is inside a line of the previous range
                pos += len(fh.readline())
        while pos < end:
            raw = fh.readline()
            if not raw:
                return
            yield pos, raw
            pos += len(raw)


def range_texts(
    path: str | os.PathLike[str], start: int, end: int, key: str | None = None
) -> list[str]:
    """The texts of the lines starting in ``[start, end)``: lines of a ``.txt`` file,
    or the ``key`` value of each non-blank line of a ``.jsonl`` file (``key`` given).

    Raises:
        InvalidInputError: a line that is not UTF-8 or not a JSON object with a string
            ``key``; the message names the file and the line's byte offset.
    """
    where = Path(path)
    return [
        decode_line(raw, key, where, -1, offset)
        for offset, raw in range_lines(path, start, end)
        if key is None or raw.strip()
    ]


def count_range(path: str | os.PathLike[str], start: int, end: int, jsonl: bool) -> int:
    """How many texts :func:`range_texts` reads from ``[start, end)`` (without decoding).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
        >>> _ = p.write_bytes(b"a\\n\\nb")
        >>> count_range(p, 0, 5, jsonl=False)
        3
    """
    return sum(1 for _, raw in range_lines(path, start, end) if not jsonl or raw.strip())


def row_group_plan(metadata: Any, partition_size: int) -> list[dict[str, Any]]:
    """Consecutive parquet row groups gathered into partitions of about
    ``partition_size`` rows (a bigger row group is a partition of its own).

    Args:
        metadata: the file's ``pyarrow.parquet.FileMetaData`` (its footer).
        partition_size: rows per partition, at most, unless one row group is bigger.

    Returns:
        ``{"row_groups": [...], "first_row": r, "rows": n}`` per partition.
    """
    size = check_int("partition_size", partition_size)
    plan: list[dict[str, Any]] = []
    groups: list[int] = []
    first = rows = 0
    for g in range(metadata.num_row_groups):
        n = int(metadata.row_group(g).num_rows)
        if groups and rows + n > size:
            plan.append({"row_groups": groups, "first_row": first, "rows": rows})
            groups, first, rows = [], first + rows, 0
        groups.append(g)
        rows += n
    if groups and rows:
        plan.append({"row_groups": groups, "first_row": first, "rows": rows})
    return plan


def row_group_texts(path: str | os.PathLike[str], column: str, groups: list[int]) -> list[str]:
    """The strings of ``column`` in the given row groups of a parquet file.

    Raises:
        InvalidInputError: a null value (the message names the file and the column).
    """
    import pyarrow.parquet as pq

    from embeddings.errors import InvalidInputError

    table = pq.ParquetFile(path).read_row_groups(groups, columns=[column], use_threads=False)
    col = table.column(0)
    if col.null_count:
        raise InvalidInputError(
            f"{path}: column {column!r} holds a null in row groups {groups}; every row "
            "must hold a string (use '' for an empty text)"
        )
    return [str(t) for t in col.to_pylist()]
