"""Pinned files: every normalised TSV (from the data README) and every raw source file.

The pins are data, kept in ``pins.json`` next to this module and checked when it is
loaded: every field's type, sha256 values of 64 lowercase hex characters, row counts
and sizes that are positive integers, paths that stay inside the data folder, and
``http(s)`` source URLs.  A file that breaks any of these raises
:class:`~benchmarks.tasks.DataFormatError` naming the file, the entry and the field.

The normalised sha256/rows/bytes are copied from the data README (authoritative).
The raw sha256 are those of the files kept under ``<folder>/raw/`` in that data tree,
which the README states are byte-identical to the files in the pinned source
repositories; so they pin the bytes the download fetches.  GitHub snapshot URLs
(``raw.githubusercontent.com/<repo>/<commit>/...``) name the commits of the README's
provenance table; official release URLs (SentEval's download script) follow as
fallbacks and are checked against the same sha256.

Example:
    >>> FILES["MR/all.tsv"].rows
    10662
    >>> [f.name for f in RAW_FILES["CR"]]
    ['custrev.neg', 'custrev.pos']
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from benchmarks.tasks._errors import DataFormatError
from benchmarks.tasks.metadata import DataFile, RawFile, Source
from embeddings._jsonfile import read_json_file

__all__ = ["FILES", "PINS_FILE", "RAW_FILES", "load_pins"]

PINS_FILE = Path(__file__).with_name("pins.json")
"""The pins shipped with the package."""

PINS_FORMAT = 1
"""The layout version of ``pins.json``."""

MAX_PINS_BYTES = 1024 * 1024
"""The largest pins file read (the shipped one is about 50 kB)."""

_MAX_TEXT = 2048  # longest URL, member or description field
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NAME = r"[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}"
_FILE_NAME = re.compile(_NAME)
_REL_PATH = re.compile(rf"{_NAME}(?:/{_NAME}){{1,3}}")

Pins = tuple[dict[str, DataFile], dict[str, tuple[RawFile, ...]]]


_SAFE_KEY = re.compile(r"[A-Za-z0-9_.+/-]{1,64}")


def _short(value: object) -> str:
    """A key for a message: its repr when it is a short plain name, else what it is."""
    if isinstance(value, str) and _SAFE_KEY.fullmatch(value):
        return repr(value)
    return f"<{_kind(value)}>"


def _kind(value: object) -> str:
    """What a value is, without echoing it: its JSON type (and length for text)."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    names.update({int: "an integer", float: "a number", type(None): "null"})
    kind = names.get(type(value), type(value).__name__)
    return f"{kind} of {len(value)} characters" if isinstance(value, str) else kind


