"""Benchmark tasks: versioned metadata, typed loaders and data download.

Tasks are metadata on family base classes (MTEB style).  Data is read from
:func:`data_dir` (``$TRANSFERKIT_DATA``, else the download cache) in the normalised
TSV layout of the data README, and every file is checked against its pinned sha256
the first time it is read in a process.  Importing this package is cheap: numpy is
imported on the first ``load``, never sklearn or torch.

Tasks (``list_tasks()``):

* classification: MR, CR, SUBJ, MPQA, AGNews (cross-validation on ``"all"``);
  SST2, SST5, TREC, TREC-fine, R8 (train/dev/test splits)
* pair_classification: MRPC, SICK-E
* similarity (trained regressor): SICK-R, STS-B
* sts (unsupervised cosine, per subset): STS12, STS13, STS14, STS15, STS16
* clustering: TRECClustering, AGNewsClustering, R8Clustering

Every task evaluates an encoder with its family's protocol (``task.evaluate(encoder)``,
implemented one floor up in :mod:`benchmarks.protocols`); ``Task.from_dataframe`` and
``Task.from_file`` make a task of your own rows (:mod:`benchmarks.tasks.own`).  The
modules of this package hold data and metadata and import only downward: leaves
(``_errors``, ``paths``, ``checksum``, ``metadata``, ``data``, ``convert``,
``settings``, ``hooks``, ``download_report``, ``_pins`` with ``pins.json``), then
``base`` (the families), ``nli``, ``catalog``, ``registry``, ``own`` and ``download``.

Example:
    >>> from benchmarks.tasks import get_task, list_tasks
    >>> task = get_task("sst2")
    >>> task.metadata.main_score, task.metadata.splits
    ('accuracy', ('train', 'dev', 'test'))
    >>> test = task.load("test", max_samples=200, random_state=0)   # doctest: +SKIP
    >>> len(test.texts), test.labels.dtype                            # doctest: +SKIP
    (200, dtype('int64'))
"""

from __future__ import annotations

from benchmarks.tasks import own  # noqa: F401  (registers Task.from_dataframe, Task.from_file)
from benchmarks.tasks._errors import DataFormatError, UnknownTaskError
from benchmarks.tasks.base import (
    ClassificationTask,
    ClusteringTask,
    PairClassificationTask,
    SimilarityTask,
    STSTask,
    Task,
)
from benchmarks.tasks.checksum import clear_checksum_cache, file_sha256, verify_file
from benchmarks.tasks.data import PairClassificationData, PairScoreData, TextClassificationData
from benchmarks.tasks.metadata import DataFile, RawFile, Source, TaskMetadata
from benchmarks.tasks.paths import cache_dir, data_dir
from benchmarks.tasks.registry import get_task, get_task_class, list_tasks, load_task

__all__ = [
    "ClassificationTask",
    "ClusteringTask",
    "DataFile",
    "DataFormatError",
    "PairClassificationData",
    "PairClassificationTask",
    "PairScoreData",
    "RawFile",
    "STSTask",
    "SimilarityTask",
    "Source",
    "Task",
    "TaskMetadata",
    "TextClassificationData",
    "UnknownTaskError",
    "cache_dir",
    "clear_checksum_cache",
    "data_dir",
    "file_sha256",
    "get_task",
    "get_task_class",
    "list_tasks",
    "load_task",
    "verify_file",
]
