"""The word vectors themselves: vocabulary, neighbours, gensim and word2vec export.

:class:`VectorAccessMixin` gives the word-vector encoders their methods on the table
(``get_vocabulary``, ``most_similar``, ``wv`` ...); the encoder supplies the loaded
table and lookup.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._checks import check_int
from embeddings.adapters.word_vectors.lookup import Lookup, truncate
from embeddings.adapters.word_vectors.sources import is_keyed_vectors, write_keyed_store
from embeddings.errors import (
    InvalidInputError,
    InvalidParameterError,
    UnknownWordError,
    renamed_parameters,
)
from embeddings.formats.table import VectorTable

__all__ = ["VectorAccessMixin"]


class VectorAccessMixin:
    """Methods on the vector table of a word-vector encoder.

    The class it is mixed into provides ``_ensure_loaded``, ``_require_table``,
    ``_lookup`` and the parameters ``source``, ``lowercase`` and ``subwords``.
    """

    source: Any
    lowercase: bool
    subwords: bool
    name: str
    _ensure_loaded: Any
    _require_table: Any

    def _loaded(self) -> tuple[VectorTable, Lookup]:
        """The table and its lookup, loading the vectors on first use."""
        self._ensure_loaded()
        table: VectorTable = self._require_table()
        lookup: Lookup = self.__dict__["_lookup"]
        return table, lookup

    def token_ids(self, text: str) -> list[int]:
        """Row ids of the known tokens of ``text``, as ``encode`` reads it (OOV tokens
        skipped; fastText OOV words get ids ``>= len(vocabulary)``)."""
        from embeddings.base import validate_texts

        if not isinstance(text, str):
            raise InvalidInputError(f"token_ids takes one str, got {type(text).__name__}")
        _, lookup = self._loaded()
        ids, _ = lookup.lookup(truncate(validate_texts([text])))
        return ids.tolist()

    def get_vocabulary(self) -> list[str]:
        """The vocabulary, in table order."""
        return list(self._loaded()[0].vocab)

    def get_vectors(self) -> np.ndarray:
        """The (vocabulary x dim) float32 table (read-only, possibly memory-mapped)."""
        return self._loaded()[0].vectors

    def get_table(self) -> VectorTable:
        """The vocabulary, vectors and subwords as a :class:`VectorTable`."""
        return self._loaded()[0]

    # -------------------------------------------------------- interoperability
    def to_keyed_vectors(self) -> Any:
        """Export the word-vector table as a gensim ``KeyedVectors`` (a copy).

        Example:
            >>> from embeddings.adapters.word_vectors import WordVectorEncoder
            >>> WordVectorEncoder().to_keyed_vectors().vector_size
            50
        """
        from embeddings.formats.gensim_kv import table_to_keyed_vectors

        return table_to_keyed_vectors(self.get_table())

    def keyed_vectors(self) -> Any:
        """The word vectors as a gensim ``KeyedVectors``, for gensim's own tools.

        A ``KeyedVectors`` given as ``source`` is returned as it is (a model's
        ``.wv``); otherwise the table is copied once (subword vectors are left out)
        and the copy is kept while the parameters stay the same.

        Example:
            >>> from embeddings.adapters.word_vectors import WordVectorEncoder
            >>> kv = WordVectorEncoder().wv
            >>> kv.vector_size, kv.most_similar("king", topn=1)[0][0]
            (50, 'prince')
        """
        source: Any = getattr(self, "source", None)
        if is_keyed_vectors(source):
            return source if hasattr(source, "index_to_key") else source.wv
        table = self._loaded()[0]
        cached = self.__dict__.get("_kv_export")
        if cached is None or cached[0] is not table:
            from embeddings.formats.gensim_kv import table_to_keyed_vectors

            cached = (table, table_to_keyed_vectors(table))
            self._kv_export = cached
        return cached[1]

    @property
    def wv(self) -> Any:
        """The word vectors as a gensim ``KeyedVectors`` (see :meth:`keyed_vectors`)."""
        return self.keyed_vectors()

    def _word_vector(self, word: str) -> tuple[int | None, np.ndarray]:
        """(row, vector) of ``word``: lowercase when the encoder lowercases, then the
        lowercase form, then fastText subwords (row ``None``)."""
        table, lookup = self._loaded()
        index = lookup.index
        key = word.lower() if self.lowercase else word
        row = index.get(key)
        if row is None and not self.lowercase:
            row = index.get(word.lower())
        if row is not None:
            return row, lookup.vector_array()[row]
        if self.subwords and table.subwords is not None:
            vec = table.subwords.vector(key)
            if vec is not None:
                return None, vec
        how = " (looked up lowercased)" if self.lowercase else ""
        raise UnknownWordError(
            f"word {word!r:.80} is not in the vocabulary of {self.name} ({len(table.vocab)} "
            f"words){how}; pass a vector of dimension {table.dim} instead"
        )

    @renamed_parameters(word_or_vector="positive")
    def most_similar(
        self,
        positive: QueryItems = None,
        negative: QueryItems = None,
        topn: int = 10,
    ) -> list[tuple[str, float]]:
        """The ``topn`` words closest (cosine) to the mean of words and vectors, as
        gensim's ``KeyedVectors.most_similar``.

        Each word of ``positive`` counts with weight 1 and each of ``negative`` with
        weight -1 (a ``(word, weight)`` pair sets its own weight, in either list, as in
        gensim); words enter as their unit vectors and vectors as given, and the
        query is the normalised weighted mean.  The words given are left out of the
        answer, and equal scores are ordered by vocabulary row.

        Args:
            positive: a word, a vector of the word-vector dimension, or a list of
                words, vectors and ``(word, weight)`` pairs.  Words are looked up as
                ``encode`` looks up tokens (lowercased when the encoder lowercases;
                fastText subwords included).
            negative: the same, subtracted (``king - man + woman``:
                ``positive=["king", "woman"], negative=["man"]``).
            topn: number of neighbours.

        Returns:
            ``(word, cosine)`` pairs, most similar first.

        Raises:
            UnknownWordError: a word without a vector (a ``KeyError``, as in gensim).
            InvalidParameterError: no word or vector at all, ``topn`` is not an int
                >= 1, or a vector has the wrong shape.

        Example:
            >>> from embeddings.adapters.word_vectors import WordVectorEncoder
            >>> enc = WordVectorEncoder()
            >>> [w for w, _ in enc.most_similar("king", topn=3)]
            ['prince', 'queen', 'ii']
            >>> enc.most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0][0]
            'queen'
        """
        check_int("topn", topn)
        if _is_number(negative):
            raise InvalidParameterError(
                f"most_similar's second parameter is negative= (words or vectors to "
                f"subtract), got the number {negative!r}; pass topn={negative!r} by keyword"
            )
        table, lookup = self._loaded()
        weighted = _query_items(positive, table.dim, 1.0) + _query_items(negative, table.dim, -1.0)
        if not weighted:
            raise InvalidParameterError(
                f"most_similar needs at least one word or vector, got positive={positive!r:.80} "
                f"and negative={negative!r:.80}; e.g. most_similar(positive=['king', "
                "'woman'], negative=['man'])"
            )
        parts, exclude = [], set()
        for item, weight in weighted:
            if isinstance(item, str):
                row, vec = self._word_vector(item)
                norm = float(np.linalg.norm(vec))
                parts.append(weight * (vec / norm if norm > 0 else vec))
                if row is not None:
                    exclude.add(row)
            else:
                parts.append(weight * item)
        query = np.mean(np.asarray(parts, dtype=np.float32), axis=0)
        norm = float(np.linalg.norm(query))
        scores = (lookup.vector_array() @ query.astype(np.float32)) * lookup.inv_norms()
        scores = scores / norm if norm > 0 else np.zeros_like(scores)
        rows = np.fromiter(exclude, dtype=np.int64, count=len(exclude))
        scores[rows] = -np.inf
        k = min(int(topn), len(table.vocab) - len(rows))
        if k <= 0:
            return []
        if k < scores.size:
            threshold = np.partition(scores, scores.size - k)[scores.size - k]
            ids = np.flatnonzero(scores >= threshold)
        else:
            ids = np.arange(scores.size)
        ids = ids[np.lexsort((ids, -scores[ids]))][:k]
        return [(table.vocab[i], float(scores[i])) for i in ids]

    def save_word2vec_format(self, path: str | os.PathLike[str], *, binary: bool = False) -> Path:
        """Write the word-vector table in word2vec text (or binary) format.

        Example:
            >>> import tempfile, os
            >>> from embeddings.adapters.word_vectors import WordVectorEncoder
            >>> p = WordVectorEncoder().save_word2vec_format(
            ...     os.path.join(tempfile.mkdtemp(), "v.bin"), binary=True)  # doctest: +SKIP
        """
        from embeddings.formats.binary import write_word2vec_binary
        from embeddings.formats.text import write_word2vec_text

        table = self.get_table()
        if binary:
            write_word2vec_binary(path, table.vocab, table.vectors)
        else:
            write_word2vec_text(path, table.vocab, table.vectors)
        return Path(path)

    @classmethod
    def from_keyed_vectors(
        cls,
        kv: Any,
        *,
        store_dir: str | os.PathLike[str] | None = None,
        **params: Any,
    ) -> Any:
        """Build an encoder from a gensim ``KeyedVectors`` (or a model with ``.wv``) via a store.

        ``embeddings.load("word-vectors", source=kv)`` keeps the vectors in memory and
        in the saved folder instead.  Here the vectors are written once to a native
        store (``store_dir``, or a folder under :func:`embeddings.formats.store_root`
        named by their content hash), and the encoder's ``source`` is that folder, so
        the encoder stays a plain set of JSON parameters that saves, clones and
        fingerprints like any other.

        Args:
            kv: ``KeyedVectors``, ``FastTextKeyedVectors`` (subwords kept), or a model.
            store_dir: where to write the store.
            **params: other constructor parameters (``pooling`` ...).

        Example:
            >>> import numpy as np, tempfile
            >>> from gensim.models import KeyedVectors
            >>> from embeddings.adapters.word_vectors import WordVectorEncoder
            >>> kv = KeyedVectors(2); kv.add_vectors(["hi", "there"], np.eye(2))
            >>> enc = WordVectorEncoder.from_keyed_vectors(kv, store_dir=tempfile.mkdtemp() + "/s")
            >>> enc.encode(["hi there"]).tolist()
            [[0.5, 0.5]]
        """
        if "source" in params or "format" in params:
            raise InvalidParameterError(
                "from_keyed_vectors sets source and format itself; pass the other parameters"
            )
        make: Any = cls  # a word-vector encoder class
        return make(source=str(write_keyed_store(kv, store_dir)), format="native", **params)


#: what ``most_similar`` takes for ``positive`` and ``negative``
QueryItems = str | np.ndarray | Sequence[Any] | None


def _query_items(value: object, dim: int, sign: float) -> list[tuple[str | np.ndarray, float]]:
    """``(word or vector, weight)`` pairs of a ``positive`` (``sign`` 1) or ``negative``
    (``sign`` -1) argument: a word, one vector (an array, or a list of numbers), or a
    list of words, vectors (weight ``sign``) and ``(word, weight)`` pairs (weight as
    given)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [(value, sign)]
    if isinstance(value, np.ndarray) and value.ndim != 2:
        return [(_query_vector(value, dim), sign)]
    if isinstance(value, np.ndarray):  # one vector per row
        return [(_query_vector(row, dim), sign) for row in value]
    if not isinstance(value, list | tuple) or (value and _is_number(value[0])):
        return [(_query_vector(value, dim), sign)]
    items: list[tuple[str | np.ndarray, float]] = []
    for item in value:
        if isinstance(item, str):
            items.append((item, sign))
        elif (
            isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
            and _is_number(item[1]) and np.isfinite(float(item[1]))
        ):  # fmt: skip
            items.append((item[0], float(item[1])))
        else:
            items.append((_query_vector(item, dim), sign))
    return items


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _query_vector(value: object, dim: int) -> np.ndarray:
    """``value`` as a finite float32 vector of shape ``(dim,)``, else InvalidParameterError."""
    try:
        query = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError, OverflowError):
        query = None
    if query is None or query.shape != (dim,) or not np.isfinite(query).all():
        got = f"a {type(value).__name__} of no numbers" if query is None else f"shape {query.shape}"
        raise InvalidParameterError(
            f"most_similar takes a word or a finite vector of shape ({dim},), got {got}"
        )
    return query
