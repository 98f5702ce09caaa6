"""Saved encoder folders and caller-only routes: ``trust_pickle`` set by text (spec
strings, concat parts, nested JSON encoders, a random-glove base, the command line),
paths named in ``config.json`` that leave the folder, symlinked / FIFO / device files,
concat nesting and chains of folders, classes named by a file, and damaged
``config.json`` / ``weights.safetensors`` files.

Pickle payloads create a marker folder when unpickled; files outside the saved folder
hold the outside secret.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.security.probes import Ctx, Variant, check, write_json

CONCAT = "embeddings.adapters.concat:ConcatEncoder"
WV = "embeddings.adapters.word_vectors:WordVectorEncoder"
RANDOM = "embeddings.adapters.baselines:RandomProjectionEncoder"
TFIDF = "embeddings.adapters.baselines:TfidfEncoder"
PAYLOAD_SPEC = "word-vectors:source={payload}:trust_pickle=true"


def setup(shared: Path) -> None:
    """Import the loaders, the command line and the glove table before the caps."""
    import embeddings
    from benchmarks.cli import main  # noqa: F401

    embeddings.load("glove-6b-50d").encode(["warm up"])


def config(folder: Path, klass: str, params: dict[str, Any], **extra: Any) -> Path:
    """A saved-encoder config.json for ``klass`` (``tests/security/builders.py``)."""
    from tests.security.builders import write_config

    return write_config(folder, klass, params, **extra)


def payload(folder: Path, name: str, ctx: Ctx) -> Path:
    """A pickle in ``folder`` whose unpickling creates the variant's marker."""
    from tests.security.builders import write_payload

    return write_payload(folder, name, ctx.marker("PWNED"))


def concat_folder(ctx: Ctx, part: str, *, fitted: bool = False) -> Path:
    """A concat folder whose one part (a spec) names a payload inside the folder."""
    folder = ctx.tmp / "hostile"
    spec = part.format(payload=payload(folder, "PAYLOAD.kv", ctx))
    extra: dict[str, Any] = {}
    if fitted:
        from safetensors.numpy import save_file

        extra = {"fitted": True, "state": {"own": [], "parts": {"0": {}}}}
        save_file({"unused": np.zeros(1, np.float32)}, str(folder / "weights.safetensors"))
    return config(folder, CONCAT, {"encoders": [spec]}, **extra)


