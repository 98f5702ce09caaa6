"""InferSent checkpoints (``read_infersent_checkpoint``: truncated, stride-0 views, lying
storage sizes, zip bombs, odd keys and layouts) and zip archives taken apart by
``embeddings.adapters.mpnet.safe_extract`` and ``benchmarks.tasks.nli.convert_nli_zip``
(damaged, encrypted, traversal, duplicate and oversized members), plus FIFOs and devices
in their place."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.security.probes import Ctx, Outside, Variant, check
from tests.security.probes._zips import (
    corrupt_crc,
    damage_first_member_data,
    legacy_checkpoint,
    set_flag,
    set_method,
    set_utf8_flag_bad_name,
    write_zero_member,
    zip_bytes,
)

LINE = b'{"gold_label": "neutral", "sentence1": "a cat", "sentence2": "a dog"}\n'
SNLI = [f"snli_1.0/snli_1.0_{s}.jsonl" for s in ("train", "dev", "test")]
GOOD = [(m, LINE * 50) for m in SNLI]
OK_MEMBERS = [("m/config.json", b"{}"), ("m/model.bin", b"x" * 100)]


def _state() -> dict[str, Any]:
    import torch

    lstm = torch.nn.LSTM(30, 64, bidirectional=True)
    return {"enc_lstm." + k: v for k, v in lstm.state_dict().items()}


def setup(shared: Path) -> None:
    """Build the checkpoint zip bomb and the 300 MB NLI line once; import torch."""
    import torch

    import benchmarks.tasks.nli  # noqa: F401
    import embeddings.adapters.mpnet
    import embeddings.formats.infersent  # noqa: F401

    if (shared / ".built").exists():
        return
    torch.manual_seed(0)
    torch.save(_state(), shared / "state.pkl")
    small = torch.nn.LSTM(3, 2, bidirectional=True)
    small_state = {"enc_lstm." + k: v for k, v in small.state_dict().items()}
    torch.save(small_state, shared / "small.pkl")
    torch.save(small_state, shared / "small-legacy.pkl", _use_new_zipfile_serialization=False)
    legacy = shared / "legacy.pkl"
    torch.save(_state(), legacy, _use_new_zipfile_serialization=False)
    with zipfile.ZipFile(shared / "state.pkl") as zf:
        members = [(i.filename, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(shared / "bomb.pkl", "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
        write_zero_member(zf, "archive/extra/0", b"", 700 << 20)
    with zipfile.ZipFile(shared / "line300.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open(SNLI[0], "w", force_zip64=True) as out:
            chunk = b"x" * (1 << 20)
            for _ in range(300):
                out.write(chunk)
        for m in SNLI[1:]:
            zf.writestr(m, LINE)
    (shared / ".built").write_text("")


def inf() -> Any:
    import embeddings.formats.infersent as module

    return module


def V(build: Callable[[Ctx], Callable[[], Any]], label: str,
      ok: Callable[[Any], bool] | None = None) -> Variant:  # fmt: skip
    """Build the files, then make the call; a file named ``evil*`` outside ``out`` is a
    write outside the extraction folder."""

    def run(ctx: Ctx) -> None:
        call = build(ctx)
        ctx.arm()
        try:
            result = call()
        finally:
            escaped = [p for p in ctx.tmp.rglob("evil*") if ctx.tmp / "x" not in p.parents]
            if escaped:
                raise Outside(f"wrote {escaped[0].name} outside the extraction folder")
        if ok is not None:
            check(ok(result), f"wrong output: {str(result)[:200]}")

    return Variant(label, run, expect="ok" if ok else "error")


def checkpoint(ctx: Ctx, data: bytes) -> Callable[[], Any]:
    p = ctx.tmp / "infersent1.pkl"
    p.write_bytes(data)
    return lambda: inf().read_infersent_checkpoint(p)


# ------------------------------------------------------------------ InferSent
def _truncated(cut: int, legacy: bool = False) -> Variant:
    def build(ctx: Ctx) -> Callable[[], Any]:
        d = (ctx.shared / ("legacy.pkl" if legacy else "state.pkl")).read_bytes()
        return checkpoint(ctx, d[:cut] if cut > 0 else d[: len(d) + cut])

    return V(build, f"truncated {'legacy' if legacy else 'zip'} at {cut}")


def _stride0(ctx: Ctx) -> Callable[[], Any]:
    import torch

    hidden, word_dim = 25_000, 20_000  # every tensor a view of one value (strides 0)
    one = torch.zeros(1)
    sd = {}
    for name in inf().CHECKPOINT_NAMES:
        shape = {"weight_ih": (4 * hidden, word_dim), "weight_hh": (4 * hidden, hidden)}.get(
            name.split("_l0")[0], (4 * hidden,))  # fmt: skip
        sd["enc_lstm." + name] = one.as_strided(shape, (0,) * len(shape))
    p = ctx.tmp / "infersent1.pkl"
    torch.save(sd, p)
    return lambda: inf().read_infersent_checkpoint(p)


def _edited(label: str, edit: Callable[[dict[str, Any]], object]) -> Variant:
    def build(ctx: Ctx) -> Callable[[], Any]:
        import torch

        sd = _state()
        edit(sd)
        p = ctx.tmp / "infersent1.pkl"
        torch.save(sd, p)
        return lambda: inf().read_infersent_checkpoint(p)

    return V(build, label)


def _sparse_bias(sd: dict[str, Any]) -> None:
    sd["enc_lstm.bias_ih_l0"] = sd["enc_lstm.bias_ih_l0"].to_sparse()


def _long_key(sd: dict[str, Any]) -> None:
    import torch

    sd["x" * 100000] = torch.zeros(1)


def _fifo(ctx: Ctx) -> Callable[[], Any]:
    os.mkfifo(ctx.tmp / "infersent1.pkl")
    return lambda: inf().read_infersent_checkpoint(ctx.tmp / "infersent1.pkl")


def _fuzz(kind: str, legacy: bool, k: int, n: int = 64) -> Variant:
    """The k-th of n truncations (at k/n of the file) or bit flips of a small checkpoint:
    a transferkit error, or a state dict of the expected names and finite values."""

    def build(ctx: Ctx) -> Callable[[], Any]:
        import random

        data = bytearray(
            (ctx.shared / ("small-legacy.pkl" if legacy else "small.pkl")).read_bytes()
        )
        if kind == "truncated":
            data = data[: k * len(data) // n]
        else:
            rng = random.Random(k)
            for _ in range(1 + k % 4):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return checkpoint(ctx, bytes(data))

    def ok(c: Any) -> bool:
        import numpy as np

        arrays = c.arrays
        return set(arrays) == set(inf().CHECKPOINT_NAMES) and all(
            a.dtype == np.float32 and np.isfinite(a).all() for a in arrays.values()
        )

    label = f"{'legacy' if legacy else 'zip'} {kind} #{k}"
    return Variant(label, V(build, label, ok).run, expect="either")


INFERSENT = [
    *(_truncated(c) for c in (4985, 100, 20000, 60000, -30, -200)),
    *(_truncated(c, legacy=True) for c in (28, 400, 5000, -10)),
    V(_stride0, "stride-0 views declaring 2 GB"),
    V(lambda ctx: checkpoint(ctx, legacy_checkpoint(10**10)), "legacy storage of 10**10"),
    V(lambda ctx: checkpoint(ctx, (ctx.shared / "bomb.pkl").read_bytes()), "zip bomb 700 MB"),
    _edited("100,000-character key", _long_key),
    _edited("sparse tensor", _sparse_bias),
]  # fmt: skip


# ---------------------------------------------------------------------- zips
def _mp(label: str, members: list[tuple[str, bytes]] | bytes | Callable[[Ctx], bytes],
        post: Callable[[bytes], bytes] | None = None) -> Variant:  # fmt: skip
    def build(ctx: Ctx) -> Callable[[], Any]:
        import embeddings.adapters.mpnet as mp

        p = ctx.tmp / "a.zip"
        if callable(members):
            data = members(ctx)
        else:
            data = members if isinstance(members, bytes) else zip_bytes(members)
        p.write_bytes(post(data) if post else data)
        return lambda: mp.safe_extract(p, ctx.tmp / "x" / "out")

    return V(build, label)


MPNET = [
    _mp("not a zip", b"PK\x03\x04 not really a zip"),
    _mp("bad CRC", OK_MEMBERS, corrupt_crc),
    _mp("method 99", OK_MEMBERS, lambda d: set_method(d, 99)),
    _mp("method 14 (lzma) on deflate data", OK_MEMBERS, lambda d: set_method(d, 14)),
    _mp("encrypted", OK_MEMBERS, lambda d: set_flag(d, 1)),
    _mp("file then a child of it", [("m/a", b"x"), ("m/a/b", b"y")]),
    _mp("file then a folder of its name", [("m/a", b"x"), ("m/a/", b"")]),
    _mp("folder then a file of its name", [("m/a/", b""), ("m/a", b"x")]),
    _mp("bad UTF-8 name", OK_MEMBERS, lambda d: set_utf8_flag_bad_name(
        d, b"m/config.json", b"m/conf\xffg.json")),
    _mp("300-byte name", [("m/" + "x" * 300, b"x")]),
    _mp("duplicate name", [("m/a", b"1"), ("m/a", b"2")]),
    _mp("member named '.'", [(".", b"x")]),
    _mp("traversal ../evil.txt", [("../evil.txt", b"x")]),
    _mp("absolute name", lambda ctx: zip_bytes([(str(ctx.tmp / "evil-abs.txt"), b"x")])),
    _mp("truncated archive", OK_MEMBERS, lambda d: d[: len(d) - 30]),
    _mp("damaged deflate data", [("m/config.json", b"{}" * 5000)], damage_first_member_data),
]  # fmt: skip


def _nli(label: str, members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_STORED,
         post: Callable[[bytes], bytes] | None = None, ok: Callable[[Any], bool] | None = None,
         prepare: Callable[[Ctx], object] | None = None) -> Variant:  # fmt: skip
    def build(ctx: Ctx) -> Callable[[], Any]:
        from benchmarks.tasks import nli

        p = ctx.tmp / "snli.zip"
        data = zip_bytes(members, compression)
        p.write_bytes(post(data) if post else data)
        if prepare:
            prepare(ctx)
        return lambda: nli.convert_nli_zip(p, nli.ARCHIVES["SNLI"], ctx.tmp / "x" / "out")

    return V(build, label, ok)


def _line300(ctx: Ctx) -> Callable[[], Any]:
    from benchmarks.tasks import nli

    return lambda: nli.convert_nli_zip(ctx.shared / "line300.zip", nli.ARCHIVES["SNLI"],
                                       ctx.tmp / "x" / "out")  # fmt: skip


def _out_is_file(ctx: Ctx) -> None:
    (ctx.tmp / "x").mkdir()
    (ctx.tmp / "x" / "out").write_text("x")


def _split_is_dir(ctx: Ctx) -> None:
    (ctx.tmp / "x" / "out" / "train.tsv").mkdir(parents=True)


def _nli_fifo(ctx: Ctx) -> Callable[[], Any]:
    from benchmarks.tasks import nli

    os.mkfifo(ctx.tmp / "a.zip")
    return lambda: nli.convert_nli_zip(ctx.tmp / "a.zip", nli.ARCHIVES["SNLI"], ctx.tmp / "o")


def _mp_fifo(ctx: Ctx) -> Callable[[], Any]:
    import embeddings.adapters.mpnet as mp

    os.mkfifo(ctx.tmp / "a.zip")
    return lambda: mp.safe_extract(ctx.tmp / "a.zip", ctx.tmp / "x" / "out")


NLI = [
    _nli("bad CRC", GOOD, zipfile.ZIP_DEFLATED, corrupt_crc),
    _nli("damaged deflate data", GOOD, zipfile.ZIP_DEFLATED, damage_first_member_data),
    _nli("method 99", GOOD, post=lambda d: set_method(d, 99)),
    _nli("encrypted", GOOD, post=lambda d: set_flag(d, 1)),
    _nli("bad UTF-8 name", GOOD, post=lambda d: set_utf8_flag_bad_name(
        d, SNLI[0].encode(), SNLI[0].encode()[:-6] + b"\xffjsonl")),
    _nli("content not UTF-8", [(m, b"\xff\xfe" + LINE) for m in SNLI]),
    _nli("JSON nested 100,000 deep", [(m, b"[" * 100000 + b"]" * 100000 + b"\n") for m in SNLI]),
    V(_line300, "one 300 MB line, deflated"),
    _nli("duplicate member", [*GOOD, (SNLI[0], LINE)]),
    _nli("damaged bzip2", GOOD, zipfile.ZIP_BZIP2,
         lambda d: d.replace(b"BZh91AY&SY", b"BZh91AY&SX", 1)),
    _nli("output folder is a file", GOOD, prepare=_out_is_file),
    _nli("a split output is a folder", GOOD, prepare=_split_is_dir),
    _nli("valid archive", GOOD, zipfile.ZIP_DEFLATED,
         ok=lambda man: man["splits"]["train"]["rows"] == 50),
]  # fmt: skip

SPECIAL = [
    V(_fifo, "infersent1.pkl is a FIFO"),
    V(lambda ctx: lambda: inf().read_infersent_checkpoint("/dev/zero"), "checkpoint /dev/zero"),
    V(_mp_fifo, "safe_extract of a FIFO"),
    V(_nli_fifo, "convert_nli_zip of a FIFO"),
]

FUZZ = [_fuzz(kind, legacy, k) for legacy in (False, True) for kind in ("truncated", "flipped")
        for k in range(64)]  # fmt: skip

PROBES = [
    ("InferSent: truncated / damaged, stride-0, lying sizes, zip bomb", INFERSENT),
    ("InferSent checkpoint fuzz: 64 truncations, 64 bit flips, zip and legacy (either)", FUZZ),
    ("zip members in mpnet.safe_extract", MPNET),
    ("zip members in convert_nli_zip", NLI),
    ("FIFO / device files for checkpoints and archives", SPECIAL),
]
