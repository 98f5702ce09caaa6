"""The Skip-Thought release reader (``embeddings.formats.skip_thought``): option pickles
(memo-shared nesting, lying lengths, unhashable keys, code-running reducers), ``.npz``
members (lying ``.npy`` headers, deflate bombs, damaged archives), object word tables
(huge ``ndarray`` reconstructions), damaged release files, FIFOs and devices, and valid
releases that must still read."""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.security.probes import Ctx, Variant, check
from tests.security.probes._zips import (
    Payload,
    corrupt_crc,
    npy_header,
    raw_npy_header,
    replace_member,
    set_method,
    set_utf8_flag_bad_name,
    write_zero_member,
)

DW, UNI, BI, N_WORDS = 5, 6, 4, 12
BOMB_DIM = 16384


def setup(shared: Path) -> None:
    """Build the deflate-bomb release once; import the reader."""
    import embeddings.formats.skip_thought  # noqa: F401
    import tests.formats.test_skip_thought_release  # noqa: F401

    if (shared / ".built").exists():
        return
    rel = release(shared, "bomb")
    dim = BOMB_DIM  # encoder_U is a 2 GiB array of zeros, deflated to about 2 MB
    with zipfile.ZipFile(rel / "uni_skip.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        write_zero_member(zf, "encoder_W.npy", npy_header((DW, 2 * dim)), DW * 2 * dim * 4)
        write_zero_member(zf, "encoder_b.npy", npy_header((2 * dim,)), 2 * dim * 4)
        write_zero_member(zf, "encoder_U.npy", npy_header((dim, 2 * dim)), dim * 2 * dim * 4)
    (shared / ".built").write_text("")


def release(where: Path, name: str = "rel", **kw: Any) -> Path:
    """A valid tiny release (see tests/formats/test_skip_thought_release.py)."""
    from tests.formats.test_skip_thought_release import build_release

    build_release(where / name, **kw)
    return where / name


def st() -> Any:
    import embeddings.formats.skip_thought as module

    return module


def V(build: Callable[[Ctx], Callable[[], Any]], label: str | None = None,
      ok: Callable[[Any], bool] | None = None) -> Variant:  # fmt: skip
    """Build the files, then make the call; ``ok`` checks a returned value."""

    def run(ctx: Ctx) -> None:
        call = build(ctx)
        ctx.arm()
        result = call()
        if ok is not None:
            check(ok(result), f"wrong output: {str(result)[:200]}")

    name = label or build.__name__.removeprefix("v_")
    return Variant(name, run, expect="ok" if ok else "error")


def options_file(ctx: Ctx, data: bytes) -> Callable[[], Any]:
    p = ctx.tmp / "o.pkl"
    p.write_bytes(data)
    return lambda: st().read_options(p)


def uni(rel: Path, **kw: Any) -> Callable[[], Any]:
    return lambda: st().read_release(rel, mode="uni", **kw)


# ------------------------------------------------------ options pickle nesting
def _shared(kind: str, width: int = 2, depth: int = 40, protocol: int = 2) -> Any:
    a: Any = [] if kind == "list" else {} if kind == "dict" else ()
    for _ in range(depth):
        if kind == "list":
            a = [a] * width
        elif kind == "dict":
            a = {f"k{i}": a for i in range(width)}
        else:
            a = (a,) * width
    return a


def _nested(kind: str, width: int, depth: int, protocol: int) -> Variant:
    def build(ctx: Ctx) -> Callable[[], Any]:
        value = _shared(kind, width, depth)
        if kind == "tuple" and width == 2:
            value = [value]
        return options_file(ctx, pickle.dumps({"dim": 3, "dim_word": 2, "x": value},
                                              protocol=protocol))  # fmt: skip

    return V(build, f"shared {kind} width {width} depth {depth}")


def v_nested_release(ctx: Ctx) -> Callable[[], Any]:
    rel = release(ctx.tmp)
    data = pickle.dumps({"dim": UNI, "dim_word": DW, "x": _shared("list")})
    (rel / "uni_skip.npz.pkl").write_bytes(data)
    return uni(rel)


NESTED = [_nested("list", 2, 40, 2), _nested("dict", 2, 40, 4), _nested("tuple", 2, 40, 0),
          V(v_nested_release), _nested("list", 8, 18, 2), _nested("dict", 8, 18, 2),
          _nested("tuple", 8, 18, 2), _nested("list", 2, 19, 2)]  # fmt: skip


# ------------------------------------------------------------- lying members
def _lying(shape: tuple[int, ...], descr: str = "<f4", deflate: bool = False) -> Variant:
    def build(ctx: Ctx) -> Callable[[], Any]:
        rel = release(ctx.tmp)
        method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
        replace_member(rel / "uni_skip.npz", "encoder_W.npy",
                       npy_header(shape, descr) + b"\0" * 64, method)  # fmt: skip
        return uni(rel)

    return V(build, f"{shape} {descr}{' deflated' if deflate else ''}")


def v_lying_right_shape(ctx: Ctx) -> Callable[[], Any]:
    rel = release(ctx.tmp)  # the expected shape, fewer bytes than declared
    replace_member(rel / "uni_skip.npz", "encoder_W.npy", npy_header((DW, 2 * UNI)) + b"\0" * 8)
    return uni(rel)


LYING = [_lying((1 << 28, 37)), _lying((37 << 30,), "|u1"), _lying((1 << 33, 4), "<f8"),
         _lying((1 << 28, 37), deflate=True), V(v_lying_right_shape)]  # fmt: skip


# ------------------------------------------------------ object word tables
def table(body: bytes, shape: tuple[int, ...] = (2,)) -> Callable[[Ctx], Callable[[], Any]]:
    def build(ctx: Ctx) -> Callable[[], Any]:
        p = ctx.tmp / "utable.npy"
        p.write_bytes(npy_header(shape, "|O") + body)
        return lambda: st().read_table(p)

    return build


_OBJ_HEAD = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b"
             b"\x87R(K\x01")  # fmt: skip
