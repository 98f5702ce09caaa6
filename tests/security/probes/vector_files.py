"""Word-vector files (``embeddings.formats``): word2vec binary and text, GloVe, fastText
``.vec`` and ``.bin``, gensim pickles and the native store.

Gzip bombs of zeros and of valid entries, lying headers, FIFOs and devices, content
echoed in messages, library errors leaking through, pickles picked by a file name,
sparse files, n-gram work explosions, NaN values and hostile store members.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.security.probes import Ctx, Variant, check, no_echo

ROW = struct.pack("<2f", 1.0, 2.0)
ARGS = ["dim", "ws", "epoch", "min_count", "neg", "word_ngrams", "loss", "model", "bucket",
        "minn", "maxn", "lr_update_rate"]  # fmt: skip
DICT = 8 + 56
ECHO = ("root:x", "bin/bash", "s3cr3t-TOKEN")


# -------------------------------------------------------------------- builders
def gz_members(path: Path, head: bytes, unit: bytes, total: int) -> Path:
    """A multi-member gzip file: ``head`` then ``unit`` repeated to ``total`` bytes.

    Compressing 1 MiB once and repeating the member keeps building a 3 GB bomb cheap.
    """
    per = max(1, (1 << 20) // len(unit))
    member = gzip.compress(unit * per, compresslevel=9)
    with open(path, "wb") as fh:
        fh.write(gzip.compress(head))
        for _ in range(max(1, total // (per * len(unit)))):
            fh.write(member)
    return path


def ft_raw(path: Path, *, dim: int, bucket: int, minn: int, maxn: int, words: list[bytes],
           in_rows: int | None = None, fill: float = 0.0) -> Path:  # fmt: skip
    """A hand-built fastText ``.bin`` with the given header and dictionary."""
    args = [dim, 5, 5, 1, 5, 1, 1, 2, bucket, minn, maxn, 100]
    out = struct.pack("<ii", 793712314, 12) + struct.pack("<12id", *args, 1e-4)
    out += struct.pack("<3iqq", len(words), len(words), 0, 100, -1)
    for w in words:
        out += w + b"\0" + struct.pack("<qb", 1, 0)
    rows = len(words) + bucket if in_rows is None else in_rows
    out += struct.pack("<?qq", False, rows, dim) + np.full(rows * dim, fill, "<f4").tobytes()
    out += struct.pack("<?qq", False, 0, dim)
    path.write_bytes(out)
    return path


def setup(shared: Path) -> None:
    """Build the fastText model and the gzip bombs once; warm the readers."""
    import gensim.models.fasttext  # noqa: F401

    import embeddings
    import embeddings.formats

    warm = shared / "warm.txt"
    warm.write_text("the 1 2\n")
    embeddings.load("glove-6b-50d", source=str(warm)).encode(["the cat"])
    if (shared / ".built").exists():
        return
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    words = ["the", "cat", "sat", "on", "mat", "dogs"]
    model = FastText([words] * 20, vector_size=4, min_count=1, epochs=1, bucket=50, seed=1,
                     workers=1)  # fmt: skip
    save_facebook_model(model, str(shared / "ft.bin"))
    zeros = b"\0" * (1 << 20)
    gz_members(shared / "zeros.bin.gz", b"", zeros, 3 << 30)
    gz_members(shared / "zh.bin.gz", b"1000000 300\n", zeros, 3 << 30)
    gz_members(shared / "zh2.bin.gz", b"3000000 300\nthe ", zeros, 3 << 30)
    gz_members(shared / "zeros.txt.gz", b"", zeros, 3 << 30)
    gz_members(shared / "zeros.vec.gz", b"1000 300\n", zeros, 3 << 30)
    entry = b"a " + b"\0" * 1200
    gz_members(shared / "bomb.bin.gz", b"2500000 300\n", entry, 3 << 30)
    gz_members(shared / "bomb2.bin.gz", b"200000 300\n", entry, 200000 * len(entry))
    line = b"w " + b"0 " * 299 + b"0\n"
    gz_members(shared / "bomb.txt.gz", b"", line, 3 << 30)
    gz_members(shared / "bomb.vec.gz", b"5000000 300\n", line, 3 << 30)
    (shared / ".built").write_text("")


def reader(name: str) -> Callable[[Any], Any]:
    """A reader of ``embeddings.formats`` by name, or one of the named variations."""
    import embeddings.formats as f

    special: dict[str, Callable[[Any], Any]] = {
        "read_gensim(trust)": lambda p: f.read_gensim(p, trust_pickle=True),
        "read_vectors(glove)": lambda p: f.read_vectors(p, format="glove-text"),
        "read_vectors(trust)": lambda p: f.read_vectors(p, trust_pickle=True),
        "load_vectors(trust)": lambda p: f.load_vectors(p, trust_pickle=True),
    }
    return special.get(name) or getattr(f, name)


def data(name: str, content: bytes | str) -> Callable[[Ctx], Path]:
    """A builder writing ``content`` to ``name`` in the variant's folder."""

    def build(ctx: Ctx) -> Path:
        path = ctx.tmp / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return build


