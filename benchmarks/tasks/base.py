"""Task family base classes: all loading logic lives here, concrete tasks are metadata.

A concrete task is a subclass of one family with a ``metadata`` class attribute and
nothing else (see :mod:`benchmarks.tasks.catalog`), as in MTEB's ``abstasks``.  The
families are:

=========================  ==============================  =========================
family                     ``load(split)`` returns          ``evaluate(encoder)`` runs
=========================  ==============================  =========================
``ClassificationTask``     :class:`TextClassificationData`  a trained classifier (CV or split)
``PairClassificationTask`` :class:`PairClassificationData`  a classifier on pair features
``SimilarityTask``         :class:`PairScoreData`           a trained regressor (SICK-R, STS-B)
``STSTask``                :class:`PairScoreData`           cosine similarity, no training
``ClusteringTask``         :class:`TextClassificationData`  k-means vs. the labels
=========================  ==============================  =========================

``task.evaluate(encoder)`` loads the splits, fits a trainable encoder on training
texts only, encodes and runs the family's evaluator from :mod:`evaluators` with
SentEval's defaults; the protocols live one floor up, in :mod:`benchmarks.protocols`.
:meth:`Task.from_dataframe` and :meth:`Task.from_file` make a task of your own data
(see :mod:`benchmarks.tasks.own`).  These three methods call the functions registered
in :mod:`benchmarks.tasks.hooks`, so this module imports nothing above it.

Constructors only store keyword parameters (house rule 1); files are located and
checked on ``load``.  The sha256 of a file is verified the first time it is read in
a process (memoised by path, mtime and size).

Example:
    >>> from benchmarks.tasks import get_task
    >>> task = get_task("MR")
    >>> task.metadata.splits
    ('all',)
    >>> data = task.load("all", max_samples=100)   # doctest: +SKIP
    >>> len(data), data.label_names                 # doctest: +SKIP
    (100, ('0', '1'))
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from benchmarks.tasks import hooks
from benchmarks.tasks._errors import DataFormatError
from benchmarks.tasks.checksum import verify_file
from benchmarks.tasks.data import (
    PairClassificationData,
    PairScoreData,
    TextClassificationData,
    check_max_samples,
)
from benchmarks.tasks.paths import find_file
from embeddings.errors import InvalidParameterError, renamed_parameters

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from benchmarks.tasks.metadata import DataFile, TaskMetadata
    from benchmarks.tasks.records import TaskEvaluation
    from benchmarks.tasks.settings import SuiteTask

__all__ = [
    "ClassificationTask",
    "ClusteringTask",
    "PairClassificationTask",
    "STSTask",
    "SimilarityTask",
    "Task",
    "read_tsv",
]

DataT = TypeVar("DataT", TextClassificationData, PairClassificationData, PairScoreData)


def read_tsv(path: str | os.PathLike[str], header: tuple[str, ...]) -> list[list[str]]:
    """Read a normalised TSV: check the header, split rows on TAB (no quoting).

    Args:
        path: The file.
        header: Expected column names.

    Returns:
        The data rows, each a list of ``len(header)`` strings.

    Raises:
        DataFormatError: Wrong header or a row with the wrong number of fields.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.tsv"
        >>> _ = p.write_text("label\\ttext\\n1\\ta \\"quoted\\" word\\n", encoding="utf-8")
        >>> read_tsv(p, ("label", "text"))
        [['1', 'a "quoted" word']]
    """
    with open(path, encoding="utf-8", newline="") as handle:
        lines = handle.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != "\t".join(header):
        got = lines[0] if lines else "<empty file>"
        raise DataFormatError(f"{path}: header {got!r}, expected {'<TAB>'.join(header)!r}")
    width = len(header)
    rows = [line.split("\t") for line in lines[1:]]
    for number, row in enumerate(rows, 2):
        if len(row) != width:
            raise DataFormatError(
                f"{path}, line {number}: {len(row)} TAB-separated fields, expected {width}"
            )
    return rows


class Task(ABC, Generic[DataT]):
    """Base of every task: locating, verifying and loading its files.

    Args:
        data_dir: Folder to read from instead of :func:`benchmarks.tasks.data_dir`.

    Subclasses set :attr:`metadata` and, in family classes, implement ``_build``.
    """

    metadata: ClassVar[TaskMetadata]
    _header: ClassVar[tuple[str, ...]] = ("label", "text")
    pinned: ClassVar[bool] = True
    """Whether the task's files have pinned sha256 sums (``False`` for your own data)."""

    def __init__(self, *, data_dir: str | os.PathLike[str] | None = None) -> None:
        self.data_dir = data_dir

    # ------------------------------------------------------------------ identity
    @property
    def name(self) -> str:
        """The task's registered name."""
        return self.metadata.name

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters (to record next to results)."""
        return {"data_dir": self.data_dir}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v is not None)
        return f"{type(self).__name__}({params})"

    # ------------------------------------------------------------------ files
    def _file_for(self, split: str, subset: str | None) -> DataFile:
        meta = self.metadata
        if split not in meta.splits:
            raise InvalidParameterError(
                f"{meta.name} has no split {split!r}; choose one of {list(meta.splits)}"
            )
        if subset is not None and subset not in meta.subsets:
            allowed = list(meta.subsets) if meta.subsets else "none (this task has no subsets)"
            raise InvalidParameterError(f"{meta.name} has no subset {subset!r}; subsets: {allowed}")
        return meta.files[self._file_key(split, subset)]

    def _file_key(self, split: str, subset: str | None) -> str:
        return self.metadata.file_key(split, subset)

    def path(self, split: str, subset: str | None = None) -> Path:
        """The normalised file of a split, located (not verified).

        Raises:
            InvalidParameterError: Unknown split or subset.
            DataNotFoundError: The file is not in the data folder.
        """
        pinned = self._file_for(split, subset)
        return find_file(pinned.path, task=self.name, root=self.data_dir)

    def _read(self, split: str, subset: str | None, verify: bool) -> list[list[str]]:
        pinned = self._file_for(split, subset)
        path = find_file(pinned.path, task=self.name, root=self.data_dir)
        if verify:
            verify_file(
                path,
                pinned.sha256,
                hint=f"delete it and run `transferkit data download {self.name}`",
            )
        return read_tsv(path, self._header)

    def verify(self) -> dict[str, str]:
        """Check every pinned file of the task (existence and sha256).

        Returns:
            ``{relative path: "ok" | "missing" | "sha256 mismatch"}``.
        """
        from embeddings.errors import ChecksumError, DataNotFoundError

        status: dict[str, str] = {}
        for pinned in self.metadata.files.values():
            try:
                path = find_file(pinned.path, task=self.name, root=self.data_dir)
                verify_file(path, pinned.sha256)
                status[pinned.path] = "ok"
            except DataNotFoundError:
                status[pinned.path] = "missing"
            except ChecksumError:
                status[pinned.path] = "sha256 mismatch"
        return status

    # ------------------------------------------------------------------ your own data
    @classmethod
    def from_dataframe(cls, data: pd.DataFrame | Mapping[str, Any], **options: Any) -> Task[Any]:
        """A task of your own data, evaluated like the built-in tasks of its family.

        The keywords (``type``, ``text``, ``label``, ``pair``, ``score``, ``split``,
        ``name``, ``test_size``, ``random_state``) are those of
        :func:`benchmarks.tasks.own.from_dataframe`, which documents them.

        Example:
            >>> task = Task.from_dataframe(
            ...     {"text": ["good", "fine", "bad", "awful"] * 5, "label": [1, 1, 0, 0] * 5},
            ...     name="reviews")
            >>> task.metadata.splits
            ('train', 'test')
            >>> task.get_params()["splits"]
            'stratified random split of the rows: test_size=0.2, random_state=1111'
        """
        make: Callable[..., Task[Any]] = hooks.lookup("from_dataframe")
        return make(data, **options)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **options: Any) -> Task[Any]:
        """A task of your own TSV, CSV or parquet file(s).

        The keywords (``test``, ``dev``, ``sep``, ``name`` and the column and split
        options of :meth:`from_dataframe`) are those of
        :func:`benchmarks.tasks.own.from_file`, which documents them.

        Example:
            >>> task = Task.from_file("reviews.tsv", text="review", label="stars")  # doctest: +SKIP
        """
        make: Callable[..., Task[Any]] = hooks.lookup("from_file")
        return make(path, **options)

    # ------------------------------------------------------------------ evaluation
    @renamed_parameters(progress="show_progress")
    def evaluate(
        self,
        encoder: Any,
        *,
        settings: SuiteTask | None = None,
        verify: bool = True,
        data_dir: str | os.PathLike[str] | None = None,
        n_jobs: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        batch_size: int = 64,
        show_progress: bool = False,
        blas_threads: int | None = 1,
    ) -> TaskEvaluation:
        """Evaluate an encoder on this task with the protocol of its family.

        A trainable encoder (TF-IDF, LSA, SIF, ...) is fitted on training texts only:
        the train split, each outer training fold of a cross-validation task, or, for a
        task without a training split, the unlabeled corpus of the data folder.  It is
        fitted in place (a fitted one is cloned first).  A saved encoder folder is used
        as it is.

        Args:
            encoder: An encoder, a preset spec such as ``"glove-6b-50d:pooling=sif"``,
                the folder of a saved encoder, or an
                :class:`~benchmarks.evaluation.EncoderSession`.
            settings: Subsampling, folds, seed, head and pair features (a
                :class:`~benchmarks.tasks.settings.SuiteTask`, also
                ``benchmarks.suites.SuiteTask``); ``None`` is the task's default protocol.
            verify: Check pinned data files (recorded in the protocol).
            data_dir: Data folder of the unlabeled corpus (``None``: the default).
            n_jobs: joblib workers of the heads.
            cache_dir: Encode through the embedding cache in this folder (``None``: no
                cache).  Ignored for an ``EncoderSession``.
            batch_size: Encoding batch size.  Ignored for an ``EncoderSession``.
            show_progress: A progress bar per encode call (``progress``: its old name).
                Ignored for an ``EncoderSession``.
            blas_threads: BLAS threads while fitting and evaluating (``None``: the
                library default).  One thread is much faster for the small logistic
                regressions on a busy machine; compare scores computed with the same
                setting (the thread count can move the last bits of a fit).

        Returns:
            :class:`~benchmarks.evaluation.TaskEvaluation`: ``main_score``, all
            ``scores`` (in points, 0-100: accuracy in %, correlations and V-measure
            x100), the rows used per split and the protocol.

        Raises:
            InvalidParameterError: The task derives from no family class.
            DataNotFoundError: The task's data is not in the data folder.
            UnknownEncoderError: An unknown preset name.

        Example:
            >>> import embeddings
            >>> task = Task.from_dataframe(
            ...     {"text": ["a fine film", "great fun", "a dull film", "bad fun"] * 10,
            ...      "label": ["pos", "pos", "neg", "neg"] * 10}, name="tiny-reviews")
            >>> result = task.evaluate(embeddings.load("glove-6b-50d"))
            >>> 0.0 <= result["main_score"] <= 100.0
            True
        """
        run: Callable[..., TaskEvaluation] = hooks.lookup("evaluate")
        return run(
            self,
            encoder,
            settings=settings,
            verify=verify,
            data_dir=data_dir,
            n_jobs=n_jobs,
            cache_dir=cache_dir,
            batch_size=batch_size,
            show_progress=show_progress,
            blas_threads=blas_threads,
        )

    # ------------------------------------------------------------------ loading
    def load(
        self,
        split: str,
        *,
        subset: str | None = None,
        max_samples: int | None = None,
        random_state: int = 0,
        verify: bool = True,
    ) -> DataT:
        """Load one split.

        Args:
            split: One of ``metadata.splits`` (``"all"`` for cross-validation tasks).
            subset: STS tasks only: one subset; ``None`` loads all subsets, with the
                subset of every row in ``subset_ids``.
            max_samples: Keep at most this many rows: a seeded, stratified (by label,
                or by STS subset) sample in file order.  ``None`` keeps all.
            random_state: Seed of the subsample.
            verify: Check the file's sha256 (once per process per file version).

        Returns:
            The family's data container.

        Raises:
            InvalidParameterError: Unknown split/subset or bad ``max_samples``.
            DataNotFoundError: The file is missing.
            ChecksumError: The file does not match its pinned sha256.
        """
        check_max_samples(max_samples)
        data = self._load(split, subset, verify)
        return data.subsample(max_samples, random_state)

    def _load(self, split: str, subset: str | None, verify: bool) -> DataT:
        return self._build(self._read(split, subset, verify), split)

    @abstractmethod
    def _build(self, rows: list[list[str]], split: str) -> DataT:
        """Turn the rows of a normalised file into the family's container."""

    def _label_ids(self, labels: tuple[str, ...], split: str) -> np.ndarray:
        import numpy as np

        names = self.metadata.labels or ()
        index = {name: i for i, name in enumerate(names)}
        try:
            return np.fromiter((index[x] for x in labels), dtype=np.int64, count=len(labels))
        except KeyError as err:
            raise DataFormatError(
                f"{self.name} {split}: label {err.args[0]!r} is not one of the task's labels "
                f"{list(names)}"
            ) from None


