"""Deterministic gensim trainers for Word2Vec, FastText and Doc2Vec.

Determinism: gensim's training is reproducible for a given corpus order and
``seed`` when it runs with one thread; with more threads the thread scheduling
changes the update order.  We therefore default to ``threads=1`` (gensim's
``workers``, which the trainers still accept under that name, with a warning).  The
``hashfxn`` that gensim would use to seed vectors from strings defaults to Python's
salted ``hash()``; we pass :func:`stable_hash` (sha256) so that no code path
depends on ``PYTHONHASHSEED``.

Bounds: every size parameter has a documented maximum (the ``MAX_*`` constants
below, checked by :func:`check_training_params` before gensim allocates anything),
so that parameters read from a saved folder's ``config.json`` cannot ask for
unbounded memory or time:

==================  =====================================================
``vector_size``     1 to 10,000 (:data:`MAX_VECTOR_SIZE`)
``window``          1 to 1,000 (:data:`MAX_WINDOW`)
``epochs``          1 to 1,000 (:data:`MAX_EPOCHS`)
``negative``        1 to 100 (:data:`MAX_NEGATIVE`)
``min_count``       1 to 2**31 - 1 (:data:`MAX_MIN_COUNT`, gensim's C int)
``min_n, max_n``    1 to 32 (:data:`MAX_SUBWORD_N`), ``min_n <= max_n``
``bucket``          1 to 10,000,000 (:data:`MAX_BUCKET`), and
                    ``bucket * vector_size * 4`` bytes at most 4 GiB
                    (:data:`MAX_NGRAM_TABLE_BYTES`)
``threads``         1 to 64 (:data:`MAX_THREADS`)
``random_state``    0 to 2**32 - 1 (:data:`MAX_RANDOM_STATE`, numpy's seed range)
``sample``          a finite number from 0 to 1
``alpha``           a finite number >= 0, also ``min_alpha`` (Doc2Vec)
==================  =====================================================

Example:
    >>> table, info = train_word_vectors([["a", "b"], ["b", "a"]] * 20, vector_size=4,
    ...                                  min_count=1, epochs=1)
    >>> table.dim, sorted(table.vocab)
    (4, ['a', 'b'])
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np

from embeddings._checks import check_int, check_number
from embeddings._deps import require
from embeddings.errors import InvalidInputError, InvalidParameterError, renamed_parameters
from embeddings.formats.table import Subwords, VectorTable

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "stable_hash",
    "train_word_vectors",
    "train_doc2vec",
    "TrainingInfo",
    "check_training_params",
    "WORD2VEC_PARAMS",
    "FASTTEXT_PARAMS",
    "DOC2VEC_PARAMS",
    "TRAINING_DEFAULTS",
    "GensimParams",
    "WordVectorParams",
    "Doc2VecParams",
    "MAX_VECTOR_SIZE",
    "MAX_WINDOW",
    "MAX_EPOCHS",
    "MAX_NEGATIVE",
    "MAX_MIN_COUNT",
    "MAX_SUBWORD_N",
    "MAX_BUCKET",
    "MAX_NGRAM_TABLE_BYTES",
    "MAX_THREADS",
    "MAX_WORKERS",
    "MAX_RANDOM_STATE",
]

#: largest word-vector dimension
MAX_VECTOR_SIZE = 10_000
#: largest context window
MAX_WINDOW = 1_000
#: most passes over the corpus
MAX_EPOCHS = 1_000
#: most negative samples per word
MAX_NEGATIVE = 100
#: largest ``min_count`` (a threshold; gensim keeps it in a C int)
MAX_MIN_COUNT = 2**31 - 1
#: longest fastText character n-gram (``min_n``/``max_n``)
MAX_SUBWORD_N = 32
#: most fastText n-gram hash buckets
MAX_BUCKET = 10_000_000
#: largest fastText n-gram table, ``bucket * vector_size`` float32 values, in bytes
MAX_NGRAM_TABLE_BYTES = 4 * 1024**3
#: most training threads
MAX_THREADS = 64
#: the former name of :data:`MAX_THREADS`
MAX_WORKERS = MAX_THREADS
#: largest ``random_state`` (numpy's ``RandomState`` seed range, used by gensim)
MAX_RANDOM_STATE = 2**32 - 1

#: name -> (minimum, maximum) of the integer parameters
_INT_BOUNDS: dict[str, tuple[int, int]] = {
    "vector_size": (1, MAX_VECTOR_SIZE),
    "window": (1, MAX_WINDOW),
    "epochs": (1, MAX_EPOCHS),
    "negative": (1, MAX_NEGATIVE),
    "min_count": (1, MAX_MIN_COUNT),
    "min_n": (1, MAX_SUBWORD_N),
    "max_n": (1, MAX_SUBWORD_N),
    "bucket": (1, MAX_BUCKET),
    "threads": (1, MAX_THREADS),
    "random_state": (0, MAX_RANDOM_STATE),
}
#: name -> (minimum, maximum) of the real-valued parameters
_NUMBER_BOUNDS: dict[str, tuple[float, float]] = {
    "sample": (0.0, 1.0),
    "alpha": (0.0, math.inf),
    "min_alpha": (0.0, math.inf),
}


class GensimParams(TypedDict, total=False):
    """The training parameters that Word2Vec, FastText and Doc2Vec share.

    Each is optional; the defaults are :data:`TRAINING_DEFAULTS` and the bounds those of
    :func:`check_training_params`.

    Example:
        >>> params: GensimParams = {"vector_size": 50, "epochs": 2}
    """

    vector_size: int
    window: int
    min_count: int
    epochs: int
    negative: int
    sample: float
    random_state: int
    threads: int


class WordVectorParams(GensimParams, total=False):
    """:class:`GensimParams` and fastText's character n-grams (read by fastText only)."""

    min_n: int
    max_n: int
    bucket: int


