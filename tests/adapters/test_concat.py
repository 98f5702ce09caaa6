"""The combining encoder: blocks, weights, fitting, fingerprint, saving, specs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone

import embeddings
from embeddings.adapters.concat import ConcatEncoder
from embeddings.errors import InvalidParameterError, ModelFormatError, NotFittedError

TRAIN = ["a cat sat on the mat", "the dog ran home", "stocks fell sharply", "a good film"]
TEXTS = ["the cat sat", "stocks fell", "a film about a dog", "zzz unknownword"]


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


@pytest.fixture(autouse=True)
def _quiet(recwarn):
    """All-OOV notices of the word-vector parts are expected here."""


def test_blocks_are_normalised_weighted_and_joined() -> None:
    glove = embeddings.load("glove-6b-50d").encode(TEXTS)
    gmax = embeddings.load("glove-6b-50d-max").encode(TEXTS)
    enc = embeddings.load("concat", encoders=["glove-6b-50d", "glove-6b-50d-max"],
                          weights=[1.0, 0.5])  # fmt: skip
    got = enc.encode(TEXTS)
    assert got.shape == (len(TEXTS), 100) and enc.dim == 100 and got.dtype == np.float32
    np.testing.assert_allclose(got[:, :50], _unit(glove), atol=1e-6)
    np.testing.assert_allclose(got[:, 50:], 0.5 * _unit(gmax), atol=1e-6)
    raw = ConcatEncoder(["glove-6b-50d", "glove-6b-50d-max"], normalize=False).encode(TEXTS)
    np.testing.assert_array_equal(raw, np.hstack([glove, gmax]))
    assert not enc.requires_fit and enc.is_fitted


def test_string_form_objects_and_names_share_a_fingerprint() -> None:
    by_name = ConcatEncoder(["glove-6b-50d", "glove-6b-50d-max"])
    by_string = ConcatEncoder("glove-6b-50d+glove-6b-50d-max")
    by_object = ConcatEncoder([embeddings.load("glove-6b-50d"), "glove-6b-50d-max"])
    cached = ConcatEncoder(["glove-6b-50d", "glove-6b-50d-max"], cache_dir="/tmp/x")
    assert len({e.fingerprint() for e in (by_name, by_string, by_object, cached)}) == 1
    np.testing.assert_array_equal(by_string.encode(TEXTS), by_name.encode(TEXTS))
    weighted = ConcatEncoder(["glove-6b-50d", "glove-6b-50d-max"], weights="1+2")
    other_part = ConcatEncoder(["glove-6b-50d", "glove-6b-50d:pooling=max"])
    assert weighted.fingerprint() != by_name.fingerprint()
    assert other_part.parts[1].pooling == "max"


def test_learning_parts_are_fitted_on_the_given_texts_only() -> None:
    enc = ConcatEncoder(["glove-6b-50d", "tfidf"])
    assert enc.requires_fit and not enc.is_fitted
    with pytest.raises(NotFittedError):
        enc.encode(TEXTS)
    enc.fit(TRAIN)
    tfidf = embeddings.load("tfidf").fit(TRAIN)
    assert enc.dim == 50 + tfidf.dim
    np.testing.assert_allclose(enc.encode(TEXTS)[:, 50:], _unit(tfidf.encode(TEXTS)), atol=1e-6)
    before = enc.fingerprint()
    enc.fit(TRAIN[:2])  # refitted on other texts: another state, another fingerprint
    assert enc.fingerprint() != before
    twin = clone(enc)
    assert twin.requires_fit and not twin.is_fitted


def test_fitted_objects_and_saved_folders_are_used_as_they_are(tmp_path) -> None:
    tfidf = embeddings.load("tfidf").fit(TRAIN)
    expected = _unit(tfidf.encode(TEXTS))
    tfidf.save(tmp_path / "tfidf")
    for part in (tfidf, str(tmp_path / "tfidf")):
        enc = ConcatEncoder(["glove-6b-50d", part])
        assert not enc.requires_fit
        enc.fit(["other words entirely"])  # nothing to fit
        np.testing.assert_allclose(enc.encode(TEXTS)[:, 50:], expected, atol=1e-6)


def test_save_and_load_keep_every_part_state(tmp_path) -> None:
    enc = embeddings.load("concat", encoders=["tfidf", "glove-6b-50d-sif"]).fit(TRAIN)
    enc.save(tmp_path / "c")
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    assert config["params"]["encoders"] == ["tfidf", "glove-6b-50d-sif"]
    assert sorted(config["state"]["parts"]) == ["0", "1"] and config["state"]["own"] == [0, 1]
    loaded = embeddings.load(tmp_path / "c")
    assert loaded.fingerprint() == enc.fingerprint() and loaded.name == "concat"
    np.testing.assert_array_equal(loaded.encode(TEXTS), enc.encode(TEXTS))
    # a fitted object part without a preset is stored by its parameters and state
    obj = ConcatEncoder([embeddings.load("tfidf", max_features=3).fit(TRAIN), "glove-6b-50d"])
    obj.save(tmp_path / "o")
    again = embeddings.load(tmp_path / "o")
    np.testing.assert_array_equal(again.encode(TEXTS), obj.encode(TEXTS))
    assert not again.requires_fit


def test_damaged_saved_state_is_refused(tmp_path) -> None:
    from safetensors.numpy import load_file, save_file

    enc = ConcatEncoder(["glove-6b-50d", "tfidf"]).fit(TRAIN)
    enc.save(tmp_path / "c")
    weights = tmp_path / "c" / "weights.safetensors"
    arrays = load_file(str(weights))
    save_file({**arrays, "parts.7.idf": np.ones(3, np.float32)}, str(weights))
    with pytest.raises(ModelFormatError, match="belongs to no saved part"):
        embeddings.load(tmp_path / "c")
    save_file({k.replace("parts.1.", "parts.0."): v for k, v in arrays.items()}, str(weights))
    with pytest.raises(ModelFormatError, match="belongs to no saved part"):
        embeddings.load(tmp_path / "c")


def test_a_part_class_outside_the_allow_list_is_refused(tmp_path) -> None:
    enc = ConcatEncoder([embeddings.load("glove-6b-50d"), "glove-6b-50d-max"])
    enc.save(tmp_path / "c")
    path = tmp_path / "c" / "config.json"
    config = json.loads(path.read_text())
    config["params"]["encoders"][0] = {"__encoder__": "os:system", "params": {}}
    path.write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="os:system"):
        embeddings.load(tmp_path / "c")


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"encoders": []}, "at least one"),
        ({"encoders": ""}, "at least one"),
        ({"encoders": ["glove-6b-50d", 3]}, r"encoders\[1\]"),
        ({"encoders": {"a": 1}}, "list of preset names"),
        ({"encoders": ["glove-6b-50d"], "weights": [1.0, 2.0]}, "2 value"),
        ({"encoders": ["glove-6b-50d"], "weights": [-1.0]}, "> 0"),
        ({"encoders": ["glove-6b-50d"], "weights": "a"}, "joined by"),
        ({"encoders": ["glove-6b-50d"], "normalize": "yes"}, "normalize"),
        ({"encoders": ["glove-6b-50d:pooling"]}, "not key=value"),
    ],
)
def test_bad_parameters_are_refused(params, match) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        ConcatEncoder(**params).encode(["a"])


def test_bench_spec_form() -> None:
    from benchmarks.specs import build_encoder

    enc, label, _ = build_encoder("concat:encoders=glove-6b-50d+glove-6b-50d-max:weights=1+0.5")
    assert isinstance(enc, ConcatEncoder) and label.startswith("concat:")
    expected = ConcatEncoder(["glove-6b-50d", "glove-6b-50d-max"], weights=[1, 0.5])
    np.testing.assert_array_equal(enc.encode(TEXTS), expected.encode(TEXTS))


def test_cache_dir_reuses_the_parts_vectors(tmp_path) -> None:
    from embeddings.cache import cache_info

    enc = ConcatEncoder(["glove-6b-50d", "glove-6b-50d-max"], cache_dir=str(tmp_path))
    first = enc.encode(TEXTS)
    infos = {i["fingerprint"]: i["n_vectors"] for i in cache_info(tmp_path)}
    assert infos == {p.fingerprint(): len(TEXTS) for p in enc.parts}
    np.testing.assert_array_equal(enc.encode(TEXTS), first)


def test_module_doctests() -> None:
    import doctest

    from embeddings.adapters import concat

    result = doctest.testmod(concat, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
