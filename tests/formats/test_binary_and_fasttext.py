"""word2vec binary and fastText .bin: exact layout, gensim parity, truncation errors."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from embeddings.errors import ModelFormatError
from embeddings.formats import (
    detect_format,
    read_fasttext_bin,
    read_vectors,
    read_word2vec_binary,
    write_word2vec_binary,
)
from tests.formats.conftest import gensim_reads_ours


def test_binary_layout_is_word2vec_c(tmp_path):
    vecs = np.array([[1.5, -2.0], [0.25, 8.0]], dtype=np.float32)
    write_word2vec_binary(tmp_path / "v.bin", ["ab", "ü"], vecs)
    raw = (tmp_path / "v.bin").read_bytes()
    expected = (
        b"2 2\n"
        + b"ab "
        + struct.pack("<2f", 1.5, -2.0)
        + b"\n"
        + "ü".encode()
        + b" "
        + struct.pack("<2f", 0.25, 8.0)
        + b"\n"
    )
    assert raw == expected


def test_binary_reads_entries_without_newlines(tmp_path):
    p = tmp_path / "v.bin"
    p.write_bytes(b"2 1\na " + struct.pack("<f", 1.0) + b"b " + struct.pack("<f", 2.0))
    assert read_word2vec_binary(p).vectors.tolist() == [[1.0], [2.0]]


def test_binary_gensim_parity(tmp_path, small_table):
    vocab, vecs = small_table
    gensim_reads_ours(tmp_path, "bin", vocab, vecs, binary=True)
    t = read_word2vec_binary(tmp_path / "theirs.bin")
    assert t.vocab == vocab
    np.testing.assert_array_equal(t.vectors, vecs)
    assert detect_format(tmp_path / "theirs.bin") == "word2vec-binary"


def test_binary_gz_round_trip(tmp_path, small_table):
    vocab, vecs = small_table
    write_word2vec_binary(tmp_path / "v.bin.gz", vocab, vecs)
    np.testing.assert_array_equal(read_vectors(tmp_path / "v.bin.gz").vectors, vecs)


def test_truncated_binary_names_entry_and_offset(tmp_path, small_table):
    vocab, vecs = small_table
    write_word2vec_binary(tmp_path / "v.bin", vocab, vecs)
    raw = (tmp_path / "v.bin").read_bytes()
    (tmp_path / "cut.bin").write_bytes(raw[:-10])
    with pytest.raises(ModelFormatError) as err:
        read_word2vec_binary(tmp_path / "cut.bin")
    msg = str(err.value)
    assert "cut.bin" in msg and "truncated" in msg and "entry 5 of 5" in msg
    assert "byte offset" in msg and "expected 16 bytes" in msg


def test_binary_cut_inside_a_word_and_bad_header(tmp_path):
    p = tmp_path / "v.bin"
    p.write_bytes(b"2 1\na " + struct.pack("<f", 1.0) + b"\nbbbbbbbbbb")  # room for entry 2
    with pytest.raises(ModelFormatError, match="entry 2 of 2 at byte offset 11"):
        read_word2vec_binary(p)
    p.write_bytes(b"hello world\n")
    with pytest.raises(ModelFormatError, match="header 'COUNT DIM"):
        read_word2vec_binary(p)


def test_binary_invalid_utf8_word(tmp_path):
    p = tmp_path / "v.bin"
    p.write_bytes(b"1 1\n\xff " + struct.pack("<f", 1.0))
    with pytest.raises(ModelFormatError, match="unicode_errors='replace'"):
        read_word2vec_binary(p)
    assert read_word2vec_binary(p, unicode_errors="replace").vocab == ["\ufffd"]


@pytest.fixture(scope="module")
def ft_model():
    from gensim.models import FastText

    sentences = [["the", "cat", "sat", "on", "the", "mat"], ["dogs", "chase", "cats"]] * 20
    return FastText(sentences, vector_size=8, min_count=1, epochs=2, bucket=500, seed=1, workers=1)


def test_fasttext_bin_words_and_subwords_match_gensim(tmp_path, ft_model):
    from gensim.models.fasttext import load_facebook_vectors, save_facebook_model

    path = tmp_path / "m.bin"
    save_facebook_model(ft_model, str(path))
    assert detect_format(path) == "fasttext-bin"
    table = read_fasttext_bin(path)
    ref = load_facebook_vectors(str(path))
    assert table.vocab == list(ref.index_to_key)
    np.testing.assert_array_equal(table.vectors, ref.vectors)
    assert table.subwords is not None and table.subwords.bucket == 500
    for oov in ("catz", "mats", "dogsled"):
        np.testing.assert_allclose(table.subwords.vector(oov), ref[oov], rtol=1e-6, atol=1e-7)


def test_fasttext_bin_truncated_and_wrong_magic(tmp_path, ft_model):
    from gensim.models.fasttext import save_facebook_model

    path = tmp_path / "m.bin"
    save_facebook_model(ft_model, str(path))
    raw = path.read_bytes()
    (tmp_path / "cut.bin").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFormatError, match=r"cut.bin: byte offset \d+: truncated"):
        read_fasttext_bin(tmp_path / "cut.bin")
    (tmp_path / "tiny.bin").write_bytes(raw[:5])
    with pytest.raises(ModelFormatError, match="truncated at byte offset 5"):
        read_fasttext_bin(tmp_path / "tiny.bin")
    (tmp_path / "w2v.bin").write_bytes(b"1 1\na " + struct.pack("<f", 1.0))
    with pytest.raises(ModelFormatError, match="magic number 793712314"):
        read_fasttext_bin(tmp_path / "w2v.bin")
