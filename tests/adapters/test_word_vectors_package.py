"""The word-vector package: class paths of saved folders, one state schema, its
components, and the methods that read a text or a query the way ``encode`` does."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from safetensors.numpy import load_file, save_file

import embeddings
from embeddings.adapters.word_vectors import (
    MAX_INPUT_CHARACTERS,
    TrainedWordVectorEncoder,
    WordVectorEncoder,
)
from embeddings.adapters.word_vectors.pooling import Pooler
from embeddings.errors import InvalidInputError, InvalidParameterError, ModelFormatError

TEXTS = ["the cat sat on the mat", "a dog ran", "stocks fell sharply", "the cat ran"]
SMALL = {"vector_size": 6, "min_count": 1, "epochs": 1}


@pytest.fixture(autouse=True)
def _store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))


def _kv_with_counts() -> KeyedVectors:
    kv = KeyedVectors(3)
    words = ["cat", "dog", "stocks"]
    kv.add_vectors(words, np.array([[1, 0, 0], [0.9, 0.2, 0], [0, 0, 1]], np.float32))
    for i, word in enumerate(words):
        kv.set_vecattr(word, "count", 5 - i)
    return kv


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: WordVectorEncoder(pooling="sif").fit(TEXTS), "WordVectorEncoder"),
        (lambda: TrainedWordVectorEncoder(**SMALL).fit(TEXTS), "TrainedWordVectorEncoder"),
    ],
)
def test_saved_folders_and_pickles_name_the_package(make, name, tmp_path: Path) -> None:
    enc = make()
    enc.save(tmp_path / "enc")
    config = json.loads((tmp_path / "enc" / "config.json").read_text())
    assert config["class"] == f"embeddings.adapters.word_vectors:{name}"
    loaded = embeddings.load(tmp_path / "enc")
    assert type(loaded) is type(enc) and loaded.fingerprint() == enc.fingerprint()
    np.testing.assert_array_equal(loaded.encode(TEXTS), enc.encode(TEXTS))
    data = pickle.dumps(enc)
    assert b"word_vectors.encoder" not in data and b"word_vectors.trained" not in data
    np.testing.assert_array_equal(pickle.loads(data).encode(TEXTS), enc.encode(TEXTS))


def test_held_vectors_follow_the_one_state_schema(tmp_path: Path) -> None:
    """Vectors held by a WordVectorEncoder are checked as trained ones are."""
    enc = WordVectorEncoder(source=_kv_with_counts())
    enc.save(tmp_path / "enc")
    weights = tmp_path / "enc" / "weights.safetensors"
    arrays = load_file(str(weights))
    assert arrays["counts"].tolist() == [5, 4, 3]
    arrays["counts"] = -arrays["counts"]
    save_file(arrays, str(weights))
    with pytest.raises(ModelFormatError, match="WordVectorEncoder state: array 'counts' holds"):
        embeddings.load(tmp_path / "enc")


def test_pooling_component_fits_alone_as_the_encoder_fits() -> None:
    enc = WordVectorEncoder(pooling="usif").fit(TEXTS)
    fitted = Pooler("usif").fit(enc._lookup, TEXTS)
    np.testing.assert_array_equal(fitted.weights, enc._weights)
    np.testing.assert_array_equal(fitted.components, enc._components)
    np.testing.assert_array_equal(fitted.component_weights, enc._component_weights)
    assert Pooler("pmean", powers=(1, 2, "max")).output_dim(50) == 150


def test_fit_corpus_texts_follow_the_input_policy_of_fit() -> None:
    texts = ["a cat \ud800 sat", "a dog ran \udcff", "the cat ran"] * 3
    params = {**SMALL, "bucket": 64}
    enc = TrainedWordVectorEncoder("fasttext", **params).fit_corpus(texts)
    clean = [t.replace("\ud800", "\ufffd").replace("\udcff", "\ufffd") for t in texts]
    ref = TrainedWordVectorEncoder("fasttext", **params).fit_corpus(clean)
    np.testing.assert_array_equal(enc.encode(["a cat \ufffd"]), ref.encode(["a cat \ufffd"]))
    with pytest.raises(InvalidInputError, match=r"corpus\[1\] must be str, got NoneType"):
        TrainedWordVectorEncoder(**SMALL).fit_corpus(["a b", None])  # type: ignore[list-item]
    for bad in (-1, None, 2.5):
        with pytest.raises(InvalidParameterError, match="max_pooling_texts must be an int"):
            TrainedWordVectorEncoder(**SMALL).fit_corpus(texts, max_pooling_texts=bad)
    huge = TrainedWordVectorEncoder(**SMALL, pooling="sif")
    assert huge.fit_corpus(clean, max_pooling_texts=10**30).encode(["a cat"]).shape == (1, 6)


def test_token_ids_reads_a_text_as_encode_does() -> None:
    kv = KeyedVectors(2)
    kv.add_vectors(["\ufffd", "cat"], np.eye(2, dtype=np.float32))
    enc = WordVectorEncoder(source=kv)
    assert enc.token_ids("\ud800 cat") == [0, 1]  # a lone surrogate reads as U+FFFD
    long_text = "cat " * (MAX_INPUT_CHARACTERS // 4 + 50_000)
    assert len(enc.token_ids(long_text)) == MAX_INPUT_CHARACTERS // 4  # cut as encode cuts
    for bad in (123, None, ["cat"], b"cat"):
        with pytest.raises(InvalidInputError, match="token_ids takes one str"):
            enc.token_ids(bad)  # type: ignore[arg-type]


def test_most_similar_refuses_a_query_that_is_no_vector() -> None:
    enc = WordVectorEncoder(source=_kv_with_counts())
    for bad in (b"cat", [b"a", b"b", b"c"], object(), {"a": 1}, [10**400] * 3):
        with pytest.raises(InvalidParameterError, match=r"finite vector of shape \(3,\)"):
            enc.most_similar(bad)  # type: ignore[arg-type]


def test_an_impossible_source_or_format_is_an_invalid_parameter() -> None:
    for source in ("y" * 100_000, "vectors\x00.txt"):
        with pytest.raises(InvalidParameterError, match="neither an embedded") as err:
            WordVectorEncoder(source=source).encode(["a"])
        assert len(str(err.value)) < 1_000  # the value is not echoed whole
    with pytest.raises(InvalidParameterError, match="format must be one of") as err:
        WordVectorEncoder(format="x" * 100_000).encode(["a"])
    assert len(str(err.value)) < 1_000
