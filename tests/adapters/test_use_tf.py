"""The TF-Hub USE adapter against tiny SavedModels with the published interface.

``write_tiny_use`` saves a module with the interface of the TF-Hub USE modules: a
1-D batch of strings in, ``(n, 512)`` float32 out (a hashed bag of words: lowercase,
split on whitespace, hash every token into 64 buckets of a seeded table, average,
L2-normalise), exported both as ``__call__`` and as the ``serving_default`` signature
with USE v4's input and output names (``inputs`` / ``outputs``).  The expected vectors
in the tests are recomputed with numpy from the same table.
"""

from __future__ import annotations

import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import embeddings
from embeddings.errors import (
    EncodingError,
    InvalidParameterError,
    MissingDependencyError,
    ModelFormatError,
)

try:
    import tensorflow as tf
except ImportError:  # every test but the missing-dependency one skips (write_tiny_use)
    tf = None
else:
    if tf.config.threading.get_intra_op_parallelism_threads() == 0:  # runtime not started
        tf.config.threading.set_intra_op_parallelism_threads(1)  # the adapter's default
        tf.config.threading.set_inter_op_parallelism_threads(1)

BUCKETS = 64
DIM = 512


def _table(dim: int = DIM) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((BUCKETS, dim)).astype(np.float32)


def write_tiny_use(
    folder: Path,
    *,
    dim: int = DIM,
    rank: int = 2,
    signature: bool = True,
    writes: Path | None = None,
) -> Path:
    """Save a tiny USE-like SavedModel to ``folder`` and return it.

    Args:
        dim: the output width.
        rank: 2 for the published ``(n, dim)`` output; 1 gives a malformed ``(n * dim,)``.
        signature: also export ``serving_default`` (inputs -> outputs).
        writes: when given, the function also writes this file (a module to refuse).
    """
    pytest.importorskip("tensorflow")
    table = _table(dim)

    class TinyUSE(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.table = tf.Variable(table, trainable=False)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, texts: tf.Tensor) -> tf.Tensor:
            tokens = tf.strings.split(tf.strings.lower(texts))
            ids = tf.strings.to_hash_bucket_fast(tokens, BUCKETS)
            summed = tf.reduce_sum(tf.gather(self.table, ids), axis=1)
            count = tf.cast(ids.row_lengths(), tf.float32)[:, None]
            mean = summed / tf.maximum(count, 1.0)
            out = tf.math.l2_normalize(mean, axis=1)
            if writes is not None:
                tf.io.write_file(str(writes), tf.strings.reduce_join(texts))
            if rank == 1:
                out = tf.reshape(out, [-1])
            return out

    module = TinyUSE()
    sigs = None
    if signature:

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
        def serve(inputs: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"outputs": module(inputs)}

        sigs = {"serving_default": serve.get_concrete_function()}
    tf.saved_model.save(module, str(folder), signatures=sigs)
    return folder


def expected(texts: list[str]) -> np.ndarray:
    """The tiny module's vectors, recomputed with numpy and TensorFlow's string hash."""
    table = _table()
    rows = []
    for text in texts:
        tokens = text.lower().split()
        if not tokens:
            rows.append(np.zeros(DIM, dtype=np.float32))
            continue
        ids = tf.strings.to_hash_bucket_fast(tokens, BUCKETS).numpy()
        mean = table[ids].sum(axis=0) / len(tokens)
        rows.append(mean / np.linalg.norm(mean))
    return np.vstack(rows).astype(np.float32)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_use(tmp_path_factory.mktemp("use") / "tiny")


TEXTS = ["The cat sat on the mat", "stocks fell", "", "a b c d e f g", "naïve café 🙂"]


def test_encode_matches_the_module(tiny: Path) -> None:
    enc = embeddings.load("use-tf", path=str(tiny))
    X = enc.encode(TEXTS)
    assert X.shape == (len(TEXTS), 512) and X.dtype == np.float32 and enc.dim == 512
    np.testing.assert_allclose(X, expected(TEXTS), atol=1e-6)


def test_signature_and_callable_give_the_same_vectors(tiny: Path, tmp_path: Path) -> None:
    by_sig = embeddings.load("use-tf", path=str(tiny)).encode(TEXTS)
    by_call = embeddings.load("use-tf", path=str(tiny), signature="__call__").encode(TEXTS)
    np.testing.assert_array_equal(by_sig, by_call)
    bare = write_tiny_use(tmp_path / "bare", signature=False)  # no signature: __call__
    np.testing.assert_array_equal(embeddings.load("use-tf", path=str(bare)).encode(TEXTS), by_sig)
    keyed = embeddings.load("use-tf", path=str(tiny), output_key="outputs").encode(TEXTS)
    np.testing.assert_array_equal(keyed, by_sig)


