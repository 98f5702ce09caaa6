"""Native store (atomic, memory-mapped, converted once) and gensim native files."""

from __future__ import annotations

import os

import numpy as np
import pytest

import embeddings.formats as fm
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.formats import (
    VectorTable,
    is_store,
    load_vectors,
    read_gensim,
    read_store,
    write_glove_text,
    write_store,
)


def test_store_round_trip_is_memory_mapped(tmp_path, small_table):
    vocab, vecs = small_table
    write_store(tmp_path / "s", VectorTable(vocab, vecs))
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "config.json",
        "vectors.npy",
        "vocab.txt",
    ]
    t = read_store(tmp_path / "s")
    assert isinstance(t.vectors, np.memmap) and not t.vectors.flags.writeable
    assert t.vocab == vocab
    np.testing.assert_array_equal(t.vectors, vecs)


def test_crash_during_conversion_leaves_no_store(tmp_path, small_table, monkeypatch):
    vocab, vecs = small_table

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(fm.native.os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        write_store(tmp_path / "s", VectorTable(vocab, vecs))
    assert not (tmp_path / "s").exists()
    assert list(tmp_path.iterdir()) == []  # the temporary folder was removed too


def test_crash_before_config_is_never_read_as_store(tmp_path, small_table, monkeypatch):
    vocab, vecs = small_table
    real = fm.native._write_file

    def fail_on_config(path, payload):
        if path.name == "config.json":
            raise KeyboardInterrupt
        real(path, payload)

    monkeypatch.setattr(fm.native, "_write_file", fail_on_config)
    with pytest.raises(KeyboardInterrupt):
        write_store(tmp_path / "s", VectorTable(vocab, vecs))
    assert not is_store(tmp_path / "s")
    with pytest.raises(ModelFormatError, match="not a native vector store"):
        read_store(tmp_path / "s")


def test_load_vectors_converts_once_then_maps(tmp_path, small_table, monkeypatch):
    vocab, vecs = small_table
    src = tmp_path / "g.txt"
    write_glove_text(src, vocab, vecs)
    first = load_vectors(src)
    assert is_store(first.source)
    calls = []
    monkeypatch.setattr(fm, "read_vectors", lambda *a, **k: calls.append(a))
    second = load_vectors(src)
    assert calls == [] and second.source == first.source
    assert isinstance(second.vectors, np.memmap)
    np.testing.assert_array_equal(second.vectors, vecs)


def test_edited_file_is_converted_again(tmp_path, small_table):
    vocab, vecs = small_table
    src = tmp_path / "g.txt"
    write_glove_text(src, vocab, vecs)
    a = load_vectors(src)
    write_glove_text(src, vocab, vecs * 2)
    os.utime(src, ns=(1, 1))
    b = load_vectors(src)
    assert a.source != b.source
    np.testing.assert_array_equal(b.vectors, vecs * 2)


def test_store_validates_sizes(tmp_path, small_table):
    vocab, vecs = small_table
    write_store(tmp_path / "s", VectorTable(vocab, vecs))
    (tmp_path / "s" / "vocab.txt").write_text("a\nb", encoding="utf-8")
    with pytest.raises(ModelFormatError, match="expected 5 words"):
        read_store(tmp_path / "s")


def test_store_rejects_newline_in_word(tmp_path):
    with pytest.raises(ModelFormatError, match="contains a newline"):
        write_store(tmp_path / "s", VectorTable(["a\nb"], np.ones((1, 2), np.float32)))


def test_gensim_native_needs_trust_pickle(tmp_path, small_table):
    from gensim.models import KeyedVectors

    vocab, vecs = small_table
    kv = KeyedVectors(4)
    kv.add_vectors(vocab, vecs)
    kv.save(str(tmp_path / "v.kv"))
    # format="auto" never picks the pickle reader, whatever the name says
    with pytest.raises(ModelFormatError, match="format='gensim' and trust_pickle=True"):
        fm.detect_format(tmp_path / "v.kv")
    with pytest.raises(InvalidParameterError, match="trust_pickle=True"):
        read_gensim(tmp_path / "v.kv")
    with pytest.raises(ModelFormatError, match="format='gensim' and trust_pickle=True"):
        load_vectors(tmp_path / "v.kv")
    with pytest.raises(InvalidParameterError, match="trust_pickle=True"):
        load_vectors(tmp_path / "v.kv", format="gensim")
    t = read_gensim(tmp_path / "v.kv", trust_pickle=True)
    assert t.vocab == vocab
    np.testing.assert_array_equal(t.vectors, vecs)
    (tmp_path / "bad.kv").write_bytes(b"\x80\x04garbage")
    with pytest.raises(ModelFormatError, match="cannot unpickle"):
        read_gensim(tmp_path / "bad.kv", trust_pickle=True)


def test_detect_format(tmp_path, small_table):
    vocab, vecs = small_table
    fm.write_word2vec_text(tmp_path / "a.txt", vocab, vecs)
    fm.write_word2vec_binary(tmp_path / "b.dat", vocab, vecs)
    fm.write_glove_text(tmp_path / "c.txt", vocab, vecs)
    write_store(tmp_path / "d", VectorTable(vocab, vecs))
    assert fm.detect_format(tmp_path / "a.txt") == "word2vec-text"
    assert fm.detect_format(tmp_path / "b.dat") == "word2vec-binary"
    assert fm.detect_format(tmp_path / "c.txt") == "glove-text"
    assert fm.detect_format(tmp_path / "d") == "native"
    with pytest.raises(ModelFormatError, match="no such"):
        fm.detect_format(tmp_path / "missing.txt")
    with pytest.raises(InvalidParameterError, match="format must be"):
        fm.read_vectors(tmp_path / "a.txt", format="csv")
