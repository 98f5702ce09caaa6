"""ELMo ``options.json`` and ``weights.hdf5`` (``read_elmo``): storage outside the file,
links, virtual datasets, unwritten or compressed huge datasets, plugin filters, huge
option sizes, FIFOs and devices, wrong dataset kinds and a byte-flip fuzz.

A plugin library is compiled into the shared folder (when a C compiler is present) and
named by ``HDF5_PLUGIN_PATH``: its constructor writes a marker, so a file that makes
HDF5 load a plugin counts as code executed.  Values read from a file outside the model
folder are recognised by their marker value 7777.0.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.security.probes import Ctx, Outside, Variant, check

ENV = {"HDF5_PLUGIN_PATH": "{shared}/plugins", "TK_PROBE_PLUGIN_MARK": "{shared}/plugin-loaded"}
MARK_VALUE = 7777.0
PLUGIN_C = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void mark(void) {
    const char *p = getenv("TK_PROBE_PLUGIN_MARK");
    if (p) { FILE *f = fopen(p, "w"); if (f) { fputs("loaded", f); fclose(f); } }
}
int H5PLget_plugin_type(void) { return 0; }
const void *H5PLget_plugin_info(void) { return 0; }
"""


def _tiny() -> dict[str, Any]:
    from tests.formats.test_elmo_hdf5 import TINY_OPTIONS

    return json.loads(json.dumps(TINY_OPTIONS))


def _empty_file(folder: Path, options: dict[str, Any], fill: str) -> None:
    """options.json + a weights.hdf5 of chunked datasets: unwritten, or gzip bombs."""
    import h5py

    from embeddings.formats.elmo import ElmoOptions, weight_layout

    folder.mkdir(parents=True)
    (folder / "options.json").write_text(json.dumps(options))
    layout = weight_layout(ElmoOptions.from_json(options))
    with h5py.File(folder / "weights.hdf5", "w") as fh:
        for name, shape in layout.items():
            if fill == "unwritten":
                fh.create_dataset(name, shape=shape, dtype="f4",
                                  chunks=tuple(min(s, 64) for s in shape))  # fmt: skip
                continue
            ds = fh.create_dataset(name, shape=shape, dtype="f4", chunks=True,
                                   compression="gzip", compression_opts=9)  # fmt: skip
            if np.prod(shape) < 1e6:
                ds[...] = 0.1
                continue
            zero = zlib.compress(b"\0" * (int(np.prod(ds.chunks)) * 4), 9)
            steps = [range(0, s, c) for s, c in zip(shape, ds.chunks)]
            for idx in itertools.product(*steps):
                ds.id.write_direct_chunk(idx, zero)


def setup(shared: Path) -> None:
    """Build the plugin library and the large files once; import h5py."""
    import h5py  # noqa: F401

    import embeddings.formats.elmo  # noqa: F401
    import tests.formats.test_elmo_hdf5  # noqa: F401

    if (shared / ".built").exists():
        return
    plugins = shared / "plugins"
    plugins.mkdir(exist_ok=True)
    (shared / "plugin.c").write_text(PLUGIN_C)
    if shutil.which("cc"):
        subprocess.run(["cc", "-shared", "-fPIC", "-o", str(plugins / "libh5fake.so"),
                        str(shared / "plugin.c")], check=True)  # fmt: skip
    big = _tiny()
    big["lstm"].update(dim=8192, projection_dim=1024)  # W_0 (2048, 32768): 256 MiB each
    _empty_file(shared / "huge-tiny", big, "unwritten")
    published = {
        "lstm": {"dim": 4096, "projection_dim": 512, "n_layers": 2, "cell_clip": 3,
                 "proj_clip": 3, "use_skip_connections": True},
        "char_cnn": {"activation": "relu", "embedding": {"dim": 16}, "n_highway": 2,
                     "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512],
                                 [7, 1024]],
                     "n_characters": 262, "max_characters_per_token": 50},
    }  # fmt: skip
    _empty_file(shared / "huge-published", published, "unwritten")
    bomb = _tiny()
    bomb["lstm"].update(dim=16384, projection_dim=512)
    _empty_file(shared / "bomb", bomb, "gzip")
    (shared / ".built").write_text("")


