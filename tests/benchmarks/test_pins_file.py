"""The pins are a data file (``benchmarks/tasks/pins.json``), checked when loaded."""

from __future__ import annotations

import copy
import doctest
import fnmatch
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from benchmarks.tasks import _pins
from benchmarks.tasks._errors import DataFormatError
from benchmarks.tasks._pins import FILES, PINS_FILE, RAW_FILES, load_pins
from benchmarks.tasks.metadata import DataFile, RawFile, Source
from tests.security.limits import assert_bounded, run_limited

REPO = Path(__file__).resolve().parents[2]
SECRET = "SECRET-MARKER-0042"
HEX = "ab" * 32


def _doc() -> dict[str, Any]:
    return {
        "format": 1,
        "about": "test pins",
        "files": {"MR/all.tsv": {"sha256": HEX, "rows": 3, "bytes": 40}},
        "raw_files": {
            "MR": [
                {
                    "name": "rt-polarity.neg",
                    "sha256": HEX,
                    "required": True,
                    "sources": [
                        "https://example.org/rt-polarity.neg",
                        {"url": "https://example.org/a.zip", "member": "a/rt-polarity.neg"},
                    ],
                }
            ]
        },
    }


def _write(tmp_path: Path, doc: Any, name: str = "pins.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def _error(tmp_path: Path, doc: Any) -> str:
    path = _write(tmp_path, doc)
    with pytest.raises(DataFormatError) as info:
        load_pins(path)
    message = str(info.value)
    assert str(path) in message
    assert SECRET not in message
    return message


# ---------------------------------------------------------------- the shipped file


def test_the_shipped_pins_are_the_module_pins() -> None:
    files, raw = load_pins()
    assert files == FILES and raw == RAW_FILES
    assert all(isinstance(f, DataFile) for f in FILES.values())
    assert all(isinstance(r, RawFile) for rs in RAW_FILES.values() for r in rs)
    assert len(FILES) == 53 and sum(len(v) for v in RAW_FILES.values()) == 100
    # sources that are archive members keep their member, plain URLs stay strings
    trec = {r.name: r for r in RAW_FILES["TREC"]}["TREC.test"]
    assert isinstance(trec.sources[0], str)
    assert trec.sources[1] == Source(
        "https://raw.githubusercontent.com/nltk/nltk_data/"
        "5db857e6f7df11eabb5e5665836db9ec8df07e28/packages/corpora/qc.zip",
        member="qc/test.txt",
    )


def test_the_pins_are_package_data() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["benchmarks"]
    relative = PINS_FILE.relative_to(REPO / "benchmarks").as_posix()
    assert any(fnmatch.fnmatch(relative, p) for p in patterns), (relative, patterns)
    # the table is data: the loader holds no pinned sha256 of its own
    assert not re.search(r"[0-9a-f]{64}", (REPO / "benchmarks/tasks/_pins.py").read_text())


def test_docstring_examples() -> None:
    result = doctest.testmod(_pins)
    assert result.failed == 0 and result.attempted > 0


def test_a_valid_file_loads(tmp_path: Path) -> None:
    files, raw = load_pins(_write(tmp_path, _doc()))
    assert files == {"MR/all.tsv": DataFile("MR/all.tsv", HEX, rows=3, nbytes=40)}
    assert raw["MR"][0].resolved_sources()[1].member == "a/rt-polarity.neg"


# ---------------------------------------------------------------- malformed entries


def _set(doc: dict[str, Any], where: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = where.split("|")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


BAD_FIELDS = [
    ("files|MR/all.tsv|sha256", HEX[:-1], "files['MR/all.tsv'].sha256"),
    ("files|MR/all.tsv|sha256", HEX.upper(), "64 lowercase hex"),
    ("files|MR/all.tsv|sha256", SECRET + "x" * 46, "a string of 64 characters"),
    ("files|MR/all.tsv|sha256", 123, "an integer"),
    ("files|MR/all.tsv|rows", 0, "files['MR/all.tsv'].rows: expected a positive integer"),
    ("files|MR/all.tsv|rows", -5, "positive integer, got -5"),
    ("files|MR/all.tsv|rows", True, "positive integer, got a boolean"),
    ("files|MR/all.tsv|bytes", 1.5, "files['MR/all.tsv'].bytes"),
    ("files|MR/all.tsv|bytes", "40", "got a string of 2 characters"),
    ("files|MR/all.tsv|bytes", None, "got null"),
    ("raw_files|MR|0|name", "../evil", "raw_files['MR'][0].name"),
    ("raw_files|MR|0|name", "sub/evil", "no '/'"),
    ("raw_files|MR|0|name", "", "raw_files['MR'][0].name"),
    ("raw_files|MR|0|sha256", None, "raw_files['MR'][0].sha256"),
    ("raw_files|MR|0|required", "yes", "true or false"),
    ("raw_files|MR|0|sources", [], "non-empty list"),
    ("raw_files|MR|0|sources", "https://example.org/x", "non-empty list"),
    ("raw_files|MR|0|sources|0", "file:///etc/passwd", "sources[0]: expected an http(s) URL"),
    ("raw_files|MR|0|sources|0", "ftp://example.org/" + SECRET, "http(s) URL"),
    ("raw_files|MR|0|sources|0", "https://example.org/a b", "without spaces"),
    ("raw_files|MR|0|sources|0", "https://e.org/" + "x" * 5000, "at most 2048 characters"),
    ("raw_files|MR|0|sources|0", 7, "sources[0]: expected an object, got an integer"),
    ("raw_files|MR|0|sources|1|member", "", "sources[1].member"),
    ("raw_files|MR|0|sources|1|member", "a\x00b", "without NUL"),
    ("raw_files|MR|0|sources|1|sha256", "xyz", "sources[1].sha256"),
    ("raw_files|MR|0|sources|1|url", "http:/x", "sources[1].url"),
    ("raw_files|MR", [], "raw_files['MR']: expected a non-empty list"),
    ("raw_files|MR", {"name": "x"}, "expected a non-empty list, got an object"),
    ("format", 2, "format: expected 1, got 2"),
    ("format", True, "format: expected 1"),
    ("format", 1.0, "format: expected 1"),
    ("about", 5, "about"),
    ("files", [], "files: expected an object, got a list"),
]


@pytest.mark.parametrize(("where", "value", "expected"), BAD_FIELDS)
def test_a_malformed_field_names_the_entry(
    tmp_path: Path, where: str, value: Any, expected: str
) -> None:
    assert expected in _error(tmp_path, _set(_doc(), where, value))


@pytest.mark.parametrize(
    "key",
    ["../etc/passwd", "/abs/x.tsv", "MR/../../x.tsv", "MR/./x.tsv", "MR\\x.tsv", "x.tsv",
     "MR//x.tsv", "MR/x.tsv/", "MR/\u0430.tsv", "a/b/c/d/e.tsv", SECRET + "/" + "x" * 200],
)  # fmt: skip
def test_a_path_outside_the_data_folder_is_refused(tmp_path: Path, key: str) -> None:
    doc = _doc()
    doc["files"] = {key: doc["files"]["MR/all.tsv"]}
    message = _error(tmp_path, doc)
    assert "relative path" in message and len(message) < 400


@pytest.mark.parametrize("folder", ["..", "../MR", "a/b", "", ".hidden"])
def test_a_raw_folder_outside_the_data_folder_is_refused(tmp_path: Path, folder: str) -> None:
    doc = _doc()
    doc["raw_files"] = {folder: doc["raw_files"]["MR"]}
    assert "data folder name" in _error(tmp_path, doc)


def test_missing_unknown_and_repeated_fields(tmp_path: Path) -> None:
    doc = _doc()
    del doc["files"]["MR/all.tsv"]["rows"]
    assert "files['MR/all.tsv']: missing field(s) ['rows']" in _error(tmp_path, doc)
    doc = _set(_doc(), "files|MR/all.tsv|" + SECRET * 4, 1)
    message = _error(tmp_path, doc)
    assert "unknown field(s) <a string of 72 characters>" in message
    assert "allowed: ['bytes', 'rows', 'sha256']" in message
    doc = _set(_doc(), "exec", "import os")
    assert "top level: unknown field(s) 'exec'" in _error(tmp_path, doc)
    entry = _doc()["raw_files"]["MR"][0]
    doc = _set(_doc(), "raw_files|MR", [entry, entry])
    assert "raw_files['MR'][1].name: 'rt-polarity.neg' is listed twice" in _error(tmp_path, doc)
    text = json.dumps(_doc()).replace('"rows": 3', '"rows": 3, "rows": 4')
    assert "'rows' appears twice" in _error(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"format": NaN}', "NaN is not a JSON number"),
        ('{"format": Infinity}', "Infinity is not a JSON number"),
        ('{"format": 1, "files": {', "invalid JSON"),
        ("[1, 2, 3]", "top level: expected an object, got a list"),
        ("", "invalid JSON"),
        ('{"format": ' + "9" * 30 + "}", "an integer of 30 digits"),
    ],
)
def test_not_json_or_not_an_object(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "pins.json"
    path.write_bytes(b'{"about": "\xff\xfe' + SECRET.encode() + b'"}')
    with pytest.raises(DataFormatError, match="not UTF-8 JSON") as info:
        load_pins(path)
    assert SECRET not in str(info.value)


# ---------------------------------------------------------------- what is read at all


def test_only_a_regular_file_of_bounded_size_is_read(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="must be a regular file"):
        load_pins(tmp_path)
    with pytest.raises(DataFormatError, match="must be a regular file"):
        load_pins("/dev/zero")
    fifo = tmp_path / "pins.fifo"
    os.mkfifo(fifo)
    with pytest.raises(DataFormatError, match="must be a regular file"):
        load_pins(fifo)  # refused without blocking on the open
    with pytest.raises(DataFormatError, match="cannot read the pins file"):
        load_pins(tmp_path / "absent.json")
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(_pins.MAX_PINS_BYTES + 1)  # sparse: nothing is allocated
    with pytest.raises(DataFormatError, match="at most 1048576 are read"):
        load_pins(big)


def test_hostile_documents_are_bounded(tmp_path: Path) -> None:
    limit = _pins.MAX_PINS_BYTES
    (tmp_path / "deep.json").write_text("[" * (limit - 1))
    (tmp_path / "digits.json").write_text('{"format": ' + "7" * (limit - 20) + "}")
    many = {f"F{i}/x.tsv": {"sha256": HEX, "rows": 1, "bytes": 1} for i in range(8000)}
    (tmp_path / "many.json").write_text(json.dumps({"format": 1, "files": many}))
    (tmp_path / "nested.json").write_text('{"format": 1, "files": ' + "{" * 100000)
    body = f"""
from benchmarks.tasks._pins import load_pins
from benchmarks.tasks._errors import DataFormatError
names = []
for name in ("deep", "digits", "many", "nested"):
    try:
        load_pins({str(tmp_path)!r} + "/" + name + ".json")
    except DataFormatError as err:
        names.append(str(err).split(".json: ", 1)[1][:40])
assert len(names) == 4, names
raise DataFormatError("; ".join(names))
"""
    result = run_limited(body, imports="import benchmarks.tasks._pins", memory_mb=512)
    assert_bounded(result, allowed=("DataFormatError",))
    assert "nested too deeply" in result.message and "digits" in result.message
