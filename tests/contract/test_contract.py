"""The shared contract every registered encoder preset must pass.

Parametrised over ``embeddings.list_encoders()``, so a new preset is tested the
moment it is registered.  Trainable presets are fitted on ``FIT_TEXTS`` first;
``FAST_OVERRIDES`` shrinks presets that train networks so the suite stays fast.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone

import embeddings
from embeddings.errors import InvalidInputError, ModelFormatError
from tests.conftest import FIT_SENTENCES

FIT_TEXTS = FIT_SENTENCES * 4

TEXTS = [
    "the cat sat on the mat",
    "Stocks fell sharply in early trading.",
    "",
    "a",
    "What is the capital of France?",
    "i did n't like it , but the music is great",
]

WEIRD = [
    "",
    " ",
    "\t\n",
    "🙂🙂 👍🏽",
    "naïve café — déjà vu",
    "日本語のテキストです",
    "\u200b\u200d",
    "Ω≈ç√∫˜µ≤",
    "word " * 600,  # longer than any model's max length
    "x",
]

#: parameters that make network-training presets fast enough for the contract suite
FAST_OVERRIDES: dict[str, dict[str, object]] = {
    "word2vec-corpus": {"vector_size": 16, "epochs": 1},
    "word2vec-cbow-corpus": {"vector_size": 16, "epochs": 1},
    "fasttext-corpus": {"vector_size": 16, "epochs": 1, "bucket": 2000},
    "doc2vec-dbow": {"vector_size": 16, "epochs": 2},
    "doc2vec-dm": {"vector_size": 16, "epochs": 2},
    "quick-thought-corpus": {"hidden_size": 8, "embedding_dim": 8, "epochs": 1},
    "infersent-sick": {"hidden_size": 8, "fc_dim": 8, "epochs": 1},
    "quick-thought": {"hidden_size": 8, "epochs": 1},
    "skip-thought-uni": {"hidden_size": 8, "decoder_size": 8, "epochs": 1},
    "skip-thought-bi": {"hidden_size": 8, "decoder_size": 8, "epochs": 1},
    "skip-thought-combine": {"hidden_size": 8, "decoder_size": 8, "epochs": 1},
    "elmo-small": {"cell_dim": 8, "projection_dim": 4, "char_dim": 4, "filters": "1x4,2x4"},
}

#: presets that learn from something other than plain texts: the arguments of their fit
FIT_ARGS: dict[str, tuple[object, ...]] = {
    "infersent-sick": (
        list(zip(FIT_TEXTS, FIT_TEXTS[1:] + FIT_TEXTS[:1], strict=True)),
        ["entailment", "neutral", "contradiction", "neutral"] * 8,
    ),
}


def _tiny_infersent() -> dict[str, object]:
    """A small checkpoint in the published layout and its vectors, written once."""
    if "infersent" not in _FILES:
        import tempfile
        from pathlib import Path

        from tests.formats.test_infersent_checkpoint import write_tiny_infersent

        ckpt, store = write_tiny_infersent(Path(tempfile.mkdtemp()) / "infersent", 1)
        _FILES["infersent"] = {"checkpoint": str(ckpt), "word_vectors": str(store),
                               "tokenizer": "split"}  # fmt: skip
    return _FILES["infersent"]


def _tiny_use_tf() -> dict[str, object]:
    """A tiny SavedModel with the TF-Hub USE interface (skips when TensorFlow is missing)."""
    if "use-tf" not in _FILES:
        import tempfile
        from pathlib import Path

        from tests.adapters.test_use_tf import write_tiny_use  # skips without TensorFlow

        _FILES["use-tf"] = {"path": str(write_tiny_use(Path(tempfile.mkdtemp()) / "use"))}
    return _FILES["use-tf"]


def _tiny_skip_thought() -> dict[str, object]:
    """A small release in the published Skip-Thought layout, written once."""
    if "skip-thought" not in _FILES:
        import tempfile
        from pathlib import Path

        from tests.formats.test_skip_thought_release import build_release

        folder = Path(tempfile.mkdtemp()) / "skip-thoughts"
        build_release(folder)
        _FILES["skip-thought"] = {"path": str(folder), "tokenizer": "split"}
    return _FILES["skip-thought"]


def _tiny_elmo() -> dict[str, object]:
    """A small biLM in the published options.json + weights.hdf5 layout, written once."""
    if "elmo" not in _FILES:
        import tempfile
        from pathlib import Path

        from tests.formats.test_elmo_hdf5 import write_tiny_elmo  # skips without h5py

        opt, wts = write_tiny_elmo(Path(tempfile.mkdtemp()) / "elmo")
        _FILES["elmo"] = {"options_file": str(opt), "weight_file": str(wts)}
    return _FILES["elmo"]


def _tiny_transformer() -> dict[str, object]:
    """A tiny Hugging Face BERT folder standing in for the 440 MB mpnet-base weights."""
    if "transformer" not in _FILES:
        import tempfile
        from pathlib import Path

        from tests.adapters.test_transformer import _tiny_bert

        folder = Path(tempfile.mkdtemp()) / "bert"
        _tiny_bert(folder)
        _FILES["transformer"] = {"model": str(folder)}
    return _FILES["transformer"]


_FILES: dict[str, dict[str, object]] = {}
#: presets whose required files are made on first use (a published-layout checkpoint)
FILE_OVERRIDES = {
    "infersent": _tiny_infersent,
    "use-tf": _tiny_use_tf,
    "skip-thought": _tiny_skip_thought,
    "elmo": _tiny_elmo,
    "mpnet-base": _tiny_transformer,
}


def _keyed_vectors() -> object:
    """A small gensim KeyedVectors over the words of the test texts (seeded vectors)."""
    from gensim.models import KeyedVectors

    words = sorted({w for t in FIT_TEXTS + TEXTS for w in t.lower().split()})
    kv = KeyedVectors(16)
    kv.add_vectors(words, np.random.default_rng(0).standard_normal((len(words), 16)))
    return kv


#: parameters that a preset requires (the generic word-vectors preset: vectors in memory)
REQUIRED_OVERRIDES: dict[str, dict[str, object]] = {
    "word-vectors": {"source": _keyed_vectors()},
    "concat": {"encoders": ["glove-6b-50d", "tfidf"], "weights": [1.0, 0.5]},
}

PRESETS = [info["name"] for info in embeddings.list_encoders()]
_CACHE: dict[str, embeddings.BaseEncoder] = {}


def make(name: str) -> embeddings.BaseEncoder:
    enc = embeddings.load(name, **FAST_OVERRIDES.get(name, {}), **REQUIRED_OVERRIDES.get(name, {}))
    if name in FILE_OVERRIDES:
        enc.set_params(**FILE_OVERRIDES[name]())
    if enc.requires_fit or enc.trainable:
        enc.fit(*FIT_ARGS.get(name, (FIT_TEXTS,)))
    return enc


def get(name: str) -> embeddings.BaseEncoder:
    if name not in _CACHE:
        _CACHE[name] = make(name)
    return _CACHE[name]


def encode(enc: embeddings.BaseEncoder, texts: list[str] | str, **kw: object) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-OOV notices
        return enc.encode(texts, **kw)


@pytest.fixture(params=PRESETS)
def name(request: pytest.FixtureRequest) -> str:
    return request.param


def test_shape_dtype_contiguous(name: str) -> None:
    enc = get(name)
    X = encode(enc, TEXTS)
    assert X.shape == (len(TEXTS), enc.dim)
    assert X.dtype == np.float32
    assert X.flags["C_CONTIGUOUS"]
    assert np.isfinite(X).all()
    info = {i["name"]: i for i in embeddings.list_encoders()}[name]
    if info["dim"] is not None and name not in FAST_OVERRIDES and name not in FILE_OVERRIDES:
        assert enc.dim == info["dim"]


def test_input_order_kept(name: str) -> None:
    enc = get(name)
    X = encode(enc, TEXTS)
    singles = np.vstack([encode(enc, [t]) for t in TEXTS])
    np.testing.assert_allclose(X, singles, atol=1e-5)
    rev = encode(enc, TEXTS[::-1])
    np.testing.assert_allclose(rev[::-1], X, atol=1e-5)


def test_weird_unicode_and_empty(name: str) -> None:
    enc = get(name)
    X = encode(enc, WEIRD)
    assert X.shape == (len(WEIRD), enc.dim)
    assert np.isfinite(X).all()


def test_empty_list(name: str) -> None:
    enc = get(name)
    X = enc.encode([])
    assert X.shape == (0, enc.dim) and X.dtype == np.float32


def test_batch_size_invariance(name: str) -> None:
    enc = get(name)
    texts = TEXTS + WEIRD
    a = encode(enc, texts, batch_size=64)
    for bs in (1, 3):
        np.testing.assert_allclose(encode(enc, texts, batch_size=bs), a, atol=1e-5)


def test_deterministic_repeat(name: str) -> None:
    enc = get(name)
    np.testing.assert_array_equal(encode(enc, TEXTS), encode(enc, TEXTS))


def test_save_load_identical(name: str, tmp_path) -> None:
    enc = get(name)
    enc.save(tmp_path / "enc")
    # files outside the saved folder (published weights, a model folder) load when the
    # caller names them again; a folder alone never makes the loader read outside it
    outside = {p: v for p, v in enc._named_paths() if p.isidentifier()}
    if outside:
        with pytest.raises(ModelFormatError, match="outside the saved folder"):
            embeddings.load(tmp_path / "enc")
    loaded = embeddings.load(tmp_path / "enc", **outside)
    assert type(loaded) is type(enc)
    assert loaded.fingerprint() == enc.fingerprint()
    assert loaded.name == enc.name
    np.testing.assert_array_equal(encode(loaded, TEXTS), encode(enc, TEXTS))


def test_pickle_roundtrip_reloads_lazily(name: str) -> None:
    enc = get(name)
    expected = encode(enc, TEXTS)
    blob = pickle.dumps(enc)
    assert len(blob) < 20_000_000, "pretrained weights must not be pickled"
    again = pickle.loads(blob)
    np.testing.assert_array_equal(encode(again, TEXTS), expected)


def test_clone_and_fingerprint(name: str) -> None:
    enc = get(name)
    twin = clone(enc)
    assert twin.get_params() == enc.get_params()
    if enc.requires_fit:
        assert not twin.is_fitted  # clone drops the fitted state (scikit-learn rule)
        twin.fit(*FIT_ARGS.get(name, (FIT_TEXTS,)))
    assert twin.fingerprint() == enc.fingerprint()


def test_one_string_gives_one_vector_and_non_str_items_are_refused(name: str) -> None:
    enc = get(name)
    one = encode(enc, "a text")
    assert one.shape == (enc.dim,) and one.dtype == np.float32
    np.testing.assert_array_equal(one, encode(enc, ["a text"])[0])
    with pytest.raises(InvalidInputError, match=r"texts\[1\]"):
        enc.encode(["ok", None])  # type: ignore[list-item]


CROSS_PROCESS = [p for p in ("glove-6b-50d", "random-glove", "lsa", "tfidf") if p in PRESETS]


@pytest.mark.parametrize("preset", CROSS_PROCESS)
def test_bit_identical_across_processes(preset: str) -> None:
    code = (
        "import sys, hashlib, warnings; warnings.simplefilter('ignore');"
        "from tests.contract.test_contract import make, TEXTS;"
        f"print(hashlib.sha256(make({preset!r}).encode(TEXTS).tobytes()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    here = __import__("hashlib").sha256(encode(get(preset), TEXTS).tobytes()).hexdigest()
    assert digests == {here}
