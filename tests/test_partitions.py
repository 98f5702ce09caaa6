"""Byte-range partitions of .txt/.jsonl files: every line read once, whatever the cuts."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from embeddings._partitions import byte_ranges, count_range, range_texts, row_group_plan
from embeddings._text_sources import TextSource
from embeddings.errors import InvalidInputError

LINES = ["a cat", "", "stocks fell\r", "é ü", "", "last"]  # "\r": a CRLF line ending


def _all_texts(path, column=None):
    return [t for chunk, _ in TextSource(path, column).chunks(1000) for t in chunk]


def _random_cuts(rng, size):
    points = sorted(rng.sample(range(1, size), rng.randint(0, min(size - 1, 8))))
    edges = [0, *points, size]
    return list(itertools.pairwise(edges))


@pytest.mark.parametrize("ending", ["\n", ""])  # the last line with or without a newline
def test_random_cut_points_read_every_line_exactly_once(tmp_path, ending):
    path = tmp_path / "t.txt"
    body = "\n".join(LINES * 5) + ending
    path.write_bytes(body.encode("utf-8"))
    expected = _all_texts(path)  # the single-process reader
    size = path.stat().st_size
    rng = random.Random(7)
    for _ in range(300):
        ranges = _random_cuts(rng, size)
        got = [t for a, b in ranges for t in range_texts(path, a, b)]
        assert got == expected
        assert sum(count_range(path, a, b, jsonl=False) for a, b in ranges) == len(expected)


def test_jsonl_ranges_skip_blank_lines_and_name_the_byte_of_a_bad_line(tmp_path):
    path = tmp_path / "t.jsonl"
    rows = [json.dumps({"text": f"row {i}"}) for i in range(20)]
    path.write_bytes(("\r\n\n".join(rows) + "\r\n").encode())
    expected = [f"row {i}" for i in range(20)]
    size = path.stat().st_size
    rng = random.Random(3)
    for _ in range(100):
        ranges = _random_cuts(rng, size)
        assert [t for a, b in ranges for t in range_texts(path, a, b, "text")] == expected
        assert sum(count_range(path, a, b, jsonl=True) for a, b in ranges) == 20
    path.write_bytes(b'{"text": "ok"}\n{"text": 3}\n')
    with pytest.raises(InvalidInputError, match=r"line at byte 15\): 'text' must be a string"):
        range_texts(path, 0, 30, "text")


def test_the_plan_needs_only_the_size():
    assert byte_ranges(0, 4) == []
    assert byte_ranges(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert byte_ranges(10, 100) == [(0, 10)]


def test_row_groups_are_gathered_up_to_the_partition_size(tmp_path):
    import pandas as pd
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pd.DataFrame({"text": [str(i) for i in range(25)]}).to_parquet(path, row_group_size=10)
    plan = row_group_plan(pq.ParquetFile(path).metadata, 20)
    assert plan == [
        {"row_groups": [0, 1], "first_row": 0, "rows": 20},
        {"row_groups": [2], "first_row": 20, "rows": 5},
    ]
    # a row group bigger than the partition size is a partition of its own
    assert [p["rows"] for p in row_group_plan(pq.ParquetFile(path).metadata, 3)] == [10, 10, 5]
