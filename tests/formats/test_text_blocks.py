"""The text readers parse in large pieces: same results and errors whatever the piece size."""

from __future__ import annotations

import numpy as np
import pytest

import embeddings.formats.text as text
from embeddings.errors import ModelFormatError
from embeddings.formats import read_glove_text, read_word2vec_text


def _lines(n: int, dim: int, seed: int = 0) -> tuple[list[str], np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((n, dim)) * 10.0 ** rng.integers(-3, 3, (n, 1))
    words = [f"w{i}" for i in range(n)]
    lines = [w + " " + " ".join(repr(float(x)) for x in row) for w, row in zip(words, vecs)]
    return words, vecs.astype(np.float32), lines


@pytest.mark.parametrize("piece", [7, 64, 1 << 23])
def test_every_piece_size_reads_the_same_vectors(tmp_path, monkeypatch, piece):
    # expected values: Python's float() of each field rounded to float32, line by line
    monkeypatch.setattr(text, "_READ_BYTES", piece)
    words, vecs, lines = _lines(300, 5)
    lines[10] = lines[10].replace(" ", "\t", 2)  # other spacing: read line by line
    lines[20] += " \r"  # trailing space and a carriage return
    lines[30] = "two words " + lines[30].split(" ", 1)[1]  # GloVe 840B's quirk
    words[30] = "two words"
    body = "\n".join(lines[:50]) + "\n\n\n" + "\n".join(lines[50:])  # blank lines too
    p = tmp_path / "g.txt"
    p.write_text(body, encoding="utf-8")
    t = read_glove_text(p)
    assert t.vocab == words
    np.testing.assert_array_equal(t.vectors, vecs)
    w = tmp_path / "w.txt"
    w.write_text(f"300 5\n{body}\n", encoding="utf-8")
    np.testing.assert_array_equal(read_word2vec_text(w).vectors, vecs)


@pytest.mark.parametrize("piece", [7, 200, 1 << 23])
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("w 1 2 x", "line 42: field 4 is not a number"),
        ("w 1 nan 3", "line 42: NaN or infinite value"),
        ("w 1 2", "line 42: expected a word followed by 3 numbers"),
    ],
)
def test_errors_name_the_right_line_in_any_piece(tmp_path, monkeypatch, piece, bad, message):
    monkeypatch.setattr(text, "_READ_BYTES", piece)
    lines = [f"w{i} 1 2 3" for i in range(60)]
    lines[40] = bad  # line 42: a blank line comes first
    p = tmp_path / "g.txt"
    p.write_text("\n".join(lines[:5]) + "\n\n" + "\n".join(lines[5:]) + "\n", encoding="utf-8")
    with pytest.raises(ModelFormatError, match=message):
        read_glove_text(p)


@pytest.mark.parametrize("piece", [7, 1 << 23])
def test_lines_after_the_limit_are_not_read(tmp_path, monkeypatch, piece):
    monkeypatch.setattr(text, "_READ_BYTES", piece)
    p = tmp_path / "w.txt"
    p.write_text("4 2\na 1 2\nb 3 4\nc nan 1\nd x y\n", encoding="utf-8")
    t = read_word2vec_text(p, limit=2)
    assert t.vocab == ["a", "b"] and t.vectors.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ModelFormatError, match="line 4: NaN"):
        read_word2vec_text(p, limit=3)


def test_invalid_utf8_in_a_later_piece_names_its_line(tmp_path, monkeypatch):
    monkeypatch.setattr(text, "_READ_BYTES", 16)
    p = tmp_path / "g.txt"
    p.write_bytes(b"a 1 2\n" * 10 + b"\xff\xfe 1 2\n")
    with pytest.raises(ModelFormatError, match="line 11: not valid UTF-8"):
        read_glove_text(p)


def test_a_limit_of_zero_reads_no_word(tmp_path):
    p = tmp_path / "g.txt"
    p.write_text("a 1 2\nb x 4\n", encoding="utf-8")
    t = read_glove_text(p, limit=0)
    assert t.vocab == [] and t.vectors.shape == (0, 2)
