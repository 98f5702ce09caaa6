"""Encoders speak scikit-learn's parameter protocol without importing scikit-learn."""

from __future__ import annotations

import pickle

import pytest
from sklearn.base import clone
from sklearn.utils import get_tags

import embeddings
from embeddings.errors import InvalidParameterError
from tests.conftest import modules_imported_by


def test_encoding_imports_neither_sklearn_nor_scipy_nor_pandas() -> None:
    code = "import embeddings; embeddings.load('use-multilingual-v3').encode(['a cat sat'])"
    assert modules_imported_by(code, ("sklearn", "scipy", "pandas")) == []


def test_get_set_params_repr_and_clone_follow_sklearn() -> None:
    enc = embeddings.load("tfidf", max_features=50)
    assert enc.get_params()["max_features"] == 50
    assert repr(enc) == "TfidfEncoder(max_features=50)"  # only what differs from defaults
    twin = clone(enc)
    assert twin is not enc and twin.get_params() == enc.get_params()
    assert twin.set_params(max_features=7) is twin and enc.max_features == 50
    with pytest.raises(InvalidParameterError, match="'max_feature' is not a parameter of Tfidf"):
        enc.set_params(max_feature=3)
    assert get_tags(enc).estimator_type is None  # scikit-learn reads the tags it asks for


class _Wrapper(embeddings.BaseEncoder):
    def __init__(self, *, inner: object = None, scale: float = 1.0) -> None:
        self.inner = inner
        self.scale = scale


def test_nested_parameters_reach_the_inner_encoder() -> None:
    enc = _Wrapper(inner=embeddings.load("glove-6b-50d"))
    deep = enc.get_params(deep=True)
    assert deep["inner__pooling"] == "mean" and "inner" in deep and "scale" in deep
    assert "inner__pooling" not in enc.get_params(deep=False)
    enc.set_params(inner__pooling="max", scale=2.0)
    assert (enc.inner.pooling, enc.scale) == ("max", 2.0)
    with pytest.raises(InvalidParameterError, match="is not a parameter of WordVectorEncoder"):
        enc.set_params(inner__nope=1)


def test_pickle_keeps_parameters_and_drops_loaded_resources() -> None:
    enc = embeddings.load("glove-6b-50d", pooling="max")
    before = enc.encode(["a cat sat"])
    twin = pickle.loads(pickle.dumps(enc))
    assert twin.get_params() == enc.get_params()
    assert twin.encode(["a cat sat"]).tobytes() == before.tobytes()
