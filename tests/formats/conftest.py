from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embeddings.errors import ModelFormatError


@pytest.fixture(autouse=True)
def _store_root(tmp_path, monkeypatch):
    """Keep converted stores inside the test's temporary folder."""
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))


@pytest.fixture
def small_table():
    vocab = ["the", "cat", "sat", "naïve", "日本"]
    rng = np.random.default_rng(0)
    return vocab, rng.standard_normal((5, 4)).astype(np.float32)


def assert_refused(
    path: Path, content: bytes, reader: Callable[[Path], object], match: str
) -> None:
    """Write ``content`` to ``path``: ``reader(path)`` must raise a ModelFormatError
    whose message matches ``match``."""
    path.write_bytes(content)
    with pytest.raises(ModelFormatError, match=match):
        reader(path)


def gensim_reads_ours(
    folder: Path, ext: str, vocab: list[str], vecs: np.ndarray, *, binary: bool
) -> Any:
    """Write ``folder/ours.{ext}`` (word2vec binary or text), check that gensim reads the
    same words and vectors, and let gensim write ``folder/theirs.{ext}``; return
    gensim's ``KeyedVectors``."""
    from gensim.models import KeyedVectors

    from embeddings.formats import write_word2vec_binary, write_word2vec_text

    write = write_word2vec_binary if binary else write_word2vec_text
    write(folder / f"ours.{ext}", vocab, vecs)
    kv = KeyedVectors.load_word2vec_format(str(folder / f"ours.{ext}"), binary=binary)
    assert kv.index_to_key == vocab
    np.testing.assert_array_equal(kv.vectors, vecs)
    kv.save_word2vec_format(str(folder / f"theirs.{ext}"), binary=binary)
    return kv
