"""WordVectorEncoder: poolings against independent reference computations, OOV, I/O."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

import embeddings
from embeddings.adapters.word_vectors import WordVectorEncoder
from embeddings.errors import InvalidParameterError, NotFittedError
from embeddings.formats import VectorTable, write_glove_text, write_store
from embeddings.tokenize import tokenize

TRAIN = [
    "The cat sat on the mat.",
    "A dog barked at the cat!",
    "Stocks fell sharply on Monday, analysts said.",
    "I don't like this movie; it's too long.",
    "the the the cat",
    "Paris is the capital of France.",
]
TEST = ["the dog sat", "France's stocks", "zzzqqq xxyyzz", ""]


@pytest.fixture(scope="module")
def glove():
    enc = WordVectorEncoder()
    return enc.get_vocabulary(), np.asarray(enc.get_vectors())


def _ids(text, vocab_index):
    return [vocab_index[t] for t in tokenize(text) if t in vocab_index]


@pytest.fixture(scope="module")
def index(glove):
    vocab, _ = glove
    out = {}
    for i, w in enumerate(vocab):
        out.setdefault(w, i)
    return out


def _quiet_encode(enc, texts, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return enc.encode(texts, **kw)


def test_mean_matches_gensim_get_mean_vector(glove):
    enc = WordVectorEncoder()
    kv = enc.to_keyed_vectors()
    texts = [*TRAIN, *TEST[:2]]
    got = enc.encode(texts)
    ref = np.stack([kv.get_mean_vector(tokenize(t), pre_normalize=False) for t in texts])
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-6)


def test_all_oov_and_empty_give_zero_and_one_warning():
    enc = WordVectorEncoder()
    with pytest.warns(RuntimeWarning, match="2 text\\(s\\) had no in-vocabulary token"):
        out = enc.encode(["zzzqqq", "the cat", ""])
    assert not out[0].any() and not out[2].any() and out[1].any()


def test_tfidf_matches_sklearn_idf_and_weighted_mean(glove, index):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vocab, vecs = glove
    enc = WordVectorEncoder(pooling="tfidf").fit(TRAIN)
    tv = TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None).fit(TRAIN)
    sk_idf = dict(zip(tv.get_feature_names_out(), tv.idf_))
    for word, idf in sk_idf.items():
        if word in index:
            assert enc._weights[index[word]] == pytest.approx(idf, rel=1e-6)
    text = "the cat sat on the mat near paris"
    ids = _ids(text, index)
    w = np.array([sk_idf.get(vocab[i], np.log(1 + len(TRAIN)) + 1) for i in ids])
    ref = (w[:, None] * vecs[ids]).sum(0) / w.sum()
    np.testing.assert_allclose(enc.encode([text])[0], ref, atol=2e-6)


def test_sif_matches_reference_computation(glove, index):
    vocab, vecs = glove
    a = 1e-3
    enc = WordVectorEncoder(pooling="sif", sif_a=a).fit(TRAIN)
    counts = np.zeros(len(vocab))
    for t in TRAIN:
        for i in _ids(t, index):
            counts[i] += 1
    p = counts / counts.sum()

    def weighted(text):
        ids = _ids(text, index)
        if not ids:
            return np.zeros(vecs.shape[1])
        return (a / (a + p[ids]))[:, None].__mul__(vecs[ids].astype(np.float64)).mean(0)

    x = np.stack([weighted(t) for t in TRAIN])
    # the SIF reference code removes TruncatedSVD's first component of the train vectors
    from sklearn.decomposition import TruncatedSVD

    pc = TruncatedSVD(n_components=1, n_iter=20, random_state=0).fit(x).components_[0]
    for text in [*TRAIN, *TEST[:2]]:
        v = weighted(text)
        ref = v - (v @ pc) * pc
        np.testing.assert_allclose(enc.encode([text])[0], ref, atol=5e-5)


def test_usif_matches_reference_formula(glove, index):
    vocab, vecs = glove
    enc = WordVectorEncoder(pooling="usif", n_components=2).fit(TRAIN)
    counts = np.zeros(len(vocab))
    lengths = []
    for t in TRAIN:
        ids = _ids(t, index)
        lengths.append(len(ids))
        for i in ids:
            counts[i] += 1
    p = counts / counts.sum()
    v = int(np.count_nonzero(counts))
    n = round(float(np.mean(lengths)))
    threshold = 1 - (1 - 1 / v) ** n
    alpha = max(np.count_nonzero(p > threshold) / v, 1 / v)
    a = (1 - alpha) / (alpha * 0.5 * v)
    p = np.where(p > 0, p, p[p > 0].min())
    weight = a / (0.5 * a + p)
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)

    def pooled(text):
        ids = _ids(text, index)
        return (weight[ids][:, None] * unit[ids]).mean(0) if ids else np.zeros(vecs.shape[1])

    x = np.stack([pooled(t) for t in TRAIN])
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    lam = s[:2] ** 2 / (s[:2] ** 2).sum()
    for text in [TRAIN[0], TEST[0]]:
        y = pooled(text)
        ref = y - sum(lam[i] * (y @ vt[i]) * vt[i] for i in range(2))
        np.testing.assert_allclose(enc.encode([text])[0], ref, atol=5e-5)


def test_max_and_pmean_match_numpy(glove, index):
    _, vecs = glove
    text = "the cat sat on the mat"
    g = vecs[_ids(text, index)].astype(np.float64)
    mx = WordVectorEncoder(pooling="max").encode([text])[0]
    np.testing.assert_array_equal(mx, g.max(0).astype(np.float32))
    pm = WordVectorEncoder(pooling="pmean", powers=(1, 3, "max", "min")).encode([text])[0]
    cube = np.cbrt((g**3).mean(0))
    ref = np.concatenate([g.mean(0), cube, g.max(0), g.min(0)])
    np.testing.assert_allclose(pm, ref, atol=2e-6)
    assert WordVectorEncoder(pooling="pmean").dim == 150


@pytest.mark.parametrize("pooling", ["mean", "tfidf", "sif", "usif", "max", "pmean"])
def test_batch_size_and_order_do_not_change_vectors(pooling):
    enc = WordVectorEncoder(pooling=pooling)
    if enc.requires_fit:
        enc.fit(TRAIN)
    texts = [*TRAIN, *TEST] * 3
    a = _quiet_encode(enc, texts, batch_size=1)
    b = _quiet_encode(enc, texts, batch_size=64)
    c = _quiet_encode(enc, texts[::-1], batch_size=5)[::-1]
    assert a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_fitted_poolings_require_fit_and_fit_on_train_only():
    enc = WordVectorEncoder(pooling="sif")
    assert enc.requires_fit and enc.trainable
    with pytest.raises(NotFittedError, match="fit"):
        enc.encode(["a"])
    enc.fit(TRAIN)
    before = enc.encode(TRAIN)
    _quiet_encode(enc, TEST)
    np.testing.assert_array_equal(enc.encode(TRAIN), before)
    refit = clone(enc).fit([*TRAIN, *TEST])
    assert not np.array_equal(refit.encode(TRAIN), before)
    assert not WordVectorEncoder(pooling="mean").requires_fit


def test_save_load_and_pickle_give_identical_output(tmp_path):
    enc = embeddings.load("glove-6b-50d-sif", word_freq="train").fit(TRAIN)
    out = enc.encode(TEST[:2])
    enc.save(tmp_path / "enc")
    loaded = embeddings.load(str(tmp_path / "enc"))
    np.testing.assert_array_equal(loaded.encode(TEST[:2]), out)
    assert loaded.fingerprint() == enc.fingerprint()
    again = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(again.encode(TEST[:2]), out)


def test_sif_with_wordfreq_uses_wordfreq_probabilities(index):
    import wordfreq

    enc = WordVectorEncoder(pooling="sif", word_freq="wordfreq", n_components=0).fit(TRAIN)
    p = wordfreq.get_frequency_dict("en", wordlist="best")["the"]
    assert enc._weights[index["the"]] == pytest.approx(1e-3 / (1e-3 + p), rel=1e-6)


def test_lowercase_fallback_and_exact_case(tmp_path):
    vecs = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    write_store(tmp_path / "s", VectorTable(["Paris", "paris", "london"], vecs))
    cased = WordVectorEncoder(str(tmp_path / "s"), lowercase=False)
    assert cased.encode(["Paris"]).tolist() == [[1.0, 0.0]]
    assert cased.encode(["PARIS"]).tolist() == [[0.0, 1.0]]  # lowercase fallback
    assert cased.encode(["London"]).tolist() == [[1.0, 1.0]]
    lower = WordVectorEncoder(str(tmp_path / "s"))
    assert lower.encode(["Paris"]).tolist() == [[0.0, 1.0]]


def test_path_source_converts_to_store_and_loads_text_files(tmp_path):
    vecs = np.array([[1, 2], [3, 4]], dtype=np.float32)
    write_glove_text(tmp_path / "g.txt", ["hello", "world"], vecs)
    enc = WordVectorEncoder(str(tmp_path / "g.txt"))
    assert enc.encode(["Hello world!"]).tolist() == [[2.0, 3.0]]
    assert enc.fingerprint() == WordVectorEncoder(str(tmp_path / "g.txt")).fingerprint()
    assert any((tmp_path / "stores").iterdir())


def test_fasttext_subwords_for_oov_words(tmp_path):
    from gensim.models import FastText

    sents = [["the", "cat", "sat", "on", "the", "mat"], ["dogs", "chase", "cats"]] * 20
    ft = FastText(sents, vector_size=8, min_count=1, epochs=2, bucket=500, seed=1, workers=1)
    enc = WordVectorEncoder.from_keyed_vectors(ft.wv, store_dir=tmp_path / "ft")
    np.testing.assert_allclose(enc.encode(["catz"])[0], ft.wv["catz"], rtol=1e-6, atol=1e-7)
    both = enc.encode(["catz mats"])[0]
    np.testing.assert_allclose(both, (ft.wv["catz"] + ft.wv["mats"]) / 2, atol=1e-6)
    no_sub = WordVectorEncoder(str(tmp_path / "ft"), subwords=False)
    with pytest.warns(RuntimeWarning, match="1 text"):
        assert not no_sub.encode(["catz"]).any()


def test_keyed_vectors_round_trip_and_word2vec_export(tmp_path):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(3)
    kv.add_vectors(["alpha", "beta"], np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32))
    enc = WordVectorEncoder.from_keyed_vectors(kv, store_dir=tmp_path / "kv", pooling="max")
    assert enc.pooling == "max" and enc.format == "native"
    assert enc.encode(["alpha beta"]).tolist() == [[4.0, 5.0, 6.0]]
    back = enc.to_keyed_vectors()
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    enc.save_word2vec_format(tmp_path / "v.bin", binary=True)
    enc.save_word2vec_format(tmp_path / "v.txt")
    for name, binary in (("v.bin", True), ("v.txt", False)):
        re = KeyedVectors.load_word2vec_format(str(tmp_path / name), binary=binary)
        np.testing.assert_array_equal(re.vectors, kv.vectors)
    with pytest.raises(InvalidParameterError, match="sets source"):
        WordVectorEncoder.from_keyed_vectors(kv, source="x")


TRICKY = [
    "Don't stop; it's 1,000.50 dollars, isn't it?",
    "U.S. officials -- (and) e-mail: a@b.c",
    "tabs\tand\u00a0nbsp and\x1cinfo\x1dseps",
    "ΣΟΦΟΣ μας, ΟΔΟΣ.",
    "n't 's 'll can't won't",
    "nul\x00inside text",
    "   leading and trailing   ",
    "mixed CASE Words and Über straße",
]


@pytest.mark.parametrize("lowercase", [True, False])
def test_chunk_cache_matches_the_reference_tokenizer(index, lowercase):
    enc = WordVectorEncoder(lowercase=lowercase)
    for text in TRICKY:
        toks = tokenize(text, lowercase=lowercase)
        ref = []
        for t in toks:
            i = index.get(t)
            if i is None and not lowercase:
                i = index.get(t.lower())
            if i is not None:
                ref.append(i)
        assert enc.token_ids(text) == ref, text
    # the batch path (with and without a NUL text) gives the same rows as one text
    ids_batch, rows = enc._lookup.lookup(TRICKY)
    for j, text in enumerate(TRICKY):
        assert ids_batch[rows == j].tolist() == enc.token_ids(text)
    clean = [t for t in TRICKY if "\x00" not in t]
    ids_clean, rows_clean = enc._lookup.lookup(clean)
    for j, text in enumerate(clean):
        assert ids_clean[rows_clean == j].tolist() == enc.token_ids(text)


def test_two_processes_give_identical_vectors():
    texts = [f"the cat number {i} sat on mat {i % 7}" for i in range(4200)]
    texts += TRICKY
    one = WordVectorEncoder(pooling="pmean").encode(texts, batch_size=5000)
    two = WordVectorEncoder(pooling="pmean", n_jobs=2).encode(texts, batch_size=5000)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"pooling": "median"}, "pooling must be one of"),
        ({"sif_a": 0}, "sif_a must be a number > 0"),
        ({"powers": (1, 0.5)}, "powers entries"),
        ({"n_components": 2}, "n_components applies to pooling 'sif' or 'usif'"),
        ({"word_freq": "corpus"}, "word_freq must be"),
        ({"n_jobs": 0}, "n_jobs must be"),
        ({"source": "no-such-vectors"}, "neither an embedded vector set"),
        ({"format": "csv"}, "format must be one of"),
    ],
)
def test_invalid_parameters_raise_clear_errors(params, match):
    enc = WordVectorEncoder(**params)  # the constructor only stores
    with pytest.raises(InvalidParameterError, match=match):
        enc.encode(["a"])


def test_set_params_changes_the_model():
    enc = WordVectorEncoder(pooling="mean")
    a = enc.encode(["the cat sat"])
    enc.set_params(pooling="max")
    assert not np.array_equal(enc.encode(["the cat sat"]), a)


@pytest.mark.data
def test_chunk_cache_matches_tokenizer_on_real_corpus(index):
    import os
    from pathlib import Path

    root = os.environ.get("TRANSFERKIT_DATA")
    if not root:
        pytest.skip("TRANSFERKIT_DATA is not set")
    from embeddings.training.corpus import TextCorpus

    lines = []
    for i, line in enumerate(TextCorpus(Path(root) / "unlabeled").lines()):
        if i % 13 == 0:
            lines.append(line)
        if len(lines) == 20_000:
            break
    enc = WordVectorEncoder()
    enc.encode(["load"])
    ids, rows = enc._lookup.lookup(lines)
    ref = [index[t] for line in lines for t in tokenize(line) if t in index]
    assert ids.tolist() == ref
    ref_rows = [j for j, line in enumerate(lines) for t in tokenize(line) if t in index]
    assert rows.tolist() == ref_rows