def fresh(ctx: Ctx, options: dict[str, Any] | None = None, name: str = "m") -> tuple[Path, Path]:
    """A valid tiny options.json + weights.hdf5 in the variant's folder."""
    from tests.formats.test_elmo_hdf5 import write_tiny_elmo

    return write_tiny_elmo(ctx.tmp / name, options=options)


def rewrite(wts: Path, name: str, make: Callable[[Any, str, Any], object]) -> None:
    """Replace dataset ``name`` of a weights file by what ``make(fh, leaf, group)`` creates."""
    import h5py

    with h5py.File(wts, "r+") as fh:
        *grp, leaf = name.split("/")
        g = fh["/".join(grp)] if grp else fh
        del g[leaf]
        make(fh, leaf, g)


def read(ctx: Ctx, opt: object, wts: object) -> dict[str, np.ndarray]:
    """``read_elmo``; a plugin loaded or a marker value returned is :class:`Outside`."""
    from embeddings.formats.elmo import read_elmo

    ctx.arm()
    mark = ctx.shared / "plugin-loaded"
    mark.unlink(missing_ok=True)  # a load while building the file (h5py writing it) is no read
    try:
        _, arrays = read_elmo(opt, wts)  # type: ignore[arg-type]
    finally:
        if mark.exists():
            mark.unlink()
            raise Outside("HDF5 loaded a plugin library")
    values = np.concatenate([v.ravel() for v in arrays.values()])
    if (values == MARK_VALUE).any():
        raise Outside("returned values read from a file outside the folder")
    return arrays


def read_rewritten(ctx: Ctx, name: str, make: Callable[[Any, str, Any], object]) -> None:
    """``read`` a fresh tiny file whose dataset ``name`` was replaced (see ``rewrite``)."""
    opt, wts = fresh(ctx)
    rewrite(wts, name, make)
    read(ctx, opt, wts)


def _secret_floats(ctx: Ctx) -> Path:
    path = ctx.outside / "secret.bin"
    path.write_bytes(np.full(261 * 3, MARK_VALUE, np.float32).tobytes())
    return path


def _other_file(ctx: Ctx) -> Path:
    import h5py

    other = ctx.outside / "other.hdf5"
    with h5py.File(other, "w") as fh:
        fh.create_dataset("char_embed", data=np.full((261, 3), MARK_VALUE, "f4"))
        fh.create_dataset("CNN/W_cnn_0", data=np.full((1, 1, 3, 4), MARK_VALUE, "f4"))
    return other


def external(where: str) -> Variant:
    def run(ctx: Ctx) -> None:
        secret = _secret_floats(ctx)
        opt, wts = fresh(ctx)
        ext = {"absolute": str(secret), "relative": os.path.relpath(secret, wts.parent)}[where]
        rewrite(wts, "char_embed", lambda fh, leaf, g: g.create_dataset(
            leaf, shape=(261, 3), dtype="f4", external=[(ext, 0, 261 * 3 * 4)]))  # fmt: skip
        read(ctx, opt, wts)

    return Variant(where, run)


def external_link(target: str) -> Variant:
    def run(ctx: Ctx) -> None:
        import h5py

        other = _other_file(ctx)
        opt, wts = fresh(ctx)
        if target == "group":
            with h5py.File(wts, "r+") as fh:
                del fh["CNN"]
                fh["CNN"] = h5py.ExternalLink(str(other), "/CNN")
        else:
            path = str(other) if target == "dataset" else "/dev/zero"
            rewrite(wts, "char_embed", lambda fh, leaf, g: g.__setitem__(
                leaf, h5py.ExternalLink(path, "/char_embed")))  # fmt: skip
        read(ctx, opt, wts)

    return Variant(target, run)


def virtual(source: str) -> Variant:
    def run(ctx: Ctx) -> None:
        import h5py

        src = {"other file": str(_other_file(ctx)), "missing file": str(ctx.tmp / "none.h5"),
               "/dev/zero": "/dev/zero"}[source]  # fmt: skip

        def make(fh: Any, leaf: str, g: Any) -> None:
            lay = h5py.VirtualLayout(shape=(261, 3), dtype="f4")
            lay[:] = h5py.VirtualSource(src, "char_embed", shape=(261, 3))
            g.create_virtual_dataset(leaf, lay, fillvalue=0)

        read_rewritten(ctx, "char_embed", make)

    return Variant(source, run)


