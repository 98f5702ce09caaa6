"""``most_similar(positive=, negative=, topn=)`` on word-vector encoders answers as
gensim's ``KeyedVectors.most_similar`` does on the same vectors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gensim.models import KeyedVectors

import embeddings
from embeddings.adapters.word_vectors import WordVectorEncoder
from embeddings.errors import (
    InvalidParameterError,
    TransferkitDeprecationWarning,
    UnknownWordError,
)


@pytest.fixture(scope="module")
def glove():
    return embeddings.load("glove-6b-50d")


def _same(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)


@pytest.mark.parametrize(
    ("positive", "negative"),
    [
        (["king", "woman"], ["man"]),
        (["paris", "germany"], ["france"]),
        ("king", None),
        (None, ["good"]),
        ([("king", 2.0), "woman"], [("man", 0.5)]),
    ],
)
def test_words_answer_as_gensim_does(glove, positive, negative):
    ours = glove.most_similar(positive=positive, negative=negative, topn=7)
    theirs = glove.wv.most_similar(positive=positive, negative=negative, topn=7)
    _same(ours, theirs)


def test_analogy_and_words_left_out(glove):
    got = glove.most_similar(positive=["king", "woman"], negative=["man"], topn=5)
    assert got[0][0] == "queen"
    assert not {"king", "woman", "man"} & {w for w, _ in got}


def test_vectors_mix_with_words(glove):
    vec = glove.wv["woman"] * 3.0  # a vector enters unnormalised, as in gensim
    ours = glove.most_similar(positive=["king", vec], negative=["man"], topn=5)
    theirs = glove.wv.most_similar(positive=["king", vec], negative=["man"], topn=5)
    _same(ours, theirs)


def test_positional_and_old_keyword_calls_still_work(glove):
    _same(glove.most_similar("king", None, 4), glove.wv.most_similar("king", None, 4))
    with pytest.raises(InvalidParameterError, match="pass topn=4 by keyword"):
        glove.most_similar("king", 4)  # the second parameter is negative=, as in gensim
    with pytest.warns(TransferkitDeprecationWarning, match="word_or_vector"):
        old = glove.most_similar(word_or_vector="king", topn=4)
    _same(old, glove.wv.most_similar("king", topn=4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InvalidParameterError, match="positive= only"):
            glove.most_similar(word_or_vector="king", positive="queen")


def test_unknown_words_and_empty_queries_are_clear(glove):
    with pytest.raises(UnknownWordError, match=r"'qqxzv' is not in the vocabulary") as err:
        glove.most_similar(positive=["king"], negative=["qqxzv"])
    assert isinstance(err.value, KeyError)
    for positive, negative in ((None, None), ([], []), ([], None)):
        with pytest.raises(InvalidParameterError, match="at least one word or vector"):
            glove.most_similar(positive=positive, negative=negative)
    with pytest.raises(InvalidParameterError, match=r"shape \(50,\), got shape \(3,\)"):
        glove.most_similar(positive=["king", [1.0, 2.0, 3.0]])


def test_lowercasing_encoder_looks_words_up_as_encode_does():
    kv = KeyedVectors(3)
    kv.add_vectors(["cat", "dog", "kitten", "stocks"], np.eye(4, 3, dtype=np.float32) + 0.1)
    enc = WordVectorEncoder(source=kv)  # lowercases by default
    assert enc.most_similar(positive=["CAT"], negative=["Dog"], topn=2) == enc.most_similar(
        positive=["cat"], negative=["dog"], topn=2
    )
