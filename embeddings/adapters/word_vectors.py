"""Averaged word vectors (GloVe, word2vec, fastText) behind the Encoder interface.

Each text is tokenized (:mod:`embeddings.adapters._tokenize`), its tokens are looked
up in the vocabulary (exact form, then the lowercase form), and the text vector is
a weighted combination of its word vectors.  Encoding builds one sparse
``(texts x vocabulary)`` weight matrix per batch and multiplies it with the
embedding table, so there is no Python loop over words at matrix time.

Texts whose tokens are all out of vocabulary get a zero vector (never NaN); how
many there were is reported in one warning per ``encode`` call.

Example:
    >>> from embeddings.adapters.word_vectors import WordVectorEncoder
    >>> enc = WordVectorEncoder(source="glove-6b-50d", pooling="mean")
    >>> enc.encode(["the cat sat on the mat"]).shape
    (1, 50)
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import scipy.sparse as sp

from embeddings.adapters._tokenize import tokenize
from embeddings.base import BaseEncoder
from embeddings.errors import InvalidParameterError

__all__ = ["WordVectorEncoder", "Pooling"]

Pooling = Literal["mean"]
_POOLINGS: tuple[str, ...] = ("mean",)


class WordVectorEncoder(BaseEncoder):
    """Pooled word vectors.

    Args:
        source: an embedded vector set (``"glove-6b-50d"``).
        pooling: how word vectors are combined: ``"mean"``.
        lowercase: lowercase text before lookup (GloVe 6B is lowercase); with
            ``False`` the exact form is tried first, then the lowercase form.

    Example:
        >>> enc = WordVectorEncoder(pooling="mean")
        >>> float(abs(enc.encode(["zzzqqq"])).sum())   # all out of vocabulary -> zeros
        0.0
    """

    family = "word_vectors"
    adapter_version = "1"
    transient = ("_vocab", "_index", "_vectors", "_n_empty")

    def __init__(
        self,
        source: str = "glove-6b-50d",
        *,
        pooling: Pooling = "mean",
        lowercase: bool = True,
    ) -> None:
        self.source = source
        self.pooling = pooling
        self.lowercase = lowercase

    # ----------------------------------------------------------------- load
    def _load(self) -> None:
        if self.pooling not in _POOLINGS:
            raise InvalidParameterError(
                f"pooling must be one of {list(_POOLINGS)}, got {self.pooling!r}"
            )
        from embeddings.formats.embedded import EMBEDDED_SOURCES, load_embedded

        if self.source not in EMBEDDED_SOURCES:
            raise InvalidParameterError(
                f"source must be an embedded vector set {sorted(EMBEDDED_SOURCES)}, "
                f"got {self.source!r}"
            )
        vocab, vectors = load_embedded(self.source)
        self._vocab = vocab
        self._index = {w: i for i, w in enumerate(vocab)}
        self._vectors = vectors

    def _resource_id(self) -> str:
        from embeddings.formats.embedded import EMBEDDED_SOURCES, embedded_version

        return embedded_version(self.source) if self.source in EMBEDDED_SOURCES else ""

    def _output_dim(self) -> int:
        return int(self._vectors.shape[1])

    # --------------------------------------------------------------- encode
    def token_ids(self, text: str) -> list[int]:
        """Vocabulary ids of the in-vocabulary tokens of ``text`` (OOV tokens skipped)."""
        self._ensure_loaded()
        index = self._index
        ids = []
        for tok in tokenize(text, lowercase=self.lowercase):
            i = index.get(tok)
            if i is None and not self.lowercase:
                i = index.get(tok.lower())
            if i is not None:
                ids.append(i)
        return ids

    def _weight_matrix(self, texts: list[str]) -> sp.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        for text in texts:
            ids = self.token_ids(text)
            if ids:
                w = 1.0 / len(ids)
                indices.extend(ids)
                data.extend([w] * len(ids))
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), indptr),
            shape=(len(texts), len(self._vocab)),
        )

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        weights = self._weight_matrix(texts)
        self._n_empty += int(np.count_nonzero(np.diff(weights.indptr) == 0))
        # sum duplicates explicitly so the float order of the sum does not depend on batching
        weights.sum_duplicates()
        return np.asarray(weights @ self._vectors, dtype=np.float32)

    def _on_encode_start(self) -> None:
        self._n_empty = 0

    def _on_encode_end(self) -> None:
        if self._n_empty:
            warnings.warn(
                f"{self.name}: {self._n_empty} text(s) had no in-vocabulary token and were "
                "encoded as zero vectors",
                RuntimeWarning,
                stacklevel=3,
            )

    def get_vocabulary(self) -> list[str]:
        """The vocabulary, in table order."""
        self._ensure_loaded()
        return list(self._vocab)

    def get_vectors(self) -> np.ndarray:
        """The (vocabulary x dim) float32 table (read-only, possibly memory-mapped)."""
        self._ensure_loaded()
        return self._vectors
