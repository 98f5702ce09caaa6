"""Published InferSent checkpoints: the layout loads, the vectors match the published
computation (one sentence at a time), and nothing but a plain state dict is accepted.

The checkpoints here are small but have the published parameter names and the
published shape pattern (``enc_lstm.*``, ``(4 * hidden, word_dim)``...); the
reference computation below is written from the published description of
``InferSent.encode``: ``[bos] + tokens + [eos]``, words without a vector dropped, an
empty sentence replaced by ``[eos]``, a one-layer bidirectional LSTM, max over time.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import embeddings
from embeddings.errors import DataNotFoundError, InvalidParameterError, ModelFormatError
from embeddings.formats.infersent import CHECKPOINT_NAMES, read_infersent_checkpoint

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

WORD_DIM, HIDDEN = 6, 4
WORDS = ["A", "man", "is", "playing", "a", "guitar", ".", "The", "cat", "sleeps", "n't", "do"]
MARKER_WORDS = {1: ["<s>", "</s>"], 2: ["<p>", "</p>"]}


def write_tiny_infersent(
    folder: Path, version: int = 1, seed: int = 0, markers: tuple[str, ...] | None = None
) -> tuple[Path, Path]:
    """A checkpoint with the published names/shape pattern and a native vector store.

    ``markers``: the sentence markers that have a vector (default: both of ``version``).
    Returns ``(checkpoint path, word-vector store folder)``.
    """
    from embeddings.formats import VectorTable, write_store

    folder.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        lstm = torch.nn.LSTM(WORD_DIM, HIDDEN, 1, bidirectional=True)
    state = {f"enc_lstm.{k}": v.detach().clone() for k, v in lstm.state_dict().items()}
    for v in state.values():
        v.copy_(torch.rand(v.shape, generator=gen) - 0.5)
    ckpt = folder / f"infersent{version}.pkl"
    torch.save(state, ckpt)
    vocab = WORDS + list(MARKER_WORDS[version] if markers is None else markers)
    vectors = np.random.default_rng(seed).standard_normal((len(vocab), WORD_DIM))
    store = write_store(
        folder / f"vectors-v{version}", VectorTable(vocab, vectors.astype(np.float32))
    )
    return ckpt, store


def reference_encode(ckpt: Path, store: Path, sentence: str, version: int) -> np.ndarray:
    """The published computation for one pre-tokenized sentence (``tokenize=False``)."""
    from embeddings.formats import read_store

    table = read_store(store)
    word_vec = {
        w: np.asarray(table.vectors[i], dtype=np.float32) for i, w in enumerate(table.vocab)
    }
    bos, eos = MARKER_WORDS[version]
    words = [w for w in [bos, *sentence.split(), eos] if w in word_vec] or [eos]
    batch = torch.from_numpy(np.stack([word_vec[w] for w in words])[:, None, :])  # seq x 1 x dim
    lstm = torch.nn.LSTM(WORD_DIM, HIDDEN, 1, bidirectional=True)
    state = torch.load(ckpt, weights_only=True)
    lstm.load_state_dict({k[len("enc_lstm.") :]: v for k, v in state.items()})
    with torch.no_grad():
        out = lstm(batch)[0]  # seq x 1 x 2*hidden
        if version == 2:
            out[out == 0] = -1e9
        return out.max(dim=0).values[0].numpy()


def _published_like(word_dim: int, hidden: int) -> dict[str, object]:
    lstm = torch.nn.LSTM(word_dim, hidden, bidirectional=True)
    return {f"enc_lstm.{k}": v for k, v in lstm.state_dict().items()}


@pytest.fixture
def tiny(tmp_path):
    return write_tiny_infersent(tmp_path / "v1", 1)


def test_published_names_and_shapes_load(tiny):
    ckpt, _ = tiny
    read = read_infersent_checkpoint(ckpt)
    assert set(read.arrays) == set(CHECKPOINT_NAMES)
    assert "weight_hh_l0_reverse" in read.arrays and len(CHECKPOINT_NAMES) == 8
    assert (read.hidden_size, read.word_dim) == (HIDDEN, WORD_DIM)
    assert read.arrays["weight_ih_l0"].shape == (4 * HIDDEN, WORD_DIM)
    assert read.arrays["weight_hh_l0_reverse"].shape == (4 * HIDDEN, HIDDEN)
    assert all(a.dtype == np.float32 for a in read.arrays.values())


def test_legacy_torch_save_format_loads(tmp_path):
    state = {
        f"enc_lstm.{k}": v for k, v in torch.nn.LSTM(3, 2, bidirectional=True).state_dict().items()
    }
    path = tmp_path / "legacy.pkl"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    assert read_infersent_checkpoint(path).hidden_size == 2


@pytest.mark.parametrize("version", [1, 2])
def test_vectors_match_the_published_computation_one_sentence_at_a_time(tmp_path, version):
    ckpt, store = write_tiny_infersent(tmp_path, version)
    enc = embeddings.load(
        "infersent", checkpoint=str(ckpt), word_vectors=str(store), version=version,
        tokenizer="split",
    )  # fmt: skip
    sentences = [
        "A man is playing a guitar .",
        "The cat sleeps",
        "cat",
        "unknownword another",  # no word has a vector: the end marker alone
        "",
        "A man is playing a guitar . The cat sleeps A man is playing",
    ]
    got = enc.encode(sentences, batch_size=4)
    assert got.shape == (len(sentences), 2 * HIDDEN) and enc.dim == 2 * HIDDEN
    for i, s in enumerate(sentences):
        np.testing.assert_allclose(got[i], reference_encode(ckpt, store, s, version), atol=1e-6)
    # dropped words: a sentence with unknown words equals the sentence without them
    np.testing.assert_array_equal(
        enc.encode(["The zzz cat qqq sleeps"]), enc.encode(["The cat sleeps"])
    )


def test_only_the_end_marker_has_a_vector_fallback(tmp_path):
    ckpt, store = write_tiny_infersent(tmp_path, 1, markers=("</s>",))
    enc = embeddings.load("infersent", checkpoint=str(ckpt), word_vectors=str(store),
                          tokenizer="split")  # fmt: skip
    for s in ["unknownword", "", "The cat"]:
        np.testing.assert_allclose(enc.encode([s])[0], reference_encode(ckpt, store, s, 1),
                                   atol=1e-6)  # fmt: skip
    np.testing.assert_array_equal(enc.encode(["unknownword"]), enc.encode([""]))


def test_no_marker_and_no_word_with_a_vector_is_a_defined_finite_vector(tmp_path):
    ckpt, store = write_tiny_infersent(tmp_path, 1, markers=())
    enc = embeddings.load("infersent", checkpoint=str(ckpt), word_vectors=str(store),
                          tokenizer="split")  # fmt: skip
    X = enc.encode(["", "zzz qqq", "   "])
    assert np.isfinite(X).all()
    np.testing.assert_array_equal(X[0], X[1])
    np.testing.assert_array_equal(X[0], X[2])


def test_version2_markers_and_batch_independence(tmp_path):
    ckpt, store = write_tiny_infersent(tmp_path, 2)
    enc = embeddings.load("infersent", checkpoint=str(ckpt), word_vectors=str(store), version=2,
                          tokenizer="split")  # fmt: skip
    texts = ["A man is playing a guitar .", "cat", "The cat sleeps ."]
    together = enc.encode(texts, batch_size=3)
    alone = np.vstack([enc.encode([t]) for t in texts])
    np.testing.assert_array_equal(together, alone)


def test_word_vector_dimension_must_match(tmp_path):
    from embeddings.formats import VectorTable, write_store

    ckpt, _ = write_tiny_infersent(tmp_path, 1)
    other = write_store(tmp_path / "wrong", VectorTable(["a"], np.ones((1, 3), np.float32)))
    enc = embeddings.load("infersent", checkpoint=str(ckpt), word_vectors=str(other))
    with pytest.raises(InvalidParameterError, match="reads 6-d word vectors"):
        enc.encode(["a"])


def test_missing_checkpoint_and_vectors_are_clear_errors(tmp_path, tiny):
    with pytest.raises(InvalidParameterError, match="checkpoint is required"):
        embeddings.load("infersent").encode(["a"])
    with pytest.raises(DataNotFoundError, match="does not exist"):
        embeddings.load("infersent", checkpoint=str(tmp_path / "nope.pkl"),
                        word_vectors=str(tiny[1])).encode(["a"])  # fmt: skip
    with pytest.raises(InvalidParameterError, match="needs word_vectors"):
        embeddings.load("infersent", checkpoint=str(tiny[0])).encode(["a"])
    with pytest.raises(InvalidParameterError, match="version must be 1"):
        embeddings.load("infersent", checkpoint=str(tiny[0]), version=3).encode(["a"])


def test_saved_folder_refers_to_the_files_and_fingerprint_follows_them(tmp_path, tiny):
    ckpt, store = tiny
    enc = embeddings.load("infersent", checkpoint=str(ckpt), word_vectors=str(store),
                          tokenizer="split")  # fmt: skip
    before = enc.encode(["A man is playing"])
    enc.save(tmp_path / "saved")
    assert os.path.getsize(tmp_path / "saved" / "weights.safetensors") < 1000  # nothing copied
    again = embeddings.load(tmp_path / "saved", checkpoint=str(ckpt), word_vectors=str(store))
    np.testing.assert_array_equal(again.encode(["A man is playing"]), before)
    assert again.fingerprint() == enc.fingerprint()
    other, _ = write_tiny_infersent(tmp_path / "other", 1, seed=1)
    changed = embeddings.load("infersent", checkpoint=str(other), word_vectors=str(store),
                              tokenizer="split")  # fmt: skip
    assert changed.fingerprint() != enc.fingerprint()
    assert enc.fit(["anything"]) is enc  # frozen: fit is a no-op


# ------------------------------------------------------------------ refusals
class _CreatesFile:
    """Unpickling this calls ``open(path, "w")``: the file would be created."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (self.path, "w"))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_a_pickle_that_would_create_a_file_is_refused(tmp_path, writer):
    victim = tmp_path / "created-by-the-payload.txt"
    bad = tmp_path / "infersent1.pkl"
    payload = {"enc_lstm.weight_ih_l0": _CreatesFile(str(victim))}
    if writer == "pickle":
        bad.write_bytes(pickle.dumps(payload, protocol=2))
    else:
        torch.save(payload, bad)
    assert not victim.exists()
    with pytest.raises(ModelFormatError, match="weights-only loader refused"):
        read_infersent_checkpoint(bad)
    with pytest.raises(ModelFormatError):
        embeddings.load("infersent", checkpoint=str(bad), word_vectors="glove-6b-50d").encode(["a"])
    assert not victim.exists()


