"""Similarity helpers (embeddings/util.py) and ``encode(..., normalize=True)``."""

from __future__ import annotations

import numpy as np
import pytest

import embeddings
from embeddings.errors import InvalidInputError, InvalidParameterError
from embeddings.util import normalize_rows, semantic_search, similarity


def test_similarity_is_the_cosine_matrix_in_float32() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 6)), rng.standard_normal((3, 6))
    s = similarity(a, b)
    expected = (a / np.linalg.norm(a, axis=1, keepdims=True)) @ (
        b / np.linalg.norm(b, axis=1, keepdims=True)
    ).T
    assert s.shape == (4, 3) and s.dtype == np.float32 and s.flags.c_contiguous
    np.testing.assert_allclose(s, expected, atol=1e-6)
    np.testing.assert_allclose(np.diag(similarity(a)), 1.0, atol=1e-6)  # b=None: a with a
    assert similarity(a[0], b).shape == (1, 3)  # a 1-D vector is one row


def test_zero_vectors_give_zero_never_nan() -> None:
    s = similarity([[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [2.0, 0.0]])
    assert not np.isnan(s).any()
    assert s.tolist() == [[0.0, 0.0], [0.0, 1.0]]


def test_similarity_rejects_what_it_cannot_compare() -> None:
    with pytest.raises(InvalidInputError, match=r"same dimension.*\(1, 2\).*\(1, 3\)"):
        similarity([[1.0, 0.0]], [[1.0, 0.0, 0.0]])
    with pytest.raises(InvalidInputError, match="encode the texts first"):
        similarity(["a cat"], [[1.0]])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="NaN"):
        similarity([[np.nan, 1.0]], [[1.0, 1.0]])
    with pytest.raises(InvalidInputError, match=r"2-D.*shape \(1, 1, 2\)"):
        similarity(np.ones((1, 1, 2)), np.ones((1, 2)))


def test_semantic_search_matches_brute_force_with_chunks() -> None:
    rng = np.random.default_rng(1)
    queries, corpus = rng.standard_normal((7, 5)), rng.standard_normal((53, 5))
    full = similarity(queries, corpus)
    for q_chunk, c_chunk in ((100, 100_000), (3, 10), (1, 1)):
        hits = semantic_search(
            queries, corpus, top_k=4, query_chunk_size=q_chunk, corpus_chunk_size=c_chunk
        )
        assert len(hits) == 7
        for i, row in enumerate(hits):
            assert [h["corpus_id"] for h in row] == list(np.argsort(-full[i], kind="stable")[:4])
            np.testing.assert_allclose(
                [h["score"] for h in row], np.sort(full[i])[::-1][:4], atol=1e-6
            )
            assert all(isinstance(h["corpus_id"], int) for h in row)


def test_semantic_search_ties_small_corpus_and_errors() -> None:
    corpus = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    hits = semantic_search([[1.0, 0.0]], corpus, top_k=10, corpus_chunk_size=2)[0]
    assert [h["corpus_id"] for h in hits] == [0, 2, 4, 1, 3]  # equal scores: by corpus_id
    assert [round(h["score"], 6) for h in hits] == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert semantic_search(np.zeros((2, 2)), np.zeros((0, 2))) == [[], []]
    with pytest.raises(InvalidParameterError, match="top_k must be an int >= 1, got 0"):
        semantic_search(corpus, corpus, top_k=0)
    with pytest.raises(InvalidInputError, match="same dimension"):
        semantic_search(np.ones((1, 3)), corpus)


def test_semantic_search_on_real_sentences() -> None:
    enc = embeddings.load("glove-6b-50d")
    corpus = ["the cat sat on the mat", "stocks fell sharply", "a dog barked at the cat"]
    hits = embeddings.semantic_search(
        enc.encode(["a kitten slept on a rug", "markets dropped"]), enc.encode(corpus), top_k=2
    )
    assert corpus[hits[0][0]["corpus_id"]] in (corpus[0], corpus[2])
    assert hits[1][0]["corpus_id"] == 1


def test_normalize_gives_unit_rows_and_keeps_zero_rows() -> None:
    enc = embeddings.load("glove-6b-50d")
    texts = ["the cat sat on the mat", "zzzqqq", "stocks fell"]  # the middle text is all OOV
    with pytest.warns(RuntimeWarning, match="no in-vocabulary token"):
        raw = enc.encode(texts)
    with pytest.warns(RuntimeWarning, match="no in-vocabulary token"):
        unit = enc.encode(texts, normalize=True)
    assert unit.dtype == np.float32 and unit.shape == raw.shape and unit.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(unit[[0, 2]], axis=1), 1.0, rtol=1e-6)
    assert not unit[1].any() and not np.isnan(unit).any()
    np.testing.assert_allclose(unit, normalize_rows(raw), rtol=1e-6)
    np.testing.assert_allclose(unit @ unit.T, similarity(raw), atol=1e-6)
    assert enc.encode([], normalize=True).shape == (0, 50)
    with pytest.raises(InvalidParameterError, match="normalize must be True or False, got 1"):
        enc.encode(texts, normalize=1)  # type: ignore[arg-type]