class _LabelledTextTask(Task[TextClassificationData]):
    def _build(self, rows: list[list[str]], split: str) -> TextClassificationData:
        if not rows:
            labels: tuple[str, ...] = ()
            texts: tuple[str, ...] = ()
        else:
            labels, texts = zip(*rows)  # type: ignore[assignment]
        return TextClassificationData(
            list(texts), self._label_ids(labels, split), tuple(self.metadata.labels or ())
        )


class ClassificationTask(_LabelledTextTask):
    """Single-sentence classification (MR, CR, SUBJ, MPQA, SST2/5, TREC, AGNews, R8).

    ``load(split)`` returns :class:`TextClassificationData`; cross-validation tasks
    have the single split ``"all"``.  ``evaluate`` trains SentEval's logistic
    regression: nested cross-validation on ``all`` (``eval_protocol == "cv"``), C
    chosen on dev (with a dev split) or by k-fold on train, scored on test.  Tasks
    with ``sample_order == "senteval"`` are evaluated in SentEval's sample order.
    """

    def in_evaluation_order(self, data: TextClassificationData) -> TextClassificationData:
        """The rows in the order the task is evaluated in (its ``sample_order``).

        Example:
            >>> from benchmarks.tasks import get_task
            >>> get_task("MR").metadata.sample_order
            'senteval'
        """
        if self.metadata.sample_order == "senteval":
            return data.in_senteval_order()
        return data


