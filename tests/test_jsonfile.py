"""The one bounded JSON reader: every refusal is the caller's error class naming the file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from benchmarks.tasks._errors import DataFormatError
from embeddings._jsonfile import read_json_file
from embeddings.errors import ModelFormatError
from embeddings.formats import _files

SECRET = "s3cr3t-content"


def _write(tmp_path: Path, content: bytes, name: str = "f.json") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_reads_a_json_value(tmp_path: Path) -> None:
    path = _write(tmp_path, b'{"a": [1, 2.5, null]}')
    assert read_json_file(path, what="config", limit=100) == {"a": [1, 2.5, None]}
    assert _files.read_json_file is read_json_file  # the formats module offers the same reader


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"a": "\xff' + SECRET.encode() + b'"}', "not UTF-8 JSON .invalid byte at offset 7"),
        (b'{"a": ' + SECRET.encode() + b"}", r"invalid JSON syntax, Expecting value at line 1"),
        (b"[" * 200_000, "nested too deeply"),
        (b'{"a": ' + b"9" * 10_000 + b"}", "a number too long"),
        (b" " * 101, r"101 bytes, too big for a pins file \(more than 100 bytes: at most 100"),
    ],
)
def test_errors_are_the_callers_class_and_name_the_file(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = _write(tmp_path, content)
    limit = 100 if len(content) == 101 else 1 << 20
    with pytest.raises(DataFormatError, match=expected) as info:
        read_json_file(path, what="pins file", limit=limit, error=DataFormatError)
    assert str(info.value).startswith(f"{path}: ")
    assert SECRET not in str(info.value)
    with pytest.raises(ModelFormatError, match=expected):  # the default class
        read_json_file(path, what="pins file", limit=limit)


def test_only_regular_files_are_read_and_never_block(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    start = time.perf_counter()
    for path, kind in [(fifo, "a FIFO"), (tmp_path, "a folder"), (Path("/dev/zero"), "a device")]:
        if not path.exists():
            continue
        with pytest.raises(ModelFormatError, match=f"is {kind}.*must be a regular file"):
            read_json_file(path, what="catalogue", limit=100)
    assert time.perf_counter() - start < 2
    with pytest.raises(ModelFormatError, match="cannot read the catalogue .No such file"):
        read_json_file(tmp_path / "absent.json", what="catalogue", limit=100)


def test_a_link_is_refused_when_links_are_not_followed(tmp_path: Path) -> None:
    target = _write(tmp_path, b"[1]", "target.json")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert read_json_file(link, what="result", limit=100) == [1]
    with pytest.raises(ModelFormatError, match="symbolic link"):
        read_json_file(link, what="result", limit=100, follow_links=False)


def test_strict_refuses_repeated_keys_and_non_numbers(tmp_path: Path) -> None:
    dup = _write(tmp_path, b'{"k": 1, "k": 2}', "dup.json")
    nan = _write(tmp_path, b'{"k": NaN}', "nan.json")
    assert read_json_file(dup, what="x", limit=100) == {"k": 2}  # plain JSON keeps the last
    with pytest.raises(ModelFormatError, match="'k' appears twice"):
        read_json_file(dup, what="x", limit=100, strict=True)
    with pytest.raises(ModelFormatError, match="NaN is not a JSON number"):
        read_json_file(nan, what="x", limit=100, strict=True)
    odd = _write(tmp_path, ('{"' + SECRET + ' !": 1, "' + SECRET + ' !": 2}').encode(), "o.json")
    with pytest.raises(ModelFormatError, match="a key appears twice") as info:
        read_json_file(odd, what="x", limit=100, strict=True)
    assert SECRET not in str(info.value)
