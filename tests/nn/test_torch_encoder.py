"""TorchEncoder through Quick-Thought: device, threads, state, batch-independence, layers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import embeddings  # noqa: E402
from embeddings.adapters.quick_thought import QuickThoughtEncoder  # noqa: E402
from embeddings.errors import InvalidParameterError, ModelFormatError  # noqa: E402
from embeddings.nn.encoder import resolve_device  # noqa: E402

TEXTS = [f"w{i % 7} w{(i * 3) % 11} w{(i * 5) % 13}" if i % 6 else "" for i in range(120)]
PARAMS = {"hidden_size": 5, "embedding_dim": 4, "epochs": 1, "batch_size": 10, "min_count": 1}


@pytest.fixture(scope="module")
def enc() -> QuickThoughtEncoder:
    return QuickThoughtEncoder(**PARAMS).fit(TEXTS)


def test_device_choice():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InvalidParameterError, match="'cpu', 'cuda', 'cuda:N' or 'auto'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidParameterError, match="torch sees no GPU"):
            QuickThoughtEncoder(**PARAMS, device="cuda").fit(TEXTS)


def test_threads_are_restored_and_validated(enc):
    before = torch.get_num_threads()
    enc.set_params(threads=2)
    with pytest.raises(embeddings.NotFittedError):
        enc.encode(["w1"])  # a changed parameter needs a new fit
    enc.set_params(threads=1)
    enc.encode(["w1 w2"])
    assert torch.get_num_threads() == before
    with pytest.raises(InvalidParameterError, match="threads must be an int >= 1, got 0"):
        QuickThoughtEncoder(**PARAMS, threads=0).fit(TEXTS)


def test_vectors_do_not_depend_on_batch_size_or_neighbours(enc):
    texts = ["w1 w2 w3", "w4", "", "w5 w6 w1 w2 w3 w4 w5", "unknown words only"]
    full = enc.encode(texts, batch_size=64)
    for bs in (1, 2, 3):
        assert np.array_equal(enc.encode(texts, batch_size=bs), full)
    assert np.array_equal(enc.encode([texts[3]] * 3 + texts)[3:], full)
    assert np.isfinite(full).all() and full.dtype == np.float32


def test_state_is_safetensors_and_pickle_carries_weights(enc, tmp_path):
    folder = enc.save(tmp_path / "qt")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "weights.safetensors"]
    arrays, meta = enc._get_state()
    assert {"net.f.rnn.weight_ih_l0", "vocab.words_utf8", "vocab.counts"} <= set(arrays)
    assert meta["arch"] == {"hidden_size": 5, "embedding_dim": 4, "bidirectional": False}
    x = enc.encode(["w1 w2", "w3"])
    assert np.array_equal(embeddings.load(folder).encode(["w1 w2", "w3"]), x)
    assert np.array_equal(pickle.loads(pickle.dumps(enc)).encode(["w1 w2", "w3"]), x)


def test_bad_saved_weights_are_refused(enc):
    arrays, meta = enc._get_state()
    fresh = QuickThoughtEncoder(**PARAMS)
    bad = dict(arrays)
    bad["net.f.rnn.weight_ih_l0"] = np.full_like(arrays["net.f.rnn.weight_ih_l0"], np.nan)
    with pytest.raises(ModelFormatError, match="NaN"):
        fresh._set_state(bad, meta)
    bad = dict(arrays)
    bad["net.f.rnn.weight_ih_l0"] = arrays["net.f.rnn.weight_ih_l0"][:3]
    with pytest.raises(ModelFormatError, match=r"shape \(3, 4\)"):
        fresh._set_state(bad, meta)
    bad = {k: v for k, v in arrays.items() if k != "net.g.rnn.bias_hh_l0"}
    with pytest.raises(ModelFormatError, match="missing"):
        fresh._set_state(bad, meta)
    with pytest.raises(ModelFormatError, match="architecture"):
        QuickThoughtEncoder(**{**PARAMS, "hidden_size": 6})._set_state(arrays, meta)


def test_trainable_layers_bottom_to_top(enc):
    groups = enc.trainable_layers()
    assert groups["modules"] == [enc.module]
    emb, rnns = groups["layers"]
    assert emb is enc.module.embedding
    assert {id(p) for p in rnns.parameters()} == {
        id(p) for m in (enc.module.f, enc.module.g) for p in m.parameters()
    }
    n = sum(p.numel() for p in enc.module.parameters())
    assert n == sum(p.numel() for layer in groups["layers"] for p in layer.parameters())


def test_forward_has_autograd_and_matches_encode(enc):
    batch = enc.tokenize(["w1 w2", "w3"])
    out = enc.forward(batch)
    assert out.requires_grad and out.dtype == torch.float32
    np.testing.assert_allclose(out.detach().numpy(), enc.encode(["w1 w2", "w3"]), atol=1e-5)