class ClusteringTask(_LabelledTextTask):
    """Clustering of single texts; the labels are the reference clusters.

    ``evaluate`` runs k-means (one cluster per label, several seeds) on the entry's
    ``clustering_split`` and reports the mean V-measure.
    """


class PairClassificationTask(Task[PairClassificationData]):
    """Sentence-pair classification with a trained head (MRPC, SICK-E).

    ``evaluate`` trains SentEval's logistic regression on pair features (the suite
    entry's ``pair_features``; SentEval's ``[|u-v|, u*v]`` by default), C chosen on
    dev (with a dev split) or by k-fold on train, scored on test.
    """

    _header = ("label", "text_a", "text_b")

    def _build(self, rows: list[list[str]], split: str) -> PairClassificationData:
        labels, texts_a, texts_b = zip(*rows) if rows else ((), (), ())
        return PairClassificationData(
            list(texts_a),
            list(texts_b),
            self._label_ids(labels, split),
            tuple(self.metadata.labels or ()),
        )


class SimilarityTask(Task[PairScoreData]):
    """Sentence-pair similarity with a trained regressor (SICK-R, STS-B).

    ``evaluate`` trains SentEval's softmax relatedness regressor on ``[|u-v|, u*v]``
    with early stopping on dev Pearson (scores from the entry's ``min_score``, else 1,
    to 5) and reports test Pearson.
    """

    _header = ("label", "text_a", "text_b")

    def _build(self, rows: list[list[str]], split: str) -> PairScoreData:
        import numpy as np

        labels, texts_a, texts_b = zip(*rows) if rows else ((), (), ())
        try:
            scores = np.array(labels, dtype=np.float64)
        except ValueError as err:
            raise DataFormatError(f"{self.name} {split}: non-numeric score ({err})") from None
        return PairScoreData(list(texts_a), list(texts_b), scores)


