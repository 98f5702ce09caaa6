"""The benchmark pins file (``load_pins``) and the task hooks / protocol API.

A pins file names each task file with its sha256, rows and size, and each raw file with
its download sources; ``load_pins`` must refuse every malformed, escaping or oversized
entry with a transferkit error.  The hooks rows call the hook registry, ``Task.evaluate``
and ``protocols.evaluate`` with wrong arguments.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.security.probes import Ctx, Variant, refused

HEX = "ab" * 32
BASE: dict[str, Any] = {
    "format": 1,
    "files": {"MR/all.tsv": {"sha256": HEX, "rows": 3, "bytes": 40}},
    "raw_files": {
        "MR": [
            {
                "name": "a.neg",
                "sha256": HEX,
                "required": True,
                "sources": ["https://e.org/a", {"url": "https://e.org/z.zip", "member": "z/a"}],
            }
        ]
    },
}


def _doc(edit: Callable[[dict[str, Any]], object]) -> str:
    doc = copy.deepcopy(BASE)
    edit(doc)
    return json.dumps(doc)


def _pins(text: str | bytes, label: str) -> Variant:
    def run(ctx: Ctx) -> None:
        from benchmarks.tasks._pins import load_pins

        path = ctx.tmp / "pins.json"
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        refused(lambda: load_pins(path))

    return Variant(label, run)


def _file(key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda d: d["files"]["MR/all.tsv"].__setitem__(key, value)


def _raw(key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda d: d["raw_files"]["MR"][0].__setitem__(key, value)


def _files_key(key: str) -> Callable[[dict[str, Any]], object]:
    return lambda d: d.__setitem__("files", {key: d["files"]["MR/all.tsv"]})


def _raw_folder(key: str) -> Callable[[dict[str, Any]], object]:
    return lambda d: d.__setitem__("raw_files", {key: d["raw_files"]["MR"]})


def _source(value: object) -> Callable[[dict[str, Any]], object]:
    return lambda d: d["raw_files"]["MR"][0]["sources"].__setitem__(0, value)


def _special(kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        from benchmarks.tasks._pins import load_pins

        path: str | Path = ctx.tmp / "p.json"
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "device":
            path = "/dev/zero"
        elif kind == "folder":
            path = ctx.tmp
        elif kind == "sparse 2 MiB":
            with open(path, "wb") as fh:
                fh.truncate(2 << 20)
        elif kind == "sparse 8 GiB":
            with open(path, "wb") as fh:
                fh.truncate(8 << 30)
        elif kind == "non-UTF-8":
            Path(path).write_bytes(b'{"about": "\xff\xfe"}')
        elif kind == "link to outside":
            Path(path).symlink_to(ctx.secret_file)
        refused(lambda: load_pins(path))

    return Variant(kind, run)


def _api(label: str, call: Callable[[Any], object], clear_hooks: bool = False) -> Variant:
    def run(ctx: Ctx) -> None:
        from benchmarks import protocols
        from benchmarks.tasks import Task, hooks

        ns = {"hooks": hooks, "protocols": protocols, "Task": Task}
        ns["task"] = Task.from_dataframe(
            {"text": ["a", "b"] * 10, "label": ["x", "y"] * 10}, name="t"
        )
        saved = dict(hooks._HOOKS)
        if clear_hooks:
            hooks._HOOKS.clear()
        try:
            refused(lambda: call(ns))
        finally:
            hooks._HOOKS.clear()
            hooks._HOOKS.update(saved)

    return Variant(label, run)


def _ev(**kw: object) -> Callable[[Any], object]:
    return lambda ns: ns["task"].evaluate("glove-6b-50d", **kw)


PROBES = [
    ("bad sha256", [_pins(_doc(_file("sha256", v)), repr(v)[:30])
                    for v in (HEX[:-1], HEX.upper(), 1, None, "g" * 64)]),
    ("bad size/rows", [_pins(_doc(_file(k, v)), f"{k}={v!r}")
                       for k in ("rows", "bytes") for v in (0, -1, True, 1.5, "3")]),
    ("path traversal key", [_pins(_doc(_files_key(k)), k) for k in
                            ("../x/y.tsv", "/etc/passwd", "MR/../../x", "x.tsv", "MR\\x",
                             "MR/\u0430.tsv")]),
    ("raw name/folder escape",
     [_pins(_doc(_raw("name", v)), f"name {v!r}") for v in ("../a", "a/b", "", "..")]
     + [_pins(_doc(_raw_folder(k)), f"folder {k!r}") for k in ("..", "../MR", "a/b")]),
    ("non-http / odd URL", [_pins(_doc(_source(v)), repr(v)[:30]) for v in
                            ("file:///etc/passwd", "ftp://x/y", "https://e.org/a b",
                             "https://e.org/" + "x" * 5000, 7)]),
    ("missing/unknown/duplicate fields", [
        _pins(_doc(lambda d: d["files"]["MR/all.tsv"].pop("rows")), "rows missing"),
        _pins(_doc(lambda d: d.__setitem__("exec", 1)), "unknown top-level field"),
        _pins(json.dumps(BASE).replace('"rows": 3', '"rows": 3, "rows": 4'), "duplicate key"),
    ]),
    ("not JSON / wrong shape", [_pins(t, t[:30] or "empty") for t in (
        '{"format": NaN}', "[1]", "", '{"format": 1, "files": {',
        '{"format": 2, "files": {}, "raw_files": {}}',
        '{"format": true, "files": {}, "raw_files": {}}')]),
    ("huge ints / deep nesting", [
        _pins('{"format": ' + "9" * 500000 + "}", "500k-digit integer"),
        _pins("[" * 1000000, "1M open brackets"),
        _pins('{"a":' * 200000, "200k nested objects"),
    ]),
    ("FIFO/device/folder/oversize/non-UTF-8/link", [
        _special(k) for k in ("fifo", "device", "folder", "sparse 2 MiB", "sparse 8 GiB",
                              "non-UTF-8")
    ]),
    ("hooks/protocol API misuse", [
        _api("provide an unknown hook", lambda ns: ns["hooks"].provide("load", print)),
        _api("provide a non-callable", lambda ns: ns["hooks"].provide("evaluate", 5)),
        _api("protocols.evaluate of a name", lambda ns: ns["protocols"].evaluate("MR", None)),
        _api("settings with an unknown key", _ev(settings={"seed": 1})),
        *[_api(f"blas_threads={b!r}", _ev(blas_threads=b)) for b in (0, -1, 1.5, True, "2")],
        _api("evaluate with no hook provided", _ev(), clear_hooks=True),
        _api("from_file with no hook provided", lambda ns: ns["Task"].from_file("x.tsv"), True),
    ]),
]  # fmt: skip
