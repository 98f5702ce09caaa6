"""Baseline encoders: TF-IDF, LSA and random projections (BOREP-style).

They are encoders like any other, so they run through the same heads, caches and
benchmarks.  TF-IDF and LSA learn their vocabulary, IDF weights and SVD on the
training texts only (``fit``); a test sentence never changes a train vector.

Bounds: each size parameter has a documented maximum (:data:`MAX_FEATURES`,
:data:`MAX_NGRAM`, :data:`MAX_LSA_COMPONENTS`, :data:`MAX_PROJECTION_COMPONENTS`,
:data:`MAX_PROJECTION_BYTES`), checked by ``_validate`` (so for every saved folder
too) or, for the projection matrix, before it is allocated.  A text is read up to
its first :data:`MAX_INPUT_CHARACTERS` characters (TF-IDF with n-grams longer than
2 words: :data:`MAX_NGRAM_CHARACTERS` ``// max_n``, since each character then costs
``max_n`` n-grams); the rest is cut off.

Example:
    >>> from embeddings.adapters.baselines import TfidfEncoder
    >>> enc = TfidfEncoder(max_features=100).fit(["a good film", "a bad film"])
    >>> enc.encode(["good film"]).shape
    (1, 4)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_bool, check_int, is_int
from embeddings._params import store_params
from embeddings.base import BaseEncoder, check_meta, check_state_arrays, validate_texts
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.tokenize import TOKEN_PATTERN

__all__ = [
    "TfidfEncoder",
    "LsaEncoder",
    "RandomProjectionEncoder",
    "MAX_FEATURES",
    "MAX_NGRAM",
    "MAX_LSA_COMPONENTS",
    "MAX_PROJECTION_COMPONENTS",
    "MAX_PROJECTION_BYTES",
    "MAX_INPUT_CHARACTERS",
    "MAX_NGRAM_CHARACTERS",
]

#: the largest TF-IDF vocabulary (``max_features`` of TF-IDF and LSA); a dense TF-IDF
#: vector has at most this many float32 values (4 MB)
MAX_FEATURES = 1_000_000
#: the longest word n-gram of TF-IDF (``ngram_range``'s ``max_n``)
MAX_NGRAM = 10
#: the largest LSA output dimension (``n_components``)
MAX_LSA_COMPONENTS = 10_000
#: the largest random-projection output dimension (``n_components``)
MAX_PROJECTION_COMPONENTS = 100_000
#: the largest random-projection matrix, base dim x ``n_components`` float64, in bytes
#: (a 300-dimensional base at the largest ``n_components`` takes 240 MB)
MAX_PROJECTION_BYTES = 512 * 1024**2
#: the largest seed of LSA's randomized SVD (numpy's ``RandomState`` range)
MAX_RANDOM_STATE = 2**32 - 1
#: the characters of a text that these encoders read (encode and fit); the rest of a
#: longer text is cut off before tokenizing
MAX_INPUT_CHARACTERS = 1_000_000
#: TF-IDF reads ``MAX_NGRAM_CHARACTERS // max_n`` characters at most (200,000 for
#: 10-grams): the analyzer builds about ``max_n`` n-gram strings per token
MAX_NGRAM_CHARACTERS = 2_000_000


def _check_int_at_most(name: str, value: Any, minimum: int, maximum: int) -> int:
    """``value`` as an int, refused unless ``minimum <= value <= maximum``."""
    number = check_int(name, value, minimum)
    if number > maximum:
        raise InvalidParameterError(
            f"{name} must be an int from {minimum} to {maximum:,}, got {number!r:.40}"
        )
    return number


def _truncate(texts: list[str], limit: int = MAX_INPUT_CHARACTERS) -> list[str]:
    """``texts`` with each one cut to its first ``limit`` characters (the same list when
    none is longer)."""
    if max(map(len, texts), default=0) <= limit:
        return texts
    return [t[:limit] if len(t) > limit else t for t in texts]


def _check_vocabulary(meta: Mapping[str, Any], owner: str, max_features: int) -> int:
    """The saved TF-IDF vocabulary: a non-empty list of at most ``max_features`` distinct
    strings; returns its size."""
    check_meta(meta, {"vocabulary": "list"}, owner=owner)
    vocabulary = meta["vocabulary"]
    if not vocabulary:
        raise ModelFormatError(f"{owner}: state field 'vocabulary' is empty")
    if len(vocabulary) > max_features:
        raise ModelFormatError(
            f"{owner}: state field 'vocabulary' has {len(vocabulary)} terms, more than "
            f"max_features={max_features}"
        )
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
        max_features: vocabulary size cap (the output dimension is at most this),
            at most :data:`MAX_FEATURES` (1,000,000).
        ngram_range: ``(min_n, max_n)`` word n-grams, integers with
            ``1 <= min_n <= max_n <= MAX_NGRAM`` (10).  A text is read up to its first
            ``min(1,000,000, 2,000,000 // max_n)`` characters (:meth:`input_limit`).
        min_df: ignore terms in fewer than this many training texts (a threshold:
            no size, no maximum).
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
    max_input_length = MAX_INPUT_CHARACTERS  # lower for long n-grams: see input_limit
    max_input_unit = "characters"

    def __init__(
        self,
        max_features: int = 5000,
        *,
        ngram_range: tuple[int, int] = (1, 1),
        min_df: int = 1,
        sublinear_tf: bool = True,
        lowercase: bool = True,
    ) -> None:
        store_params(self, locals())

    def input_limit(self) -> tuple[int, str]:
        """``(characters, "characters")``: :data:`MAX_INPUT_CHARACTERS`, or
        :data:`MAX_NGRAM_CHARACTERS` ``// max_n`` when that is lower.

        Example:
            >>> TfidfEncoder(ngram_range=(1, 10)).input_limit()
            (200000, 'characters')
        """
        ngram = self.ngram_range
        max_n = ngram[1] if isinstance(ngram, (tuple, list)) and len(ngram) == 2 else 1
        max_n = max_n if is_int(max_n) and 1 <= max_n <= MAX_NGRAM else 1
        return min(MAX_INPUT_CHARACTERS, MAX_NGRAM_CHARACTERS // int(max_n)), "characters"

    def _cut(self, texts: list[str]) -> list[str]:
        """``texts`` cut at :meth:`input_limit`."""
        return _truncate(texts, self.input_limit()[0])

    def _validate(self) -> None:
        _check_int_at_most("max_features", self.max_features, 1, MAX_FEATURES)
        check_int("min_df", self.min_df, 1)
        ngram = self.ngram_range
        if (
            not isinstance(ngram, (tuple, list))
            or len(ngram) != 2
            or not all(map(is_int, ngram))
            or not (1 <= ngram[0] <= ngram[1] <= MAX_NGRAM)
        ):
            raise InvalidParameterError(
                "ngram_range must be (min_n, max_n), integers with 1 <= min_n <= max_n <= "
                f"{MAX_NGRAM}, got {self.ngram_range!r:.80}"
            )
        check_bool("sublinear_tf", self.sublinear_tf)
        check_bool("lowercase", self.lowercase)

    def _check_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        owner = "saved TF-IDF state"
        n = _check_vocabulary(meta, owner, int(self.max_features))
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
            vec.fit(self._cut(texts))
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
        return self._vec.transform(self._cut(texts))

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        # float32 before densifying: the same values without a dense float64 copy
        return self._vec.transform(self._cut(texts)).astype(np.float32).toarray()


class LsaEncoder(BaseEncoder):
    """Latent semantic analysis: TF-IDF followed by a truncated SVD, fit on train.

    Args:
        n_components: output dimension (capped at the vocabulary size - 1), at most
            :data:`MAX_LSA_COMPONENTS` (10,000).
        max_features: TF-IDF vocabulary cap, at most :data:`MAX_FEATURES` (1,000,000).
        sublinear_tf: use ``1 + log(tf)`` in the TF-IDF step.
        normalize: L2-normalise the output vectors.
        random_state: seed of the randomized SVD, from 0 to 2**32 - 1.

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
    max_input_length = MAX_INPUT_CHARACTERS  # cut in the TF-IDF step
    max_input_unit = "characters"

    def __init__(
        self,
        n_components: int = 300,
        *,
        max_features: int = 50000,
        sublinear_tf: bool = True,
        normalize: bool = True,
        random_state: int = 0,
    ) -> None:
        store_params(self, locals())

    def _validate(self) -> None:
        _check_int_at_most("n_components", self.n_components, 1, MAX_LSA_COMPONENTS)
        _check_int_at_most("max_features", self.max_features, 1, MAX_FEATURES)
        _check_int_at_most("random_state", self.random_state, 0, MAX_RANDOM_STATE)
        check_bool("sublinear_tf", self.sublinear_tf)
        check_bool("normalize", self.normalize)

    def _check_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        owner = "saved LSA state"
        n = _check_vocabulary(meta, owner, int(self.max_features))
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


