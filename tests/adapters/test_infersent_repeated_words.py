"""InferSent's vector loader keeps the last row of a repeated word, as the original does."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.adapters.infersent import InferSentEncoder

pytest.importorskip("torch")


@pytest.mark.parametrize("header", ["", "3 2\n"])
def test_text_vectors_keep_the_last_row_of_a_repeated_word(tmp_path, monkeypatch, header):
    # the published loader builds a dict line by line, so a later line overwrites
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))
    p = tmp_path / "glove.txt"
    p.write_text(header + "the 1 2\ncat 5 6\nthe 3 4\n", encoding="utf-8")
    enc = InferSentEncoder(word_vectors=str(p), hidden_size=4, fc_dim=4)
    with pytest.warns(RuntimeWarning, match="1 duplicated word.*keeping the last vector"):
        enc._load_vectors()
    assert enc._vectors[enc._index["the"]].tolist() == [3.0, 4.0]
    assert enc._vectors[enc._index["cat"]].tolist() == [5.0, 6.0]
    assert isinstance(enc._vectors, np.memmap)  # converted once, then memory-mapped
    again = InferSentEncoder(word_vectors=str(p), hidden_size=4, fc_dim=4)
    again._load_vectors()  # the store of this reading: no second conversion
    assert again._vectors[again._index["the"]].tolist() == [3.0, 4.0]
    assert again._resource_id() != ""


def test_other_readers_of_the_same_file_keep_the_first_row(tmp_path, monkeypatch):
    from embeddings.formats import load_vectors

    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))
    p = tmp_path / "glove.txt"
    p.write_text("the 1 2\nthe 3 4\n", encoding="utf-8")
    enc = InferSentEncoder(word_vectors=str(p), hidden_size=4, fc_dim=4)
    with pytest.warns(RuntimeWarning, match="keeping the last"):
        enc._load_vectors()
    with pytest.warns(RuntimeWarning, match="keeping the first"):
        assert load_vectors(p).vectors.tolist() == [[1.0, 2.0]]
    assert enc._vectors[enc._index["the"]].tolist() == [3.0, 4.0]
