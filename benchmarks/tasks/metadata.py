"""Plain-data descriptions of benchmark tasks, their files and their public sources.

Everything here is immutable data: a concrete task is a family base class plus one
:class:`TaskMetadata` (MTEB style), and the pinned files live in ``pins.json``
(read by :mod:`benchmarks.tasks._pins`).

Example:
    >>> from benchmarks.tasks import get_task
    >>> meta = get_task("TREC").metadata
    >>> meta.family, meta.main_score, meta.eval_protocol
    ('classification', 'accuracy', 'split')
    >>> meta.files["test"].rows
    500
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DataFile",
    "EvalProtocol",
    "Family",
    "MainScore",
    "OwnTaskType",
    "RawFile",
    "SampleOrder",
    "Source",
    "TaskMetadata",
]

Family = Literal["classification", "pair_classification", "similarity", "sts", "clustering"]
"""Task families: one base class each in :mod:`benchmarks.tasks.base`."""

EvalProtocol = Literal["cv", "split", "unsupervised"]
"""``cv``: k-fold on ``all``; ``split``: fit on train (tune on dev), score on test;
``unsupervised``: nothing is fitted (STS cosine, clustering)."""

MainScore = Literal["accuracy", "f1", "pearson", "spearman", "v_measure"]
"""The score that leads result tables (evaluators report more)."""

OwnTaskType = Literal["classification", "pair_classification", "sts", "clustering"]
"""The types of your own tasks (:mod:`benchmarks.tasks.own`; ``"similarity"`` and
``"pair-classification"`` are accepted as ``"sts"`` and ``"pair_classification"``)."""

SampleOrder = Literal["file", "senteval"]
"""The order in which a classification task's rows reach the folds and the head:
``file`` keeps file order; ``senteval`` sorts by (whitespace token count, label),
stably, as SentEval's MR/CR/SUBJ/MPQA and TREC loaders do before their stratified
shuffled folds (see :meth:`TextClassificationData.in_senteval_order
<benchmarks.tasks.data.TextClassificationData.in_senteval_order>`)."""


@dataclass(frozen=True)
class DataFile:
    """One normalised TSV file, pinned by the data README.

    Attributes:
        path: Path relative to the data folder, e.g. ``"TREC/train.tsv"``.
        sha256: Hex sha256 of the whole file.
        rows: Data rows (the header line not counted).
        nbytes: File size in bytes.
    """

    path: str
    sha256: str
    rows: int
    nbytes: int


@dataclass(frozen=True)
class Source:
    """One place a raw file can be fetched from.

    Attributes:
        url: An ``http(s)`` URL of the file, or of a ``.zip`` / ``.tar.gz`` archive.
        member: The archive member holding the file (matched exactly, or else by a
            unique path ending in ``/`` + its base name); ``None`` for a plain file.
        sha256: Pinned sha256 of the downloaded archive itself, where known. ``None``
            means it is not pinned: the extracted member is still checked against
            :attr:`RawFile.sha256`, and the converted output against its
            :class:`DataFile` pin.
    """

    url: str
    member: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class RawFile:
    """A raw file of a data folder, as published (kept under ``<folder>/raw/``).

    Attributes:
        name: File name under ``raw/``.
        sha256: Pinned sha256 of the raw bytes (of the member, for archives).
        sources: Where to fetch it, tried in order; plain strings are plain-file URLs.
        required: ``False`` for readme/licence files that the converter does not need
            (a failed download of one is reported, not fatal).
    """

    name: str
    sha256: str
    sources: tuple[Source | str, ...]
    required: bool = True

    def resolved_sources(self) -> tuple[Source, ...]:
        """The sources as :class:`Source` objects (plain strings become plain files)."""
        return tuple(s if isinstance(s, Source) else Source(s) for s in self.sources)


@dataclass(frozen=True)
class TaskMetadata:
    """Versioned description of one benchmark task (house rule 11).

    Attributes:
        name: Registered name, e.g. ``"SST2"`` (lookup is case-insensitive).
        version: Bumped whenever the data or the metric changes.
        family: The task family.
        description: One line.
        dataset: The data folder that holds its files (shared, e.g. ``TREC`` serves
            ``TREC``, ``TREC-fine`` and ``TRECClustering``).
        files: File key -> pinned file.  The key is the split name, or
            ``"<split>_<subset>"`` for STS subsets; extra keys name variants (e.g.
            SST2's ``"train_sentences"``).
        splits: The splits ``load`` accepts (``"all"`` for cross-validation tasks).
        main_score: The headline score.
        eval_protocol: How the task is evaluated.
        labels: Sorted label names for classification-type tasks; the integer label
            of a row is its index here.  ``None`` for real-valued scores.
        subsets: STS subsets (SemEval sub-corpora), in SentEval's order.
        cv_folds: Folds for ``eval_protocol == "cv"``.
        sample_order: The order of the rows when the task is evaluated (``load``
            always returns file order).
        homepage: The canonical public release / project page.
        reference_urls: Official download URLs (for the record; the download uses the
            pinned sources of the data folder, see :mod:`benchmarks.tasks.download`).
        license: Licence note.
        citation: Reference to cite.
    """

    name: str
    version: str
    family: Family
    description: str
    dataset: str
    files: Mapping[str, DataFile]
    splits: tuple[str, ...]
    main_score: MainScore
    eval_protocol: EvalProtocol
    labels: tuple[str, ...] | None = None
    subsets: tuple[str, ...] = ()
    cv_folds: int | None = None
    sample_order: SampleOrder = "file"
    homepage: str = ""
    reference_urls: tuple[str, ...] = ()
    license: str = ""
    citation: str = ""

    def file_key(self, split: str, subset: str | None = None) -> str:
        """The :attr:`files` key of a split (and STS subset)."""
        return split if subset is None else f"{split}_{subset}"