#: the ``base`` of the random projection whose base is being loaded, else ``None``: a
#: projection inside that base is refused
_LOADING_BASE: ContextVar[str | None] = ContextVar("_LOADING_BASE", default=None)


@contextmanager
def _loading_base(base: str) -> Iterator[None]:
    """The scope in which a random projection loads (or fingerprints) its ``base``.

    Raises:
        InvalidParameterError: the scope is entered again while open: the base holds
            a random projection (itself, another one, or one in a concatenation),
            which would also let a saved folder name itself as its own base.
    """
    outer = _LOADING_BASE.get()
    if outer is not None:
        raise InvalidParameterError(
            f"the base {outer!r:.80} of a random projection holds a random projection "
            f"itself (with base {base!r:.80}; directly, in a concatenation or in a saved "
            "folder); a projection of a projection is one projection: project the vectors "
            "once"
        )
    token = _LOADING_BASE.set(base)
    try:
        yield
    finally:
        _LOADING_BASE.reset(token)


def _projection_matrix(d: int, k: int, seed: int) -> np.ndarray:
    """The ``(d, k)`` matrix, uniform in ``[-1/sqrt(d), 1/sqrt(d)]``, rounded to float32
    and held as float64 (the product's precision).

    Drawn in blocks of rows from one generator: the same numbers as one
    ``uniform(size=(d, k))`` draw, without a full-size float64 temporary.
    """
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(d)
    out = np.empty((d, k), dtype=np.float64)
    step = max(1, (1 << 21) // k)  # rows per draw: about 16 MB of float64
    for start in range(0, d, step):
        stop = min(start + step, d)
        out[start:stop] = rng.uniform(-bound, bound, size=(stop - start, k)).astype(np.float32)
    return out


class RandomProjectionEncoder(BaseEncoder):
    """Seeded random projection of another encoder's vectors (BOREP-style).

    Wieting & Kiela (2019), "No training required": a random matrix with entries
    uniform in ``[-1/sqrt(d), 1/sqrt(d)]`` maps the (averaged word) vectors of
    ``base`` to ``n_components`` dimensions.  Because mean pooling and projection
    are both linear, projecting the average equals averaging the projections.

    The matrix is drawn on first use, once the base's dimension ``d`` is known; it
    holds ``d x n_components`` float64 values, at most :data:`MAX_PROJECTION_BYTES`
    (512 MiB), which is checked before it is allocated.  A text is read up to its first
    :data:`MAX_INPUT_CHARACTERS` characters (and the base cuts it further if its own
    limit is lower).

    Args:
        base: preset name, spec or saved-encoder folder of the encoder whose vectors
            are projected; it must not hold a random projection itself.
        n_components: output dimension, at most :data:`MAX_PROJECTION_COMPONENTS`
            (100,000).
        activation: ``"identity"`` or ``"relu"`` applied after the projection.
        random_state: seed of the projection matrix (an int >= 0).

    Example:
        >>> enc = RandomProjectionEncoder(base="glove-6b-50d", n_components=8)
        >>> enc.encode(["a cat"]).shape
        (1, 8)
    """

    family = "baseline"
    transient = ("_base", "_matrix")
    path_params = ("base",)
    max_input_length = MAX_INPUT_CHARACTERS
    max_input_unit = "characters"

    def __init__(
        self,
        base: str = "glove-6b-50d",
        *,
        n_components: int = 1024,
        activation: Literal["identity", "relu"] = "identity",
        random_state: int = 0,
    ) -> None:
        store_params(self, locals())

    def _validate(self) -> None:
        if not isinstance(self.base, str) or not self.base:
            raise InvalidParameterError(
                f"base must be a preset name or a saved-encoder folder, got {self.base!r:.80}"
            )
        _check_int_at_most("n_components", self.n_components, 1, MAX_PROJECTION_COMPONENTS)
        check_int("random_state", self.random_state, 0)
        if self.activation not in ("identity", "relu"):
            raise InvalidParameterError(
                f"activation must be 'identity' or 'relu', got {self.activation!r:.40}"
            )

    def _load(self) -> None:
        from embeddings.registry import load

        k = int(self.n_components)
        with _loading_base(self.base):
            base = load(self.base)
            d = int(base.dim)
        size = d * k * 8
        if size > MAX_PROJECTION_BYTES:
            raise InvalidParameterError(
                f"n_components={k} with base {self.base!r:.80} of dimension {d} needs a "
                f"{d} x {k} float64 projection matrix of {size / 2**20:,.0f} MiB, more than "
                f"the {MAX_PROJECTION_BYTES // 2**20:,} MiB allowed; lower n_components to at "
                f"most {MAX_PROJECTION_BYTES // (8 * d):,}"
            )
        self._base = base
        self.__dict__.pop("_matrix", None)  # a reload never holds two matrices
        self._matrix = _projection_matrix(d, k, int(self.random_state))

    def _resource_id(self) -> str:
        from embeddings.registry import load

        with _loading_base(self.base):
            return load(self.base).fingerprint()

    def _output_dim(self) -> int:
        return int(self._matrix.shape[1])

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        texts = _truncate(texts)
        base = self._base.encode(texts, batch_size=max(len(texts), 1)).astype(np.float64)
        # float64 product: row results do not depend on how many rows share the call
        Z = base @ self._matrix
        if self.activation == "relu":
            np.maximum(Z, 0, out=Z)
        return Z.astype(np.float32)
