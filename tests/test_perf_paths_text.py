"""The fast paths of the word-vector lookup and of text-file conversion give the same
results as the general ones: Arrow's ASCII whitespace split, the chunk cache, pieces
read into one reused buffer, rows reserved ahead, and the check of a new store."""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from embeddings.adapters.word_vectors import WordVectorEncoder
from embeddings.adapters.word_vectors import lookup as lookup_module
from embeddings.errors import ModelFormatError
from embeddings.formats import load_vectors, write_glove_text
from embeddings.formats import native as native_module
from embeddings.formats import text as text_module
from embeddings.formats.text import read_glove_text


def test_ascii_split_differs_from_str_split_exactly_on_the_other_spaces():
    cps = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    texts = [f"a{chr(c)}b" for c in cps]
    got = pc.ascii_split_whitespace(pa.array(texts, type=pa.large_string())).to_pylist()
    differs = {c for c, t, g in zip(cps, texts, got) if [x for x in g if x] != t.split()}
    listed = {c for c in cps if lookup_module._OTHER_SPACES.fullmatch(chr(c))}
    assert differs == listed


@pytest.mark.parametrize(
    "texts",
    [
        ["plain ascii, text.", "The CAT sat", ""],
        ["ascii\x1cseparator", "Other Text"],
        ["Ünïcode wörds é", "ASCII Text"],
        ["ideographic\u3000space", "NO-BREAK\u00a0SPACE", "Mixed Case"],
        ["İstanbul ΣΟΦΟΣ", "\u2028line\u2029para", "x\x85y"],
    ],
)
@pytest.mark.parametrize("lowercase", [True, False])
def test_chunk_batch_matches_the_python_path(texts, lowercase):
    enc = WordVectorEncoder(lowercase=lowercase)
    enc.encode(["warm up"])
    lookup = enc._lookup
    n = len(texts)
    for _ in range(2):  # the second time from the chunk cache
        ids, rows = lookup.tokens(lookup.chunk_batch(texts))
        lowered = [t.lower() for t in texts] if lowercase else texts
        ref_ids, ref_rows = lookup.tokens(lookup._chunk_batch_python(lowered))
        assert [ids[rows == j].tolist() for j in range(n)] == [
            ref_ids[ref_rows == j].tolist() for j in range(n)
        ]


def test_encode_is_the_same_in_any_batch_order():
    texts = ["The cat sat.", "a dog, a cat", "zzzqq unknown", "U.S. e-mail", "the"] * 40
    enc = WordVectorEncoder()
    first = enc.encode(texts, batch_size=7)
    again = WordVectorEncoder().encode(texts[::-1], batch_size=3)[::-1]
    np.testing.assert_array_equal(first, again)


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(text_module, "_READ_BYTES", 97)


def _lines(n: int, dim: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    vocab = [f"w{i}" * (1 + (i < 5) * 20) for i in range(n)]  # long lines first
    return vocab, rng.standard_normal((n, dim)).astype(np.float32)


def test_small_pieces_and_rows_grown_past_the_estimate(tmp_path, small_pieces):
    vocab, vecs = _lines(300, 4, np.random.default_rng(0))
    path = tmp_path / "g.txt"
    write_glove_text(path, vocab, vecs)
    table = read_glove_text(path)
    assert table.vocab == vocab
    np.testing.assert_array_equal(table.vectors, vecs)
    assert read_glove_text(path, limit=17).vocab == vocab[:17]


def test_line_numbers_after_many_pieces(tmp_path, small_pieces):
    vocab, vecs = _lines(200, 3, np.random.default_rng(1))
    path = tmp_path / "g.txt"
    write_glove_text(path, vocab, vecs)
    lines = path.read_bytes().split(b"\n")
    lines[149] = b"bad 1 2 x"
    lines.insert(100, b"")  # a blank line: its piece is read line by line
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ModelFormatError, match=r"line 151: field 4 is not a number"):
        read_glove_text(path)


def test_too_long_line_is_reported_with_its_number(tmp_path, small_pieces, monkeypatch):
    monkeypatch.setattr(text_module, "MAX_LINE_BYTES", 300)
    vocab, vecs = _lines(60, 3, np.random.default_rng(2))
    path = tmp_path / "g.txt"
    write_glove_text(path, vocab, vecs)
    lines = path.read_bytes().split(b"\n")
    lines[40] = b"long " + b"1 " * 200 + b"1"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ModelFormatError, match=r"line 41 is longer than 300 bytes"):
        read_glove_text(path)


def test_conversion_refuses_a_store_whose_words_were_changed(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))
    vocab, vecs = _lines(50, 3, np.random.default_rng(3))
    path = tmp_path / "g.txt"
    write_glove_text(path, vocab, vecs)
    real_write = native_module.write_store

    def write_then_rename_a_word(folder, table, **kw):
        out = real_write(folder, table, **kw)
        words = (out / "vocab.txt").read_bytes()
        (out / "vocab.txt").write_bytes(words.replace(b"w7", b"w8", 1))
        return out

    monkeypatch.setattr(native_module, "write_store", write_then_rename_a_word)
    with pytest.raises(ModelFormatError, match="failed verification"):
        load_vectors(path)
    monkeypatch.setattr(native_module, "write_store", real_write)
    table = load_vectors(path)
    assert table.vocab == vocab and isinstance(table.vectors, np.memmap)
    np.testing.assert_array_equal(table.vectors, vecs)
    assert load_vectors(path).vocab == vocab  # read back from the store
