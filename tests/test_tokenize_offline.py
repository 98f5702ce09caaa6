"""tokenizer="nltk" works without NLTK's downloadable data: NLTK's Treebank words over a
punkt-free sentence split, for the published Skip-Thought and InferSent encoders."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import embeddings
from embeddings import tokenize as tk
from embeddings.errors import MissingDependencyError

nltk = pytest.importorskip("nltk")


@pytest.fixture
def no_nltk_data(tmp_path, monkeypatch):
    """NLTK sees only an empty data folder: no punkt model anywhere."""
    empty = tmp_path / "nltk_data"
    empty.mkdir()
    monkeypatch.setenv("NLTK_DATA", str(empty))
    monkeypatch.setattr(nltk.data, "path", [str(empty)])
    cached = getattr(nltk.tokenize, "_get_punkt_tokenizer", None)
    if hasattr(cached, "cache_clear"):
        cached.cache_clear()  # a punkt model loaded earlier in this process
    with pytest.raises(LookupError):  # the real word_tokenize cannot run here
        nltk.word_tokenize("One. Two.")
    return empty


def test_split_sentences_keeps_abbreviations_and_initials():
    text = 'Mr. Smith met J. R. Ewing in the U.S. today. "Really?" she asked! Fine.'
    assert tk.split_sentences(text) == [
        "Mr. Smith met J. R. Ewing in the U.S. today.",
        '"Really?"',
        "she asked!",
        "Fine.",
    ]
    assert tk.split_sentences("  ") == []
    assert tk.split_sentences("no boundary here") == ["no boundary here"]
    assert tk.split_sentences("Wait... what") == ["Wait...", "what"]


def test_nltk_tokenizer_works_without_punkt_data(no_nltk_data):
    tokens = tk.nltk_word_tokenize("Don't panic. Mr. Smith's here, isn't he?")
    # the period inside the text is split off, as word_tokenize with punkt does
    assert tokens == ["Do", "n't", "panic", ".", "Mr.", "Smith", "'s", "here", ",", "is",
                      "n't", "he", "?"]  # fmt: skip
    assert tk.nltk_word_tokenize("a b cat. d e", max_tokens=4) == ["a", "b", "cat", "."]


def test_missing_nltk_names_the_extra_and_the_alternatives(monkeypatch):
    monkeypatch.setattr(tk, "_NLTK_WORDS", None)
    monkeypatch.setitem(sys.modules, "nltk.tokenize", None)
    with pytest.raises(MissingDependencyError, match=r"transferkit\[published\]") as err:
        tk.nltk_word_tokenize("text")
    assert "tokenizer='split'" in str(err.value)


def test_skip_thought_release_with_nltk_tokenizer_offline(tmp_path, no_nltk_data):
    from tests.formats.test_skip_thought_release import build_release

    build_release(tmp_path / "rel")
    nltk_enc = embeddings.load("skip-thought", path=str(tmp_path / "rel"), mode="uni",
                               tokenizer="nltk")  # fmt: skip
    split_enc = embeddings.load("skip-thought", path=str(tmp_path / "rel"), mode="uni",
                                tokenizer="split")  # fmt: skip
    got = nltk_enc.encode(["the cat sat. the dog ran away."])
    want = split_enc.encode(["the cat sat . the dog ran away ."])
    np.testing.assert_array_equal(got, want)
    assert np.isfinite(got).all()


def test_infersent_default_tokenizer_offline(tmp_path, no_nltk_data):
    from tests.formats.test_infersent_checkpoint import write_tiny_infersent

    ckpt, store = write_tiny_infersent(tmp_path / "inf")
    enc = embeddings.load("infersent", checkpoint=str(ckpt), word_vectors=str(store))
    assert enc.tokenizer == "nltk"  # the published default
    split = embeddings.load(
        "infersent", checkpoint=str(ckpt), word_vectors=str(store), tokenizer="split"
    )
    np.testing.assert_array_equal(
        enc.encode(["The cat sleeps. A man is playing a guitar."]),
        split.encode(["The cat sleeps . A man is playing a guitar ."]),
    )
