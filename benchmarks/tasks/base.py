"""Task family base classes: all loading logic lives here, concrete tasks are metadata.

A concrete task is a subclass of one family with a ``metadata`` class attribute and
nothing else (see :mod:`benchmarks.tasks.catalog`), as in MTEB's ``abstasks``.  The
families are:

=========================  ==============================  =========================
family                     ``load(split)`` returns          evaluated by
=========================  ==============================  =========================
``ClassificationTask``     :class:`TextClassificationData`  a trained classifier (CV or split)
``PairClassificationTask`` :class:`PairClassificationData`  a classifier on pair features
``SimilarityTask``         :class:`PairScoreData`           a trained regressor (SICK-R, STS-B)
``STSTask``                :class:`PairScoreData`           cosine similarity, no training
``ClusteringTask``         :class:`TextClassificationData`  k-means vs. the labels
=========================  ==============================  =========================

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
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from benchmarks.tasks._errors import DataFormatError
from benchmarks.tasks.checksum import verify_file
from benchmarks.tasks.data import (
    PairClassificationData,
    PairScoreData,
    TextClassificationData,
    check_max_samples,
)
from benchmarks.tasks.paths import find_file
from embeddings.errors import InvalidParameterError

if TYPE_CHECKING:
    import numpy as np

    from benchmarks.tasks.metadata import DataFile, TaskMetadata

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
    have the single split ``"all"``.
    """


class ClusteringTask(_LabelledTextTask):
    """Clustering of single texts; the labels are the reference clusters."""


class PairClassificationTask(Task[PairClassificationData]):
    """Sentence-pair classification with a trained head (MRPC, SICK-E)."""

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
    """Sentence-pair similarity with a trained regressor (SICK-R, STS-B)."""

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
    ``load("test", subset=...)`` reads one.
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
