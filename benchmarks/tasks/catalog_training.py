"""Training data registered by name: SNLI and MultiNLI (one metadata class each).

They are pair-classification data for training sentence-pair encoders (InferSent),
found by :func:`benchmarks.tasks.get_task` and ``transferkit data download`` but in
no suite and not listed with :data:`benchmarks.tasks.catalog.TASKS`.  Their files are
checked against the manifest of a pinned archive (:mod:`benchmarks.tasks.nli`).

Example:
    >>> [t.metadata.name for t in TRAINING_TASKS]
    ['SNLI', 'MultiNLI']
"""

from __future__ import annotations

from benchmarks.tasks.base import Task
from benchmarks.tasks.catalog import task_metadata
from benchmarks.tasks.metadata import DataFile
from benchmarks.tasks.nli import ARCHIVES, NLITrainingTask

__all__ = ["TRAINING_TASKS", "MultiNLI", "SNLI"]

VERSION = "1"


def _nli_files(folder: str, rows: dict[str, int]) -> dict[str, DataFile]:
    """Files of a downloaded NLI folder.  Their sha256 are not known in advance: the
    download records them with the pinned archive (``benchmarks.tasks.nli``).  ``rows``
    are the published pair counts with a gold label; the download reports its own."""
    return {s: DataFile(f"{folder}/{s}.tsv", "", rows=n, nbytes=0) for s, n in rows.items()}


_NLI_LABELS = ("contradiction", "entailment", "neutral")


class SNLI(NLITrainingTask):
    metadata = task_metadata(
        "SNLI", "pair_classification",
        "Stanford NLI 1.0, 3 classes; NLI training data, in no suite.",
        _nli_files("SNLI", {"train": 549_367, "dev": 9_842, "test": 9_824}), labels=_NLI_LABELS,
        homepage="https://nlp.stanford.edu/projects/snli/",
        reference_urls=(ARCHIVES["SNLI"].url,), license="CC BY-SA 4.0.",
        citation="Samuel R. Bowman, Gabor Angeli, Christopher Potts and Christopher D. Manning. "
        "A large annotated corpus for learning natural language inference. EMNLP 2015.",
    )  # fmt: skip


class MultiNLI(NLITrainingTask):
    metadata = task_metadata(
        "MultiNLI", "pair_classification",
        "Multi-Genre NLI 1.0, 3 classes; dev = dev_matched, test = dev_mismatched (the "
        "test labels are not public); NLI training data, in no suite.",
        _nli_files("MultiNLI", {"train": 392_702, "dev": 9_815, "test": 9_832}),
        labels=_NLI_LABELS, homepage="https://cims.nyu.edu/~sbowman/multinli/",
        reference_urls=(ARCHIVES["MultiNLI"].url,),
        license="OANC text and CC BY-SA 3.0 / CC BY 3.0 parts; see the data description paper.",
        citation="Adina Williams, Nikita Nangia and Samuel R. Bowman. A broad-coverage "
        "challenge corpus for sentence understanding through inference. NAACL 2018.",
    )  # fmt: skip


TRAINING_TASKS: tuple[type[Task], ...] = (SNLI, MultiNLI)
"""Training data registered by name (``transferkit data download snli``) but in no suite
and not listed with :data:`TASKS`."""