class _Reader:
    """Checks one parsed pins document, naming the file and entry of every problem."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> DataFormatError:
        return DataFormatError(f"{self.path}: {where}: {problem}")

    def obj(self, value: Any, where: str, required: set[str], optional: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {_kind(value)}")
        missing = sorted(required - set(value))
        if missing:
            raise self.fail(where, f"missing field(s) {missing}")
        unknown = sorted(set(value) - required - optional)
        if unknown:
            shown = [_short(k) for k in unknown[:3]]
            allowed = sorted(required | optional)
            raise self.fail(where, f"unknown field(s) {', '.join(shown)}; allowed: {allowed}")
        return value

    def sha256(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise self.fail(
                where, f"expected 64 lowercase hex characters (a sha256), got {_kind(value)}"
            )
        return value

    def positive(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            number = isinstance(value, int | float) and not isinstance(value, bool)
            got = repr(value) if number else _kind(value)
            raise self.fail(where, f"expected a positive integer, got {got}")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value or len(value) > _MAX_TEXT or "\x00" in value:
            raise self.fail(
                where,
                f"expected a non-empty string of at most {_MAX_TEXT} characters without NUL, "
                f"got {_kind(value)}",
            )
        return value

    def url(self, value: Any, where: str) -> str:
        url = self.text(value, where)
        if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
            raise self.fail(where, "expected an http(s) URL without spaces")
        return url

    def data_file(self, key: Any, value: Any) -> DataFile:
        where = f"files[{_short(key)}]"
        if not isinstance(key, str) or not _REL_PATH.fullmatch(key):
            raise self.fail(
                where, "the key must be a relative path '<folder>/<file>' of letters, digits "
                "and '._+-' (no '..', no absolute path)"
            )  # fmt: skip
        entry = self.obj(value, where, {"sha256", "rows", "bytes"}, set())
        return DataFile(
            key,
            self.sha256(entry["sha256"], f"{where}.sha256"),
            rows=self.positive(entry["rows"], f"{where}.rows"),
            nbytes=self.positive(entry["bytes"], f"{where}.bytes"),
        )

    def source(self, value: Any, where: str) -> Source | str:
        if isinstance(value, str):
            return self.url(value, where)
        entry = self.obj(value, where, {"url"}, {"member", "sha256"})
        member = entry.get("member")
        digest = entry.get("sha256")
        return Source(
            self.url(entry["url"], f"{where}.url"),
            member=None if member is None else self.text(member, f"{where}.member"),
            sha256=None if digest is None else self.sha256(digest, f"{where}.sha256"),
        )

    def raw_files(self, folder: Any, value: Any) -> tuple[RawFile, ...]:
        where = f"raw_files[{_short(folder)}]"
        if not isinstance(folder, str) or not _FILE_NAME.fullmatch(folder):
            raise self.fail(where, "the key must be a data folder name of letters, digits, '._+-'")
        if not isinstance(value, list) or not value:
            raise self.fail(where, f"expected a non-empty list, got {_kind(value)}")
        out: list[RawFile] = []
        for i, item in enumerate(value):
            at = f"{where}[{i}]"
            entry = self.obj(item, at, {"name", "sha256", "sources", "required"}, set())
            name = entry["name"]
            if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
                raise self.fail(
                    f"{at}.name", "expected a file name of letters, digits and '._+-' (no '/')"
                )
            if any(r.name == name for r in out):
                raise self.fail(f"{at}.name", f"{_short(name)} is listed twice")
            sources = entry["sources"]
            if not isinstance(sources, list) or not sources:
                raise self.fail(f"{at}.sources", f"expected a non-empty list, got {_kind(sources)}")
            required = entry["required"]
            if not isinstance(required, bool):
                raise self.fail(f"{at}.required", f"expected true or false, got {_kind(required)}")
            out.append(
                RawFile(
                    name,
                    self.sha256(entry["sha256"], f"{at}.sha256"),
                    tuple(self.source(s, f"{at}.sources[{k}]") for k, s in enumerate(sources)),
                    required=required,
                )
            )
        return tuple(out)

    def document(self, doc: Any) -> Pins:
        top = self.obj(doc, "top level", {"format", "files", "raw_files"}, {"about"})
        if type(top["format"]) is not int or top["format"] != PINS_FORMAT:
            got = top["format"]
            shown = repr(got) if type(got) in (int, float) else _kind(got)
            raise self.fail("format", f"expected {PINS_FORMAT}, got {shown}")
        if "about" in top:
            self.text(top["about"], "about")
        for field in ("files", "raw_files"):
            if not isinstance(top[field], dict):
                raise self.fail(field, f"expected an object, got {_kind(top[field])}")
        files = {key: self.data_file(key, value) for key, value in top["files"].items()}
        raw = {key: self.raw_files(key, value) for key, value in top["raw_files"].items()}
        return files, raw


def _small_int(digits: str) -> int:
    if len(digits) > 20:  # no pinned count or size has more digits; refused before int()
        raise DataFormatError(f"an integer of {len(digits)} digits (at most 20 are read)")
    return int(digits)


def load_pins(path: str | os.PathLike[str] = PINS_FILE) -> Pins:
    """Read and check a pins file.

    Args:
        path: The JSON file (default: the pins shipped with the package).

    Returns:
        ``(files, raw_files)``: normalised path -> :class:`DataFile`, and data folder
        -> its :class:`RawFile` entries in download order.

    Raises:
        DataFormatError: Not a regular file, larger than :data:`MAX_PINS_BYTES`, not
            UTF-8 JSON, or an entry with a missing, unknown or malformed field (the
            message names the file, the entry and the field).

    Example:
        >>> files, raw = load_pins()
        >>> files["TREC/test.tsv"].rows, len(raw["TREC"])
        (500, 2)
    """
    path = Path(path)
    doc = read_json_file(
        path,
        what="pins file",
        limit=MAX_PINS_BYTES,
        error=DataFormatError,
        strict=True,
        parse_int=_small_int,
    )
    return _Reader(path).document(doc)


FILES: dict[str, DataFile]
RAW_FILES: dict[str, tuple[RawFile, ...]]
FILES, RAW_FILES = load_pins()