class Doc2VecParams(GensimParams, total=False):
    """:class:`GensimParams` and Doc2Vec's learning rate, from ``alpha`` to ``min_alpha``."""

    alpha: float
    min_alpha: float


#: the parameters shared by :func:`train_word_vectors` and :func:`train_doc2vec`
WORD2VEC_PARAMS = tuple(GensimParams.__annotations__)
#: what fastText adds
FASTTEXT_PARAMS = tuple(n for n in WordVectorParams.__annotations__ if n not in WORD2VEC_PARAMS)
#: what Doc2Vec adds
DOC2VEC_PARAMS = tuple(Doc2VecParams.__annotations__)
#: the default of each training parameter (Doc2Vec trains 10 epochs, not 5)
TRAINING_DEFAULTS: dict[str, Any] = {
    "vector_size": 100, "window": 5, "min_count": 5, "epochs": 5, "negative": 5,
    "sample": 1e-3, "random_state": 0, "threads": 1, "min_n": 3, "max_n": 6,
    "bucket": 200_000, "alpha": 0.025, "min_alpha": 0.0001,
}  # fmt: skip


def _training_params(
    function: str,
    given: Mapping[str, Any],
    names: tuple[str, ...],
    allowed: tuple[str, ...] = (),
    **defaults: Any,
) -> dict[str, Any]:
    """``names`` from ``given`` over the defaults, checked.

    A name outside ``names`` and ``allowed`` (accepted, not read) is a TypeError.
    """
    unknown = sorted(set(given) - {*names, *allowed})
    if unknown:
        raise TypeError(
            f"{function}() got unexpected keyword argument(s) {unknown}; "
            f"allowed: {[*names, *allowed]}"
        )
    chosen = {**TRAINING_DEFAULTS, **defaults, **given}
    return check_training_params(**{name: chosen[name] for name in names})


def _within(low: float, high: float) -> Callable[[float], bool]:
    """A test of ``low <= v <= high``."""
    return lambda v: low <= v <= high