def test_deterministic_and_batch_independent(tiny: Path) -> None:
    enc = embeddings.load("use-tf", path=str(tiny))
    texts = TEXTS * 7
    a = enc.encode(texts, batch_size=64)
    np.testing.assert_array_equal(a, enc.encode(texts, batch_size=64))
    for bs in (1, 3, 8):
        np.testing.assert_allclose(enc.encode(texts, batch_size=bs), a, atol=1e-6)
    singles = np.vstack([enc.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(singles, a[: len(TEXTS)], atol=1e-6)


def test_save_load_pickle_and_fingerprint(tiny: Path, tmp_path: Path) -> None:
    enc = embeddings.load("use-tf", path=str(tiny))
    X = enc.encode(TEXTS)
    enc.save(tmp_path / "saved")
    again = embeddings.load(tmp_path / "saved", path=str(tiny))  # the module lies outside
    assert type(again).__name__ == "TFHubUSEEncoder"
    assert again.fingerprint() == enc.fingerprint()
    np.testing.assert_array_equal(again.encode(TEXTS), X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(enc)).encode(TEXTS), X)
    # the fingerprint covers the folder's content: a changed file changes it
    copy = tmp_path / "copy"
    shutil.copytree(tiny, copy)
    before = embeddings.load("use-tf", path=str(copy)).fingerprint()
    (copy / "assets").mkdir(exist_ok=True)
    (copy / "assets" / "extra.txt").write_text("x")
    assert embeddings.load("use-tf", path=str(copy)).fingerprint() != before


@pytest.mark.skipif(tf is None, reason="needs TensorFlow: pip install 'transferkit[use-tf]'")
def test_not_a_saved_model(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="not a directory"):
        embeddings.load("use-tf", path=str(tmp_path / "missing")).encode(["a"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFormatError, match="no saved_model.pb"):
        embeddings.load("use-tf", path=str(tmp_path / "empty")).encode(["a"])
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "saved_model.pb").write_bytes(b"\xff\x00 not a protocol buffer")
    with pytest.raises(ModelFormatError, match="junk"):
        embeddings.load("use-tf", path=str(tmp_path / "junk")).encode(["a"])
    with pytest.raises(InvalidParameterError, match="path is required"):
        embeddings.load("use-tf").encode(["a"])


def test_wrong_output_shape_is_refused(tmp_path: Path) -> None:
    flat = write_tiny_use(tmp_path / "flat", rank=1)
    with pytest.raises(ModelFormatError, match=r"returns shape \[None\]"):
        embeddings.load("use-tf", path=str(flat)).encode(["a"])


def test_unknown_signature_and_output(tiny: Path) -> None:
    with pytest.raises(InvalidParameterError, match="no signature 'nope'"):
        embeddings.load("use-tf", path=str(tiny), signature="nope").encode(["a"])
    with pytest.raises(InvalidParameterError, match="no output 'nope'"):
        embeddings.load("use-tf", path=str(tiny), output_key="nope").encode(["a"])
    with pytest.raises(InvalidParameterError, match="threads"):
        embeddings.load("use-tf", path=str(tiny), threads=0).encode(["a"])


def test_module_that_writes_files_is_refused_before_it_runs(tmp_path: Path) -> None:
    target = tmp_path / "written.txt"
    evil = write_tiny_use(tmp_path / "evil", writes=target)
    assert not target.exists()
    with pytest.raises(ModelFormatError, match="WriteFile"):
        embeddings.load("use-tf", path=str(evil)).encode(["a payload"])
    assert not target.exists()


def test_missing_tensorflow_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` fails
    enc = embeddings.load("use-tf", path=str(tmp_path))
    with pytest.raises(MissingDependencyError, match=r"transferkit\[use-tf\]") as info:
        enc.encode(["a"])
    assert "tensorflow-cpu" in str(info.value)
    assert isinstance(info.value, ImportError)


def test_non_float_or_misshaped_batch_output_is_an_encoding_error(tiny: Path) -> None:
    enc = embeddings.load("use-tf", path=str(tiny))
    enc.encode(["warm"])
    good = enc._fn

    def short(**kw: object) -> dict[str, object]:
        return {"outputs": good(**kw)["outputs"][:1]}

    enc._fn = short
    with pytest.raises(EncodingError, match=r"returned shape \(1, 512\) for 2 texts"):
        enc.encode(["a", "b"])
