""":class:`TrainedWordVectorEncoder`: word2vec or fastText vectors trained on your texts."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np

from embeddings._checks import check_bool, check_int
from embeddings._params import store_params
from embeddings.adapters.word_vectors.encoder import WordVectorEncoder
from embeddings.adapters.word_vectors.lookup import Lookup, frozen_table
from embeddings.adapters.word_vectors.pooling import FITTED_POOLINGS, Pooling, WordFreq
from embeddings.adapters.word_vectors.state import check_state, public, read_table
from embeddings.errors import InvalidParameterError, renamed_parameters
from embeddings.formats.table import VectorTable
from embeddings.training.trainers import (
    FASTTEXT_PARAMS,
    WORD2VEC_PARAMS,
    check_training_params,
    train_word_vectors,
)

__all__ = ["TrainedWordVectorEncoder"]

#: the training parameters, as :func:`~embeddings.training.trainers.train_word_vectors` takes them
_TRAINING_PARAMS = (*WORD2VEC_PARAMS, *FASTTEXT_PARAMS)


@public
class TrainedWordVectorEncoder(WordVectorEncoder):
    """Word vectors trained on your own texts (word2vec CBOW/skip-gram or fastText), pooled.

    ``fit(texts)`` trains on the given texts (then fits the pooling, if it needs
    fitting); ``fit(path)`` trains on a text file or folder streamed from disk.
    Training is deterministic for a given corpus and ``random_state`` with
    ``threads=1`` (the default; ``workers=``, gensim's name, still works with a
    warning).  The trained table is saved with ``save`` (safetensors, no pickle) and
    can be exported with :meth:`to_keyed_vectors` or :meth:`save_word2vec_format`.
    With a path, ``fit`` also takes ``show_progress`` and ``max_pooling_texts`` (how
    many corpus lines fit the ``tfidf``/``sif``/``usif`` weights; default 200,000).

    Args:
        algorithm: ``"word2vec"`` or ``"fasttext"`` (subword vectors for unknown words).
        sg: skip-gram (``True``) or CBOW (``False``).
        vector_size: dimension of the word vectors (1 to 10,000).
        window: context window (1 to 1,000).
        min_count: ignore words rarer than this (use 1 for tiny corpora; at most 2**31 - 1).
        epochs: passes over the corpus (1 to 1,000).
        negative: negative samples (1 to 100).
        sample: down-sampling threshold of frequent words (0 to 1).
        min_n: shortest character n-gram (fastText; 1 to 32).
        max_n: longest character n-gram (fastText; ``min_n`` to 32).
        bucket: number of n-gram hash buckets (fastText; 1 to 10,000,000, and the
            n-gram table, ``bucket x vector_size`` float32, at most 4 GiB).
        random_state: seed of the weights and of negative sampling (0 to 2**32 - 1).
        threads: training threads (1 to 64); only ``1`` is bit-reproducible.
        pooling: see :class:`WordVectorEncoder`.
        lowercase: lowercase texts for training and lookup.
        subwords: use fastText subwords for unknown words at encode time.
        sif_a: see :class:`WordVectorEncoder`.
        word_freq: see :class:`WordVectorEncoder`.
        n_components: see :class:`WordVectorEncoder`.
        powers: see :class:`WordVectorEncoder`.
        n_jobs: see :class:`WordVectorEncoder`.

    The bounds are those of :mod:`embeddings.training.trainers`
    (:func:`~embeddings.training.trainers.check_training_params`), checked by
    ``_validate``, so also for every saved folder before anything is trained or read.

    Example:
        >>> enc = TrainedWordVectorEncoder(vector_size=8, min_count=1, epochs=2)
        >>> enc.fit(["a cat sat", "a dog ran", "the cat ran"]).encode(["a cat"]).shape
        (1, 8)
    """

    # 2: chunk-level sparse pooling; 3: surrogates as U+FFFD; 4: fastText n-grams of a
    # word over 1,024 characters use its head
    adapter_version = "4"
    loads_versions = ("1", "2", "3")  # same saved state
    transient = (*WordVectorEncoder.transient,)
    trains_on_corpus = True
    renamed_params: ClassVar[dict[str, str]] = {"workers": "threads"}

    @renamed_parameters(workers="threads")
    def __init__(
        self,
        algorithm: Literal["word2vec", "fasttext"] = "word2vec",
        *,
        sg: bool = False,
        vector_size: int = 100,
        window: int = 5,
        min_count: int = 5,
        epochs: int = 5,
        negative: int = 5,
        sample: float = 1e-3,
        min_n: int = 3,
        max_n: int = 6,
        bucket: int = 200_000,
        random_state: int = 0,
        threads: int = 1,
        pooling: Pooling = "mean",
        lowercase: bool = True,
        subwords: bool = True,
        sif_a: float = 1e-3,
        word_freq: WordFreq = "train",
        n_components: int | None = None,
        powers: Sequence[int | str] = (1, "max", "min"),
        n_jobs: int = 1,
    ) -> None:
        store_params(self, locals())

    @property
    def requires_fit(self) -> bool:  # type: ignore[override]
        """Always ``True``: the vectors are learned by ``fit``."""
        return True

    @property
    def trainable(self) -> bool:  # type: ignore[override]
        """Always ``True``."""
        return True

    def _validate(self) -> None:
        super()._validate()
        if self.algorithm not in ("word2vec", "fasttext"):
            raise InvalidParameterError(
                f"algorithm must be 'word2vec' or 'fasttext', got {self.algorithm!r:.60}"
            )
        names = [name for name in _TRAINING_PARAMS if name != "bucket"]
        check_training_params(**{name: getattr(self, name) for name in names})
        if self.algorithm == "fasttext":  # the n-gram table: bucket x vector_size
            check_training_params(bucket=self.bucket, vector_size=self.vector_size)
        else:  # unused by word2vec, bounded all the same
            check_training_params(bucket=self.bucket)
        check_bool("sg", self.sg)

    def _resource_id(self) -> str:
        return ""

    def _load_table(self) -> VectorTable | None:
        return self.__dict__.get("_trained")

    def _install(self, table: VectorTable) -> None:
        table = frozen_table(table)
        self._trained = table
        self._table = table
        self._lookup = Lookup(table, lowercase=bool(self.lowercase), subwords=bool(self.subwords))

    def _train(self, corpus: Any, progress: bool) -> None:
        table, info = train_word_vectors(
            corpus,
            algorithm=self.algorithm,
            sg=bool(self.sg),
            show_progress=progress,
            **{name: getattr(self, name) for name in _TRAINING_PARAMS},
        )
        self._install(table)
        self.training_info_ = info.as_dict()

    def _fit(self, texts: list[str]) -> None:
        from embeddings.training.corpus import TextCorpus

        self._train(TextCorpus(texts, lowercase=bool(self.lowercase)), progress=False)
        self._fit_pooling(texts)

    def _fit_corpus(
        self,
        corpus: str | os.PathLike[str] | list[str],
        *,
        show_progress: bool,
        max_pooling_texts: int = 200_000,
    ) -> None:
        """``fit(path)``: train on a text file or folder of ``*.txt`` files, line by line.

        Args:
            corpus: a file, a folder (``**/*.txt``, ``raw/`` folders skipped), or checked texts.
            show_progress: show the progress of training.
            max_pooling_texts: for ``tfidf``/``sif``/``usif`` pooling, the weights are
                fitted on the first this-many corpus lines (an int >= 0).
        """
        from embeddings.training.corpus import TextCorpus

        limit = check_int("max_pooling_texts", max_pooling_texts, minimum=0)
        stream = TextCorpus(corpus, lowercase=bool(self.lowercase))
        self._train(stream, progress=show_progress)
        if self.pooling in FITTED_POOLINGS:
            lines = itertools.islice(stream.lines(), min(limit, sys.maxsize))
            self._fit_pooling(list(lines))
        else:
            self._fit_pooling([])

    # ---------------------------------------------------------------- state
    def _state_table(self) -> VectorTable | None:
        return self._require_table()

    def _check_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        check_state(
            arrays,
            meta,
            owner=f"saved {type(self).__name__} state",
            pooler=self._pooler(),
            dim=int(self.vector_size),
            training=True,
        )

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self._install(read_table(arrays, meta))
        if meta.get("training"):
            self.training_info_ = dict(meta["training"])
        super()._set_state(arrays, meta)
