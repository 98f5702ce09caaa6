"""Word vectors given as a gensim KeyedVectors: the ``word-vectors`` preset, saving
without pickle, ``most_similar`` and ``wv`` for gensim users."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from gensim.models import FastText, KeyedVectors
from sklearn.base import clone

import embeddings
from embeddings.adapters.word_vectors import WordVectorEncoder
from embeddings.errors import InvalidParameterError, ModelFormatError, UnknownWordError

WORDS = ["cat", "dog", "kitten", "stocks", "markets", "fell"]
VECTORS = np.array(
    [[1, 0, 0], [0.9, 0.2, 0], [0.95, 0.05, 0], [0, 0, 1], [0, 0.1, 0.9], [0.1, 0.9, 0.1]],
    dtype=np.float32,
)


@pytest.fixture
def kv() -> KeyedVectors:
    out = KeyedVectors(3)
    out.add_vectors(WORDS, VECTORS)
    return out


def test_load_word_vectors_from_keyed_vectors(kv: KeyedVectors) -> None:
    enc = embeddings.load("word-vectors", source=kv)
    assert enc.name == "word-vectors:keyed-vectors" and enc.dim == 3
    np.testing.assert_allclose(enc.encode(["cat dog"]), [(VECTORS[0] + VECTORS[1]) / 2])
    assert enc.wv is kv and enc.keyed_vectors() is kv
    direct = WordVectorEncoder(source=kv, pooling="max")
    np.testing.assert_array_equal(direct.encode(["cat dog"]), [VECTORS[:2].max(axis=0)])


def test_saved_folder_holds_the_vectors_without_pickle(kv: KeyedVectors, tmp_path) -> None:
    enc = embeddings.load("word-vectors", source=kv)
    expected = enc.encode(["cat dog", "stocks fell"])
    enc.save(tmp_path / "enc")
    config = json.loads((tmp_path / "enc" / "config.json").read_text())
    assert set(config["params"]["source"]) == {"vectors_sha256"} and config["fitted"] is True
    assert sorted(p.name for p in (tmp_path / "enc").iterdir()) == [
        "config.json",
        "weights.safetensors",
    ]
    del kv, enc  # the folder stands alone
    loaded = embeddings.load(tmp_path / "enc")
    assert loaded.name == "word-vectors:keyed-vectors"
    np.testing.assert_array_equal(loaded.encode(["cat dog", "stocks fell"]), expected)
    assert loaded.most_similar("cat", topn=1)[0][0] == "kitten"
    assert loaded.wv.index_to_key == WORDS
    twin = clone(loaded)  # shares the restored vectors
    np.testing.assert_array_equal(twin.encode(["cat dog", "stocks fell"]), expected)
    again = pickle.loads(pickle.dumps(loaded))
    np.testing.assert_array_equal(again.encode(["cat dog", "stocks fell"]), expected)


def test_fingerprint_follows_the_vectors_and_clones_share_them(kv: KeyedVectors) -> None:
    enc = WordVectorEncoder(source=kv)
    twin = clone(enc)
    assert twin.source is kv and twin.fingerprint() == enc.fingerprint()
    other = KeyedVectors(3)
    other.add_vectors(WORDS, VECTORS * 2)
    assert WordVectorEncoder(source=other).fingerprint() != enc.fingerprint()
    assert WordVectorEncoder(source=kv, pooling="max").fingerprint() != enc.fingerprint()


def test_altered_saved_vectors_are_refused(kv: KeyedVectors, tmp_path) -> None:
    from safetensors.numpy import load_file, save_file

    embeddings.load("word-vectors", source=kv).save(tmp_path / "enc")
    weights = tmp_path / "enc" / "weights.safetensors"
    arrays = load_file(str(weights))
    arrays["vectors"] = arrays["vectors"] * 2
    save_file(arrays, str(weights), metadata={"format": "transferkit-encoder"})
    with pytest.raises(ModelFormatError, match="the folder was altered"):
        embeddings.load(tmp_path / "enc")


def test_fitted_pooling_over_keyed_vectors_round_trips(kv: KeyedVectors, tmp_path) -> None:
    enc = embeddings.load("word-vectors", source=kv, pooling="sif").fit(
        ["cat dog", "stocks fell", "a kitten", "markets fell"]
    )
    expected = enc.encode(["cat kitten", "stocks"])
    enc.save(tmp_path / "sif")
    loaded = embeddings.load(tmp_path / "sif")
    np.testing.assert_array_equal(loaded.encode(["cat kitten", "stocks"]), expected)
    assert loaded.fingerprint() == enc.fingerprint()


def test_gensim_model_and_fasttext_subwords(tmp_path) -> None:
    sentences = [["cats", "purr", "softly"], ["dogs", "bark", "loudly"]] * 20
    ft = FastText(sentences, vector_size=8, min_count=1, epochs=2, bucket=500, seed=1, workers=1)
    enc = embeddings.load("word-vectors", source=ft)  # a model: its .wv is used
    assert enc.wv is ft.wv
    assert enc.encode(["catss"]).any()  # unknown word: subword vectors
    enc.save(tmp_path / "ft")
    loaded = embeddings.load(tmp_path / "ft")
    np.testing.assert_array_equal(loaded.encode(["catss purr"]), enc.encode(["catss purr"]))
    assert loaded.most_similar("catss", topn=2)[0][0] in {"cats", "purr", "softly", "dogs"}


def test_most_similar_words_and_vectors(kv: KeyedVectors) -> None:
    enc = WordVectorEncoder(source=kv)
    ours = enc.most_similar("cat", topn=3)
    theirs = kv.most_similar("cat", topn=3)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)
    assert enc.most_similar("CAT", topn=1)[0][0] == "kitten"  # looked up lowercased
    by_vector = enc.most_similar(np.array([0, 0, 1.0]), topn=2)
    assert [w for w, _ in by_vector] == ["stocks", "markets"]  # a vector keeps every word
    assert len(enc.most_similar("cat", topn=100)) == len(WORDS) - 1


def test_most_similar_errors(kv: KeyedVectors) -> None:
    enc = WordVectorEncoder(source=kv)
    with pytest.raises(UnknownWordError, match=r"'zebra' is not in the vocabulary") as err:
        enc.most_similar("zebra")
    assert isinstance(err.value, KeyError)
    with pytest.raises(InvalidParameterError, match="topn must be an int >= 1, got 0"):
        enc.most_similar("cat", topn=0)
    with pytest.raises(InvalidParameterError, match=r"shape \(3,\), got shape \(2,\)"):
        enc.most_similar([1.0, 0.0])


def test_embedded_glove_offers_most_similar_and_wv() -> None:
    enc = embeddings.load("glove-6b-50d")
    assert [w for w, _ in enc.most_similar("king", topn=2)] == ["prince", "queen"]
    kv = enc.wv
    assert kv.vector_size == 50 and enc.wv is kv  # the copy is made once
    np.testing.assert_array_equal(kv["cat"], enc.get_vectors()[kv.key_to_index["cat"]])


def test_invalid_source_object_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"gensim KeyedVectors, got int \(3\)"):
        WordVectorEncoder(source=3).encode(["a"])  # type: ignore[arg-type]
