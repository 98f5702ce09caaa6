"""converted_store: one store per reading of a file, converted once, verified, then mapped."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.formats import load_vectors, store_path_for
from embeddings.formats.native import converted_store
from embeddings.formats.table import VectorTable
from embeddings.formats.text import read_glove_text


def test_each_variant_has_its_own_store_and_converts_once(tmp_path):
    p = tmp_path / "g.txt"
    p.write_text("a 1 2\nb 3 4\na 5 6\n", encoding="utf-8")
    default = store_path_for(p, "glove-text")
    assert store_path_for(p, "glove-text", variant="") == default
    assert store_path_for(p, "glove-text", variant="keep=last") != default
    calls = []

    def read() -> VectorTable:
        calls.append(1)
        return read_glove_text(p, keep="last")

    with pytest.warns(RuntimeWarning, match="keeping the last"):
        first = converted_store(p, "glove-text", read, variant="keep=last")
    again = converted_store(p, "glove-text", read, variant="keep=last")
    assert len(calls) == 1 and isinstance(again.vectors, np.memmap)
    assert first.vocab == again.vocab == ["b", "a"]
    assert again.vectors.tolist() == [[3.0, 4.0], [5.0, 6.0]]
    with pytest.warns(RuntimeWarning, match="keeping the first"):
        assert load_vectors(p).vectors.tolist() == [[1.0, 2.0], [3.0, 4.0]]
