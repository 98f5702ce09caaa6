"""word2vec text, GloVe text and fastText .vec: exact bytes, round trips, clear errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.formats import (
    detect_format,
    read_fasttext_vec,
    read_glove_text,
    read_vectors,
    read_word2vec_text,
    write_glove_text,
    write_word2vec_text,
)
from tests.formats.conftest import assert_refused, gensim_reads_ours


def test_word2vec_text_reads_hand_written_file(tmp_path):
    p = tmp_path / "v.txt"
    p.write_bytes(b"3 2\nthe 0.5 -1\ncat 1e-3 2.25\n\xc3\xa9t\xc3\xa9 3 4\n")
    t = read_word2vec_text(p)
    assert t.vocab == ["the", "cat", "été"]
    np.testing.assert_array_equal(
        t.vectors, np.array([[0.5, -1], [1e-3, 2.25], [3, 4]], dtype=np.float32)
    )
    assert t.vectors.dtype == np.float32


def test_glove_text_reads_hand_written_file_with_crlf_and_trailing_space(tmp_path):
    p = tmp_path / "g.txt"
    p.write_bytes(b"the 0.5 -1 \r\ncat 1 2\r\n")
    t = read_glove_text(p)
    assert t.vocab == ["the", "cat"]
    assert t.vectors.tolist() == [[0.5, -1.0], [1.0, 2.0]]


def test_glove_word_with_spaces_is_recovered(tmp_path):
    p = tmp_path / "g.txt"
    p.write_text("a 1 2\n. . . 3 4\n", encoding="utf-8")
    t = read_glove_text(p)
    assert t.vocab == ["a", ". . ."]
    assert t.vectors[1].tolist() == [3.0, 4.0]


def test_writers_write_the_exact_formats(tmp_path):
    vocab = ["a", "b"]
    vecs = np.array([[0.5, -1.0], [0.25, 3.0]], dtype=np.float32)
    write_word2vec_text(tmp_path / "w.txt", vocab, vecs)
    write_glove_text(tmp_path / "g.txt", vocab, vecs)
    assert (tmp_path / "w.txt").read_text() == "2 2\na 0.5 -1\nb 0.25 3\n"
    assert (tmp_path / "g.txt").read_text() == "a 0.5 -1\nb 0.25 3\n"


def test_round_trip_is_exact_for_float32(tmp_path, small_table):
    vocab, vecs = small_table
    write_word2vec_text(tmp_path / "w.txt.gz", vocab, vecs)
    t = read_word2vec_text(tmp_path / "w.txt.gz")
    assert t.vocab == vocab
    np.testing.assert_array_equal(t.vectors, vecs)
    with gzip.open(tmp_path / "w.txt.gz", "rt", encoding="utf-8") as fh:
        assert fh.readline() == "5 4\n"


def test_gensim_reads_our_text_and_we_read_gensims(tmp_path, small_table):
    from gensim.models import KeyedVectors

    vocab, vecs = small_table
    kv = gensim_reads_ours(tmp_path, "txt", vocab, vecs, binary=False)
    t = read_word2vec_text(tmp_path / "theirs.txt")
    np.testing.assert_array_equal(t.vectors, kv.vectors)
    glove = KeyedVectors.load_word2vec_format(str(tmp_path / "ours.txt"), no_header=False)
    write_glove_text(tmp_path / "g.txt", vocab, vecs)
    g = KeyedVectors.load_word2vec_format(str(tmp_path / "g.txt"), no_header=True)
    np.testing.assert_array_equal(g.vectors, glove.vectors)


def test_fasttext_vec_is_word2vec_text(tmp_path):
    p = tmp_path / "ft.vec"
    p.write_text("2 3\n</s> 1 2 3\nhello 4 5 6\n", encoding="utf-8")
    assert detect_format(p) == "fasttext-vec"
    assert read_fasttext_vec(p).vocab == ["</s>", "hello"]
    assert read_vectors(p).vectors.shape == (2, 3)


def test_truncated_word2vec_text_names_file_and_counts(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("3 2\na 1 2\nb 3 4\n", encoding="utf-8")
    with pytest.raises(ModelFormatError) as err:
        read_word2vec_text(p)
    msg = str(err.value)
    assert str(p) in msg and "truncated" in msg and "announces 3" in msg and "after 2" in msg


@pytest.mark.parametrize(
    ("name", "content", "reader", "match"),
    [
        pytest.param("v.txt", b"2 3\na 1 2 3\nb 4 5\n", read_word2vec_text,
                     r"line 3: expected a word followed by 3 numbers", id="short line"),
        pytest.param("g.txt", b"a 1 2\nb 3 x4\n", read_glove_text,
                     r"line 2: field 3 is not a number", id="non-number"),
        pytest.param("g.txt", b"a 1 2\nb nan 1\n", read_glove_text,
                     "line 2: NaN or infinite", id="nan"),
        pytest.param("g.txt", b"a 1 2\n\xff\xfe 1 2\n", read_glove_text,
                     "line 2: not valid UTF-8", id="invalid utf-8"),
    ],
)  # fmt: skip
def test_a_malformed_line_is_named(tmp_path, name, content, reader, match):
    assert_refused(tmp_path / name, content, reader, match)


def test_bad_header_and_empty_file(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("the 1 2\n", encoding="utf-8")
    with pytest.raises(ModelFormatError, match="format='glove-text'"):
        read_word2vec_text(p)
    e = tmp_path / "e.txt"
    e.write_text("", encoding="utf-8")
    with pytest.raises(ModelFormatError, match="empty file"):
        read_glove_text(e)
    with pytest.raises(ModelFormatError, match="word2vec header"):
        read_glove_text(tmp_path / "v2.txt") if (tmp_path / "v2.txt").write_text(
            "2 2\na 1 2\n"
        ) else None


def test_duplicates_keep_first_and_warn(tmp_path):
    p = tmp_path / "g.txt"
    p.write_text("a 1 2\na 3 4\nb 5 6\n", encoding="utf-8")
    with pytest.warns(RuntimeWarning, match="1 duplicated"):
        t = read_glove_text(p)
    assert t.vocab == ["a", "b"] and t.vectors[0].tolist() == [1.0, 2.0]


def test_limit_reads_the_first_vectors(tmp_path, small_table):
    vocab, vecs = small_table
    write_word2vec_text(tmp_path / "w.txt", vocab, vecs)
    assert read_word2vec_text(tmp_path / "w.txt", limit=2).vocab == vocab[:2]


def test_writer_rejects_words_with_whitespace(tmp_path):
    with pytest.raises(InvalidParameterError, match="vocab\\[1\\]"):
        write_word2vec_text(tmp_path / "x.txt", ["a", "b c"], np.ones((2, 2)))
    assert not (tmp_path / "x.txt").exists()


@pytest.mark.parametrize("fmt", ["glove-text", "word2vec-text"])
def test_duplicates_keep_last_and_warn(tmp_path, fmt):
    p = tmp_path / "v.txt"
    header = "4 2\n" if fmt == "word2vec-text" else ""
    p.write_text(header + "a 1 2\nb 5 6\na 3 4\na 7 8\n", encoding="utf-8")
    with pytest.warns(RuntimeWarning, match="2 duplicated word.*keeping the last vector"):
        t = _reader(fmt)(p, keep="last")
    assert t.vocab == ["b", "a"]  # file order of the kept rows
    assert t.vectors.tolist() == [[5.0, 6.0], [7.0, 8.0]]
    with pytest.warns(RuntimeWarning, match="keeping the first vector"):
        assert _reader(fmt)(p).vectors.tolist() == [[1.0, 2.0], [5.0, 6.0]]


def _reader(fmt):
    return {"glove-text": read_glove_text, "word2vec-text": read_word2vec_text}[fmt]


@pytest.mark.parametrize("keep", ["middle", None, 1])
def test_keep_is_checked(tmp_path, keep):
    p = tmp_path / "g.txt"
    p.write_text("a 1 2\n", encoding="utf-8")
    with pytest.raises(InvalidParameterError, match="keep must be 'first' or 'last'"):
        read_glove_text(p, keep=keep)
    with pytest.raises(InvalidParameterError, match="keep must be 'first' or 'last'"):
        read_fasttext_vec(p, keep=keep)
