""":class:`WordVectorEncoder`: a vector source, a lookup and a pooling put together.

The pieces live in their own modules: :mod:`.sources` (where the vectors come from),
:mod:`.lookup` (text to vocabulary rows), :mod:`.pooling` (rows to a text vector, and
what a pooling learns), :mod:`.state` (the saved state), :mod:`.workers`
(``n_jobs``) and :mod:`.access` (the table itself: neighbours, gensim export).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._checks import check_bool, is_int
from embeddings._params import store_params
from embeddings._texts import warn_empty_texts
from embeddings.adapters.word_vectors.access import VectorAccessMixin
from embeddings.adapters.word_vectors.lookup import (
    MAX_INPUT_CHARACTERS,
    Lookup,
    identity,
    truncate,
)
from embeddings.adapters.word_vectors.pooling import (
    FITTED_POOLINGS,
    FittedPooling,
    Pooler,
    Pooling,
    WordFreq,
)
from embeddings.adapters.word_vectors.sources import (
    KeyedTable,
    is_keyed_vectors,
    keyed_table,
    load_source,
    reads_pickle,
)
from embeddings.adapters.word_vectors.state import (
    VECTORS_MARKER,
    check_content,
    check_state,
    is_vectors_marker,
    public,
    read_pooling,
    read_table,
    write_state,
)
from embeddings.adapters.word_vectors.workers import MAX_JOBS, WorkerPool
from embeddings.base import BaseEncoder
from embeddings.errors import InvalidParameterError
from embeddings.formats import FORMATS
from embeddings.formats.table import VectorTable

__all__ = ["WordVectorEncoder"]

#: the ``format`` values: ``"auto"`` and the formats :mod:`embeddings.formats` reads
_FORMATS: tuple[str, ...] = ("auto", *FORMATS)


@public
class WordVectorEncoder(VectorAccessMixin, BaseEncoder):
    """Pooled word vectors from an embedded set, a vector file, or a native store.

    A text is read up to its first :data:`MAX_INPUT_CHARACTERS` (1,000,000)
    characters, by ``encode`` and ``fit`` alike; the rest is cut off before
    tokenizing (``input_limit()``).  Encoders of the same vectors (same embedded set,
    same store, same content sha256) share one read-only vector table and one
    vocabulary index in a process.

    Args:
        source: an embedded vector set (``"glove-6b-50d"``), a path to a vector
            file (word2vec text/binary, GloVe text, fastText ``.vec``/``.bin``,
            gensim native) or a native store folder, or a gensim ``KeyedVectors``
            (or a model with ``.wv``) in memory.  Files are converted once to a
            native store (see :func:`embeddings.formats.load_vectors`); vectors given
            in memory are written into the encoder's saved state by ``save`` (no
            pickle), and its parameters and fingerprint name them by content sha256.
        format: the file format, ``"auto"`` to detect it.
        pooling: ``mean``, ``tfidf``, ``sif``, ``usif``, ``max`` or ``pmean``.
        lowercase: lowercase text before lookup (GloVe 6B is lowercase); with
            ``False`` the exact form is tried first, then the lowercase form.
        subwords: build vectors for unknown words from fastText subwords when the
            source has them.
        sif_a: the ``a`` of SIF weights ``a / (a + p(w))``.
        word_freq: where ``p(w)`` comes from for ``sif``/``usif``: ``"train"`` (token
            counts of the texts passed to ``fit``) or ``"wordfreq"`` (the ``wordfreq``
            package's English frequencies).
        n_components: principal components removed by ``sif``/``usif`` (``None``: 1
            for sif, 5 for usif; ``0`` disables removal); at most
            :data:`MAX_COMPONENTS` (10,000).
        powers: the power means of ``pmean``: integers from 1 to :data:`MAX_POWER`
            (100) and ``"max"``/``"min"``, at most :data:`MAX_POWERS` (16) entries.
        trust_pickle: allow gensim native (pickle) files as ``source``.  A decision of
            the caller only: ``save`` does not write it, a saved folder that sets it is
            refused, and an encoder that reads a pickle cannot be saved.
        n_jobs: processes used for large batches (``batch_size >= 4096``; POSIX
            ``fork`` only).  ``-1`` uses every CPU; at most :data:`MAX_JOBS` (256), and
            never more processes than CPUs are started.  The output is bit-identical
            to ``n_jobs=1``: each text's vector depends on that text only.

    Example:
        >>> enc = WordVectorEncoder(pooling="mean")
        >>> float(abs(enc.encode(["zzzqqq"])).sum())   # all out of vocabulary -> zeros
        0.0
        >>> WordVectorEncoder(pooling="pmean").dim
        150
    """

    family = "word_vectors"
    max_input_length = MAX_INPUT_CHARACTERS  # linear cost: a generous cap
    max_input_unit = "characters"
    sort_by_length = False  # no padding: batches are input-order slices
    min_batch_size = 65536  # the cost is per batch (Arrow calls, the chunk cache, two sparse
    # products): fewer, larger batches meet each distinct chunk fewer times
    # 3: chunk-level sparse pooling (rounding differs); 4: surrogates reach the lookup
    # as U+FFFD (BaseEncoder's input policy), a vocabulary that holds U+FFFD serves them
    adapter_version = "5"  # 5: fastText n-grams of a word over 1,024 characters use its head
    loads_versions = ("2", "3", "4")  # same saved state
    caller_only_params = ("trust_pickle",)
    path_params = ("source",)
    transient = (
        "_table",
        "_lookup",
        "_resource",
        "_n_empty",
        "_workers",
        "_kv_converted",
        "_kv_export",
    )
    _workers: WorkerPool | None

    def __init__(
        self,
        source: str = "glove-6b-50d",
        *,
        format: str = "auto",
        pooling: Pooling = "mean",
        lowercase: bool = True,
        subwords: bool = True,
        sif_a: float = 1e-3,
        word_freq: WordFreq = "train",
        n_components: int | None = None,
        powers: Sequence[int | str] = (1, "max", "min"),
        trust_pickle: bool = False,
        n_jobs: int = 1,
    ) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------ properties
    @property
    def requires_fit(self) -> bool:  # type: ignore[override]
        """``True`` for the poolings learned from training texts (tfidf, sif, usif)."""
        return self.pooling in FITTED_POOLINGS

    @property
    def trainable(self) -> bool:  # type: ignore[override]
        """Same as :attr:`requires_fit` here; corpus-trained subclasses are always trainable."""
        return self.pooling in FITTED_POOLINGS

    def _pooler(self) -> Pooler:
        """The pooling component of the current parameters."""
        return Pooler(
            self.pooling,
            sif_a=self.sif_a,
            word_freq=self.word_freq,
            n_components=self.n_components,
            powers=self.powers,
            lowercase=bool(self.lowercase),
        )

    # ------------------------------------------------------------ validation
    def _validate(self) -> None:
        source = getattr(self, "source", "glove-6b-50d")
        in_memory = is_keyed_vectors(source) or is_vectors_marker(source)
        if not in_memory and (not isinstance(source, (str, os.PathLike)) or not str(source)):
            raise InvalidParameterError(
                "source must be an embedded vector set name, a path to a vector file or "
                f"store, or a gensim KeyedVectors, got {type(source).__name__} ({source!r:.60})"
            )
        if getattr(self, "format", "auto") not in _FORMATS:
            raise InvalidParameterError(
                f"format must be one of {list(_FORMATS)}, got {self.format!r:.60}"
            )
        for name in ("lowercase", "subwords"):
            check_bool(name, getattr(self, name))
        self._pooler().check()
        nj = self.n_jobs
        if not is_int(nj) or nj == 0 or nj < -1 or nj > MAX_JOBS:
            raise InvalidParameterError(
                f"n_jobs must be -1 or an int from 1 to {MAX_JOBS}, got {nj!r:.60}"
            )

    # ----------------------------------------------------------------- load
    def _keyed(self) -> KeyedTable:
        """The converted table of a ``KeyedVectors`` source (once per object)."""
        self._kv_converted = keyed_table(self.source, self.__dict__.get("_kv_converted"))
        return self._kv_converted

    def _load_table(self) -> VectorTable | None:
        """The vector table of ``source`` (subclasses that train their own return it)."""
        check_bool("trust_pickle", self.trust_pickle)
        if is_keyed_vectors(self.source):
            _, table, digest = self._keyed()
            self._resource = "sha256:" + digest
            return table  # a view of the caller's object: shared with its clones only
        loaded, self._resource = load_source(
            self.source,
            format=self.format,
            trust_pickle=self.trust_pickle,
            saved=self.__dict__.get("_saved_vectors"),
        )
        return loaded

    def _load(self) -> None:
        self._resource = ""
        table = self._load_table()
        self._table = table
        self._lookup = (
            None
            if table is None
            else Lookup(
                table,
                lowercase=bool(self.lowercase),
                subwords=bool(self.subwords),
                key=identity(self._resource),  # embedded version or the store's sha256
            )
        )

    def _resource_id(self) -> str:
        self._ensure_loaded()
        return str(self.__dict__.get("_resource", ""))

    def _output_dim(self) -> int:
        return self._pooler().output_dim(self._require_table().dim)

    def _require_table(self) -> VectorTable:
        table = self.__dict__.get("_table")
        if table is None:
            from embeddings.errors import NotFittedError

            if is_vectors_marker(getattr(self, "source", None)):
                raise NotFittedError(
                    f"{self.name}: its vectors ({self.source}) are stored in the folder it was "
                    "saved to; open that folder with embeddings.load(folder)"
                )
            raise NotFittedError(f"{self.name} has no word vectors yet: call .fit(texts) first")
        return table

    def _require_lookup(self) -> Lookup:
        """The lookup of the loaded table (raises like :meth:`_require_table` without one)."""
        self._require_table()
        lookup: Lookup = self.__dict__["_lookup"]
        return lookup

    # ------------------------------------------------------- vectors in memory
    def _holds_vectors(self) -> bool:
        """Whether the vectors were given as an object (or restored from a saved state)."""
        source = getattr(self, "source", None)
        return is_keyed_vectors(source) or is_vectors_marker(source)

    def _stores_state(self) -> bool:
        return self._holds_vectors()

    def _json_params(self) -> dict[str, Any]:
        if not is_keyed_vectors(getattr(self, "source", None)):
            return super()._json_params()
        from embeddings.base import _jsonable

        params = dict(self.get_params(deep=False))
        params["source"] = {VECTORS_MARKER: self._keyed()[2]}
        return {
            k: _jsonable(v, where=f"{type(self).__name__}.{k}") for k, v in sorted(params.items())
        }

    def __sklearn_clone__(self) -> WordVectorEncoder:
        """A clone that shares vectors held in memory, as clones share a vector file.

        A ``KeyedVectors`` source is passed on as the same object (with its converted
        table), never deep-copied; vectors restored from a saved state are shared too.
        """
        source = getattr(self, "source", None)
        if not is_keyed_vectors(source):
            new = super().__sklearn_clone__()
            saved = self.__dict__.get("_saved_vectors")
            if saved is not None and is_vectors_marker(new.source) and new.source == source:
                new._saved_vectors = saved  # a read-only table
            return new
        from sklearn.base import clone

        params = {
            k: v if k == "source" else clone(v, safe=False)
            for k, v in self.get_params(deep=False).items()
        }
        new = type(self)(**params)
        if "_kv_converted" in self.__dict__:
            new._kv_converted = self._kv_converted
        return new

    # ------------------------------------------------------------------ fit
    def _fit(self, texts: list[str]) -> None:
        self._fit_pooling(texts)

    def _fit_pooling(self, texts: list[str]) -> None:
        """Fit IDF / SIF / uSIF weights and principal components on training texts."""
        pooler = self._pooler()
        fitted = pooler.fit(self._require_lookup(), texts) if pooler.learns else FittedPooling()
        self._set_fitted(fitted)

    def _set_fitted(self, fitted: FittedPooling) -> None:
        """Keep what the pooling learned (token weights, principal components)."""
        self._weights = fitted.weights
        self._oov_weight = fitted.oov_weight
        self._components = fitted.components
        self._component_weights = fitted.component_weights

    def _fitted_pooling(self) -> FittedPooling:
        """What :meth:`_fit_pooling` learned (or a saved state restored)."""
        get = self.__dict__.get
        weights, components = get("_weights"), get("_components")
        oov = float(get("_oov_weight", 1.0))
        return FittedPooling(weights, oov, components, get("_component_weights"))

    # ---------------------------------------------------------------- state
    def _state_table(self) -> VectorTable | None:
        """The vectors the saved state holds, or None when ``source`` names them."""
        if not self._holds_vectors():
            return None
        self._ensure_loaded()
        return self._require_table()

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        table = self._state_table()
        fitted = self._fitted_pooling() if self._pooler().learns else None
        return write_state(table, fitted, self.__dict__.get("training_info_"))

    def _check_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        owner = f"saved {type(self).__name__} state"
        held = is_vectors_marker(getattr(self, "source", None))
        vectors = None if held else self._require_table()
        check_state(arrays, meta, owner=owner, pooler=self._pooler(), vectors=vectors)
        if held:
            digest = self.source[VECTORS_MARKER]
            self._checked_table = (digest, check_content(arrays, meta, digest, owner))

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        if is_vectors_marker(getattr(self, "source", None)):
            checked = self.__dict__.pop("_checked_table", None)
            if checked is not None and checked[0] == self.source[VECTORS_MARKER]:
                self._saved_vectors = checked[1]
            else:
                self._saved_vectors = read_table(arrays, meta)
            self._load()
        n_vocab = len(self._require_table().vocab) if "token_weights" in arrays else 0
        self._set_fitted(read_pooling(arrays, meta, n_vocab))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the encoder to the folder ``path`` (see :meth:`BaseEncoder.save`).

        Raises:
            InvalidParameterError: the vectors come from a gensim pickle: a saved
                folder never asks to unpickle; convert the vectors first.

        Example:
            >>> import tempfile
            >>> WordVectorEncoder().save(tempfile.mkdtemp() + "/enc").name
            'enc'
        """
        if reads_pickle(getattr(self, "source", None), getattr(self, "format", "auto")):
            raise InvalidParameterError(
                f"{self.name} reads a gensim pickle ({self.source}) and cannot be saved: a saved "
                "folder never makes its loader unpickle. Convert the vectors first, e.g. "
                "WordVectorEncoder.from_keyed_vectors(KeyedVectors.load(path)) or "
                "kv.save_word2vec_format(path), and save an encoder of the converted vectors"
            )
        return super().save(path)

    # --------------------------------------------------------------- encode
    def _encode_local(self, texts: list[str]) -> tuple[np.ndarray, int]:
        lookup = self._require_lookup()
        return self._pooler().transform(lookup, lookup.chunk_batch(texts), self._fitted_pooling())

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        pool = self.__dict__.get("_workers")
        if pool is None:
            pool = self._workers = WorkerPool(int(self.n_jobs))
        out, n_empty = pool.map(self._encode_local, truncate(texts))
        self._n_empty += n_empty
        return out

    def _stop_workers(self) -> None:
        pool = self.__dict__.get("_workers")
        if pool is not None:
            pool.close()
        self._workers = None

    def _on_encode_start(self) -> None:
        self._stop_workers()  # workers are forked per encode call, after any fit
        self._n_empty = 0

    def _on_encode_end(self) -> None:
        self._stop_workers()
        warn_empty_texts(self.name, self._n_empty)