def test_anything_but_the_published_state_dict_is_refused(tmp_path):
    lstm = {
        f"enc_lstm.{k}": v for k, v in torch.nn.LSTM(3, 2, bidirectional=True).state_dict().items()
    }
    cases = {
        "list": list(lstm.values()),
        "extra key": {**lstm, "classifier.0.weight": torch.zeros(2, 2)},
        "missing key": {k: v for k, v in lstm.items() if not k.endswith("_reverse")},
        "integer tensor": {**lstm, "enc_lstm.bias_ih_l0": torch.zeros(8, dtype=torch.int64)},
        "wrong shape": {**lstm, "enc_lstm.weight_hh_l0": torch.zeros(8, 3)},
        "not a tensor": {**lstm, "enc_lstm.bias_hh_l0": [0.0] * 8},
        "nan": {**lstm, "enc_lstm.bias_hh_l0": torch.full((8,), float("nan"))},
        "whole module": {"model": torch.nn.LSTM(3, 2)},
    }
    for what, obj in cases.items():
        path = tmp_path / f"{what}.pkl"
        torch.save(obj, path)
        with pytest.raises(ModelFormatError):
            read_infersent_checkpoint(path)
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"not a pickle at all")
    with pytest.raises(ModelFormatError):
        read_infersent_checkpoint(garbage)


def test_nltk_tokenizer_needs_nltk(tiny):
    try:
        import nltk  # noqa: F401
    except ImportError:
        from embeddings.errors import MissingDependencyError

        enc = embeddings.load("infersent", checkpoint=str(tiny[0]), word_vectors=str(tiny[1]))
        with pytest.raises(MissingDependencyError, match="tokenizer='split'"):
            enc.encode(["A man ."])
        return
    pytest.skip("NLTK is installed (tests/test_tokenize_offline.py covers tokenizer='nltk')")
