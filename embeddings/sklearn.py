"""scikit-learn integration: :class:`EmbeddingTransformer`.

Put any transferkit encoder into a scikit-learn ``Pipeline``; grid-search over the
encoder name and its parameters; pickle the fitted pipeline (weights are not
pickled, they reload lazily on first use).

Example:
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from embeddings.sklearn import EmbeddingTransformer
    >>> pipe = make_pipeline(EmbeddingTransformer("glove-6b-50d"), LogisticRegression())
    >>> _ = pipe.fit(["good film", "great movie", "bad film", "awful movie"], [1, 1, 0, 0])
    >>> pipe.predict(["a great film"]).tolist()
    [1]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from embeddings._params import store_params
from embeddings.base import BaseEncoder, validate_texts
from embeddings.errors import InvalidInputError, InvalidParameterError

__all__ = ["EmbeddingTransformer"]


def _as_texts(X: Any) -> list[str]:
    """Accept list / tuple / 1-D ndarray / pandas Series / one-column DataFrame of str."""
    if isinstance(X, (str, bytes)):
        raise InvalidInputError(
            f"X must be a sequence of strings, got a single {type(X).__name__} "
            f"({str(X)[:40]!r}); wrap it in a list: [text]"
        )
    columns = getattr(X, "columns", None)
    if columns is not None:  # a DataFrame
        if len(columns) != 1:
            raise InvalidInputError(
                f"X must be a DataFrame with exactly one text column, got {len(columns)} columns "
                f"{list(columns)[:5]}; select the text column first, e.g. df[['text']]"
            )
        X = X.iloc[:, 0]
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):  # a Series
        X = X.to_numpy(dtype=object)
    if isinstance(X, np.ndarray):
        if X.ndim == 2 and X.shape[1] == 1:
            X = X[:, 0]
        elif X.ndim != 1:
            raise InvalidInputError(
                f"X must be one-dimensional (or one column), got an array of shape {X.shape}"
            )
        X = X.tolist()
    return validate_texts(X, what="X")


class EmbeddingTransformer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Text -> embedding vectors, as a scikit-learn transformer.

    Args:
        encoder: a preset name (see ``embeddings.list_encoders()``), a saved-encoder
            folder, or a :class:`~embeddings.base.BaseEncoder` instance (cloned on fit,
            so its parameters are searchable as ``encoder__<param>``).
        batch_size: texts per batch; does not change the output.
        cache_dir: store vectors on disk (:class:`embeddings.cache.CachedEncoder`) so
            each text is encoded once per encoder across fits and processes.
        encoder_params: parameters overriding the preset's (for a preset name).
        show_progress: show a progress bar while encoding.

    Attributes:
        encoder_: the fitted encoder.
        n_features_out_: the output dimension.

    Example:
        >>> from embeddings.sklearn import EmbeddingTransformer
        >>> Xt = EmbeddingTransformer("glove-6b-50d").fit_transform(["a cat", "a dog"])
        >>> Xt.shape
        (2, 50)
    """

    def __init__(
        self,
        encoder: str | os.PathLike[str] | BaseEncoder = "glove-6b-50d",
        *,
        batch_size: int = 64,
        cache_dir: str | os.PathLike[str] | None = None,
        encoder_params: dict[str, Any] | None = None,
        show_progress: bool = False,
    ) -> None:
        store_params(self, locals())

    def _build_encoder(self) -> BaseEncoder:
        params = dict(self.encoder_params or {})
        if isinstance(self.encoder, BaseEncoder):
            enc = clone(self.encoder)
            if params:
                enc.set_params(**params)
            preset = self.encoder.__dict__.get("_preset_name")
            if preset:
                enc._preset_name = preset
            return enc
        if isinstance(self.encoder, (str, os.PathLike)):
            from embeddings.registry import load

            return load(self.encoder, **params)
        raise InvalidParameterError(
            "encoder must be a preset name, a saved-encoder folder or a BaseEncoder, "
            f"got {type(self.encoder).__name__}"
        )

    def fit(self, X: Any, y: Any = None) -> EmbeddingTransformer:
        """Build the encoder and, if it learns from data, fit it on ``X`` (train texts)."""
        texts = _as_texts(X)
        enc = self._build_encoder()
        enc.fit(texts)
        self.encoder_ = enc
        self.n_features_out_ = enc.dim
        self.n_features_in_ = 1
        return self

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.cache_dir is not None:
            from embeddings.cache import CachedEncoder

            cached = CachedEncoder(self.encoder_, cache_dir=self.cache_dir)
            return np.asarray(
                cached.encode(texts, batch_size=self.batch_size, show_progress=self.show_progress)
            )
        return self.encoder_.encode(
            texts, batch_size=self.batch_size, show_progress=self.show_progress
        )

    def transform(self, X: Any) -> np.ndarray:
        """Encode ``X`` into a float32 array ``(n_samples, n_features_out_)``."""
        check_is_fitted(self, "encoder_")
        return self._encode(_as_texts(X))

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit on ``X`` then encode it (texts are validated once)."""
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names ``emb0 ... emb{dim-1}``."""
        check_is_fitted(self, "encoder_")
        return np.asarray([f"emb{i}" for i in range(self.n_features_out_)], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
