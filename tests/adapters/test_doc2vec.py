"""Doc2VecEncoder: gensim-faithful inference that is reproducible across calls and processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import embeddings
from embeddings.adapters.doc2vec import Doc2VecEncoder, inference_seed
from embeddings.errors import InvalidInputError, InvalidParameterError
from embeddings.tokenize import tokenize

CORPUS = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "cats and dogs are friends",
    "stocks fell sharply on monday",
    "the market rallied after the news",
    "investors sold their shares",
] * 8
PARAMS = {"vector_size": 12, "min_count": 1, "epochs": 5, "random_state": 3}


@pytest.fixture(scope="module", params=["dbow", "dm"])
def fitted(request):
    return Doc2VecEncoder(request.param, **PARAMS).fit(CORPUS)


def test_same_text_same_vector_across_calls_and_batches(fitted):
    texts = ["the cat sat", "stocks fell", "the cat sat"]
    a = fitted.encode(texts, batch_size=1)
    b = fitted.encode(texts[::-1], batch_size=3)[::-1]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[0], a[2])
    assert np.isfinite(a).all() and a.dtype == np.float32


def test_gensims_own_infer_vector_is_not_reproducible_within_a_process():
    from embeddings.training.corpus import TextCorpus
    from embeddings.training.trainers import train_doc2vec

    model, _ = train_doc2vec(TextCorpus(CORPUS), **PARAMS)
    words = tokenize("the cat sat on the log")
    # model.random advances with every call, so the second call differs
    assert not np.array_equal(model.infer_vector(words), model.infer_vector(words))


@pytest.mark.parametrize("mode", ["dbow", "dm"])
def test_inference_is_gensims_algorithm_with_controlled_seeds(mode, monkeypatch):
    """With gensim's two random sources pinned to ours, infer_vector gives our vector."""
    import gensim.models.doc2vec as gd

    from embeddings.training.corpus import TextCorpus
    from embeddings.training.trainers import train_doc2vec

    enc = Doc2VecEncoder(mode, **PARAMS).fit(CORPUS)
    model, _ = train_doc2vec(TextCorpus(CORPUS), dm=mode == "dm", **PARAMS)
    words = tokenize("the dog sat on the mat with cats")
    seed = inference_seed(words, PARAMS["random_state"])
    size = PARAMS["vector_size"]

    def start_vector(size_, seed_string=None, hashfxn=hash):
        rng = np.random.Generator(np.random.SFC64(seed))
        return (rng.random(size_).astype(np.float32) - 0.5) / size_

    monkeypatch.setattr(gd, "pseudorandom_weak_vector", start_vector)
    model.random = np.random.RandomState(seed & 0xFFFFFFFF)
    ref = model.infer_vector(words)
    assert ref.shape == (size,)
    np.testing.assert_array_equal(enc.encode([" ".join(words)])[0], ref)


def test_random_state_changes_inference():
    a = Doc2VecEncoder(**PARAMS).fit(CORPUS)
    b = a.__class__(**{**PARAMS, "random_state": 4}).fit(CORPUS)
    assert not np.array_equal(a.encode(["the cat"]), b.encode(["the cat"]))


def test_training_is_deterministic(fitted):
    again = Doc2VecEncoder(fitted.mode, **PARAMS).fit(CORPUS)
    assert again.fingerprint() == fitted.fingerprint()
    np.testing.assert_array_equal(again.encode(["the cat"]), fitted.encode(["the cat"]))


def test_save_load_identical_and_no_pickle(fitted, tmp_path):
    out = fitted.encode(["the cat sat", "investors sold"])
    fitted.save(tmp_path / "d2v")
    assert sorted(p.name for p in (tmp_path / "d2v").iterdir()) == [
        "config.json",
        "weights.safetensors",
    ]
    loaded = embeddings.load(str(tmp_path / "d2v"))
    np.testing.assert_array_equal(loaded.encode(["the cat sat", "investors sold"]), out)


def test_oov_text_is_zero_with_warning(fitted):
    with pytest.warns(RuntimeWarning, match="2 text"):
        out = fitted.encode(["qqq zzz", "", "the cat"])
    assert not out[0].any() and not out[1].any() and out[2].any()


_CHILD = textwrap.dedent(
    """
    import sys, numpy as np, embeddings
    enc = embeddings.load(sys.argv[1])
    np.save(sys.argv[2], enc.encode(["the cat sat on the mat", "investors sold shares",
                                     "dogs and cats"]))
    """
)


def test_reproducible_across_processes(tmp_path):
    enc = Doc2VecEncoder("dm", **PARAMS).fit(CORPUS)
    enc.save(tmp_path / "d2v")
    here = enc.encode(["the cat sat on the mat", "investors sold shares", "dogs and cats"])
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    outs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": root}
        target = tmp_path / f"out{hash_seed}.npy"
        subprocess.run(
            [sys.executable, "-c", _CHILD, str(tmp_path / "d2v"), str(target)],
            check=True,
            env=env,
            cwd=root,
            timeout=120,
        )
        outs.append(np.load(target))
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], here)


def test_errors():
    with pytest.raises(InvalidParameterError, match="mode must be"):
        Doc2VecEncoder("pv").fit(CORPUS)
    with pytest.raises(InvalidInputError, match="min_count=50"):
        Doc2VecEncoder(min_count=50, vector_size=4).fit(CORPUS[:3])
