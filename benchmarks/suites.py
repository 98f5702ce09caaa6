"""Benchmark suites: named, versioned lists of tasks with their evaluation settings.

A suite is plain data (MTEB's benchmark lists, not SentEval's ``if/elif`` chain):
each :class:`SuiteTask` (defined with the tasks, in :mod:`benchmarks.tasks.settings`,
and re-exported here) names a registered task, the constructor parameters of the
task, how many rows of each split to keep and the protocol settings.  The runner
(:mod:`benchmarks.runner`) turns one entry and one encoder into one result file;
the entry's :meth:`SuiteTask.config_hash` is part of that file's key, so two suites
that evaluate a task the same way share results, and a subsampled entry never
collides with the full one.

Suites (``list_suites()``):

* ``quick`` -- five tasks, one per family, subsampled (at most 2000 training rows
  per task, 5-fold selection as in SentEval's prototyping config) so that the four
  embedded defaults finish in under 5 minutes on 2 CPU cores;
* ``senteval`` -- the SentEval transfer tasks with SentEval's protocol: MR, CR,
  SUBJ, MPQA (10-fold nested CV), SST2, SST5, TREC, MRPC, SICK-E, SICK-R, STS-B and
  STS12-16 (Conneau & Kiela, 2018);
* ``full`` -- ``senteval`` plus every other registered task (TREC-fine, AGNews, R8
  and the clustering tasks).

Example:
    >>> from benchmarks.suites import get_suite, list_suites
    >>> list_suites()[:3]
    ['quick', 'senteval', 'full']
    >>> [t.label for t in get_suite("quick").tasks]
    ['SST2 (quick)', 'TREC (quick)', 'SICK-E (quick)', 'STS12 (quick)', 'TRECClustering']
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from benchmarks.tasks.own_rows import FILE_SUFFIXES
from benchmarks.tasks.settings import SUITE_FORMAT_VERSION, PairFeatureName, SuiteTask
from embeddings.errors import InvalidParameterError

__all__ = [
    "SUITE_FORMAT_VERSION",
    "PairFeatureName",
    "Suite",
    "SuiteTask",
    "find_tasks",
    "get_suite",
    "list_suites",
    "register_suite",
    "suites_with",
]


@dataclass(frozen=True)
class Suite:
    """A named list of :class:`SuiteTask` entries.

    Attributes:
        name: The suite name used by ``transferkit bench --suite``.
        description: One line.
        tasks: The entries, in report order.
    """

    name: str
    description: str
    tasks: tuple[SuiteTask, ...]

    def __post_init__(self) -> None:
        labels = [t.label for t in self.tasks]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise InvalidParameterError(f"suite {self.name!r} repeats the labels {dupes}")

    def select(self, names: list[str] | tuple[str, ...]) -> Suite:
        """A suite with only the entries whose label or task name is in ``names``.

        Raises:
            InvalidParameterError: a name that matches no entry.

        Example:
            >>> [t.task for t in get_suite("senteval").select(["MR", "TREC"]).tasks]
            ['MR', 'TREC']
        """
        wanted = {n.lower() for n in names}
        missing = sorted(n for n in names if not self.has(n))
        if missing:
            hints = [_where_is(n) for n in missing]
            raise InvalidParameterError(
                f"suite {self.name!r} has no task {missing}; it has "
                f"{[t.label for t in self.tasks]}" + "".join(f"; {h}" for h in hints if h)
            )
        kept = tuple(t for t in self.tasks if t.label.lower() in wanted or t.task.lower() in wanted)
        return Suite(self.name, self.description, kept)

    def has(self, name: str) -> bool:
        """Whether an entry has this label or task name (any case).

        Example:
            >>> get_suite("quick").has("trec"), get_suite("quick").has("MR")
            (True, False)
        """
        key = name.strip().lower()
        return any(key in (t.label.lower(), t.task.lower()) for t in self.tasks)


# ------------------------------------------------------------------ built-in suites

_QUICK_TRAIN = 2000

_QUICK = Suite(
    "quick",
    "Five tasks, one per family, subsampled (<= 2000 training rows, 5-fold selection): "
    "a few minutes on 2 CPU cores.",
    (
        SuiteTask(
            "SST2",
            label="SST2 (quick)",
            task_params={"train_file": "sentences"},
            max_samples={"train": _QUICK_TRAIN, "dev": 500, "test": 1000},
        ),
        SuiteTask("TREC", label="TREC (quick)", max_samples={"train": _QUICK_TRAIN}, n_folds=5),
        SuiteTask(
            "SICK-E",
            label="SICK-E (quick)",
            max_samples={"train": 1000, "dev": 300, "test": 1000},
        ),
        SuiteTask("STS12", label="STS12 (quick)", max_samples={"test": 1000}),
        SuiteTask("TRECClustering", clustering_split="test"),
    ),
)

_SENTEVAL_TASKS: tuple[SuiteTask, ...] = (
    SuiteTask("MR"),
    SuiteTask("CR"),
    SuiteTask("SUBJ"),
    SuiteTask("MPQA"),
    SuiteTask("SST2"),  # trained on the 67,349 phrases, as SentEval
    SuiteTask("SST5"),
    SuiteTask("TREC"),
    SuiteTask("MRPC"),
    SuiteTask("SICK-E"),
    SuiteTask("SICK-R", min_score=1),
    SuiteTask("STS-B", min_score=0),
    SuiteTask("STS12"),
    SuiteTask("STS13"),
    SuiteTask("STS14"),
    SuiteTask("STS15"),
    SuiteTask("STS16"),
)

_SENTEVAL = Suite(
    "senteval",
    "The SentEval transfer tasks with SentEval's protocol (Conneau & Kiela, 2018).",
    _SENTEVAL_TASKS,
)

_FULL = Suite(
    "full",
    "Every registered task: the SentEval tasks plus TREC-fine, AGNews, R8 and clustering.",
    (
        *_SENTEVAL_TASKS,
        SuiteTask("TREC-fine"),
        SuiteTask("AGNews"),
        SuiteTask("R8"),
        SuiteTask("TRECClustering"),
        SuiteTask("AGNewsClustering"),
        SuiteTask("R8Clustering"),
    ),
)

_SUITES: dict[str, Suite] = {s.name: s for s in (_QUICK, _SENTEVAL, _FULL)}


def register_suite(suite: Suite, *, overwrite: bool = False) -> Suite:
    """Add a suite so that ``get_suite(suite.name)`` and the CLI find it.

    Raises:
        InvalidParameterError: the name is taken and ``overwrite`` is false.

    Example:
        >>> s = register_suite(Suite("mine", "MR only", (SuiteTask("MR"),)), overwrite=True)
        >>> get_suite("mine").tasks[0].task
        'MR'
    """
    if not isinstance(suite, Suite):
        raise InvalidParameterError(f"expected a Suite, got {type(suite).__name__}")
    if suite.name in _SUITES and not overwrite:
        raise InvalidParameterError(
            f"a suite named {suite.name!r} exists already; pass overwrite=True to replace it"
        )
    _SUITES[suite.name] = suite
    return suite


def list_suites() -> list[str]:
    """The registered suite names (built-ins first).

    Example:
        >>> "senteval" in list_suites()
        True
    """
    return list(_SUITES)


def suites_with(name: str) -> list[str]:
    """The registered suites that have an entry with this label or task name.

    Example:
        >>> suites_with("AGNews")
        ['full']
    """
    return [suite_name for suite_name, suite in _SUITES.items() if suite.has(name)]


def _where_is(name: str) -> str:
    """Where a task that a suite lacks can be found (for error messages)."""
    if name.strip().lower().endswith(FILE_SUFFIXES):
        return (
            f"{name!r} is a file: run your own rows with Task.from_file "
            "(transferkit bench --task-file PATH --type ...)"
        )
    others = suites_with(name)
    if others:
        return f"{name!r} is in suite {others[0]!r}" + (
            f" (also {others[1:]})" if len(others) > 1 else ""
        )
    return ""


def find_tasks(names: list[str] | tuple[str, ...], suite: str | Suite | None = None) -> Suite:
    """The suite entries for some task names or labels.

    With ``suite``, its entries (an error names the suites that have a missing task).
    Without, each name is taken from the first suite that has it, in
    :func:`list_suites` order: ``TREC`` is the quick suite's subsampled entry,
    ``MR`` the senteval one, ``AGNews`` the full one.

    Raises:
        InvalidParameterError: a name that no suite has (with close task names).

    Example:
        >>> [t.label for t in find_tasks(["TREC", "MR", "AGNews"]).tasks]
        ['TREC (quick)', 'MR', 'AGNews']
        >>> find_tasks(["AGNews"]).name
        'full'
    """
    if suite is not None:
        return get_suite(suite).select(list(names))
    picked: list[SuiteTask] = []
    used: list[str] = []
    for name in names:
        owners = suites_with(name)
        if not owners:
            hint = _where_is(name)
            if hint:
                raise InvalidParameterError(f"no suite has a task {name!r}; {hint}")
            from benchmarks.tasks import get_task_class

            get_task_class(name)  # an unknown task: the error suggests close names
            raise InvalidParameterError(f"no suite has the task {name!r}")
        entries = _SUITES[owners[0]].select([name]).tasks
        picked += [e for e in entries if e not in picked]
        if owners[0] not in used:
            used.append(owners[0])
    labels = [e.label for e in picked]
    if len(set(labels)) != len(labels):
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        raise InvalidParameterError(f"the tasks {list(names)} name the entries {dupes} twice")
    description = "entries of " + ", ".join(repr(u) for u in used)
    return Suite("+".join(used), description, tuple(picked))


def get_suite(name: str | Suite) -> Suite:
    """The suite registered under ``name`` (case-insensitive).

    Raises:
        InvalidParameterError: unknown name; the message suggests close names.

    Example:
        >>> len(get_suite("SentEval").tasks)
        16
    """
    if isinstance(name, Suite):
        return name
    key = str(name).strip().lower()
    for suite_name, suite in _SUITES.items():
        if suite_name.lower() == key:
            return suite
    close = difflib.get_close_matches(key, list(_SUITES), n=2, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise InvalidParameterError(f"unknown suite {name!r}{hint} Known suites: {list(_SUITES)}")