def vectors(path: Path) -> Path:
    """A 2-word word2vec text file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("2 3\ncat 1 0 0\ndog 0 1 0\n", encoding="utf-8")
    return path


def nested_json(depth: int) -> dict[str, Any]:
    """A concat of a concat of ... glove, ``depth`` levels as nested JSON encoders."""
    node: Any = "glove-6b-50d"
    for _ in range(depth):
        node = {"__encoder__": CONCAT, "params": {"encoders": [node]}}
    return node


def load_encode(folder: Path, **kw: Any) -> None:
    import embeddings

    embeddings.load(folder, **kw).encode(["hi"])


def _part(part: str) -> Variant:
    def run(ctx: Ctx) -> None:
        load_encode(concat_folder(ctx, part))

    return Variant(part.split(":")[0] + " " + part[part.index("}") + 1 :][:40], run)


def _txt_payload(ctx: Ctx) -> None:
    folder = ctx.tmp / "hostile"
    p = payload(folder, "vectors.txt", ctx)
    config(folder, CONCAT, {"encoders": [f"word-vectors:source={p}:format=gensim"]})
    load_encode(folder)


def _fitted_load_only(ctx: Ctx) -> None:
    import embeddings

    embeddings.load(concat_folder(ctx, PAYLOAD_SPEC, fitted=True))


def _base(how: str) -> Variant:
    def run(ctx: Ctx) -> None:
        if how == "nested inside":
            nested = config(ctx.tmp / "outer2", RANDOM, {"base": "x", "n_components": 8})
            inner = ctx.tmp / "outer2" / "hostile"
            p = payload(inner, "PAYLOAD.kv", ctx)
            config(inner, CONCAT, {"encoders": [PAYLOAD_SPEC.format(payload=p)]})
            config(nested, RANDOM, {"base": str(inner), "n_components": 8})
            load_encode(nested)
            return
        inner = concat_folder(ctx, PAYLOAD_SPEC)
        outer = config(inner / "outer", RANDOM, {"base": str(inner), "n_components": 8})
        load_encode(outer, base=str(inner)) if how == "caller confirms" else load_encode(outer)

    return Variant(how, run)


def _nested_trust(ctx: Ctx) -> None:
    folder = ctx.tmp / "hostile"
    p = payload(folder, "PAYLOAD.kv", ctx)
    part = {"__encoder__": WV, "params": {"source": str(p), "trust_pickle": True}}
    config(folder, CONCAT, {"encoders": [part]})
    load_encode(folder)


def _python_spec(how: str) -> Variant:
    def run(ctx: Ctx) -> None:
        import embeddings
        from benchmarks.specs import build_encoder

        p = payload(ctx.tmp / "files", "PAYLOAD.kv", ctx)
        spec = PAYLOAD_SPEC.format(payload=p)
        calls: dict[str, Callable[[], Any]] = {
            "load(spec)": lambda: embeddings.load(spec),
            "concat encoders=[spec]": lambda: embeddings.load("concat", encoders=[spec]),
            "concat encoders='glove+spec'": lambda: embeddings.load(
                "concat", encoders="glove-6b-50d+" + spec),
            "build_encoder(spec)": lambda: build_encoder(spec)[0],
            "build_encoder(concat:...)": lambda: build_encoder(
                "concat:encoders=glove-6b-50d+" + spec)[0],
        }  # fmt: skip
        calls[how]().encode(["hi"])

    return Variant(how, run)


def cli(argv: list[str], must: str) -> None:
    """Run the command line in-process: one error line holding ``must``, no traceback."""
    from benchmarks.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc: object
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
    text = err.getvalue()
    if "Traceback" in text:
        raise RuntimeError("the command line printed a traceback: " + text[-300:])
    check(rc not in (0, None), f"exit status {rc}")
    check(must in text, f"the error lacks {must!r}: {text[-200:]}")


def _cli(which: str) -> Variant:
    def run(ctx: Ctx) -> None:
        folder = concat_folder(ctx, PAYLOAD_SPEC)
        texts = ctx.tmp / "t.txt"
        texts.write_text("hi\n", encoding="utf-8")
        model = str(folder) if which == "folder" else PAYLOAD_SPEC.format(
            payload=folder / "PAYLOAD.kv")  # fmt: skip
        cli(["encode", "--model", model, "--input", str(texts), "--output",
             str(ctx.tmp / "o.npy"), "--no-progress"], "trust_pickle")  # fmt: skip

    return Variant(which, run, expect="ok")


def _source(kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        source = {"absolute secret": str(ctx.secret_file), "/etc/passwd": "/etc/passwd",
                  "../outside/secret.txt": "../../outside/secret.txt",
                  "~/.bashrc": "~/.bashrc"}[kind]  # fmt: skip
        folder = config(ctx.tmp / "f", WV, {"source": source})
        ctx.arm()
        load_encode(folder)

    return Variant(kind, run)


def _concat_path(kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        elsewhere = ctx.tmp / "elsewhere"
        outside = vectors(elsewhere / "v.txt")
        cases: dict[str, dict[str, Any]] = {
            "cache_dir": {"encoders": ["glove-6b-50d"], "cache_dir": str(ctx.outside / "cache")},
            "spec source": {"encoders": [f"word-vectors:source={outside}"]},
            "folder part": {"encoders": [str(elsewhere)]},
            "nested source": {"encoders": [{"__encoder__": WV,
                                            "params": {"source": str(outside)}}]},
        }  # fmt: skip
        params = cases[kind]
        import embeddings

        embeddings.load(config(ctx.tmp / "f", CONCAT, params))

    return Variant(kind, run)


def _tfidf(ctx: Ctx) -> Path:
    import embeddings

    return embeddings.load("tfidf").fit(["a cat", "a dog"]).save(ctx.tmp / "real")


def _file_kind(name: str, kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        import embeddings

        real = _tfidf(ctx)
        target = real / name
        target.unlink()
        if kind == "symlink":
            (ctx.tmp / "elsewhere").mkdir()
            other = embeddings.load("tfidf").fit(["a cat", "a dog"]).save(ctx.tmp / "elsewhere/m")
            target.symlink_to(other / name)
        elif kind == "FIFO":
            os.mkfifo(target)
        elif kind == "link to /dev/zero":
            target.symlink_to("/dev/zero")
        elif kind == "sparse 8 GiB":
            with open(target, "wb") as fh:
                fh.truncate(8 << 30)
        elif kind == "folder":
            target.mkdir()
        embeddings.load(real).encode(["a cat"])

    return Variant(f"{name} is a {kind}", run)


def _nested(depth: int) -> Variant:
    def run(ctx: Ctx) -> None:
        folder = config(ctx.tmp / "deep", CONCAT, nested_json(depth)["params"])
        if depth < 8:
            import embeddings

            check(embeddings.load(folder).encode(["a cat"]).shape == (1, 50))
        else:
            load_encode(folder)

    return Variant(f"depth {depth}", run, expect="ok" if depth < 8 else "error")


def _chain(ctx: Ctx) -> None:
    from embeddings._saved import MAX_NESTING

    root = path = ctx.tmp / "chain"
    for _ in range(MAX_NESTING + 1):
        config(path, CONCAT, {"encoders": [str(path / "n")]})
        path = path / "n"
    config(path, CONCAT, {"encoders": ["glove-6b-50d"]})
    load_encode(root)


def _python_nesting(ctx: Ctx) -> None:
    import embeddings
    from embeddings._saved import MAX_NESTING

    enc: Any = embeddings.load("glove-6b-50d")
    for _ in range(MAX_NESTING + 2):
        enc = embeddings.load("concat", encoders=[enc])
    enc.encode(["a cat"])


def _self_cycle(kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        folder = ctx.tmp / "self"
        if kind == "concat names itself":
            config(folder, CONCAT, {"encoders": [str(folder)]})
        elif kind == "two concats name each other":
            config(folder, CONCAT, {"encoders": [str(folder / "b")]})
            config(folder / "b", CONCAT, {"encoders": [str(folder)]})
        else:
            config(folder, CONCAT, {"encoders": ["glove-6b-50d", str(folder / ".")]})
        load_encode(folder)

    return Variant(kind, run)


def _class(name: str) -> Variant:
    def run(ctx: Ctx) -> None:
        mark = str(ctx.marker("class-ran"))
        params: dict[str, Any] = {"args": ["mkdir", mark]} if "Popen" in name else {}
        if name == "os:mkdir":
            params = {"path": mark}
        folder = ctx.tmp / "f"
        folder.mkdir()
        write_json(folder / "config.json", {
            "format": "transferkit-encoder", "format_version": 1, "class": name,
            "adapter_version": "1", "preset": None, "params": params, "fitted": False,
            "state": {}, "fingerprint": "0" * 64})  # fmt: skip
        load_encode(folder)

    return Variant(name, run)


def _nested_class(ctx: Ctx) -> None:
    mark = str(ctx.marker("class-ran"))
    part = {"__encoder__": "subprocess:Popen", "params": {"args": ["mkdir", mark]}}
    load_encode(config(ctx.tmp / "f", CONCAT, {"encoders": [part]}))


def _config_text(label: str, make: Callable[[Path], object]) -> Variant:
    def run(ctx: Ctx) -> None:
        real = _tfidf(ctx)
        make(real / "config.json")
        load_encode(real)

    return Variant(label, run)


def _edit_config(**fields: Any) -> Callable[[Path], object]:
    def edit(path: Path) -> None:
        data = json.loads(path.read_text())
        data.update(fields)
        path.write_text(json.dumps(data))

    return edit


def _weights(label: str, content: Callable[[], bytes]) -> Variant:
    def run(ctx: Ctx) -> None:
        real = _tfidf(ctx)
        (real / "weights.safetensors").write_bytes(content())
        load_encode(real)

    return Variant(label, run)


def _st_header(header: dict[str, Any], body: bytes = b"\0" * 8) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


PROBES = [
    ("concat part specs in a folder set trust_pickle", [
        _part(PAYLOAD_SPEC),
        _part("word-vectors:source={payload}:format=gensim:trust_pickle=true"),
        _part("glove-6b-50d+" + PAYLOAD_SPEC),
        _part("word-vectors:trust_pickle=true:source={payload}"),
        _part("word-vectors:source={payload}:trust_pickle=1"),
        Variant("a .txt payload with format=gensim", _txt_payload),
        Variant("load alone of a fitted concat folder", _fitted_load_only),
    ]),
    ("random-glove base naming a hostile folder", [
        _base(h) for h in ("outside the folder", "caller confirms", "nested inside")]),
    ("nested JSON encoder in a config sets trust_pickle", [
        Variant("__encoder__ params", _nested_trust)]),
    ("spec strings from Python set trust_pickle", [
        _python_spec(h) for h in ("load(spec)", "concat encoders=[spec]",
                                  "concat encoders='glove+spec'", "build_encoder(spec)",
                                  "build_encoder(concat:...)")]),
    ("CLI encode of a hostile folder / spec (one error line)", [_cli("folder"), _cli("spec")]),
    ("source named in config.json outside the folder", [
        _source(k) for k in ("absolute secret", "/etc/passwd", "../outside/secret.txt",
                             "~/.bashrc")]),
    ("concat paths in config.json stay inside", [
        _concat_path(k) for k in ("cache_dir", "spec source", "folder part", "nested source")]),
    ("config.json / weights.safetensors symlinked, FIFO, device, folder", [
        _file_kind(n, k) for n in ("config.json", "weights.safetensors")
        for k in ("symlink", "FIFO", "link to /dev/zero", "folder")]),
    ("concat nesting and chains of folders", [
        _nested(7), _nested(9), _nested(200), Variant("chain of 9 folders", _chain),
        Variant("Python concat of concat x10", _python_nesting)]),
    ("concat folders that name themselves (cycles)", [
        _self_cycle(k) for k in ("concat names itself", "two concats name each other",
                                 "part is the folder itself via '.'")]),
    ("config.json names a class that is no encoder", [
        *(_class(n) for n in ("subprocess:Popen", "os:mkdir", "builtins:eval",
                              "embeddings.base:BaseEncoder", "embeddings.adapters.concat",
                              "../evil:Encoder")),
        Variant("nested __encoder__ subprocess:Popen", _nested_class)]),
    ("config.json damaged: sparse 8 GiB, deep, NaN, bad UTF-8, wrong version", [
        _config_text("sparse 8 GiB", lambda p: os.truncate(p, 8 << 30)),
        _config_text("100k nested lists", lambda p: p.write_text("[" * 100000 + "]" * 100000)),
        _config_text("NaN param", lambda p: p.write_text(p.read_text().replace(
            '"fitted": true', '"fitted": NaN'))),
        _config_text("bad UTF-8", lambda p: p.write_bytes(b"\xff\xfe{}")),
        _config_text("format_version 999", _edit_config(format_version=999)),
        _config_text("params a list", _edit_config(params=[1, 2])),
        _config_text("unknown parameter", _edit_config(params={"zz_unknown": 1})),
        _config_text("state a string", _edit_config(state="x" * 1000)),
    ]),
    ("weights.safetensors damaged: lying header, huge shape, truncated", [
        _weights("header length 10^12", lambda: struct.pack("<Q", 10**12) + b"{"),
        _weights("100000 x 100000 declared", lambda: _st_header({"idf": {
            "dtype": "F32", "shape": [100000, 100000], "data_offsets": [0, 40000000000]}})),
        _weights("empty file", lambda: b""),
        _weights("not safetensors", lambda: b"\xff" * 64),
        _weights("idf of NaN", lambda: _st_header({"idf": {
            "dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0\0\xc0\x7f" * 2)),
    ]),
]  # fmt: skip