def shared(name: str) -> Callable[[Ctx], Path]:
    return lambda ctx: ctx.shared / name


def call(label: str, build: Callable[[Ctx], Any], read: str, *, expect: str = "error",
         ok: Callable[[Any], object] | None = None) -> Variant:  # fmt: skip
    """Build the input, then ``reader(read)(input)``; ``ok`` checks a returned table."""

    def run(ctx: Ctx) -> None:
        path = build(ctx)
        ctx.arm()
        out = no_echo(lambda: reader(read)(path), *ECHO)
        if ok is not None:
            check(ok(out), f"wrong output: {str(out)[:200]}")

    return Variant(label, run, expect=expect)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ rows
def _zeros() -> list[Variant]:
    out = []
    for name in ("zeros.bin.gz", "zh.bin.gz", "zh2.bin.gz"):
        out.append(call(name, shared(name), "read_word2vec_binary"))
        out.append(call(name + " auto+load", shared(name), "load_vectors"))
    out.append(call("zeros.txt.gz glove", shared("zeros.txt.gz"), "read_glove_text"))
    out.append(call("zeros.vec.gz w2v text", shared("zeros.vec.gz"), "read_word2vec_text"))
    return out


def _empty_encoder(ctx: Ctx) -> None:
    import embeddings

    path = data("h05.txt", "0 5\n")(ctx)
    enc = embeddings.load("glove-6b-50d", source=str(path))
    check(enc.encode(["the cat"]).shape == (1, 5))


def _verify_empty(ctx: Ctx) -> None:
    from embeddings.formats import load_vectors, verify_store

    t = load_vectors(data("h05.txt", "0 5\n")(ctx))
    verify_store(t.source)


def _empty() -> list[Variant]:
    shape = lambda t: t.vectors.shape == (0, 5)  # noqa: E731
    return [
        call("text load_vectors", data("h05.txt", "0 5\n"), "load_vectors", expect="ok", ok=shape),
        call("binary load_vectors", data("h05.bin", b"0 5\n"), "load_vectors", expect="ok",
             ok=shape),
        Variant("encoder on it", _empty_encoder, expect="ok"),
        Variant("text verify_store", _verify_empty, expect="ok"),
    ]  # fmt: skip


def _echo_encoder(ctx: Ctx) -> None:
    import embeddings

    enc = embeddings.load("glove-6b-50d", source="/etc/passwd")
    no_echo(lambda: enc.encode(["the cat"]), *ECHO)


def _echo() -> list[Variant]:
    s = "s3cr3t-TOKEN"
    cases = [
        ("/etc/passwd glove", lambda ctx: "/etc/passwd", "read_glove_text"),
        ("/etc/passwd w2v text", lambda ctx: "/etc/passwd", "read_word2vec_text"),
        ("/etc/passwd w2v binary", lambda ctx: "/etc/passwd", "read_word2vec_binary"),
        ("/etc/passwd auto", lambda ctx: "/etc/passwd", "read_vectors"),
        ("first-line secret glove", data("s.txt", f"{s}:x:0:0\n"), "read_glove_text"),
        ("non-number token", data("s.txt", f"a 1 2\nb {s} 3\n"), "read_glove_text"),
        ("short line", data("s.txt", f"2 2\na 1 2\n{s}\n"), "read_word2vec_text"),
        ("header of words", data("s.txt", f"{s} {s}\n"), "read_word2vec_text"),
        ("binary header of words", data("s.bin", f"{s} {s}\n"), "read_word2vec_binary"),
        ("bad utf-8 text", data("s.txt", b"a 1 2\n" + s.encode() + b"\xff\xfe 1 2\n"),
         "read_glove_text"),
        ("bad utf-8 binary word", data("s.bin", b"1 2\n" + s.encode() + b"\xff " + ROW),
         "read_word2vec_binary"),
        ("pickle garbage trusted", data("s.kv", b"\x80\x04" + s.encode()), "read_gensim(trust)"),
    ]  # fmt: skip
    return [call(n, b, r) for n, b, r in cases] + [
        Variant("encoder source=/etc/passwd", _echo_encoder)
    ]