def check_training_params(**params: Any) -> dict[str, Any]:
    """Check the trainers' parameters against their documented bounds.

    Takes any of ``vector_size``, ``window``, ``epochs``, ``negative``,
    ``min_count``, ``min_n``, ``max_n``, ``bucket``, ``threads``, ``random_state``
    (ints), ``sample``, ``alpha`` and ``min_alpha`` (finite numbers), and returns
    them as plain Python values.

    Raises:
        InvalidParameterError: a value of the wrong type or outside its bounds (the
            message names the parameter, the value and the allowed range), an
            unknown name, ``min_n > max_n``, or a fastText n-gram table
            (``bucket * vector_size * 4`` bytes) over :data:`MAX_NGRAM_TABLE_BYTES`.

    Example:
        >>> check_training_params(vector_size=100, bucket=200_000)
        {'vector_size': 100, 'bucket': 200000}
        >>> check_training_params(max_n=10**6)
        Traceback (most recent call last):
        ...
        embeddings.errors.InvalidParameterError: max_n must be an int from 1 to 32, got 1000000
    """
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name in _INT_BOUNDS:
            low, high = _INT_BOUNDS[name]
            number = check_int(name, value, low)
            if number > high:
                raise InvalidParameterError(
                    f"{name} must be an int from {low} to {high}, got {number!r:.40}"
                )
            out[name] = number
        elif name in _NUMBER_BOUNDS:
            low_f, high_f = _NUMBER_BOUNDS[name]
            allowed = f"from {low_f:g} to {high_f:g}" if high_f < math.inf else f">= {low_f:g}"
            out[name] = check_number(name, value, _within(low_f, high_f), allowed)
        else:
            raise InvalidParameterError(
                f"unknown training parameter {name!r}; known: "
                f"{sorted([*_INT_BOUNDS, *_NUMBER_BOUNDS])}"
            )
    if "min_n" in out and "max_n" in out and out["min_n"] > out["max_n"]:
        raise InvalidParameterError(
            f"max_n must be >= min_n, got min_n={out['min_n']}, max_n={out['max_n']}"
        )
    if "bucket" in out and "vector_size" in out:
        size = out["bucket"] * out["vector_size"] * 4
        if size > MAX_NGRAM_TABLE_BYTES:
            raise InvalidParameterError(
                f"bucket={out['bucket']} x vector_size={out['vector_size']} float32 n-gram "
                f"vectors take {size / 2**30:.1f} GiB, more than the "
                f"{MAX_NGRAM_TABLE_BYTES // 2**30} GiB allowed; lower bucket or vector_size"
            )
    return out


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


class _EpochLines:
    """Training progress as one line per epoch, for output that is not a terminal.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> lines = _EpochLines("train word2vec", epochs=2, words=1000, texts=10, file=out)
        >>> lines.epoch_done(1, seconds=0.5)
        >>> print(out.getvalue(), end="")
        train word2vec: epoch 1/2 in 0.5s (2,000 words/s, 20.0 texts/s)
    """

    def __init__(self, desc: str, *, epochs: int, words: int, texts: int, file: Any = None) -> None:
        self.desc, self.epochs, self.words, self.texts = desc, epochs, words, texts
        self.file = file

    def _emit(self, line: str) -> None:
        print(f"{self.desc}: {line}", file=self.file or sys.stderr, flush=True)

    def _print(self, what: str, epochs: int, seconds: float) -> None:
        from embeddings._progress import _duration

        words, texts = (n * epochs / max(seconds, 1e-9) for n in (self.words, self.texts))
        self._emit(f"{what} in {_duration(seconds)} ({words:,.0f} words/s, {texts:,.1f} texts/s)")

    def vocabulary(self, size: int, *, seconds: float) -> None:
        """Print the line of the vocabulary pass: ``size`` words kept, in ``seconds``."""
        from embeddings._progress import _duration

        self._emit(
            f"vocabulary of {size:,} words from {self.texts:,} texts ({self.words:,} words) "
            f"in {_duration(seconds)}"
        )

    def epoch_done(self, epoch: int, *, seconds: float) -> None:
        """Print the line of epoch ``epoch`` (1-based), which took ``seconds``."""
        self._print(f"epoch {epoch}/{self.epochs}", 1, seconds)

    def done(self, epochs: int, *, seconds: float) -> None:
        """Print the closing line of ``epochs`` epochs in ``seconds``."""
        self._print(f"{epochs} epoch{'' if epochs == 1 else 's'}", epochs, seconds)


