"""EmbeddingTransformer: clone, pickle, Pipeline, GridSearchCV, input types, set_output."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline

import embeddings
from embeddings.errors import InvalidInputError
from embeddings.sklearn import EmbeddingTransformer

POS = ["a great film", "wonderful acting", "i loved this movie", "brilliant and moving"]
NEG = ["a terrible film", "awful acting", "i hated this movie", "boring and dull"]
X = (POS + NEG) * 3
y = ([1] * 4 + [0] * 4) * 3


def test_transform_matches_encoder() -> None:
    et = EmbeddingTransformer("glove-6b-50d").fit(X)
    np.testing.assert_array_equal(et.transform(X), embeddings.load("glove-6b-50d").encode(X))
    assert et.n_features_out_ == 50
    assert et.get_feature_names_out()[:2].tolist() == ["emb0", "emb1"]


@pytest.mark.parametrize(
    "container",
    [
        list,
        tuple,
        lambda v: np.array(v, dtype=object),
        lambda v: np.array(v).reshape(-1, 1),
        pd.Series,
        lambda v: pd.DataFrame({"text": v}),
    ],
)
def test_accepted_inputs(container) -> None:
    Xt = EmbeddingTransformer("glove-6b-50d").fit_transform(container(X))
    assert Xt.shape == (len(X), 50)


def test_rejected_inputs() -> None:
    et = EmbeddingTransformer("glove-6b-50d")
    with pytest.raises(InvalidInputError, match="single str"):
        et.fit("just one text")
    with pytest.raises(InvalidInputError, match="exactly one text column"):
        et.fit(pd.DataFrame({"a": ["x"], "b": ["y"]}))
    with pytest.raises(InvalidInputError, match=r"X\[1\] must be str"):
        et.fit(pd.Series(["ok", None]))


def test_set_output_pandas() -> None:
    et = EmbeddingTransformer("glove-6b-50d").set_output(transform="pandas")
    df = et.fit_transform(pd.Series(X))
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns[:3]) == ["emb0", "emb1", "emb2"]


def test_clone_and_pickle_do_not_carry_weights() -> None:
    pipe = make_pipeline(EmbeddingTransformer("glove-6b-50d"), LogisticRegression())
    pipe.fit(X, y)
    blob = pickle.dumps(pipe)
    assert len(blob) < 100_000  # the 80 MB GloVe table is reloaded lazily, not pickled
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.predict_proba(X), pipe.predict_proba(X))
    twin = clone(pipe)
    assert twin.get_params()["embeddingtransformer__encoder"] == "glove-6b-50d"


def test_pipeline_learns_sentiment() -> None:
    pipe = make_pipeline(EmbeddingTransformer("glove-6b-50d"), LogisticRegression(C=10))
    pipe.fit(X, y)
    assert pipe.score(X, y) == 1.0
    assert pipe.predict(["a wonderful movie", "an awful movie"]).tolist() == [1, 0]


def test_grid_search_over_encoder_name_and_encoder_params() -> None:
    pipe = Pipeline([("embed", EmbeddingTransformer()), ("clf", LogisticRegression())])
    gs = GridSearchCV(pipe, {"embed__encoder": ["glove-6b-50d", "tfidf"]}, cv=2).fit(X, y)
    assert set(gs.cv_results_["param_embed__encoder"]) == {"glove-6b-50d", "tfidf"}
    pipe2 = Pipeline(
        [
            ("embed", EmbeddingTransformer(embeddings.load("random-glove"))),
            ("clf", LogisticRegression()),
        ]
    )
    gs2 = GridSearchCV(pipe2, {"embed__encoder__n_components": [4, 12]}, cv=2).fit(X, y)
    dims = {est[0].n_features_out_ for est in [gs2.best_estimator_]}
    assert dims <= {4, 12}
    # a changed parameter really changes the model
    widths = [
        clone(pipe2).set_params(embed__encoder__n_components=k).fit(X, y)[0].transform(X).shape[1]
        for k in (4, 12)
    ]
    assert widths == [4, 12]


def test_encoder_params_override_and_trainable_fit_on_train_only() -> None:
    et = EmbeddingTransformer("tfidf", encoder_params={"max_features": 7}).fit(X)
    assert et.n_features_out_ == 7
    before = et.transform(X[:2])
    et.transform(["completely new words here"] * 5)
    np.testing.assert_array_equal(et.transform(X[:2]), before)


def test_cache_dir_uses_the_embedding_cache(tmp_path) -> None:
    from embeddings.cache import cache_info

    et = EmbeddingTransformer("glove-6b-50d", cache_dir=tmp_path).fit(X)
    first = et.transform(X)
    infos = cache_info(tmp_path)
    assert len(infos) == 1 and infos[0]["n_vectors"] == len(set(X))
    assert infos[0]["fingerprint"] == et.encoder_.fingerprint()
    np.testing.assert_array_equal(et.transform(X), first)
    np.testing.assert_array_equal(first, embeddings.load("glove-6b-50d").encode(X))
