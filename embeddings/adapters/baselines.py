"""Baseline encoders: TF-IDF, LSA and random projections (BOREP-style).

They are encoders like any other, so they run through the same heads, caches and
benchmarks.  TF-IDF and LSA learn their vocabulary, IDF weights and SVD on the
training texts only (``fit``); a test sentence never changes a train vector.

Example:
    >>> from embeddings.adapters.baselines import TfidfEncoder
    >>> enc = TfidfEncoder(max_features=100).fit(["a good film", "a bad film"])
    >>> enc.encode(["good film"]).shape
    (1, 4)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_bool, check_int
from embeddings.adapters._tokenize import TOKEN_PATTERN
from embeddings.base import BaseEncoder, check_meta, check_state_arrays, validate_texts
from embeddings.errors import InvalidParameterError, ModelFormatError

__all__ = ["TfidfEncoder", "LsaEncoder", "RandomProjectionEncoder"]


def _check_vocabulary(meta: Mapping[str, Any], owner: str) -> int:
    """The saved TF-IDF vocabulary: a non-empty list of distinct strings; returns its size."""
    vocabulary = meta["vocabulary"]
    if not vocabulary:
        raise ModelFormatError(f"{owner}: state field 'vocabulary' is empty")
    bad = next((i for i, w in enumerate(vocabulary) if not isinstance(w, str)), None)
    if bad is not None:
        raise ModelFormatError(
            f"{owner}: state field 'vocabulary' must hold strings, item {bad} is "
            f"{type(vocabulary[bad]).__name__}"
        )
    if len(set(vocabulary)) != len(vocabulary):
        raise ModelFormatError(f"{owner}: state field 'vocabulary' repeats terms")
    return len(vocabulary)


class TfidfEncoder(BaseEncoder):
    """TF-IDF bag of words as a dense vector, fitted on training texts.

    Uses scikit-learn's ``TfidfVectorizer`` with transferkit's word tokenizer; the
    vocabulary is capped at ``max_features`` (most frequent terms) so the dense
    output stays small.

    Args:
        max_features: vocabulary size cap (the output dimension is at most this).
        ngram_range: ``(min_n, max_n)`` word n-grams.
        min_df: ignore terms in fewer than this many training texts.
        sublinear_tf: use ``1 + log(tf)``.
        lowercase: lowercase before tokenizing.

    Example:
        >>> enc = TfidfEncoder(max_features=10).fit(["x y", "y z"])
        >>> enc.dim
        3
    """

    family = "baseline"
    adapter_version = "2"  # 2: surrogates reach the vocabulary as U+FFFD (input policy)
    loads_versions = ("1",)  # same saved state
    requires_fit = True
    trainable = True
    transient = ()

    def __init__(
        self,
        max_features: int = 5000,
        *,
        ngram_range: tuple[int, int] = (1, 1),
        min_df: int = 1,
        sublinear_tf: bool = True,
        lowercase: bool = True,
    ) -> None:
        self.max_features = max_features
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf
        self.lowercase = lowercase

    def _validate(self) -> None:
        check_int("max_features", self.max_features, 1)
        check_int("min_df", self.min_df, 1)
        ngram = self.ngram_range
        if (
            not isinstance(ngram, (tuple, list))
            or len(ngram) != 2
            or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in ngram)
            or not (1 <= ngram[0] <= ngram[1])
        ):
            raise InvalidParameterError(
                "ngram_range must be (min_n, max_n) with 1 <= min_n <= max_n, "
                f"got {self.ngram_range!r}"
            )
        check_bool("sublinear_tf", self.sublinear_tf)
        check_bool("lowercase", self.lowercase)

    def _check_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        owner = "saved TF-IDF state"
        check_meta(meta, {"vocabulary": "list"}, owner=owner)
        n = _check_vocabulary(meta, owner)
        check_state_arrays(arrays, {"idf": ("float64", (n,))}, owner=owner)

    def _vectorizer(self, vocabulary: dict[str, int] | None = None) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._validate()
        ngram = tuple(self.ngram_range)
        return TfidfVectorizer(
            lowercase=bool(self.lowercase),
            token_pattern=TOKEN_PATTERN,
            analyzer="word",
            ngram_range=(int(ngram[0]), int(ngram[1])),
            max_features=int(self.max_features),
            min_df=int(self.min_df),
            sublinear_tf=bool(self.sublinear_tf),
            dtype=np.float64,
            vocabulary=vocabulary,
        )

    def _fit(self, texts: list[str]) -> None:
        vec = self._vectorizer()
        try:
            vec.fit(texts)
        except ValueError as err:  # e.g. empty vocabulary
            raise InvalidParameterError(
                f"TF-IDF could not be fitted on these texts: {err}"
            ) from err
        self._set_fitted(vec.get_feature_names_out().tolist(), vec.idf_)

    def _set_fitted(self, vocabulary: list[str], idf: np.ndarray) -> None:
        self.vocabulary_ = list(vocabulary)
        self.idf_ = np.asarray(idf, dtype=np.float64)
        vec = self._vectorizer({w: i for i, w in enumerate(self.vocabulary_)})
        vec.fit(["x"])  # sets up the analyzer; the IDF is replaced next
        vec.idf_ = self.idf_
        self._vec = vec

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"idf": self.idf_}, {"vocabulary": self.vocabulary_}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self._set_fitted(list(meta["vocabulary"]), arrays["idf"])

    def _output_dim(self) -> int:
        return len(self.vocabulary_)

    def encode_sparse(self, texts: Sequence[str]) -> Any:
        """The TF-IDF matrix as float32 ``scipy.sparse`` CSR (rows L2-normalised).

        The same values as :meth:`encode` without densifying: linear heads train on
        it much faster (a row has a few dozen non-zeros out of ``dim``).

        Example:
            >>> enc = TfidfEncoder().fit(["a cat", "a dog"])
            >>> enc.encode_sparse(["a cat"]).toarray().tolist() == enc.encode(["a cat"]).tolist()
            True
        """
        texts_list = validate_texts(texts)
        self._ensure_loaded()
        self._check_fitted()
        return self._transform(texts_list).astype(np.float32).tocsr()

    def _transform(self, texts: list[str]) -> Any:
        """The float64 sparse TF-IDF matrix (LSA's input)."""
        self._check_fitted()
        return self._vec.transform(texts)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._vec.transform(texts).toarray().astype(np.float32)


class LsaEncoder(BaseEncoder):
    """Latent semantic analysis: TF-IDF followed by a truncated SVD, fit on train.

    Args:
        n_components: output dimension (capped at the vocabulary size - 1).
        max_features: TF-IDF vocabulary cap.
        sublinear_tf: use ``1 + log(tf)`` in the TF-IDF step.
        normalize: L2-normalise the output vectors.
        random_state: seed of the randomized SVD.

    Example:
        >>> texts = ["a good film", "a bad film", "good acting", "bad plot", "a plot"]
        >>> LsaEncoder(n_components=2).fit(texts).encode(["good plot"]).shape
        (1, 2)
    """

    family = "baseline"
    adapter_version = "2"  # 2: surrogates reach the vocabulary as U+FFFD (input policy)
    loads_versions = ("1",)  # same saved state
    requires_fit = True
    trainable = True

    def __init__(
        self,
        n_components: int = 300,
        *,
        max_features: int = 50000,
        sublinear_tf: bool = True,
        normalize: bool = True,
        random_state: int = 0,
    ) -> None:
        self.n_components = n_components
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.normalize = normalize
        self.random_state = random_state

    def _validate(self) -> None:
        check_int("n_components", self.n_components, 1)
        check_int("max_features", self.max_features, 1)
        check_int("random_state", self.random_state, 0)
        check_bool("sublinear_tf", self.sublinear_tf)
        check_bool("normalize", self.normalize)

    def _check_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        owner = "saved LSA state"
        check_meta(meta, {"vocabulary": "list"}, owner=owner)
        n = _check_vocabulary(meta, owner)
        check_state_arrays(
            arrays,
            {"idf": ("float64", (n,)), "components": ("float64", (None, n))},
            owner=owner,
        )
        k = arrays["components"].shape[0]
        if not 1 <= k <= int(self.n_components):
            raise ModelFormatError(
                f"{owner}: array 'components' has {k} rows, expected 1 to n_components="
                f"{self.n_components}"
            )

    def _fit(self, texts: list[str]) -> None:
        from sklearn.decomposition import TruncatedSVD

        self._validate()
        k = int(self.n_components)
        tfidf = TfidfEncoder(max_features=self.max_features, sublinear_tf=self.sublinear_tf)
        tfidf.fit(texts)
        X = tfidf._transform(texts)
        k_eff = min(k, X.shape[1] - 1, X.shape[0] - 1)
        if k_eff < 1:
            raise InvalidParameterError(
                f"LSA needs at least 2 training texts and 2 distinct terms, got {X.shape[0]} "
                f"texts and {X.shape[1]} terms"
            )
        if k_eff < k:
            import warnings

            warnings.warn(
                f"LSA: n_components={k} is more than the training data allows; using {k_eff} "
                f"({X.shape[0]} texts, {X.shape[1]} terms)",
                RuntimeWarning,
                stacklevel=4,
            )
        svd = TruncatedSVD(
            n_components=k_eff, algorithm="randomized", random_state=self.random_state
        )
        svd.fit(X)
        self.tfidf_ = tfidf
        self.components_ = svd.components_.astype(np.float64)

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, meta = self.tfidf_._get_state()
        return {**arrays, "components": self.components_}, meta

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        tfidf = TfidfEncoder(max_features=self.max_features, sublinear_tf=self.sublinear_tf)
        tfidf._set_state(arrays, meta)
        tfidf._fitted_for = tfidf._fit_key()
        self.tfidf_ = tfidf
        self.components_ = np.asarray(arrays["components"], dtype=np.float64)

    def _output_dim(self) -> int:
        return int(self.components_.shape[0])

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        Z = np.asarray(self.tfidf_._transform(texts) @ self.components_.T)
        if self.normalize:
            norms = np.linalg.norm(Z, axis=1, keepdims=True)
            Z = np.divide(Z, norms, out=np.zeros_like(Z), where=norms > 0)
        return Z.astype(np.float32)


class RandomProjectionEncoder(BaseEncoder):
    """Seeded random projection of another encoder's vectors (BOREP-style).

    Wieting & Kiela (2019), "No training required": a random matrix with entries
    uniform in ``[-1/sqrt(d), 1/sqrt(d)]`` maps the (averaged word) vectors of
    ``base`` to ``n_components`` dimensions.  Because mean pooling and projection
    are both linear, projecting the average equals averaging the projections.

    Args:
        base: preset name of the encoder whose vectors are projected.
        n_components: output dimension.
        activation: ``"identity"`` or ``"relu"`` applied after the projection.
        random_state: seed of the projection matrix.

    Example:
        >>> enc = RandomProjectionEncoder(base="glove-6b-50d", n_components=8)
        >>> enc.encode(["a cat"]).shape
        (1, 8)
    """

    family = "baseline"
    path_params = ("base",)
    transient = ("_base", "_matrix")

    def __init__(
        self,
        base: str = "glove-6b-50d",
        *,
        n_components: int = 1024,
        activation: Literal["identity", "relu"] = "identity",
        random_state: int = 0,
    ) -> None:
        self.base = base
        self.n_components = n_components
        self.activation = activation
        self.random_state = random_state

    def _validate(self) -> None:
        if not isinstance(self.base, str) or not self.base:
            raise InvalidParameterError(
                f"base must be a preset name or a saved-encoder folder, got {self.base!r}"
            )
        check_int("n_components", self.n_components, 1)
        check_int("random_state", self.random_state, 0)
        if self.activation not in ("identity", "relu"):
            raise InvalidParameterError(
                f"activation must be 'identity' or 'relu', got {self.activation!r}"
            )

    def _load(self) -> None:
        from embeddings.registry import load

        self._validate()
        k = int(self.n_components)
        self._base = load(self.base)
        d = self._base.dim
        rng = np.random.default_rng(int(self.random_state))
        bound = 1.0 / np.sqrt(d)
        self._matrix = rng.uniform(-bound, bound, size=(d, k)).astype(np.float32)

    def _resource_id(self) -> str:
        from embeddings.registry import load

        return load(self.base).fingerprint()

    def _output_dim(self) -> int:
        return int(self._matrix.shape[1])

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        base = self._base.encode(texts, batch_size=max(len(texts), 1)).astype(np.float64)
        # float64 product: row results do not depend on how many rows share the call
        Z = base @ self._matrix.astype(np.float64)
        if self.activation == "relu":
            np.maximum(Z, 0, out=Z)
        return Z.astype(np.float32)