def _callbacks(show_progress: bool, epochs: int, label: str, vocab_seconds: float) -> list[Any]:
    """gensim callbacks that show training progress, following :mod:`embeddings._progress`.

    A terminal gets a bar over the epochs; other output (pipes, logs, CI) a line once
    the vocabulary is built (``vocab_seconds``: the pass over the corpus that took),
    then one line per epoch with words/s and texts/s, so a long run is never silent
    until its end.
    """
    from embeddings._progress import progress_mode

    mode = progress_mode() if show_progress else "off"
    if mode == "off":
        return []
    from gensim.models.callbacks import CallbackAny2Vec

    from embeddings._progress import progress as progress_bar

    desc = f"train {label}"

    class _Progress(CallbackAny2Vec):  # type: ignore[misc]
        def __init__(self) -> None:
            self.bar: Any = None
            self.lines: _EpochLines | None = None
            self.start = self.epoch_start = 0.0
            self.done = 0

        def on_train_begin(self, model: Any) -> None:
            self.start = self.epoch_start = time.perf_counter()
            words, texts = int(model.corpus_total_words or 0), int(model.corpus_count or 0)
            if mode == "lines":
                self.lines = _EpochLines(desc, epochs=epochs, words=words, texts=texts)
                self.lines.vocabulary(len(model.wv), seconds=vocab_seconds)
            else:
                self.bar = progress_bar(enabled=True, total=epochs, desc=desc, unit="epoch")

        def on_epoch_end(self, model: Any) -> None:
            now = time.perf_counter()
            self.done += 1
            if self.lines is not None:
                self.lines.epoch_done(self.done, seconds=now - self.epoch_start)
            else:
                self.bar.update(1)
                words = int(model.corpus_total_words or 0) * self.done
                self.bar.set_postfix(words_per_s=f"{words / max(now - self.start, 1e-9):,.0f}")
            self.epoch_start = now

        def on_train_end(self, model: Any) -> None:
            if self.lines is not None:
                self.lines.done(self.done, seconds=time.perf_counter() - self.start)
            else:
                self.bar.close()

    return [_Progress()]


def _check_vocab(model: Any, min_count: int, what: str) -> None:
    if len(model.wv) == 0:
        raise InvalidInputError(
            f"{what}: no word occurs at least min_count={min_count} times in the training "
            f"texts ({model.corpus_count} texts); lower min_count or pass more text"
        )