_OBJ_DTYPE = (b"\x85cnumpy\ndtype\nX\x02\x00\x00\x00O8\x89\x88\x87R(K\x03X\x01\x00\x00\x00|NNN"
              b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb\x89")  # fmt: skip


def _shared_rows_body() -> bytes:
    # one 4 kB row referenced 500,000 times through the memo (a 1 MB file, 4 GB of rows)
    row = np.zeros(1024, dtype=np.float32)
    n = 500_000
    head = b"\x80\x03" + pickle.dumps(row, protocol=3)[2:-1]
    return (_OBJ_HEAD + b"J" + struct.pack("<i", n) + _OBJ_DTYPE + b"](" + head[2:]
            + b"r\x00\x00\x10\x00" + b"j\x00\x00\x10\x00" * (n - 1) + b"etb.")  # fmt: skip


def _rows(ctx: Ctx) -> Callable[[], Any]:
    return table(_shared_rows_body(), (500_000,))(ctx)


NDARRAY = [
    V(table(b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01"
            b"J\x00\xe4\x0bT\x85q\x02C\x01b\x87R."), "_reconstruct of 10**10 elements"),
    V(table(_OBJ_HEAD + b"J\x00\xca\x9a;" + _OBJ_DTYPE + b"]tb."), "state of 10**9 objects"),
    V(table(_OBJ_HEAD + b"K\x01\x85cnumpy\ndtype\nX\x02\x00\x00\x00f4\x89\x88\x87R(K\x03X\x01"
            b"\x00\x00\x00<cnumpy\ndtype\nX\x02\x00\x00\x00f4\x89\x88\x87RJ\x00\xca\x9a;\x85\x86"
            b"NNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89C\x04\x00\x00\x00\x00tb.", (1,)),
      "subarray dtype of 10**9"),
    V(_rows, "one row shared 500,000 times"),
]  # fmt: skip


# ------------------------------------------------------------ damaged files
def _damaged(label: str, edit: Callable[[Path], object]) -> Variant:
    def build(ctx: Ctx) -> Callable[[], Any]:
        rel = release(ctx.tmp)
        edit(rel)
        return uni(rel)

    return V(build, label)


def _object_member(rel: Path) -> None:
    b = io.BytesIO()
    arr = np.empty((DW, 2 * UNI), dtype=object)
    arr[:] = 1.0
    np.save(b, arr, allow_pickle=True)
    replace_member(rel / "uni_skip.npz", "encoder_W.npy", b.getvalue())


def _cut_member(rel: Path) -> None:
    with zipfile.ZipFile(rel / "uni_skip.npz") as zf:
        data = zf.read("encoder_Ux.npy")
    replace_member(rel / "uni_skip.npz", "encoder_Ux.npy", data[:-7])


def _cut(name: str, keep: Callable[[int], int]) -> Callable[[Path], None]:
    def edit(rel: Path) -> None:
        d = (rel / name).read_bytes()
        (rel / name).write_bytes(d[: keep(len(d))])

    return edit


def _ragged_rows(rel: Path) -> None:
    obj = np.empty(N_WORDS, dtype=object)
    for i in range(N_WORDS):
        obj[i] = np.zeros(DW if i else DW + 1, dtype=np.float32)
    np.save(rel / "utable.npy", obj, allow_pickle=True)


DAMAGED = [
    _damaged("object member", _object_member),
    _damaged("truncated member", _cut_member),
    _damaged("truncated table", _cut("utable.npy", lambda n: n - 9)),
    _damaged("truncated npz", _cut("uni_skip.npz", lambda n: n // 2)),
    _damaged("truncated options", _cut("uni_skip.npz.pkl", lambda n: n - 5)),
    _damaged("negative shape in header", lambda r: replace_member(
        r / "uni_skip.npz", "encoder_W.npy", raw_npy_header(
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (5, -12), }") + b"\0" * 240)),
    _damaged("dictionary not UTF-8", lambda r: (r / "dictionary.txt").write_bytes(
        b"UNK\nca\xfft\n")),
    _damaged("options of wrong types", lambda r: (r / "uni_skip.npz.pkl").write_bytes(
        pickle.dumps({"dim": "six", "dim_word": [5]}))),
    _damaged("options missing dim", lambda r: (r / "uni_skip.npz.pkl").write_bytes(
        pickle.dumps({"dim_word": 5}))),
    _damaged("table of the wrong width", lambda r: np.save(
        r / "utable.npy", np.zeros((N_WORDS, DW + 1), dtype=np.float32))),
    _damaged("object table with a ragged row", _ragged_rows),
    _damaged("table header of 2**28 x 37", lambda r: (r / "utable.npy").write_bytes(
        npy_header((1 << 28, 37)) + b"\0" * 64)),
]  # fmt: skip


# ------------------------------------------------ options pickles: own cases
def _raw_options(label: str, data: bytes) -> Variant:
    return V(lambda ctx: options_file(ctx, data), label)


def _dag_tuple_body(protocol: int) -> bytes:
    data = pickle.dumps(_shared("tuple"), protocol=protocol)[2:-1]  # no PROTO, no STOP
    return data[9:] if data[:1] == b"\x95" else data  # no FRAME


BINBYTES = [
    _raw_options("BINBYTES8 of 10**11", b"\x80\x04}\x8e" + (10**11).to_bytes(8, "little") + b"ab"),
    _raw_options("BINBYTES of 2**32-16", b"\x80\x03}B" + (0xFFFFFFF0).to_bytes(4, "little")
                 + b"ab"),
    _raw_options("BYTEARRAY8 of 10**11", b"\x80\x05}\x96" + (10**11).to_bytes(8, "little")
                 + b"ab"),
    _raw_options("FRAME of 10**12", b"\x80\x04\x95" + (10**12).to_bytes(8, "little") + b"}."),
]  # fmt: skip


def _hash_key(ctx: Ctx) -> Callable[[], Any]:
    head = b"\x80\x02}(X\x03\x00\x00\x00dimK\x03X\x01\x00\x00\x00k}("
    return options_file(ctx, head + _dag_tuple_body(2) + b"K\x01uu.")


def _frozenset(ctx: Ctx) -> Callable[[], Any]:
    head = b"\x80\x04}(X\x03\x00\x00\x00dimK\x03X\x01\x00\x00\x00k("
    return options_file(ctx, head + _dag_tuple_body(4) + b"\x91u.")


HASHKEY = [
    V(_hash_key, "shared tuple of depth 40 as a dict key"),
    V(_frozenset, "shared tuples in a frozenset"),
]


def _dims(value: Any) -> Variant:
    def build(ctx: Ctx) -> Callable[[], Any]:
        return uni(release(ctx.tmp), options={"uni": {"dim": value, "dim_word": DW}})

    label = f"{value.bit_length()}-bit int" if isinstance(value, int) and value > 10**12 else value
    return V(build, f"dim={label}")


def v_huge_int_pickle(ctx: Ctx) -> Callable[[], Any]:
    rel = release(ctx.tmp)
    (rel / "uni_skip.npz.pkl").write_bytes(pickle.dumps({"dim": 2**20000, "dim_word": DW}))
    return uni(rel)


DIMS = [_dims(float("inf")), _dims(float("nan")), _dims(2**20000), _dims(-3), _dims(10**7),
        V(v_huge_int_pickle)]  # fmt: skip


def v_payload_options(ctx: Ctx) -> Callable[[], Any]:
    rel = release(ctx.tmp)
    data = pickle.dumps({"dim": UNI, "h": Payload(str(ctx.marker("pickle-ran")))})
    (rel / "uni_skip.npz.pkl").write_bytes(data)
    return uni(rel)


def v_payload_table(ctx: Ctx) -> Callable[[], Any]:
    rel = release(ctx.tmp)
    body = pickle.dumps(Payload(str(ctx.marker("pickle-ran"))), protocol=2)
    (rel / "utable.npy").write_bytes(npy_header((2,), "|O") + body)
    return uni(rel)


PAYLOAD = [
    V(v_payload_options), V(v_payload_table),
    _raw_options("EXT1 opcode", b"\x80\x02}(X\x01\x00\x00\x00h\x82\x01u."),
    V(table(b"\x80\x02]}(X\x08\x00\x00\x00__dict__K\x01ub."), "BUILD on a list"),
]  # fmt: skip


# --------------------------------------------------------------------- npz
def v_npz_bomb(ctx: Ctx) -> Callable[[], Any]:
    opts = {"uni": {"dim": BOMB_DIM, "dim_word": DW}}
    return uni(ctx.shared / "bomb", options=opts)


def v_npz_dup_member(ctx: Ctx) -> Callable[[], Any]:
    import warnings

    rel = release(ctx.tmp)
    b = io.BytesIO()
    np.save(b, np.full((DW, 2 * UNI), 9.0, dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(rel / "uni_skip.npz", "a") as zf:
            zf.writestr("encoder_W.npy", b.getvalue())
    return uni(rel)


def _npz_bytes(label: str, edit: Callable[[bytes], bytes]) -> Variant:
    def build(ctx: Ctx) -> Callable[[], Any]:
        rel = release(ctx.tmp)
        (rel / "uni_skip.npz").write_bytes(edit((rel / "uni_skip.npz").read_bytes()))
        return uni(rel)

    return V(build, label)


NPZ = [
    V(v_npz_bomb, "deflate bomb: 2 GiB member in 2 MB"), V(v_npz_dup_member),
    _npz_bytes("bad UTF-8 name", lambda d: set_utf8_flag_bad_name(d, b"encoder_W.npy",
                                                                  b"encoder_\xff.npy")),
    _npz_bytes("method 99", lambda d: set_method(d, 99)),
    _npz_bytes("bad CRC", corrupt_crc),
    _damaged("header of 3000 nested brackets", lambda r: replace_member(
        r / "uni_skip.npz", "encoder_W.npy", raw_npy_header(b"[" * 3000 + b"]" * 3000))),
    _damaged("subarray dtype of 10**30", lambda r: replace_member(
        r / "uni_skip.npz", "encoder_W.npy", raw_npy_header(
            b"{'descr': [('a', '<f4', (10**30,))], 'fortran_order': False, 'shape': (1,), }"))),
]  # fmt: skip


# ---------------------------------------------------------------- correct
def v_dict_u2028(ctx: Ctx) -> Callable[[], Any]:
    from tests.formats.test_skip_thought_release import WORDS

    rel = release(ctx.tmp)  # the release splits lines on "\n" only
    words = list(WORDS)
    words[4], words[5] = "ca\u2028t", "do\x85g"
    (rel / "dictionary.txt").write_bytes("\n".join(words).encode() + b"\n")
    return uni(rel)


def v_object_tables(ctx: Ctx) -> Callable[[], Any]:
    return lambda: st().read_release(release(ctx.tmp, object_tables=True), mode="combine")


CORRECT = [
    V(
        v_dict_u2028,
        "U+2028 and U+0085 inside words",
        ok=lambda r: len(r.words) == N_WORDS and r.index["ca\u2028t"] == 4,
    ),
    V(
        v_object_tables,
        "object word tables (as published)",
        ok=lambda r: r.parts["uni"].table.shape == (N_WORDS, DW),
    ),
]


# ----------------------------------------------------------- FIFO / device
def _special(which: str, kind: str) -> Variant:
    def build(ctx: Ctx) -> Callable[[], Any]:
        rel = release(ctx.tmp)
        target = rel / which
        target.unlink()
        os.mkfifo(target) if kind == "fifo" else os.symlink("/dev/zero", target)
        return uni(rel)

    return V(build, f"{which} as {kind}")


def _link_outside(which: str) -> Variant:
    def build(ctx: Ctx) -> Callable[[], Any]:
        rel = release(ctx.tmp)
        os.replace(rel / which, ctx.outside / which)
        (rel / which).symlink_to(ctx.outside / which)
        return uni(rel)

    return V(build, f"{which} links to a file outside")


SPECIAL = [_special(f, k) for f in ("uni_skip.npz.pkl", "dictionary.txt", "uni_skip.npz",
                                    "utable.npy") for k in ("fifo", "dev")]  # fmt: skip
LINKS = [_link_outside(f) for f in ("uni_skip.npz.pkl", "dictionary.txt", "uni_skip.npz",
                                    "utable.npy")]  # fmt: skip

PROBES = [
    ("options pickle: memo-shared nesting", NESTED),
    ("npz member: lying .npy header", LYING),
    ("object table: ndarray reconstruct", NDARRAY),
    ("release: damaged files", DAMAGED),
    ("FIFO / device files in a release", SPECIAL),
    ("options pickle: lying counted lengths (BINBYTES8, BYTEARRAY8, FRAME)", BINBYTES),
    ("options pickle: shared tuple as dict key / in a set", HASHKEY),
    ("options: dim inf / nan / 2**20000 / negative / huge", DIMS),
    ("pickles that run code or use EXT / BUILD", PAYLOAD),
    ("npz: deflate bomb, duplicate member, bad UTF-8 name, method, CRC, header parser", NPZ),
    ("valid releases: U+2028 in a word, object tables", CORRECT),
    ("release files that link outside the release folder", LINKS),
]
