"""Hostile word-vector files: bounded work, regular files only, no pickles, no quoted content.

Each hostile file is built in ``tmp_path``.  The word2vec (text, binary, ``.gz``),
GloVe, fastText and native-store readers must end every one of them in a
:class:`~embeddings.errors.ModelFormatError` naming the file (or load it
correctly), within a few seconds and a bounded amount of memory
(:func:`tests.security.limits.run_limited`), without opening a FIFO or a device,
without running a pickle that ``format="auto"`` picked, and without quoting the
file's content in the message.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embeddings.errors import ModelFormatError
from embeddings.formats import (
    MAX_DIM,
    VectorTable,
    check_regular_file,
    detect_format,
    is_store,
    load_vectors,
    looks_like_pickle,
    read_fasttext_bin,
    read_glove_text,
    read_store,
    read_vectors,
    read_word2vec_binary,
    read_word2vec_text,
    verify_store,
    write_store,
    write_word2vec_binary,
)
from tests.security.limits import assert_bounded, run_limited
from tests.security.probes.vector_files import gz_members

ROW = struct.pack("<2f", 1.0, 2.0)
SECRET = "s3cr3t-T0KEN"
IMPORTS = """
import embeddings
from embeddings.errors import ModelFormatError
from embeddings.formats import *
"""


@pytest.fixture(autouse=True)
def _store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))


def _run_refused(cases: list[tuple[str, str]], **kw: Any) -> None:
    """Run each call in one capped child: each must raise a ModelFormatError whose message
    holds the paired text; the child then ends with a ModelFormatError of its own."""
    lines = []
    for call, expected in cases:
        lines += [
            "try:",
            f"    {call}",
            "except ModelFormatError as _err:",
            f"    assert {expected!r} in str(_err), {call!r} + ': ' + str(_err)[:240]",
            "else:",
            f"    raise AssertionError({call!r} + ' was accepted')",
        ]
    lines.append("raise ModelFormatError('all refused')")
    result = run_limited("\n".join(lines), imports=IMPORTS, **kw)
    assert_bounded(result, allowed=("ModelFormatError",))
    assert result.message == "all refused", result.message


def _fasttext_bytes(
    *,
    dim: int = 2,
    bucket: int = 3,
    minn: int = 1,
    maxn: int = 3,
    words: tuple[bytes, ...] = (b"ab", b"cd"),
    rows: int | None = None,
    fill: float = 1.0,
) -> bytes:
    """A hand-built fastText ``.bin`` (version 12) with the given header and dictionary."""
    out = struct.pack("<ii", 793712314, 12)
    out += struct.pack("<12id", dim, 5, 5, 1, 5, 1, 1, 2, bucket, minn, maxn, 100, 1e-4)
    out += struct.pack("<3iqq", len(words), len(words), 0, 100, -1)
    for w in words:
        out += w + b"\0" + struct.pack("<qb", 1, 0)
    n = len(words) + bucket if rows is None else rows
    out += struct.pack("<?qq", False, n, dim) + np.full(n * dim, fill, "<f4").tobytes()
    return out + struct.pack("<?qq", False, 0, dim)


# ------------------------------------------------------------ gzip of zeros
def test_zero_filled_bin_gz_is_refused_without_decompressing_it(tmp_path: Path) -> None:
    """3 MB of gzip that expands to 3 GB of zeros: refused within the caps."""
    zeros = b"\0" * (1 << 20)
    files = {
        "zeros.bin.gz": b"",  # no header at all
        "big.bin.gz": b"1000000 300\n",  # more than 3 MB of gzip may expand to
        "header.bin.gz": b"1000 300\n",  # a valid-looking header, then zeros
        "word.bin.gz": b"1000 300\nthe ",  # a word, then zero floats and zero words
    }
    expected = {
        "zeros.bin.gz": "zeros.bin.gz: byte offset 0: expected the word2vec binary header",
        "big.bin.gz": "more than this compressed file may expand to",
        "header.bin.gz": "header.bin.gz: entry 1 at byte offset 9: no space within",
        "word.bin.gz": "word.bin.gz: entry 2 at byte offset 1213: no space within",
    }
    cases = []
    for name, head in files.items():
        path = gz_members(tmp_path / name, head, zeros, 3 << 30)
        assert path.stat().st_size < 4 << 20
        cases.append((f"read_word2vec_binary({str(path)!r})", expected[name]))
        cases.append((f"load_vectors({str(path)!r})", expected[name]))
    _run_refused(cases)


def test_gzip_bomb_of_valid_entries_stops_at_the_expansion_bound(tmp_path: Path) -> None:
    """Valid binary entries and text lines of zeros, 3 GB from about 3 MB of gzip."""
    entry = b"a " + b"\0" * 1200
    line = b"w" + b" 0" * 300 + b"\n"
    b = gz_members(tmp_path / "bomb.bin.gz", b"30000 300\n", entry, 3 << 30)
    t = gz_members(tmp_path / "bomb.txt.gz", b"", line, 3 << 30)
    v = gz_members(tmp_path / "bomb.vec.gz", b"5000000 300\n", line, 3 << 30)
    _run_refused(
        [
            (f"read_word2vec_binary({str(b)!r})", "bomb.bin.gz: the gzip data expands more"),
            (f"read_glove_text({str(t)!r})", "bomb.txt.gz: the gzip data expands more than 16"),
            (f"read_word2vec_text({str(v)!r})", "decompression bomb"),
        ]
    )
    # a real file is not: float32 barely compresses; entries may span gzip members and
    # be separated by more newlines than the reader takes in one piece
    vocab = [f"w{i}" for i in range(50)]
    vectors = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    write_word2vec_binary(tmp_path / "v.bin.gz", vocab, vectors)
    table = read_word2vec_binary(tmp_path / "v.bin.gz")
    assert table.vocab == vocab
    np.testing.assert_array_equal(table.vectors, vectors)
    raw = b"2 2\na " + ROW + b"\r\n" * 300_000 + b"b " + ROW
    (tmp_path / "m.bin.gz").write_bytes(gzip.compress(raw[:9]) + gzip.compress(raw[9:]))
    assert read_word2vec_binary(tmp_path / "m.bin.gz").vocab == ["a", "b"]


# ----------------------------------------------------- lying binary headers
def test_word2vec_binary_header_of_1e9_by_300_is_refused_before_allocating(
    tmp_path: Path,
) -> None:
    row = np.ones(300, "<f4").tobytes()
    plain = tmp_path / "big.bin"
    plain.write_bytes(b"1000000000 300\nthe " + row)
    packed = tmp_path / "big.bin.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    wide = tmp_path / "wide.bin.gz"
    wide.write_bytes(gzip.compress(b"1 1000000000\na " + ROW))
    sparse = tmp_path / "sparse.bin"  # the header is backed by an 8 GB hole
    with open(sparse, "wb") as fh:
        fh.write(b"2000000 1000\nthe " + np.ones(1000, "<f4").tobytes())
        fh.truncate(8_100_000_000)
    read = "read_word2vec_binary({!r})".format
    _run_refused(
        [
            (
                read(str(plain)),
                "big.bin: truncated or wrong header: the header announces 1000000000",
            ),
            (f"load_vectors({str(plain)!r})", "but only 1204 bytes follow the header"),
            (read(str(packed)), "big.bin.gz: header: announces 1000000000 vectors of 300"),
            (read(str(wide)), "at most 50000000 vectors of at most 10000 values"),
            (read(str(sparse)), "sparse.bin: entry 2 at byte offset 4017: no space within"),
        ]
    )


def test_word2vec_binary_header_beyond_the_maximum_dimension_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "v.bin"
    p.write_bytes(f"1 {MAX_DIM + 1}\na ".encode() + np.ones(MAX_DIM + 1, "<f4").tobytes())
    with pytest.raises(ModelFormatError, match=rf"v.bin: header: .* at most {MAX_DIM} values"):
        read_word2vec_binary(p)


# ------------------------------------------------------------- header "0 5"
@pytest.mark.parametrize("name", ["v.txt", "v.bin"])
def test_header_announcing_no_words_gives_an_empty_table(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(b"0 5\n")
    table = load_vectors(p)  # converted to a store (hashing 0 rows) and memory-mapped
    assert table.vectors.shape == (0, 5) and table.vocab == []
    assert verify_store(table.source)
    assert load_vectors(p).vectors.shape == (0, 5)


# -------------------------------------------------- no content in messages
def _messages(tmp_path: Path) -> list[str]:
    cases = {
        "first.txt": (read_glove_text, f"{SECRET}:x:0:0:{SECRET}\n".encode()),
        "token.txt": (read_glove_text, f"a 1 2\nb {SECRET} 3\n".encode()),
        "short.txt": (read_word2vec_text, f"2 2\na 1 2\n{SECRET}\n".encode()),
        "header.txt": (read_word2vec_text, f"{SECRET} {SECRET}\n".encode()),
        "utf8.txt": (read_glove_text, b"a 1 2\n" + SECRET.encode() + b"\xff 1 2\n"),
        "header.bin": (read_word2vec_binary, f"{SECRET} {SECRET}\n".encode()),
        "word.bin": (read_word2vec_binary, b"1 2\n" + SECRET.encode() + b"\xff " + ROW),
        "nan.bin": (read_word2vec_binary, b"1 1\n" + SECRET.encode() + b" \x00\x00\xc0\x7f"),
        "cut.bin": (read_word2vec_binary, b"2 2\n" + SECRET.encode() + b" " + ROW + b"\nxy "),
        "glove.gz": (read_glove_text, SECRET.encode() * 3),
    }
    out = []
    for name, (reader, raw) in cases.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(ModelFormatError) as err:
            reader(tmp_path / name)
        out.append(str(err.value))
        assert name in out[-1]
    return out


def test_error_messages_never_quote_the_file(tmp_path: Path) -> None:
    for message in _messages(tmp_path):
        assert SECRET not in message and SECRET[:6] not in message, message


def test_a_passwd_like_file_as_source_is_described_not_echoed(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    passwd.write_text(f"root:x:0:0:{SECRET}:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\n")
    for reader in (read_glove_text, read_word2vec_text, read_word2vec_binary, read_vectors):
        with pytest.raises(ModelFormatError) as err:
            reader(passwd)
        message = str(err.value)
        assert message.startswith(f"{passwd}: ")
        assert "root:x" not in message and SECRET not in message and "bash" not in message
    with pytest.raises(ModelFormatError, match=r"line 1 has 1 field\(s\); a GloVe/word2vec"):
        read_glove_text(passwd)


# ---------------------------------------------- FIFOs and device files
READERS = [
    "read_word2vec_text",
    "read_glove_text",
    "read_fasttext_vec",
    "read_word2vec_binary",
    "read_fasttext_bin",
    "lambda p: read_gensim(p, trust_pickle=True)",
    "detect_format",
    "read_vectors",
    "load_vectors",
    "lambda p: read_vectors(p, format='word2vec-binary')",
]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifos_and_devices_are_refused_before_they_are_opened(tmp_path: Path) -> None:
    """A FIFO would block the open; a device never ends.  Both are refused up front."""
    targets = []
    for name in ("pipe.txt", "pipe.bin", "pipe.vec.gz"):
        os.mkfifo(tmp_path / name)
        targets.append(str(tmp_path / name))
    targets += [p for p in ("/dev/zero", "/dev/urandom") if os.path.exists(p)]
    store = write_store(tmp_path / "store", VectorTable(["a", "b"], np.eye(2, dtype=np.float32)))
    stores = []
    for member in ("config.json", "vectors.npy", "vocab.txt"):
        copy = tmp_path / f"store-{member}"
        shutil.copytree(store, copy)
        os.unlink(copy / member)
        os.mkfifo(copy / member)
        stores.append(str(copy))
    cases = [
        (f"({r})({t!r})", "FIFO (named pipe), expected a" if "pipe" in t else "is a device file")
        for t in targets
        for r in READERS
    ]
    cases += [
        (f"read_store({s!r})", "is a FIFO (named pipe), expected a store file") for s in stores
    ]
    _run_refused(cases, seconds=10)


def test_check_regular_file_names_what_it_found(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("a 1\n")
    assert check_regular_file(tmp_path / "f.txt") == tmp_path / "f.txt"
    with pytest.raises(ModelFormatError, match=r"x.txt: no such vector file"):
        check_regular_file(tmp_path / "x.txt")
    with pytest.raises(ModelFormatError, match=r"is a folder, expected a store file"):
        check_regular_file(tmp_path, what="store file")
    os.symlink(tmp_path / "f.txt", tmp_path / "link.txt")
    (tmp_path / "sub").mkdir()
    assert check_regular_file(tmp_path / "link.txt", inside=tmp_path)
    with pytest.raises(ModelFormatError, match=r"a link to a file outside"):
        check_regular_file(tmp_path / "link.txt", inside=tmp_path / "sub")
    if os.path.exists("/dev/null"):
        with pytest.raises(ModelFormatError, match=r"/dev/null: is a device file"):
            check_regular_file("/dev/null")


# ------------------------------------------------------- fastText headers
@pytest.fixture(scope="module")
def ft_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    sentences = [["the", "cat", "sat", "on", "the", "mat"], ["dogs", "chase", "cats"]] * 20
    model = FastText(sentences, vector_size=4, min_count=1, epochs=1, bucket=50, seed=1, workers=1)
    path = tmp_path_factory.mktemp("ft") / "m.bin"
    save_facebook_model(model, str(path))
    return path.read_bytes()


def test_fasttext_lying_headers_are_refused_within_bounds(tmp_path: Path, ft_bytes: bytes) -> None:
    nwords = struct.unpack_from("<i", ft_bytes, 64 + 4)[0]
    matrix = ft_bytes.index(struct.pack("<qq", nwords + 50, 4)) - 1

    def patched(name: str, offset: int, fmt: str, value: int) -> str:
        data = bytearray(ft_bytes)
        struct.pack_into(fmt, data, offset, value)
        (tmp_path / name).write_bytes(bytes(data))
        return str(tmp_path / name)

    cases = [
        (patched("dim.bin", 8, "<i", 2**31 - 1), "input matrix of shape (58, 4)"),
        (patched("bucket.bin", 8 + 4 * 8, "<i", 2**31 - 1), "expected (2147483655, 4)"),
        (patched("maxn.bin", 8 + 4 * 10, "<i", 2**31 - 1), "maxn=2147483647"),
        (patched("nwords.bin", 64, "<i", 2**31 - 1), "2147483647 entries and 8 words"),
        (patched("rows.bin", matrix + 1, "<q", 10**9), "(1000000000, 4)"),
        (patched("cols.bin", matrix + 9, "<q", 300), "(58, 300)"),
        (patched("pruned.bin", 64 + 20, "<q", 2**62), "truncated before the input matrix"),
    ]
    huge = tmp_path / "huge.bin"  # declares a 10^9 x 300 input matrix
    huge.write_bytes(_fasttext_bytes(dim=300, bucket=0, minn=0, maxn=0, words=(b"a",), rows=0))
    data = bytearray(huge.read_bytes())
    struct.pack_into("<qq", data, len(data) - 17 - 16, 10**9, 300)
    huge.write_bytes(bytes(data))
    cases.append((str(huge), "input matrix of shape (1000000000, 300)"))
    # a small file whose n-grams would cost hours: long words, n-grams of 1 to 32 characters
    long_words = tmp_path / "ngrams.bin"
    words = tuple(b"%05d" % i + b"y" * 95 for i in range(30_000))
    long_words.write_bytes(_fasttext_bytes(dim=1, bucket=1, minn=1, maxn=32, words=words))
    cases.append((str(long_words), "n-gram vectors"))
    one_word = tmp_path / "word.bin"
    one_word.write_bytes(_fasttext_bytes(dim=1, bucket=1, minn=1, maxn=32, words=(b"x" * 10**6,)))
    cases.append((str(one_word), "n-gram vectors"))
    _run_refused([(f"read_fasttext_bin({f!r})", expected) for f, expected in cases])


def test_fasttext_nan_values_and_odd_names_are_handled(tmp_path: Path, ft_bytes: bytes) -> None:
    nan = tmp_path / "nan.bin"
    nan.write_bytes(_fasttext_bytes(fill=float("nan")))
    with pytest.raises(ModelFormatError, match=r"nan.bin: the input matrix has NaN"):
        read_fasttext_bin(nan)
    (tmp_path / "model.bin").write_bytes(ft_bytes)
    words = read_fasttext_bin(tmp_path / "model.bin").vocab
    assert len(words) == 8
    for suffix in (".xz", ".bz2", ".gz"):  # never decompressed because of the name
        p = tmp_path / f"model{suffix}"
        p.write_bytes(ft_bytes)
        assert read_fasttext_bin(p).vocab == words
    dup = tmp_path / "dup.bin"
    dup.write_bytes(_fasttext_bytes(words=(b"ab", b"ab", b"cd")))
    with pytest.warns(RuntimeWarning, match="1 duplicated word"):
        assert read_fasttext_bin(dup).vocab == ["ab", "cd"]


# --------------------------------------------------------- leaking errors
GOOD = gzip.compress(b"a 1 2\nb 3 4\n")


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("not.txt.gz", b"this is not gzip", "not a valid gzip file"),
        ("cut.txt.gz", GOOD[:-12], "ends early"),
        ("bad.txt.gz", GOOD[:10] + b"\xff" * 8 + GOOD[18:], "corrupt compressed data"),
        ("cut.bin.gz", gzip.compress(b"2 2\na " + ROW + b"b " + ROW)[:-15], "ends early"),
    ],
)
def test_low_level_errors_become_model_format_errors(
    tmp_path: Path, name: str, raw: bytes, message: str
) -> None:
    p = tmp_path / name
    p.write_bytes(raw)
    for reader in (read_vectors, read_glove_text, read_word2vec_text, read_word2vec_binary):
        with pytest.raises(ModelFormatError) as err:
            reader(p)
        assert str(err.value).startswith(f"{p}: ")
    with pytest.raises(ModelFormatError, match=message):
        read_glove_text(p) if "txt" in name else read_word2vec_binary(p)


def test_unreadable_paths_become_model_format_errors(tmp_path: Path) -> None:
    loop = tmp_path / "loop.txt"
    os.symlink(loop, loop)
    dangling = tmp_path / "dangling.txt"
    os.symlink(tmp_path / "nowhere", dangling)
    for p in (loop, dangling, tmp_path / "missing.bin", tmp_path):
        for reader in (read_vectors, read_glove_text, read_word2vec_binary, read_fasttext_bin):
            with pytest.raises(ModelFormatError, match=str(p.name)):
                reader(p)


# ------------------------------------------------------------- pickles
class _MakeDir:
    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.mkdir, (self.path,)


@pytest.mark.parametrize("name", ["v.kv", "v.model", "v.wv", "v.kv.gz", "v.bin", "v.txt"])
def test_auto_detection_never_picks_a_pickle(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "PWNED"
    payload = pickle.dumps(_MakeDir(marker), protocol=4)
    p = tmp_path / name
    p.write_bytes(gzip.compress(payload) if name.endswith(".gz") else payload)
    assert looks_like_pickle(p)
    for call in (
        lambda: detect_format(p),
        lambda: read_vectors(p),
        lambda: read_vectors(p, trust_pickle=True),
        lambda: load_vectors(p, trust_pickle=True),
    ):
        with pytest.raises(ModelFormatError) as err:
            call()
        assert "format='gensim' and trust_pickle=True" in str(err.value)
        assert not marker.exists()


# ------------------------------------------------------- native store
def test_store_members_must_be_regular_files_inside_the_store(tmp_path: Path) -> None:
    store = write_store(tmp_path / "s", VectorTable(["a", "b"], np.eye(2, dtype=np.float32)))
    outside = tmp_path / "outside.npy"
    np.save(outside, np.eye(2, dtype=np.float32))
    linked = tmp_path / "linked"
    shutil.copytree(store, linked)
    os.unlink(linked / "vectors.npy")
    os.symlink(outside, linked / "vectors.npy")
    with pytest.raises(ModelFormatError, match=r"vectors.npy: a link to a file outside"):
        read_store(linked)
    vocab = tmp_path / "vocab"
    shutil.copytree(store, vocab)
    (vocab / "vocab.txt").write_bytes(b"a\nb\n" + b"\n" * (8 << 20))
    with pytest.raises(ModelFormatError, match=r"vocab.txt: more than the 2 words"):
        read_store(vocab)


def test_store_with_huge_sparse_members_or_wide_ngrams_is_refused_within_bounds(
    tmp_path: Path,
) -> None:
    store = write_store(tmp_path / "s", VectorTable(["a", "b"], np.eye(2, dtype=np.float32)))
    sparse_vocab = tmp_path / "sv"
    shutil.copytree(store, sparse_vocab)
    with open(sparse_vocab / "vocab.txt", "r+b") as fh:
        fh.truncate(50 << 30)  # a 50 GB hole
    sparse_config = tmp_path / "sc"
    shutil.copytree(store, sparse_config)
    with open(sparse_config / "config.json", "r+b") as fh:
        fh.truncate(20 << 30)
    ngrams = tmp_path / "ng"
    shutil.copytree(store, ngrams)
    config = json.loads((ngrams / "config.json").read_text())
    config["subwords"] = {"min_n": 1, "max_n": 2**31 - 1, "bucket": 2}
    (ngrams / "config.json").write_text(json.dumps(config))
    np.save(ngrams / "ngrams.npy", np.ones((2, 2), np.float32))
    _run_refused(
        [
            (f"read_store({str(sparse_vocab)!r})", "vocab.txt: line 2 is longer than 16777216"),
            (f"read_store({str(sparse_config)!r})", "config.json: larger than 1048576 bytes"),
            (f"read_store({str(ngrams)!r})", "'subwords.max_n' must be at most 32"),
        ]
    )
    assert not is_store(sparse_config)  # bounded too: at most 1 MiB is read


def test_one_huge_out_of_vocabulary_word_is_bounded() -> None:
    """A fastText table builds an unknown word's vector from its n-grams; a 1,000,000-
    character word with n-grams 1..32 would hash 32 million n-grams, so only its first
    MAX_SUBWORD_WORD_CHARS characters count (a shorter word is unchanged)."""
    result = run_limited(
        """
        import numpy as np
        from embeddings.formats.table import MAX_SUBWORD_WORD_CHARS, Subwords
        sw = Subwords(np.ones((1000, 4), dtype=np.float32), 1, 32)
        word = "ab" * 500_000
        assert np.array_equal(sw.vector(word), sw.vector(word[:MAX_SUBWORD_WORD_CHARS]))
        """,
        imports="import embeddings, gensim.models.fasttext",
    )
    assert_bounded(result, allowed=("None",))
