"""MTEB's own STS tasks, with their data read from the local task files, offline.

:func:`load_mteb_task` returns MTEB's task object (``mteb.get_task(name)``, the same
class, metadata and evaluator that ``mteb.evaluate`` runs) with its ``dataset`` built
from the checksummed TSV files of the data folder instead of the Hugging Face Hub, so
``mteb.evaluate(model, task)`` runs without a network.  The tasks are those whose MTEB
copy holds the same rows as the local files:

=================  ==============  ==============================================
MTEB task          local task      MTEB splits
=================  ==============  ==============================================
``STSBenchmark``   ``STS-B``       ``train``, ``validation`` (dev), ``test``
``STS12``-``STS16`` ``STS12``-``16`` ``test``: every subset, in the task's order
=================  ==============  ==============================================

MTEB scores the STS12-16 test split as one set of pairs (one Spearman over all
subsets), unlike transferkit's STS tasks, which average the subsets weighted by size.
MTEB reports correlations as fractions (0-1); transferkit reports points (0-100).

Example:
    >>> import mteb                                                   # doctest: +SKIP
    >>> from benchmarks.interop import MTEBModel
    >>> task = load_mteb_task("STSBenchmark")                         # doctest: +SKIP
    >>> len(task.dataset["test"])                                     # doctest: +SKIP
    1379
    >>> result = mteb.evaluate(MTEBModel("glove-6b-50d"), task, cache=None)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from embeddings.errors import MissingDependencyError

__all__ = ["MTEB_LOCAL_TASKS", "load_mteb_task"]

#: MTEB task name -> (local task name, {MTEB split: local split})
MTEB_LOCAL_TASKS: dict[str, tuple[str, dict[str, str]]] = {
    "STSBenchmark": ("STS-B", {"train": "train", "validation": "dev", "test": "test"}),
    **{name: (name, {"test": "test"}) for name in ("STS12", "STS13", "STS14", "STS15", "STS16")},
}


def _resolve(name: str) -> str:
    from benchmarks.tasks._errors import UnknownTaskError

    by_key = {key.lower().replace("-", ""): key for key in MTEB_LOCAL_TASKS}
    key = by_key.get(str(name).lower().replace("-", ""))
    if key is None:
        raise UnknownTaskError(
            f"no local data for the MTEB task {name!r}; the MTEB tasks that run from the "
            f"local files are {sorted(MTEB_LOCAL_TASKS)} (other MTEB tasks download their "
            "data from the Hugging Face Hub: use mteb.get_task(name) with a network)"
        )
    return key


def load_mteb_task(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    verify: bool = True,
) -> Any:
    """MTEB's task ``name`` with its dataset built from the local files (no network).

    Args:
        name: An MTEB task of :data:`MTEB_LOCAL_TASKS` (``"STSBenchmark"``,
            ``"STS12"`` ... ``"STS16"``; any case).
        data_dir: Data folder to read (``None``: ``$TRANSFERKIT_DATA``, else the
            download cache).
        verify: Check the files against their pinned sha256 sums.

    Returns:
        The ``mteb`` task object, its ``dataset`` a ``datasets.DatasetDict`` of
        ``sentence1``/``sentence2``/``score`` columns per MTEB split, marked loaded;
        pass it to ``mteb.evaluate``.

    Raises:
        UnknownTaskError: An MTEB task without local data.
        MissingDependencyError: ``mteb`` or ``datasets`` is not installed.
        DataNotFoundError: The task's files are not in the data folder.
        ChecksumError: A file does not match its pinned sha256.

    Example:
        >>> task = load_mteb_task("sts12")                  # doctest: +SKIP
        >>> task.metadata.name, len(task.dataset["test"])   # doctest: +SKIP
        ('STS12', 3108)
    """
    key = _resolve(name)
    try:
        import datasets
        import mteb
    except ImportError as err:
        raise MissingDependencyError(
            f"running MTEB tasks needs mteb 2 and datasets ({err}); install them with "
            "`pip install 'transferkit[mteb]'`"
        ) from None
    from benchmarks.tasks.registry import get_task

    local_name, splits = MTEB_LOCAL_TASKS[key]
    local = get_task(local_name, data_dir=data_dir)
    parts = {}
    for mteb_split, local_split in splits.items():
        data = local.load(local_split, verify=verify)
        parts[mteb_split] = datasets.Dataset.from_dict(
            {
                "sentence1": list(data.texts_a),
                "sentence2": list(data.texts_b),
                "score": [float(s) for s in data.scores],
            }
        )
    with warnings.catch_warnings():
        # STSBenchmark's v2 drops duplicate pairs; the local files are the original release.
        warnings.filterwarnings("ignore", message=".*is superseded by", category=UserWarning)
        task = mteb.get_task(key)
    task.dataset = datasets.DatasetDict(parts)
    task.data_loaded = True
    return task