class STSTask(SimilarityTask):
    """Unsupervised STS (STS12-16): cosine similarity against gold, per subset.

    Each subset is its own file ``test_<subset>.tsv``.  ``load("test")`` concatenates
    them in ``metadata.subsets`` order and records the subset of every row;
    ``load("test", subset=...)`` reads one.  ``evaluate`` scores the cosine of each
    pair against the gold score: Spearman per subset, averaged weighted by size
    (SentEval's wmean).  Nothing is trained on the scored pairs.
    """

    def _load(self, split: str, subset: str | None, verify: bool) -> PairScoreData:
        import numpy as np

        names = self.metadata.subsets if subset is None else (subset,)
        parts = [self._build(self._read(split, name, verify), split) for name in names]
        ids = np.concatenate(
            [np.full(len(part), k, dtype=np.int64) for k, part in enumerate(parts)]
        )
        return PairScoreData(
            [t for part in parts for t in part.texts_a],
            [t for part in parts for t in part.texts_b],
            np.concatenate([part.scores for part in parts]),
            ids,
            tuple(names),
        )

    def _file_for(self, split: str, subset: str | None) -> DataFile:
        if subset is None:
            raise InvalidParameterError(
                f"{self.name} keeps one file per subset; pass subset= one of "
                f"{list(self.metadata.subsets)}"
            )
        return super()._file_for(split, subset)