READERS = ["read_word2vec_text", "read_glove_text", "read_fasttext_vec", "read_word2vec_binary",
           "read_fasttext_bin", "read_gensim(trust)", "detect_format", "read_vectors",
           "load_vectors", "read_vectors(glove)"]  # fmt: skip


def _fifo(name: str) -> Callable[[Ctx], Path]:
    def build(ctx: Ctx) -> Path:
        os.mkfifo(ctx.tmp / name)
        return ctx.tmp / name

    return build


def _store_member(member: str, kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        from embeddings.formats import VectorTable, read_store, write_store

        store = ctx.tmp / "store"
        write_store(store, VectorTable(["a", "b"], np.eye(2, dtype=np.float32)))
        os.unlink(store / member)
        os.mkfifo(store / member) if kind == "FIFO" else os.symlink("/dev/zero", store / member)
        read_store(store)

    return Variant(f"store with {member} as {kind}", run)


def _special() -> list[Variant]:
    targets: list[tuple[str, Callable[[Ctx], Any]]] = [
        ("pipe.txt", _fifo("pipe.txt")), ("pipe.bin", _fifo("pipe.bin")),
        ("pipe.txt.gz", _fifo("pipe.txt.gz")),
        ("/dev/zero", lambda ctx: "/dev/zero"), ("/dev/urandom", lambda ctx: "/dev/urandom"),
    ]  # fmt: skip
    out = [call(f"{t} {r}", b, r) for t, b in targets for r in READERS]
    out += [_store_member(m, k) for m in ("vocab.txt", "vectors.npy", "config.json")
            for k in ("FIFO", "link to /dev/zero")]  # fmt: skip
    return out


def _ft_patch(name: str, off: int | Callable[[bytes], int], fmt: str, value: int) -> Variant:
    def build(ctx: Ctx) -> Path:
        raw = bytearray((ctx.shared / "ft.bin").read_bytes())
        struct.pack_into(fmt, raw, off(bytes(raw)) if callable(off) else off, value)
        path = ctx.tmp / "ft.bin"
        path.write_bytes(bytes(raw))
        return path

    def ok(t: Any) -> bool:
        return bool(np.isfinite(t.vectors).all() and len(t.vocab) == len(t.vectors))

    return call(f"{name}={value}", build, "read_fasttext_bin", expect="either", ok=ok)


def _matrix_at(raw: bytes, second: bool = False) -> int:
    nwords = struct.unpack_from("<i", raw, DICT + 4)[0]
    mat = raw.index(struct.pack("<qq", nwords + 50, 4)) - 1
    return mat + 17 + (nwords + 50) * 16 if second else mat


def _ft_huge_matrix(ctx: Ctx) -> None:
    from embeddings.formats import read_fasttext_bin

    p = ft_raw(ctx.tmp / "big.bin", dim=300, bucket=0, minn=0, maxn=0, words=[b"a"], in_rows=1)
    raw = bytearray(p.read_bytes())
    struct.pack_into("<?qq", raw, len(raw) - 17 - 300 * 4 - 17, False, 10**9, 300)
    p.write_bytes(bytes(raw))
    read_fasttext_bin(p)


def _lying_ft() -> list[Variant]:
    fields: list[tuple[Any, str, str]] = [(8 + 4 * ARGS.index(n), "<i", n) for n in ARGS]
    fields += [(DICT + 4 * i, "<i", f"dict{i}") for i in range(3)]
    fields += [(DICT + 12, "<q", "ntokens"), (DICT + 20, "<q", "pruneidx")]
    fields += [(lambda r: _matrix_at(r) + 1, "<q", "in_rows"),
               (lambda r: _matrix_at(r) + 9, "<q", "in_cols"),
               (lambda r: _matrix_at(r, True) + 1, "<q", "out_rows"),
               (lambda r: _matrix_at(r, True) + 9, "<q", "out_cols")]  # fmt: skip
    out = []
    for off, fmt, name in fields:
        values: tuple[int, ...] = (-(2**31), -1, 0, 1, 7, 33, 10_001, 2**31 - 1)
        values += (2**62, 10**9 * 300) if fmt == "<q" else ()
        out += [_ft_patch(name, off, fmt, v) for v in values]
    return [*out, Variant("input matrix 10^9 x 300", _ft_huge_matrix)]


def _translate() -> list[Variant]:
    good = gzip.compress(b"a 1 2\nb 3 4\n")
    cases = {
        "notgzip.txt.gz": b"this is not gzip at all",
        "cut.txt.gz": good[:-12],
        "corrupt.txt.gz": good[:12] + b"\xff" * 20 + good[32:],
        "trailing.txt.gz": good + b"junkjunk",
        "empty.txt.gz": b"",
        "cut.bin.gz": gzip.compress(b"2 2\na " + ROW + b"b " + ROW)[:-15],
        "notgzip.bin.gz": b"2 2\na " + ROW,
        "badutf.txt": b"\xff\xfe\xfd 1 2\n",
        "nul.txt": b"a\x00 1 2\n",
        "utf16.txt": "a 1 2\n".encode("utf-16"),
    }
    readers = ("read_vectors", "read_glove_text", "read_word2vec_text", "read_word2vec_binary")
    out = []
    for name, content in cases.items():
        for r in readers:
            either = name == "nul.txt" and r in ("read_vectors", "read_glove_text")
            out.append(call(f"{name} {r}", data(name, content), r,
                            expect="either" if either else "error"))  # fmt: skip

    def noperm(ctx: Ctx) -> Path:
        p = data("noperm.txt", "a 1 2\n")(ctx)
        os.chmod(p, 0)
        return p

    def loop(ctx: Ctx) -> Path:
        os.symlink(ctx.tmp / "loop.txt", ctx.tmp / "loop.txt")
        return ctx.tmp / "loop.txt"

    def dangling(ctx: Ctx) -> Path:
        os.symlink(ctx.tmp / "nowhere", ctx.tmp / "dangling.txt")
        return ctx.tmp / "dangling.txt"

    paths: list[tuple[str, Callable[[Ctx], Any]]] = [
        ("noperm.txt", noperm), ("loop.txt", loop), ("dangling.txt", dangling),
        ("missing.txt", lambda ctx: ctx.tmp / "missing.txt"), ("folder", lambda ctx: ctx.tmp),
    ]  # fmt: skip
    for name, build in paths:
        for r in (
            "read_vectors",
            "read_glove_text",
            "read_word2vec_binary",
            "read_fasttext_bin",
            "load_vectors",
        ):
            # root reads a file of mode 0: then the text readers may succeed
            either = name == "noperm.txt" and r != "read_word2vec_binary"
            out.append(call(f"{name} {r}", build, r, expect="either" if either else "error"))
    return out


def _pickle_named(name: str, read: str) -> Variant:
    def build(ctx: Ctx) -> Path:
        import pickle

        from tests.security.builders import MakeDir

        payload = pickle.dumps(MakeDir(ctx.marker("pickle-ran")), protocol=4)
        return data(name, gzip.compress(payload) if name.endswith(".gz") else payload)(ctx)

    return call(f"{name} {read}", build, read)


def _pickles() -> list[Variant]:
    names = ("v.kv", "v.model", "v.wv", "v.gensim", "v.kv.gz", "v.bin", "v.txt", "v.vec", "v.KV")
    reads = ("read_vectors", "load_vectors", "load_vectors(trust)", "read_vectors(trust)",
             "detect_format")  # fmt: skip
    return [_pickle_named(n, r) for n in names for r in reads]


def _lying_binary() -> list[Variant]:
    cases = {
        "1e9x300.bin": b"1000000000 300\nthe " + np.ones(300, "<f4").tobytes(),
        "1e9x300_cut.bin": b"1000000000 300\n",
        "1x1e9.bin": b"1 1000000000\na " + ROW,
    }
    out = []
    for name, content in cases.items():
        out.append(call(name, data(name, content), "read_word2vec_binary"))
        out.append(call(name + " load", data(name, content), "load_vectors"))
        out.append(call(name + ".gz", data(name + ".gz", gzip.compress(content)),
                        "read_word2vec_binary"))  # fmt: skip
    return out


def _ngram(label: str, **kw: Any) -> Variant:
    return call(label, lambda ctx: ft_raw(ctx.tmp / "w.bin", **kw), "read_fasttext_bin")


def _store(ctx: Ctx) -> Path:
    from embeddings.formats import VectorTable, write_store

    store = ctx.tmp / "store"
    write_store(store, VectorTable(["a", "b"], np.eye(2, dtype=np.float32)))
    return store


def _store_case(label: str, edit: Callable[[Ctx, Path], object], fn: str = "read_store",
                expect: str = "error") -> Variant:  # fmt: skip
    def run(ctx: Ctx) -> None:
        from embeddings.formats import is_store, read_store

        store = _store(ctx)
        edit(ctx, store)
        ctx.arm()
        if fn == "is_store":
            check(is_store(store) is False, "is_store said True")
        else:
            no_echo(lambda: read_store(store), *ECHO)

    return Variant(label, run, expect=expect)  # type: ignore[arg-type]


def _link_vectors(ctx: Ctx, s: Path) -> None:
    np.save(ctx.outside / "outside.npy", np.eye(2, dtype=np.float32))
    os.unlink(s / "vectors.npy")
    os.symlink(ctx.outside / "outside.npy", s / "vectors.npy")


def _link_vocab(ctx: Ctx, s: Path) -> None:
    os.unlink(s / "vocab.txt")
    os.symlink(ctx.secret_file, s / "vocab.txt")


def _sparse(member: str, size: int) -> Callable[[Ctx, Path], None]:
    def edit(ctx: Ctx, s: Path) -> None:
        with open(s / member, "r+b") as fh:
            fh.truncate(size)

    return edit


def _config(**fields: Any) -> Callable[[Ctx, Path], None]:
    def edit(ctx: Ctx, s: Path) -> None:
        cfg = json.loads((s / "config.json").read_text())
        cfg.update(fields)
        (s / "config.json").write_text(json.dumps(cfg))
        if "subwords" in fields:
            np.save(s / "ngrams.npy", np.ones((2, 2), np.float32))
        if fields.get("count") == 0:
            np.save(s / "vectors.npy", np.zeros((0, 2), np.float32))

    return edit


def _sparse_binary(kind: str) -> Callable[[Ctx], Path]:
    def build(ctx: Ctx) -> Path:
        p = ctx.tmp / "sparse.bin"
        with open(p, "wb") as fh:
            if kind == "header":
                fh.write(b"2000000 1000\nthe " + np.ones(1000, "<f4").tobytes())
                fh.truncate(8_100_000_000)
            else:
                fh.write(b"1000000 2000\n")
                for k in range(50):
                    fh.seek(13 + k * 8002)
                    fh.write(b"a ")
                fh.truncate(13 + 1000000 * 8002)
        return p

    return build


def _vocab_is(words: list[str]) -> Callable[[Any], bool]:
    return lambda t: t.vocab == words


def _ft_named(ext: str) -> Variant:
    def build(ctx: Ctx) -> Path:
        return Path(shutil.copy(ctx.shared / "ft.bin", ctx.tmp / f"ftname{ext}"))

    want = ["the", "cat", "sat", "on", "mat", "dogs"]
    return call(
        ext,
        build,
        "read_fasttext_bin",
        expect="ok",
        ok=lambda t: sorted(t.vocab) == sorted(want) and np.isfinite(t.vectors).all(),
    )


PROBES = [
    ("zeros gzip (3 MB -> 3 GB)", _zeros()),
    ("word2vec header '0 5' (valid: empty table)", _empty()),
    ("content echo in messages", _echo()),
    ("FIFO / device file", _special()),
    ("fastText lying header (either outcome; finite, consistent)", _lying_ft()),
    ("leaking OSError/EOFError/zlib/Unicode/ValueError", _translate()),
    ("pickle chosen by name/extension", _pickles()),
    ("lying word2vec binary header", _lying_binary()),
    ("gzip bomb of valid binary entries", [
        call("2.5M x 300 of zeros", shared("bomb.bin.gz"), "read_word2vec_binary"),
        call("200k x 300 (240 MB)", shared("bomb2.bin.gz"), "read_word2vec_binary"),
    ]),
    ("gzip bomb of valid text lines", [
        call("glove 3 GB", shared("bomb.txt.gz"), "read_glove_text"),
        call("w2v text 3 GB", shared("bomb.vec.gz"), "read_word2vec_text"),
    ]),
    ("fastText n-gram work", [
        _ngram("1 word of 1M chars, n 1..32", dim=1, bucket=1, minn=1, maxn=32,
               words=[b"x" * 1_000_000]),
        _ngram("30k words of 100 chars, n 1..32", dim=1, bucket=1, minn=1, maxn=32,
               words=[b"%05d" % i + b"y" * 95 for i in range(30000)]),
        _ngram("600 words of 1000 chars, dim 1000", dim=1000, bucket=1, minn=1, maxn=32,
               words=[b"%04d" % i + b"z" * 996 for i in range(600)]),
        _ngram("maxn 2^31-1", dim=2, bucket=3, minn=1, maxn=2**31 - 1, words=[b"ab"]),
    ]),
    ("NaN / inf values", [
        call("fastText NaN matrix", lambda ctx: ft_raw(ctx.tmp / "n.bin", dim=2, bucket=2,
             minn=3, maxn=4, words=[b"ab"], fill=float("nan")), "read_fasttext_bin"),
        call("binary NaN", data("nan.bin", b"1 2\na " + struct.pack("<2f", float("nan"), 1.0)),
             "read_word2vec_binary"),
        call("glove inf", data("inf.txt", "a inf 1\n"), "read_glove_text"),
    ]),
    ("native store hostile members", [
        _store_case("vectors.npy -> file outside", _link_vectors),
        _store_case("vocab.txt -> secret outside", _link_vocab),
        _store_case("vocab.txt sparse 50 GB", _sparse("vocab.txt", 50 << 30)),
        _store_case("config.json sparse 20 GB", _sparse("config.json", 20 << 30)),
        _store_case("config.json sparse 20 GB (is_store)", _sparse("config.json", 20 << 30),
                    "is_store", expect="ok"),
        _store_case("vocab.txt 20M extra lines", lambda ctx, s: (s / "vocab.txt").write_bytes(
            b"a\nb\n" + b"\n" * (20 << 20))),
        _store_case("subwords max_n 2^31-1",
                    _config(subwords={"min_n": 1, "max_n": 2**31 - 1, "bucket": 2})),
        _store_case("count 0 but vocab has words", _config(count=0)),
    ]),
    ("sparse word2vec binary (8 GB hole)", [
        call("2M x 1000", _sparse_binary("header"), "read_word2vec_binary"),
        call("1M x 2000, entries then hole", _sparse_binary("entries"), "read_word2vec_binary"),
    ]),
    ("binary header caps", [
        call("dim 10001", data("d.bin", b"1 10001\na " + np.ones(10001, "<f4").tobytes()),
             "read_word2vec_binary"),
        call("60M words .gz", data("c.bin.gz", gzip.compress(b"60000000 1\n")),
             "read_word2vec_binary"),
    ]),
    ("odd but valid binary", [
        call("60k newline bytes between entries",
             data("nl.bin", b"2 2\na " + ROW + b"\r\n" * 30000 + b"b " + ROW),
             "read_word2vec_binary", expect="ok", ok=_vocab_is(["a", "b"])),
        call("same, gzip", data("nl.bin.gz", gzip.compress(
             b"2 2\na " + ROW + b"\r\n" * 30000 + b"b " + ROW)),
             "read_word2vec_binary", expect="ok", ok=_vocab_is(["a", "b"])),
        call("two gzip members", data("m.bin.gz", gzip.compress(b"2 2\na " + ROW)
             + gzip.compress(b"b " + ROW)), "read_word2vec_binary", expect="ok",
             ok=lambda t: t.vocab == ["a", "b"] and t.vectors.tolist() == [[1, 2], [1, 2]]),
    ]),
    ("fastText .bin under a compressed name (valid)", [_ft_named(e) for e in
                                                        (".xz", ".bz2", ".gz", ".zst")]),
    ("fastText odd dictionary (valid)", [
        call("duplicated word", lambda ctx: ft_raw(ctx.tmp / "d.bin", dim=2, bucket=3, minn=1,
             maxn=3, words=[b"ab", b"ab", b"cd"], fill=1.0), "read_fasttext_bin",
             expect="ok", ok=_vocab_is(["ab", "cd"])),
        call("invalid UTF-8 word", lambda ctx: ft_raw(ctx.tmp / "u.bin", dim=2, bucket=3,
             minn=1, maxn=3, words=[b"\xff\xfe"], fill=1.0), "read_fasttext_bin",
             expect="ok", ok=lambda t: len(t.vocab) == 1),
    ]),
]  # fmt: skip