def shared_file(name: str) -> Variant:
    def run(ctx: Ctx) -> None:
        folder = ctx.shared / name
        read(ctx, folder / "options.json", folder / "weights.hdf5")

    return Variant(name, run)


def small_unwritten(kind: str) -> Variant:
    def make(fh: Any, leaf: str, g: Any) -> None:
        if kind == "contiguous":
            g.create_dataset(leaf, shape=(12, 4), dtype="f4")
            return
        ds = g.create_dataset(leaf, shape=(12, 4), dtype="f4", chunks=(2, 2))
        if kind == "partly written":
            ds[:2] = 1.0

    return dataset_kind(kind, make)


def soft_link(kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        import h5py

        opt, wts = fresh(ctx)
        if kind == "group to itself":
            with h5py.File(wts, "r+") as fh:
                del fh["CNN"]
                fh["CNN"] = h5py.SoftLink("/CNN")
        elif kind == "dangling":
            rewrite(
                wts,
                "char_embed",
                lambda fh, leaf, g: g.__setitem__(leaf, h5py.SoftLink("/nowhere")),
            )
        else:

            def loop(fh: Any, leaf: str, g: Any) -> None:
                g[leaf] = h5py.SoftLink("/CNN_proj/loop2")
                g["loop2"] = h5py.SoftLink("/CNN_proj/" + leaf)

            rewrite(wts, "CNN_proj/W_proj", loop)
        read(ctx, opt, wts)

    return Variant(kind, run)


def option(label: str, edit: Callable[[dict[str, Any]], object]) -> Variant:
    def run(ctx: Ctx) -> None:
        opt, wts = fresh(ctx)
        o = _tiny()
        edit(o)
        opt.write_text(json.dumps(o))
        read(ctx, opt, wts)

    return Variant(label, run)


def _set(section: str, key: str, value: object) -> Callable[[dict[str, Any]], object]:
    def edit(o: dict[str, Any]) -> None:
        node = o
        for part in section.split("."):
            node = node[part]
        node[key] = value

    return edit


def special(which: str, kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        opt, wts = fresh(ctx)
        target = ctx.tmp / "special"
        if kind == "fifo":
            os.mkfifo(target)
        elif kind == "device":
            target = Path("/dev/zero")
        elif kind == "folder":
            target = ctx.tmp
        elif kind == "link to fifo":
            os.mkfifo(ctx.tmp / "fifo")
            target.symlink_to(ctx.tmp / "fifo")
        elif kind == "link to device":
            target.symlink_to("/dev/zero")
        read(ctx, target, wts) if which == "options" else read(ctx, opt, target)

    return Variant(f"{which} is a {kind}", run)


def _links_to_files(ctx: Ctx) -> None:
    opt, wts = fresh(ctx)
    (ctx.tmp / "o.json").symlink_to(opt)
    (ctx.tmp / "w.hdf5").symlink_to(wts)
    arrays = read(ctx, ctx.tmp / "o.json", ctx.tmp / "w.hdf5")
    check(arrays["char_embed"].shape == (261, 3))


def _plugin_filter(ctx: Ctx) -> None:
    def make(fh: Any, leaf: str, g: Any) -> None:
        ds = g.create_dataset(leaf, shape=(12, 4), dtype="f4", chunks=(12, 4),
                              compression=30000, allow_unknown_filter=True)  # fmt: skip
        ds.id.write_direct_chunk((0, 0), b"\0" * 192)

    read_rewritten(ctx, "CNN_proj/W_proj", make)


def options_text(label: str, make: Callable[[], str | bytes | None], size: int = 0) -> Variant:
    def run(ctx: Ctx) -> None:
        opt, wts = fresh(ctx)
        text = make()
        if isinstance(text, bytes):
            opt.write_bytes(text)
        elif text is not None:
            opt.write_text(text)
        if size:
            with open(opt, "r+b") as fh:
                fh.truncate(size)
        read(ctx, opt, wts)

    return Variant(label, run)


def dataset_kind(label: str, make: Callable[[Any, str, Any], object]) -> Variant:
    def run(ctx: Ctx) -> None:
        read_rewritten(ctx, "CNN_proj/W_proj", make)

    return Variant(label, run)


def _group_is_dataset(ctx: Ctx) -> None:
    import h5py

    opt, wts = fresh(ctx)
    with h5py.File(wts, "r+") as fh:
        del fh["CNN_proj"]
        fh.create_dataset("CNN_proj", data=np.ones(3, "f4"))
    read(ctx, opt, wts)


def path_oddity(kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        opt, wts = fresh(ctx)
        if kind == "NUL in options path":
            read(ctx, str(opt) + "\0x", wts)
        elif kind == "NUL in weights path":
            read(ctx, opt, str(wts) + "\0x")
        else:
            (ctx.tmp / "dangling").symlink_to(ctx.tmp / "nothing")
            read(ctx, opt, ctx.tmp / "dangling")

    return Variant(kind, run)


def fuzz(k: int) -> Variant:
    """A truncated (k < 8) or byte-flipped copy: a clean error or correct arrays."""

    def run(ctx: Ctx) -> None:
        from tests.formats.test_elmo_hdf5 import TINY_OPTIONS, tiny_datasets

        opt, wts = fresh(ctx)
        raw = wts.read_bytes()
        rng = random.Random(k)
        bad = bytearray(raw)
        if k < 8:
            bad = bad[: rng.randrange(0, len(raw))]
        else:
            for _ in range(rng.choice([1, 4, 16])):
                pos = rng.randrange(0, min(len(bad), 4096) if k % 2 else len(bad))
                bad[pos] = rng.randrange(256)
        wts.write_bytes(bytes(bad))
        arrays = read(ctx, opt, wts)
        # a flip inside a dataset's raw data is undetectable: what returns is well-formed
        want = tiny_datasets(TINY_OPTIONS)
        check(
            all(
                arrays[n].shape == want[n].shape
                and arrays[n].dtype == np.float32
                and np.isfinite(arrays[n]).all()
                for n in want
            ),
            "malformed arrays returned",
        )

    return Variant(f"seed {k}", run, expect="either")


def valid(kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        import h5py

        from tests.formats.test_elmo_hdf5 import TINY_OPTIONS, tiny_datasets

        arrays = tiny_datasets(TINY_OPTIONS)
        if kind == "compact layout":
            opt, wts = fresh(ctx)

            def compact(fh: Any, leaf: str, g: Any) -> None:
                dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                dcpl.set_layout(h5py.h5d.COMPACT)
                sid = h5py.h5s.create_simple((4,))
                dsid = h5py.h5d.create(g.id, leaf.encode(), h5py.h5t.IEEE_F32LE, sid, dcpl=dcpl)
                dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, arrays["CNN_proj/b_proj"])

            rewrite(wts, "CNN_proj/b_proj", compact)
        else:
            folder = ctx.tmp / "gz"
            folder.mkdir()
            opt, wts = folder / "options.json", folder / "weights.hdf5"
            opt.write_text(json.dumps(TINY_OPTIONS))
            with h5py.File(wts, "w") as fh:
                for n, arr in arrays.items():
                    fh.create_dataset(n, data=arr, compression="gzip", shuffle=True,
                                      fletcher32=True)  # fmt: skip
        got = read(ctx, opt, wts)
        check(all(np.array_equal(got[n], arrays[n]) for n in arrays), "arrays differ")

    return Variant(kind, run, expect="ok")


def _make(kind: str) -> Callable[[Any, str, Any], object]:
    import h5py

    makers: dict[str, Callable[[Any, str, Any], object]] = {
        "int": lambda fh, leaf, g: g.create_dataset(leaf, data=np.ones((12, 4), "i4")),
        "compound": lambda fh, leaf, g: g.create_dataset(
            leaf, shape=(12, 4), dtype=[("a", "f4"), ("b", "f4")]),
        "float128": lambda fh, leaf, g: g.create_dataset(
            leaf, data=np.ones((12, 4), np.longdouble)),
        "vlen str": lambda fh, leaf, g: g.create_dataset(
            leaf, shape=(12, 4), dtype=h5py.string_dtype()),
        "null": lambda fh, leaf, g: g.create_dataset(leaf, data=h5py.Empty("f4")),
        "scalar": lambda fh, leaf, g: g.create_dataset(leaf, data=np.float32(1)),
        "named datatype": lambda fh, leaf, g: g.__setitem__(leaf, np.dtype("f4")),
        "group": lambda fh, leaf, g: g.create_group(leaf),
        "f64 overflow": lambda fh, leaf, g: g.create_dataset(leaf, data=np.full((12, 4), 1e300)),
    }  # fmt: skip
    return makers[kind]


def _kind(kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        dataset_kind(kind, _make(kind)).run(ctx)  # type: ignore[operator]

    return Variant(kind, run)


PROBES = [
    ("external raw storage (dset.external)", [external("absolute"), external("relative")]),
    ("ExternalLink to another file", [external_link(t) for t in ("dataset", "group", "device")]),
    ("virtual dataset -> other/missing file", [virtual(s) for s in
                                               ("other file", "missing file", "/dev/zero")]),
    ("chunked never-written datasets (huge and small)", [
        shared_file("huge-tiny"), shared_file("huge-published"),
        *(small_unwritten(k) for k in ("chunked", "partly written", "contiguous")),
    ]),
    ("soft link loop / dangling", [soft_link(k) for k in
                                   ("loop", "group to itself", "dangling")]),
    ("options.json huge sizes (12 fields)", [
        option("max_characters_per_token", _set("char_cnn", "max_characters_per_token", 10**8)),
        option("n_characters", _set("char_cnn", "n_characters", 10**8)),
        option("embedding.dim", _set("char_cnn.embedding", "dim", 10**8)),
        option("filters count", _set("char_cnn", "filters", [[1, 10**8]])),
        option("filters width", _set("char_cnn", "filters", [[10**8, 4]])),
        option("filters entries", _set("char_cnn", "filters", [[1, 1]] * 10**5)),
        option("projection_dim", _set("lstm", "projection_dim", 10**8)),
        option("lstm.dim", _set("lstm", "dim", 10**8)),
        option("n_layers", _set("lstm", "n_layers", 10**8)),
        option("n_highway", _set("char_cnn", "n_highway", 10**8)),
        option("cell_clip", _set("lstm", "cell_clip", 1e300)),
        option("proj_clip", _set("lstm", "proj_clip", 1e300)),
    ]),
    ("FIFO / device / folder / links to them", [
        special(w, k) for w in ("options", "weights") for k in
        ("fifo", "device", "folder", "link to fifo", "link to device")
    ] + [Variant("links to regular files (valid)", _links_to_files, expect="ok")]),
    ("unknown HDF5 filter (plugin dlopen)", [Variant("filter id 30000", _plugin_filter)]),
    ("gzip bomb (all chunks written)", [shared_file("bomb")]),
    ("options.json deep nesting / long int / NaN / bad UTF-8", [
        options_text("200k nested lists", lambda: "[" * 200000 + "]" * 200000),
        options_text("100k-digit integer", lambda: '{"lstm": ' + "9" * 100000 + "}"),
        options_text("NaN", lambda: json.dumps(_tiny()).replace('"cell_clip": 3',
                                                                '"cell_clip": NaN')),
        options_text("bad UTF-8", lambda: b"\xff\xfe" + b"\x00" * 100),
    ]),
    ("options.json of 60 MB / sparse 8 GB", [
        options_text("60 MB of spaces", lambda: json.dumps(_tiny()) + " " * (60 << 20)),
        options_text("sparse 8 GB", lambda: None, size=8 << 30),
    ]),
    ("total parameters > cap (fields in range)", [
        option("16 layers of 16384 x 4096", lambda o: o["lstm"].update(
            dim=16384, projection_dim=4096, n_layers=16)),
    ]),
    ("wrong dtype / dataspace / object kind", [
        *(_kind(k) for k in ("int", "compound", "float128", "vlen str", "null", "scalar",
                             "named datatype", "group", "f64 overflow")),
        Variant("a dataset where a group belongs", _group_is_dataset),
    ]),
    ("NUL byte / dangling path", [path_oddity(k) for k in
                                  ("NUL in options path", "NUL in weights path", "dangling link")]),
    ("truncated / byte-flipped weights.hdf5 (either outcome)", [fuzz(k) for k in range(40)]),
    ("compact layout / gzip+shuffle+fletcher32 (valid)", [valid("compact layout"),
                                                          valid("gzip")]),
]  # fmt: skip
