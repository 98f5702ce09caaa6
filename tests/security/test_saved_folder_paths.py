"""A saved folder never makes us read or write outside it; its nesting is bounded.

Covers: paths named in ``config.json`` (``source``, ``cache_dir``, concat parts,
``base``), symlinked/FIFO/device ``config.json`` and ``weights.safetensors``, the
nesting limit of concatenations, DataFrame input, and the saved state of a concat
whose part has encode-time parameters (Skip-Thought).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import embeddings
from embeddings._saved import MAX_NESTING
from embeddings.errors import InvalidInputError, InvalidParameterError, ModelFormatError
from tests.security.builders import write_config as _config
from tests.security.limits import assert_bounded, run_limited

CONCAT = "embeddings.adapters.concat:ConcatEncoder"
WV = "embeddings.adapters.word_vectors:WordVectorEncoder"


@pytest.fixture(autouse=True)
def _store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))


def _vectors(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("2 3\ncat 1 0 0\ndog 0 1 0\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ paths
def test_a_source_outside_the_folder_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-LINE 1 2 3\n", encoding="utf-8")
    for source in (str(secret), "/etc/passwd", "../secret.txt", "~/.bashrc"):
        folder = _config(tmp_path / "f", WV, {"source": source})
        with pytest.raises(ModelFormatError, match="outside the saved folder") as err:
            embeddings.load(folder).encode(["cat"])
        assert "TOPSECRET" not in str(err.value) and "root:" not in str(err.value)
        assert "source=" in str(err.value)  # says how the caller passes it


def test_a_source_inside_the_folder_loads(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    vectors = _vectors(folder / "vectors.txt")
    _config(folder, WV, {"source": str(vectors), "format": "word2vec-text"})
    assert embeddings.load(folder).encode(["cat"]).tolist() == [[1.0, 0.0, 0.0]]


def test_the_caller_passes_an_outside_source_explicitly(tmp_path: Path) -> None:
    vectors = _vectors(tmp_path / "mine" / "vectors.txt")
    enc = embeddings.load("word-vectors", source=str(vectors), format="word2vec-text")
    enc.save(tmp_path / "saved")
    with pytest.raises(ModelFormatError, match="outside the saved folder"):
        embeddings.load(tmp_path / "saved")
    again = embeddings.load(tmp_path / "saved", source=str(vectors))
    assert np.array_equal(again.encode(["dog cat"]), enc.encode(["dog cat"]))
    with pytest.raises(InvalidParameterError, match="only its file and folder parameters"):
        embeddings.load(tmp_path / "saved", pooling="max")


def test_concat_paths_in_a_config_stay_inside(tmp_path: Path) -> None:
    outside = _vectors(tmp_path / "elsewhere" / "v.txt")
    cases = {
        "cache_dir": {"encoders": ["glove-6b-50d"], "cache_dir": str(tmp_path / "anywhere")},
        "spec source": {"encoders": [f"word-vectors:source={outside}"]},
        "folder part": {"encoders": [str(tmp_path / "elsewhere")]},
        "nested source": {"encoders": [{"__encoder__": WV, "params": {"source": str(outside)}}]},
    }
    for name, params in cases.items():
        folder = _config(tmp_path / name.replace(" ", "_"), CONCAT, params)
        with pytest.raises(ModelFormatError, match="outside the saved folder"):
            embeddings.load(folder)
    assert not (tmp_path / "anywhere").exists()


def test_a_cache_dir_inside_the_folder_is_used(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    _config(folder, CONCAT, {"encoders": ["glove-6b-50d"], "cache_dir": str(folder / "cache")})
    assert embeddings.load(folder).encode(["a cat"]).shape == (1, 50)
    assert (folder / "cache").is_dir()


@pytest.mark.parametrize("name", ["config.json", "weights.safetensors"])
def test_symlinked_files_in_a_folder_are_refused(tmp_path: Path, name: str) -> None:
    enc = embeddings.load("tfidf").fit(["a cat", "a dog"])
    enc.save(tmp_path / "real")
    folder = tmp_path / "linked"
    folder.mkdir()
    for other in ("config.json", "weights.safetensors"):
        target = tmp_path / "real" / other
        if other == name:
            (folder / other).symlink_to(target)
        else:
            (folder / other).write_bytes(target.read_bytes())
    with pytest.raises(ModelFormatError, match="symbolic link"):
        embeddings.load(folder)


def test_fifo_and_device_files_are_refused_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "fifo"
    folder.mkdir()
    os.mkfifo(folder / "config.json")
    result = run_limited(
        f"import embeddings\nembeddings.load({str(folder)!r})",
        imports="import embeddings.base",
    )
    assert_bounded(result, seconds=5, allowed=("ModelFormatError",))
    assert "regular file" in result.message
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "config.json").symlink_to("/dev/zero")
    with pytest.raises(ModelFormatError, match="symbolic link"):
        embeddings.load(dev)


# ---------------------------------------------------------------- nesting
def _nested_json(depth: int) -> dict[str, Any]:
    node: Any = "glove-6b-50d"
    for _ in range(depth):
        node = {"__encoder__": CONCAT, "params": {"encoders": [node]}}
    return node


def test_concat_nesting_is_limited_at_load(tmp_path: Path) -> None:
    ok = _config(tmp_path / "ok", CONCAT, _nested_json(MAX_NESTING - 1)["params"])
    assert embeddings.load(ok).encode(["a cat"]).shape == (1, 50)
    for depth in (MAX_NESTING + 1, 200):
        deep = _config(tmp_path / f"deep{depth}", CONCAT, _nested_json(depth)["params"])
        with pytest.raises(ModelFormatError, match="nested"):
            embeddings.load(deep)


def test_a_chain_of_folders_is_limited_at_load(tmp_path: Path) -> None:
    # each folder names a folder inside it, so the path rule does not stop the chain
    root = path = tmp_path / "chain"
    for _ in range(MAX_NESTING + 1):
        _config(path, CONCAT, {"encoders": [str(path / "n")]})
        path = path / "n"
    _config(path, CONCAT, {"encoders": ["glove-6b-50d"]})
    with pytest.raises(ModelFormatError, match="nested more than"):
        embeddings.load(root)
    assert embeddings.load(root / "n" / "n").encode(["a cat"]).shape == (1, 50)


def test_concat_nesting_from_python_is_limited(tmp_path: Path) -> None:
    enc: Any = embeddings.load("glove-6b-50d")
    for _ in range(MAX_NESTING + 2):
        enc = embeddings.load("concat", encoders=[enc])
    with pytest.raises(InvalidParameterError, match="nested"):
        enc.encode(["a cat"])


def test_deep_concat_encodes_fast() -> None:
    result = run_limited(
        """
        enc = glove
        for _ in range(MAX_NESTING - 1):
            enc = embeddings.load("concat", encoders=[enc])
        enc.encode(["a cat sat on the mat"])
        """,
        imports=(
            "import embeddings\nfrom embeddings._saved import MAX_NESTING\n"
            "glove = embeddings.load('glove-6b-50d')\nglove.encode(['warm up'])"
        ),
    )
    assert_bounded(result, seconds=1, allowed=("None",))


# ------------------------------------------------------------- DataFrames
def test_dataframes_and_series() -> None:
    pd = pytest.importorskip("pandas")
    enc = embeddings.load("glove-6b-50d")
    texts = ["a cat", "a dog sat"]
    want = enc.encode(texts)
    assert np.array_equal(enc.encode(pd.DataFrame({"text": texts})), want)
    assert np.array_equal(enc.encode(pd.Series(texts)), want)
    with pytest.raises(InvalidInputError, match="2 columns"):
        enc.encode(pd.DataFrame({"text": texts, "label": [1, 0]}))
    with pytest.raises(InvalidInputError, match="dtype int64"):
        enc.encode(pd.Series([1, 2]))
    with pytest.raises(InvalidInputError, match="must be str"):
        enc.encode(pd.Series(["a", None], dtype=object))


# --------------------------------------------- concat of encode-time parts
def _skip_thought_part() -> Any:
    from embeddings.adapters.skip_thought import SkipThoughtEncoder

    tiny = {"hidden_size": 8, "embedding_dim": 6, "decoder_size": 6, "epochs": 1}
    return SkipThoughtEncoder(min_count=1, expand_vocab="glove-6b-50d", **tiny)


def _elmo_part() -> Any:
    from embeddings.adapters.elmo import ElmoEncoder

    tiny = {"cell_dim": 8, "projection_dim": 4, "char_dim": 4, "filters": "1x4,2x4"}
    # every encode-time parameter away from its default: none of them is in the fit key
    return ElmoEncoder(epochs=1, batch_size=2, layers="top", pooling="max", max_length=12, **tiny)


@pytest.mark.parametrize(
    "make_part", [_skip_thought_part, _elmo_part], ids=["skip-thought", "elmo"]
)
def test_a_saved_concat_with_an_encode_time_part_encodes_after_load(
    tmp_path: Path, make_part: Any
) -> None:
    """Regression: a concat of a part with ``encode_time_params`` (Skip-Thought, ELMo)
    and GloVe, fitted, saved and loaded, encodes as before.  The parts' saved state is
    restored by the one restore function, which marks a part fitted for its fit key (the
    parameters less ``encode_time_params``); a restore by the full parameter key raised
    ``NotFittedError: parameters changed since fit`` here."""
    pytest.importorskip("torch")
    docs = ["the cat sat on the mat", "it purred at the dog", "the dog ran away", ""] * 3
    enc = embeddings.load("concat", encoders=[make_part(), "glove-6b-50d"]).fit(docs)
    want = enc.encode(["the cat ran", "a dog"])
    enc.save(tmp_path / "saved")
    again = embeddings.load(tmp_path / "saved")
    assert np.array_equal(again.encode(["the cat ran", "a dog"]), want)