def _gensim_params(checked: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments that gensim's Word2Vec, FastText and Doc2Vec share."""
    return dict(
        vector_size=checked["vector_size"],
        window=checked["window"],
        min_count=checked["min_count"],
        negative=checked["negative"],
        hs=0,
        sample=float(checked["sample"]),
        seed=checked["random_state"],
        workers=checked["threads"],
        epochs=checked["epochs"],
        hashfxn=stable_hash,
    )


def _run(model: Any, corpus: Iterable[Any], *, label: str, show_progress: bool) -> float:
    """Build the vocabulary and train ``model`` on ``corpus``; the seconds it took."""
    start = time.perf_counter()
    model.build_vocab(corpus)
    _check_vocab(model, int(model.min_count), label)
    built = time.perf_counter() - start
    model.train(
        corpus,
        total_examples=model.corpus_count,
        total_words=model.corpus_total_words,
        epochs=model.epochs,
        callbacks=_callbacks(show_progress, int(model.epochs), label, built),
    )
    return time.perf_counter() - start


@renamed_parameters(progress="show_progress", workers="threads")
def train_word_vectors(
    corpus: Iterable[list[str]],
    *,
    algorithm: Literal["word2vec", "fasttext"] = "word2vec",
    sg: bool = False,
    show_progress: bool = False,
    **params: Unpack[WordVectorParams],
) -> tuple[VectorTable, TrainingInfo]:
    """Train word2vec (CBOW/skip-gram) or fastText on a restartable token-list corpus.

    ``params`` are those of :class:`WordVectorParams`, with the defaults of
    :data:`TRAINING_DEFAULTS` and the bounds of the module docstring. ``threads`` is
    gensim's ``workers`` (only ``1`` is bit-reproducible), and ``show_progress`` shows a
    bar in a terminal, else one line per epoch.

    Returns:
        The vectors (with counts; with subwords for fastText) and a :class:`TrainingInfo`.

    Raises:
        InvalidParameterError: a parameter outside its bounds (see the module
            docstring); ``min_n``, ``max_n`` and ``bucket`` are checked for fastText.
        InvalidInputError: the corpus leaves an empty vocabulary at ``min_count``.
    """
    if algorithm not in ("word2vec", "fasttext"):
        raise InvalidParameterError(
            f"algorithm must be 'word2vec' or 'fasttext', got {algorithm!r:.40}"
        )
    if algorithm == "fasttext":
        checked = _training_params(
            "train_word_vectors", params, (*WORD2VEC_PARAMS, *FASTTEXT_PARAMS)
        )
    else:  # word2vec accepts the n-gram parameters and does not read them
        checked = _training_params("train_word_vectors", params, WORD2VEC_PARAMS, FASTTEXT_PARAMS)
    require("gensim", extra="models")
    from gensim.models import FastText, Word2Vec

    common = {**_gensim_params(checked), "sg": int(bool(sg))}
    if algorithm == "fasttext":
        model: Any = FastText(**{n: checked[n] for n in FASTTEXT_PARAMS}, **common)
    else:
        model = Word2Vec(**common)
    seconds = _run(model, corpus, label=algorithm, show_progress=show_progress)
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
        algorithm,
        seconds,
        int(model.corpus_count),
        int(model.corpus_total_words),
        len(wv),
        checked["epochs"],
    )
    return table, info


@renamed_parameters(progress="show_progress", workers="threads")
def train_doc2vec(
    corpus: Iterable[list[str]],
    *,
    dm: bool = False,
    dbow_words: bool = False,
    show_progress: bool = False,
    **params: Unpack[Doc2VecParams],
) -> tuple[Any, TrainingInfo]:
    """Train a gensim Doc2Vec (PV-DM or PV-DBOW) with one tag per text (its index).

    ``params`` are those of :class:`Doc2VecParams`, with the defaults of
    :data:`TRAINING_DEFAULTS` except ``epochs=10``. ``threads`` is gensim's ``workers``
    (only ``1`` is bit-reproducible); ``show_progress`` shows a bar in a terminal, else
    one line per epoch.

    Returns:
        The trained gensim model (used only to read its weights) and a TrainingInfo.

    Raises:
        InvalidParameterError: a parameter outside its bounds (see the module docstring).
        InvalidInputError: the corpus leaves an empty vocabulary at ``min_count``.
    """
    checked = _training_params("train_doc2vec", params, DOC2VEC_PARAMS, epochs=10)
    require("gensim", extra="models")
    from gensim.models.doc2vec import Doc2Vec, TaggedDocument

    class _Tagged:
        def __iter__(self) -> Any:
            for i, tokens in enumerate(corpus):
                yield TaggedDocument(tokens, [i])

    model = Doc2Vec(
        dm=int(bool(dm)),
        dbow_words=int(bool(dbow_words)),
        alpha=checked["alpha"],
        min_alpha=checked["min_alpha"],
        **_gensim_params(checked),
    )
    label = "doc2vec-dm" if dm else "doc2vec-dbow"
    seconds = _run(model, _Tagged(), label=label, show_progress=show_progress)
    info = TrainingInfo(
        label,
        seconds,
        int(model.corpus_count),
        int(model.corpus_total_words),
        len(model.wv),
        checked["epochs"],
    )
    return model, info
