"""The model ``advise`` recommends, as a scikit-learn pipeline saved without pickle.

A frozen recommendation is ``Pipeline([("features", ...), ("head", LogisticRegression)])``
where the features are :class:`~embeddings.sklearn.EmbeddingTransformer` (single texts)
or :class:`PairFeatures` (text pairs, SentEval's ``[u, v, |u-v|, u*v]``).
:func:`save_pipeline` writes ``advised.json`` (the head's parameters and classes),
``head.safetensors`` (its coefficients) and ``encoder/`` (the encoder's own saved
folder); :func:`load_pipeline` rebuilds the fitted pipeline from them.  The JSON only
ever selects between these two feature steps; nothing in it names code to run.

Example:
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import Pipeline
    >>> from embeddings.sklearn import EmbeddingTransformer
    >>> import tempfile
    >>> texts, labels = ["a good film", "a bad film", "good fun", "bad news"], [1, 0, 1, 0]
    >>> model = Pipeline([("features", EmbeddingTransformer("glove-6b-50d")),
    ...                   ("head", LogisticRegression())]).fit(texts, labels)
    >>> folder = tempfile.mkdtemp()
    >>> save_pipeline(model, folder)
    >>> back = load_pipeline(folder)
    >>> back.predict(["good film"]).tolist() == model.predict(["good film"]).tolist()
    True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from embeddings.errors import InvalidInputError, ModelFormatError

__all__ = ["PairFeatures", "load_pipeline", "save_pipeline"]

_FORMAT = "transferkit-advised-pipeline"


class PairFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Text pairs -> ``[u, v, |u-v|, u*v]`` of an encoder's vectors (SentEval features).

    ``X`` is a sequence of ``(text_a, text_b)`` pairs (or an ``(n, 2)`` array).

    Example:
        >>> PairFeatures("glove-6b-50d").fit_transform([("a cat", "a dog")]).shape
        (1, 200)
    """

    def __init__(self, encoder: Any = "glove-6b-50d") -> None:
        self.encoder = encoder

    @staticmethod
    def _split(X: Any) -> tuple[list[str], list[str]]:
        rows = [tuple(r) for r in X]
        if not all(len(r) == 2 and all(isinstance(t, str) for t in r) for r in rows):
            raise InvalidInputError(
                "PairFeatures takes (text_a, text_b) pairs of strings; got "
                f"{type(rows[0]).__name__ if rows else 'nothing'}"
            )
        return [r[0] for r in rows], [r[1] for r in rows]

    def fit(self, X: Any, y: Any = None) -> PairFeatures:
        """Build the encoder; fit it on both sides' texts when it learns from data."""
        from embeddings.base import BaseEncoder
        from embeddings.registry import load

        a, b = self._split(X)
        enc = self.encoder if isinstance(self.encoder, BaseEncoder) else load(self.encoder)
        self.encoder_ = enc.fit(a + b)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The pair features, float32 ``(n, 4 * dim)``."""
        from sklearn.utils.validation import check_is_fitted

        from evaluators.pairs import pair_features

        check_is_fitted(self, "encoder_")
        a, b = self._split(X)
        return pair_features(self.encoder_.encode(a), self.encoder_.encode(b))


def save_pipeline(model: Any, folder: str | os.PathLike[str]) -> None:
    """Write a fitted features + logistic-regression pipeline to ``folder`` (no pickle)."""
    from safetensors.numpy import save_file

    from embeddings._atomic import atomic_write_json

    features, head = model.named_steps["features"], model.named_steps["head"]
    kind = "pairs" if isinstance(features, PairFeatures) else "texts"
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    features.encoder_.save(out / "encoder")
    classes = np.asarray(head.classes_)
    save_file(
        {"coef": np.ascontiguousarray(head.coef_, dtype=np.float64),
         "intercept": np.ascontiguousarray(head.intercept_, dtype=np.float64)},
        str(out / "head.safetensors"),
    )  # fmt: skip
    atomic_write_json(out / "advised.json", {
        "format": _FORMAT, "version": 1, "input": kind,
        "head": {"C": float(head.C), "max_iter": int(head.max_iter)},
        "classes": classes.tolist(), "classes_dtype": classes.dtype.kind,
    })  # fmt: skip


def load_pipeline(folder: str | os.PathLike[str]) -> Any:
    """The fitted pipeline :func:`save_pipeline` wrote to ``folder``.

    Raises:
        ModelFormatError: ``folder`` does not hold a saved pipeline, or it is malformed.
    """
    from safetensors.numpy import load_file
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from embeddings._jsonfile import read_json_file
    from embeddings.registry import load
    from embeddings.sklearn import EmbeddingTransformer

    root = Path(folder)
    meta = read_json_file(
        root / "advised.json", what="advised.json", limit=1 << 22, follow_links=False
    )
    if (
        not isinstance(meta, dict)
        or meta.get("format") != _FORMAT
        or meta.get("input") not in ("texts", "pairs")
    ):
        raise ModelFormatError(f"{root} does not hold a pipeline saved by transferkit advise")
    enc = load(root / "encoder")
    features: Any
    if meta["input"] == "pairs":
        features = PairFeatures(enc)
        features.encoder_ = enc
    else:
        features = EmbeddingTransformer(enc)
        features.encoder_, features.n_features_out_, features.n_features_in_ = enc, enc.dim, 1
    arrays = load_file(str(root / "head.safetensors"))
    head = LogisticRegression(C=float(meta["head"]["C"]), max_iter=int(meta["head"]["max_iter"]))
    dtype = {"i": np.int64, "U": str, "b": bool}.get(str(meta["classes_dtype"]), object)
    head.classes_ = np.asarray(meta["classes"], dtype=dtype)
    head.coef_, head.intercept_ = arrays["coef"], arrays["intercept"]
    head.n_features_in_ = int(arrays["coef"].shape[1])
    if head.coef_.shape[0] not in (1, head.classes_.size):
        raise ModelFormatError(f"{root}: the head's coefficients do not match its classes")
    return Pipeline([("features", features), ("head", head)])
