"""Deterministic gensim trainers for Word2Vec, FastText and Doc2Vec.

Determinism: gensim's training is reproducible for a given corpus order and
``seed`` when it runs with one worker thread; with more workers the thread
scheduling changes the update order.  We therefore default to ``workers=1``.  The
``hashfxn`` that gensim would use to seed vectors from strings defaults to Python's
salted ``hash()``; we pass :func:`stable_hash` (sha256) so that no code path
depends on ``PYTHONHASHSEED``.

Example:
    >>> table, info = train_word_vectors([["a", "b"], ["b", "a"]] * 20, vector_size=4,
    ...                                  min_count=1, epochs=1)
    >>> table.dim, sorted(table.vocab)
    (4, ['a', 'b'])
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from embeddings._deps import require
from embeddings.errors import InvalidInputError
from embeddings.formats.table import Subwords, VectorTable

__all__ = ["stable_hash", "train_word_vectors", "train_doc2vec", "TrainingInfo"]


def stable_hash(text: str) -> int:
    """A process-independent string hash (first 8 bytes of sha256), for gensim's ``hashfxn``.

    Example:
        >>> stable_hash("cat") == stable_hash("cat")
        True
    """
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


@dataclass
class TrainingInfo:
    """What a training run did (stored with the model)."""

    algorithm: str
    seconds: float
    corpus_lines: int
    corpus_words: int
    vocabulary: int
    epochs: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return asdict(self)


def _callbacks(progress: bool, epochs: int, label: str) -> list[Any]:
    if not progress:
        return []
    from gensim.models.callbacks import CallbackAny2Vec

    from embeddings._progress import progress as progress_bar

    class _Progress(CallbackAny2Vec):  # type: ignore[misc]
        def __init__(self) -> None:
            self.bar: Any = None
            self.start = 0.0

        def on_train_begin(self, model: Any) -> None:
            self.bar = progress_bar(enabled=True, total=epochs, desc=f"train {label}", unit="epoch")
            self.start = time.perf_counter()

        def on_epoch_end(self, model: Any) -> None:
            self.bar.update(1)
            words = getattr(model, "corpus_total_words", 0) or 0
            done = self.bar.n * words
            rate = done / max(time.perf_counter() - self.start, 1e-9)
            self.bar.set_postfix(words_per_s=f"{rate:,.0f}")

        def on_train_end(self, model: Any) -> None:
            self.bar.close()

    return [_Progress()]


def _check_vocab(model: Any, min_count: int, what: str) -> None:
    if len(model.wv) == 0:
        raise InvalidInputError(
            f"{what}: no word occurs at least min_count={min_count} times in the training "
            f"texts ({model.corpus_count} texts); lower min_count or pass more text"
        )


def train_word_vectors(
    corpus: Iterable[list[str]],
    *,
    algorithm: Literal["word2vec", "fasttext"] = "word2vec",
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
    workers: int = 1,
    progress: bool = False,
) -> tuple[VectorTable, TrainingInfo]:
    """Train word2vec (CBOW/skip-gram) or fastText on a restartable token-list corpus.

    Returns:
        The vectors (with counts; with subwords for fastText) and a :class:`TrainingInfo`.

    Raises:
        InvalidInputError: the corpus leaves an empty vocabulary at ``min_count``.
    """
    require("gensim", extra="models")
    from gensim.models import FastText, Word2Vec

    common: dict[str, Any] = dict(
        vector_size=int(vector_size),
        window=int(window),
        min_count=int(min_count),
        sg=int(bool(sg)),
        negative=int(negative),
        hs=0,
        sample=float(sample),
        seed=int(random_state),
        workers=int(workers),
        epochs=int(epochs),
        hashfxn=stable_hash,
    )
    if algorithm == "fasttext":
        model: Any = FastText(min_n=int(min_n), max_n=int(max_n), bucket=int(bucket), **common)
    else:
        model = Word2Vec(**common)
    start = time.perf_counter()
    model.build_vocab(corpus)
    _check_vocab(model, min_count, algorithm)
    model.train(
        corpus,
        total_examples=model.corpus_count,
        total_words=model.corpus_total_words,
        epochs=model.epochs,
        callbacks=_callbacks(progress, int(epochs), algorithm),
    )
    seconds = time.perf_counter() - start
    wv = model.wv
    subwords = None
    if algorithm == "fasttext":
        subwords = Subwords(
            np.array(wv.vectors_ngrams, dtype=np.float32), int(wv.min_n), int(wv.max_n)
        )
    table = VectorTable(
        [str(w) for w in wv.index_to_key],
        np.array(wv.vectors, dtype=np.float32),
        subwords=subwords,
        source=algorithm,
        counts=np.asarray(wv.expandos["count"], dtype=np.int64).copy(),
    )
    info = TrainingInfo(
        algorithm, seconds, int(model.corpus_count), int(model.corpus_total_words), len(wv), epochs
    )
    return table, info


def train_doc2vec(
    corpus: Iterable[list[str]],
    *,
    dm: bool = False,
    vector_size: int = 100,
    window: int = 5,
    min_count: int = 5,
    epochs: int = 10,
    negative: int = 5,
    sample: float = 1e-3,
    dbow_words: bool = False,
    alpha: float = 0.025,
    min_alpha: float = 0.0001,
    random_state: int = 0,
    workers: int = 1,
    progress: bool = False,
) -> tuple[Any, TrainingInfo]:
    """Train a gensim Doc2Vec (PV-DM or PV-DBOW) with one tag per text (its index).

    Returns:
        The trained gensim model (used only to read its weights) and a TrainingInfo.
    """
    require("gensim", extra="models")
    from gensim.models.doc2vec import Doc2Vec, TaggedDocument

    class _Tagged:
        def __iter__(self) -> Any:
            for i, tokens in enumerate(corpus):
                yield TaggedDocument(tokens, [i])

    model = Doc2Vec(
        dm=int(bool(dm)),
        vector_size=int(vector_size),
        window=int(window),
        min_count=int(min_count),
        negative=int(negative),
        hs=0,
        sample=float(sample),
        dbow_words=int(bool(dbow_words)),
        alpha=float(alpha),
        min_alpha=float(min_alpha),
        seed=int(random_state),
        workers=int(workers),
        epochs=int(epochs),
        hashfxn=stable_hash,
    )
    tagged = _Tagged()
    start = time.perf_counter()
    model.build_vocab(tagged)
    _check_vocab(model, min_count, "doc2vec")
    model.train(
        tagged,
        total_examples=model.corpus_count,
        total_words=model.corpus_total_words,
        epochs=model.epochs,
        callbacks=_callbacks(progress, int(epochs), "doc2vec-" + ("dm" if dm else "dbow")),
    )
    seconds = time.perf_counter() - start
    info = TrainingInfo(
        "doc2vec-dm" if dm else "doc2vec-dbow",
        seconds,
        int(model.corpus_count),
        int(model.corpus_total_words),
        len(model.wv),
        epochs,
    )
    return model, info
