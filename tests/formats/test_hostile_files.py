"""Damaged and hostile vector files: each is refused with a ModelFormatError naming the file.

The readers check every size a file announces against the file itself before
allocating, parse header numbers as ASCII digits only, and a store's content is
checked against its recorded sha256 at conversion and on demand.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

import embeddings
from benchmarks.cli import main as cli
from embeddings.errors import ModelFormatError
from embeddings.formats import (
    load_vectors,
    read_fasttext_bin,
    read_glove_text,
    read_store,
    read_vectors,
    read_word2vec_binary,
    read_word2vec_text,
    store_config,
    verify_store,
    write_store,
    write_word2vec_binary,
)
from embeddings.formats import text as text_format
from embeddings.formats.native import content_sha256
from embeddings.formats.table import VectorTable
from tests.formats.conftest import assert_refused

ROW = struct.pack("<2f", 1.0, 2.0)


# -------------------------------------------------------------- word2vec binary
def test_binary_header_announcing_1e11_words_is_refused_before_allocating(tmp_path):
    p = tmp_path / "big.bin"
    p.write_bytes(b"100000000000 50\nthe " + np.ones(50, "<f4").tobytes())
    with pytest.raises(ModelFormatError) as err:  # not a MemoryError (745 GiB)
        read_word2vec_binary(p)
    msg = str(err.value)
    assert str(p) in msg and "announces 100000000000 vectors of 50" in msg
    assert "follow the header" in msg


def test_binary_header_announcing_a_huge_dimension_is_refused(tmp_path):
    assert_refused(
        tmp_path / "wide.bin",
        b"1 100000000000\na " + ROW,
        read_word2vec_binary,
        r"wide.bin: truncated or wrong header",
    )


def test_binary_limit_reads_a_prefix_of_a_cut_file(tmp_path):
    p = tmp_path / "cut.bin"
    p.write_bytes(b"3 2\na " + ROW + b"\nb " + ROW + b"\nc ")
    assert read_word2vec_binary(p, limit=2).vocab == ["a", "b"]
    with pytest.raises(ModelFormatError, match="announces 3 vectors"):
        read_word2vec_binary(p)


@pytest.mark.parametrize(
    "header", ["² 2", "2 ²", "١ 2", "+1 2", "1_0 2", "-1 2", "1 2 3", "0x1 2", "1.0 2"]
)
def test_binary_header_numbers_are_ascii_digits_only(tmp_path, header):
    assert_refused(
        tmp_path / "v.bin",
        header.encode("utf-8") + b"\na " + ROW,
        read_word2vec_binary,
        r"v.bin: byte offset 0: .*ASCII digits 0-9",
    )


# ------------------------------------------------------------------ text files
@pytest.mark.parametrize("header", ["² 2", "2 ²", "١ 2", "+1 2", "1_0 2", "-1 2"])
def test_text_header_numbers_are_ascii_digits_only(tmp_path, header):
    assert_refused(
        tmp_path / "v.txt",
        f"{header}\na 1 2\n".encode(),
        read_word2vec_text,
        r"v.txt: line 1: .*ASCII digits 0-9",
    )


def test_text_header_announcing_1e11_words_reports_where_the_file_ends(tmp_path):
    assert_refused(
        tmp_path / "v.vec",
        b"100000000000 2\na 1 2\nb 3 4\n",
        read_word2vec_text,
        r"announces 100000000000 vectors .* after 2",
    )


@pytest.mark.parametrize(
    ("name", "reader", "content"),
    [
        ("v.txt", read_word2vec_text, b"1 3\nw " + b"1 " * 40 + b"\n"),
        ("g.txt", read_glove_text, b"w " + b"1 " * 40),  # one line, no newline
        ("g2.txt", read_glove_text, b"a 1 2\n" + b"b" * 200),
    ],
)
def test_lines_longer_than_the_limit_are_refused_before_being_read(
    tmp_path, monkeypatch, name, reader, content
):
    monkeypatch.setattr(text_format, "MAX_LINE_BYTES", 64)
    assert_refused(tmp_path / name, content, reader, rf"{name}: line \d+ is longer than 64 bytes")


def test_glove_reads_lines_up_to_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(text_format, "MAX_LINE_BYTES", 64)
    p = tmp_path / "g.txt"
    p.write_bytes(b"w " + b"1 " * 30 + b"\n")  # 63 bytes with the newline
    assert read_glove_text(p).dim == 30


# -------------------------------------------------------------- fastText .bin
@pytest.fixture(scope="module")
def ft_bytes(tmp_path_factory) -> bytes:
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    sentences = [["the", "cat", "sat", "on", "the", "mat"], ["dogs", "chase", "cats"]] * 20
    model = FastText(sentences, vector_size=4, min_count=1, epochs=1, bucket=50, seed=1, workers=1)
    path = tmp_path_factory.mktemp("ft") / "m.bin"
    save_facebook_model(model, str(path))
    return path.read_bytes()


ARGS = ["dim", "ws", "epoch", "min_count", "neg", "word_ngrams", "loss", "model", "bucket"]
ARGS += ["minn", "maxn", "lr_update_rate"]


def _patched(raw: bytes, offset: int, fmt: str, value: int | tuple[int, ...]) -> bytes:
    data = bytearray(raw)
    struct.pack_into(fmt, data, offset, *(value if isinstance(value, tuple) else (value,)))
    return bytes(data)


def _arg_offset(name: str) -> int:
    return 8 + 4 * ARGS.index(name)


DICT = 8 + 56  # size, nwords, nlabels (int32), ntokens, pruneidx_size (int64)


@pytest.mark.parametrize(
    ("what", "offset", "fmt", "value", "message"),
    [
        ("words", DICT, "<ii", (2**31 - 1, 2**31 - 1), r"announces 2147483647 words"),
        ("entries", DICT, "<i", 2**31 - 1, r"2147483647 entries and \d+ words"),
        ("nwords", DICT + 4, "<i", 3, r"dictionary of \d+ entries and 3 words"),
        ("labels", DICT + 8, "<i", 2, r"2 labels: a supervised model"),
        ("bucket", _arg_offset("bucket"), "<i", 2**31 - 1, r"input matrix of shape"),
        ("dim", _arg_offset("dim"), "<i", 0, r"invalid arguments dim=0"),
        ("dim", _arg_offset("dim"), "<i", 2**31 - 1, r"input matrix of shape"),
        ("minn", _arg_offset("minn"), "<i", -1, r"minn=-1"),
        ("bucket 0", _arg_offset("bucket"), "<i", 0, r"bucket=0 rows"),
    ],
)
def test_fasttext_header_fields_are_checked_against_the_file(
    tmp_path, ft_bytes, what, offset, fmt, value, message
):
    assert_refused(
        tmp_path / "m.bin",
        _patched(ft_bytes, offset, fmt, value),
        read_fasttext_bin,
        rf"m.bin: byte offset \d+: .*{message}",
    )


def test_fasttext_cut_inside_the_dictionary_fails_instead_of_reading_forever(tmp_path, ft_bytes):
    # gensim reads a word byte by byte until NUL: at the end of the file it never stops
    assert_refused(
        tmp_path / "m.bin",
        ft_bytes[: DICT + 28 + 7],
        read_fasttext_bin,
        r"m.bin: byte offset \d+: .*dictionary",
    )


def test_fasttext_trailing_bytes_and_quantized_matrices_are_refused(tmp_path, ft_bytes):
    p = tmp_path / "m.bin"
    p.write_bytes(ft_bytes + b"\0" * 3)
    with pytest.raises(ModelFormatError, match=r"3 unexpected bytes after the output matrix"):
        read_fasttext_bin(p)
    nwords = struct.unpack_from("<i", ft_bytes, DICT + 4)[0]
    head = struct.pack("<qq", nwords + 50, 4)  # the input matrix: nwords + bucket rows, dim
    start = ft_bytes.index(head) - 1  # its "quantized" flag
    p.write_bytes(_patched(ft_bytes, start, "<?", True))
    with pytest.raises(ModelFormatError, match=r"quantized input matrix"):
        read_fasttext_bin(p)


def test_fasttext_header_fuzz_loads_or_refuses_cleanly(tmp_path, ft_bytes):
    """Each argument and dictionary count set to extreme values: a table or a ModelFormatError."""
    fields = [(_arg_offset(name), "<i") for name in ARGS] + [(DICT + 4 * i, "<i") for i in range(3)]
    fields += [(DICT + 12, "<q"), (DICT + 20, "<q")]
    loaded = refused = 0
    for offset, fmt in fields:
        for value in (-(2**31), -1, 0, 1, 7, 2**31 - 1):
            p = tmp_path / "m.bin"
            p.write_bytes(_patched(ft_bytes, offset, fmt, value))
            try:
                table = read_fasttext_bin(p)
            except ModelFormatError as err:
                assert "m.bin" in str(err)
                refused += 1
            else:
                assert np.isfinite(table.vectors).all()
                loaded += 1
    assert loaded and refused


# ---------------------------------------------------------------- native store
@pytest.fixture
def store(tmp_path, small_table) -> Path:
    vocab, vecs = small_table
    return write_store(tmp_path / "s", VectorTable(vocab, vecs))


def test_zero_byte_vectors_npy_is_refused(store):
    (store / "vectors.npy").write_bytes(b"")
    with pytest.raises(ModelFormatError, match=r"vectors.npy: empty file \(0 bytes\)"):
        read_store(store)  # not an EOFError


def test_cut_or_inflated_vectors_npy_is_refused(store):
    raw = (store / "vectors.npy").read_bytes()
    (store / "vectors.npy").write_bytes(raw[:-4])
    with pytest.raises(ModelFormatError, match=r"vectors.npy: \d+ bytes, expected \d+.*truncated"):
        read_store(store)
    (store / "vectors.npy").write_bytes(raw + b"\0" * 4)
    with pytest.raises(ModelFormatError, match=r"trailing bytes"):
        read_store(store, mmap=False)
    (store / "vectors.npy").write_bytes(b"\x93NUMPY")
    with pytest.raises(ModelFormatError, match=r"vectors.npy: not a readable .npy file"):
        read_store(store)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((5, 4), np.float64), r"holds float64 \(5, 4\)"),
        (np.zeros((4, 5), np.float32), r"holds float32 \(4, 5\)"),
        (np.asfortranarray(np.zeros((5, 4), np.float32)), r"Fortran order"),
        (np.array([None] * 20, dtype=object).reshape(5, 4), r"holds object"),
    ],
)
def test_vectors_npy_of_another_dtype_or_shape_is_refused(store, array, message):
    with open(store / "vectors.npy", "wb") as fh:
        np.lib.format.write_array(fh, array, allow_pickle=True)
    with pytest.raises(ModelFormatError, match=message):
        read_store(store, mmap=False)


def test_npy_header_announcing_a_huge_array_is_refused_before_allocating(store):
    with open(store / "vectors.npy", "wb") as fh:
        header = {"descr": "<f4", "fortran_order": False, "shape": (100_000_000_000, 4)}
        np.lib.format.write_array_header_1_0(fh, header)
    config = json.loads((store / "config.json").read_text())
    config["count"] = 100_000_000_000
    (store / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match=r"vectors.npy: \d+ bytes, expected 16\d+"):
        read_store(store, mmap=False)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("count", "5", r"field 'count' must be an integer >= 0, got '5'"),
        ("count", True, r"field 'count' must be an integer >= 0"),
        ("dim", 0, r"field 'dim' must be an integer >= 1, got 0"),
        ("dtype", "float16", r"field 'dtype' must be 'float32'"),
        ("sha256", "abc", r"field 'sha256' must be 64 lowercase hex digits"),
        ("sha256", None, r"field 'sha256' must be 64 lowercase hex digits"),
        ("subwords", {"min_n": 3}, r"field 'subwords' must be null or an object"),
        (
            "subwords",
            {"min_n": 3, "max_n": 6, "bucket": -1},
            r"field 'subwords.bucket' must be an integer >= 1",
        ),
    ],
)
def test_store_config_fields_are_checked(store, field, value, message):
    config = json.loads((store / "config.json").read_text())
    config[field] = value
    (store / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match=rf"config.json: {message}"):
        read_store(store)


def test_store_config_that_is_not_utf8_json_is_refused(store):
    (store / "config.json").write_bytes(b'{"format": "\xff"}')
    with pytest.raises(ModelFormatError, match=r"config.json: not a UTF-8 JSON file"):
        store_config(store)


def test_verify_store_checks_the_recorded_sha256(store):
    assert verify_store(store) == store_config(store)["sha256"]
    vectors = np.load(store / "vectors.npy")
    vectors[0, 0] += 1.0
    np.save(store / "vectors.npy", vectors)
    read_store(store)  # the structure is intact ...
    with pytest.raises(ModelFormatError) as err:  # ... the content is not what was recorded
        verify_store(store)
    msg = str(err.value)
    assert "config.json: records sha256" in msg and "changed or damaged" in msg
    assert content_sha256(read_store(store)) in msg


def test_verify_store_reports_a_wrong_recorded_hash(store):
    config = json.loads((store / "config.json").read_text())
    config["sha256"] = "0" * 64
    (store / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="records sha256 0000"):
        verify_store(store)


def test_conversion_verifies_the_store_and_removes_a_bad_one(tmp_path, small_table, monkeypatch):
    import embeddings.formats.native as formats  # converts and writes stores

    vocab, vecs = small_table
    src = tmp_path / "v.bin"
    write_word2vec_binary(src, vocab, vecs)
    real_write = formats.write_store

    def write_then_damage(folder, table, **kw):  # a store that differs from its record
        out = real_write(folder, table, **kw)
        arr = np.load(out / "vectors.npy")
        arr[0, 0] += 1.0
        np.save(out / "vectors.npy", arr)
        return out

    monkeypatch.setattr(formats, "write_store", write_then_damage)
    with pytest.raises(ModelFormatError, match=r"v.bin: the store converted from it failed"):
        load_vectors(src)
    assert not list((tmp_path / "stores").glob("v-*"))  # removed: the next load converts again
    monkeypatch.setattr(formats, "write_store", real_write)
    np.testing.assert_array_equal(load_vectors(src).vectors, vecs)


def test_encoder_with_a_hostile_source_fails_cleanly(tmp_path):
    p = tmp_path / "big.bin"
    p.write_bytes(b"100000000000 50\nthe " + np.ones(50, "<f4").tobytes())
    enc = embeddings.load("glove-6b-50d", source=str(p))
    with pytest.raises(ModelFormatError, match="announces 100000000000 vectors"):
        enc.encode(["the cat"])
    assert not list((tmp_path / "stores").glob("*"))  # nothing half-converted


# ----------------------------------------------------------------- the command
def test_store_verify_command(tmp_path, store, capsys, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path))
    assert cli(["store", "verify", str(store)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ok {store}: 5 words x 4, sha256 ")
    assert cli(["store", "verify", "--all"]) == 0
    assert str(store) in capsys.readouterr().out
    (store / "vectors.npy").write_bytes(b"")
    assert cli(["store", "verify", str(store)]) == 2
    err = capsys.readouterr().err
    assert f"FAILED {store}: " in err and "empty file (0 bytes)" in err
    assert "1 of 1 store(s) failed verification" in err


def test_store_verify_command_needs_a_path(capsys):
    assert cli(["store", "verify"]) == 2
    assert "needs a store folder (PATH ...) or --all" in capsys.readouterr().err


def test_read_vectors_of_hostile_files_never_raises_anything_else(tmp_path):
    """A few byte strings that look like each format's start: ModelFormatError only."""
    cases = {
        "a.bin": b"1 1\n",
        "b.bin": b"\xff\xfe 2\n",
        "c.txt": b"\x00\x00\x00",
        "d.vec": b"2 2\na 1 2\nb",
        "e.vec": "² 2\na 1 2\n".encode(),
        "f.bin": struct.pack("<ii", 793712314, 12) + b"\0" * 20,
    }
    for name, raw in cases.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(ModelFormatError, match=name):
            read_vectors(tmp_path / name)
