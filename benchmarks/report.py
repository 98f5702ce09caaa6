"""Tables and plots from a folder of benchmark results.

:func:`load_results` reads the JSON files that :mod:`benchmarks.runner` writes;
:func:`build_table` arranges their main scores as tasks x encoders (in points, 0-100:
accuracy in %, correlations and V-measure x100; results written on the older 0-1
scale are converted) with an average row; :func:`build_tables` makes one such table
per suite; :func:`to_markdown` and :func:`to_csv` render a table, optionally next to
published reference numbers (:func:`load_reference`,
``benchmarks/reference/<name>.json``) shown as a separate, labelled set of columns;
:func:`plot_bars` and :func:`plot_heatmap` (:mod:`benchmarks.plots`) draw it with
matplotlib; :func:`write_report` does all of that into one folder, one table, one
average and one pair of plots per suite.

When a (task, encoder) pair has several results (an encoder whose parameters
changed, a re-run with a new toolkit version), the newest one is shown.  Results of
an older version of a task (its data or protocol changed since) are never shown next
to results of the current one; the report says how many were left out.

The average row averages each column over the tasks that *every* shown encoder
has, so the averages compare like with like; the row label says how many tasks.

Example:
    >>> from benchmarks.report import build_table, to_markdown
    >>> table = build_table(load_results("results/"))                # doctest: +SKIP
    >>> print(to_markdown(table, load_reference("senteval")))        # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict

from benchmarks.plots import plot_bars, plot_heatmap
from benchmarks.references import (
    REFERENCE_DIR,
    ReferenceModel,
    ReferenceSet,
    list_references,
    load_reference,
)
from benchmarks.results import scores_in_points
from benchmarks.tables import ResultTable, suites_csv, to_csv, to_markdown
from embeddings._atomic import atomic_write_text
from embeddings.errors import DataNotFoundError, InvalidParameterError

__all__ = [
    "REFERENCE_DIR",
    "ReferenceModel",
    "ReferenceSet",
    "ReportFiles",
    "ResultTable",
    "build_table",
    "build_tables",
    "list_references",
    "load_reference",
    "load_results",
    "plot_bars",
    "plot_heatmap",
    "suite_of",
    "to_csv",
    "to_markdown",
    "write_report",
]

_RESULT_FORMAT = "transferkit-benchmark-result"


class ReportFiles(TypedDict):
    """What :func:`write_report` wrote (``bars`` and ``heatmap``: the first suite's)."""

    markdown: str
    csv: str
    bars: str | None
    heatmap: str | None
    plots: list[str]


# ------------------------------------------------------------------ loading


def load_results(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read every result JSON in a folder (recursively); other JSON files are ignored.

    A file that cannot be used is skipped with one warning that names it and why:
    not valid JSON (e.g. a copy truncated by hand; the runner itself writes
    atomically), not a JSON object, a result lacking a field the report needs
    (:func:`benchmarks.results.result_problem`), a symbolic link (never followed out
    of the folder), a special file or one over 16 MiB.

    Raises:
        DataNotFoundError: the folder does not exist.

    Example:
        >>> import tempfile
        >>> load_results(tempfile.mkdtemp())
        []
    """
    from benchmarks.results import read_result_folder

    root = Path(path)
    if not root.is_dir():
        raise DataNotFoundError(f"results folder {root} does not exist; run `transferkit bench`")
    records, skipped = read_result_folder(root, _RESULT_FORMAT)
    for why in skipped:
        warnings.warn(f"skipping {why}", RuntimeWarning, stacklevel=2)
    return records


# ------------------------------------------------------------------ the table


def build_table(
    records: Sequence[Mapping[str, Any]],
    *,
    tasks: Sequence[str] | None = None,
    encoders: Sequence[str] | None = None,
) -> ResultTable:
    """Arrange results as tasks x encoders (main score in points), newest result per pair.

    A record without ``"score_scale": 100`` (written on the 0-1 scale by an older
    version) is converted (:func:`benchmarks.results.scores_in_points`).

    Args:
        records: Result records (see :func:`load_results`).
        tasks: Only these task labels or names, in this order.
        encoders: Only these encoder labels, in this order.

    Example:
        >>> rec = {"task": {"label": "MR", "name": "MR", "main_score": "accuracy"},
        ...        "encoder": {"label": "glove"}, "main_score": 77.5, "score_scale": 100}
        >>> build_table([rec]).get("MR", "glove")
        77.5
    """
    records = [scores_in_points(dict(r)) for r in records]
    records, superseded = _current_versions(records)
    newest: dict[tuple[str, str], Mapping[str, Any]] = {}
    task_order: list[str] = []
    metrics: dict[str, str] = {}
    names: dict[str, str] = {}
    comparable: dict[str, bool] = {}
    why_not: dict[str, str] = {}
    notes: dict[str, str] = {}
    first_seen: dict[str, str] = {}
    for rec in records:
        task = str(rec["task"]["label"])
        enc = str(rec["encoder"]["label"])
        key = (task, enc)
        if key not in newest or str(rec.get("created", "")) >= str(newest[key].get("created", "")):
            newest[key] = rec
        first_seen[enc] = min(first_seen.get(enc, "~"), str(rec.get("created", "")))
        if task not in task_order:
            task_order.append(task)
        metrics[task] = str(rec["task"].get("main_score", "score"))
        names[task] = str(rec["task"].get("name", task))
        config = rec["task"].get("config") or {}
        comparable[task] = not config.get("max_samples") and config.get("n_folds") is None
        if not comparable[task]:
            why_not[task] = _why_not_comparable(config)
        note = _own_task_note(rec["task"].get("params") or {})
        if note:
            notes[task] = note
    from benchmarks.suites import get_suite, list_suites

    rank: dict[str, int] = {}
    for suite in list_suites():
        for entry in get_suite(suite).tasks:
            rank.setdefault(entry.label, len(rank))
    task_order.sort(key=lambda t: (rank.get(t, len(rank)), t))
    enc_order = sorted(first_seen, key=lambda e: (first_seen[e], e))  # in the order they ran
    if tasks is not None:
        wanted = [t for t in tasks]
        lookup = {t.lower(): t for t in task_order} | {names[t].lower(): t for t in task_order}
        missing = [t for t in wanted if t.lower() not in lookup]
        if missing:
            raise InvalidParameterError(f"no results for task(s) {missing}; have {task_order}")
        task_order = list(dict.fromkeys(lookup[t.lower()] for t in wanted))
    if encoders is not None:
        missing = [e for e in encoders if e not in enc_order]
        if missing:
            raise InvalidParameterError(f"no results for encoder(s) {missing}; have {enc_order}")
        enc_order = list(encoders)
    values = {
        k: float(r["main_score"])
        for k, r in newest.items()
        if k[0] in task_order and k[1] in enc_order
    }
    common = [t for t in task_order if all((t, e) in values for e in enc_order)]
    return ResultTable(
        task_order,
        enc_order,
        values,
        metrics,
        names,
        common,
        comparable,
        {t: why for t, why in why_not.items() if t in task_order},
        {t: note for t, note in notes.items() if t in task_order},
        [s for s in superseded if s[0] in task_order],
    )


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (-1, version)


def _current_versions(
    records: Sequence[Mapping[str, Any]],
) -> tuple[list[Mapping[str, Any]], list[tuple[str, str, str]]]:
    """The records of each task label's current version, and (task, version, encoder) of
    the others.  The current version of a task is that of its newest result."""
    current: dict[str, tuple[str, str]] = {}
    for rec in records:
        task = str(rec["task"]["label"])
        version = str(rec["task"].get("version", ""))
        created = str(rec.get("created", ""))
        best = current.get(task)
        if best is None or (created, _version_key(version)) > (best[0], _version_key(best[1])):
            current[task] = (created, version)
    kept: list[Mapping[str, Any]] = []
    dropped: list[tuple[str, str, str]] = []
    for rec in records:
        task = str(rec["task"]["label"])
        version = str(rec["task"].get("version", ""))
        if version == current[task][1]:
            kept.append(rec)
        else:
            dropped.append((task, version, str(rec["encoder"]["label"])))
    return kept, sorted(set(dropped))


def _why_not_comparable(config: Mapping[str, Any]) -> str:
    """Why an entry gets no published number beside it (subsampling, other folds)."""
    reasons = []
    max_samples = config.get("max_samples") or {}
    if max_samples:
        sizes = ", ".join(f"{split} {n}" for split, n in sorted(max_samples.items()))
        reasons.append(f"subsampled (at most {sizes} rows)")
    if config.get("n_folds") is not None:
        reasons.append(f"{config['n_folds']}-fold selection instead of the task's own")
    return "; ".join(reasons) or "a protocol other than the task's own"


def _own_task_note(params: Mapping[str, Any]) -> str:
    """Where an own task's rows came from and how they were split ("" for built-ins)."""
    if "source" not in params or "splits" not in params:
        return ""
    return f"your own {params.get('type', 'task')} data from {params['source']}; {params['splits']}"


# ------------------------------------------------------------------ several suites


def suite_of(record: Mapping[str, Any]) -> str:
    """The suite a result belongs to: its ``suite`` field, else the first registered
    suite with an entry of its task label, else ``"own"`` for a task of your own data.

    Example:
        >>> suite_of({"task": {"label": "TREC (quick)"}}), suite_of({"task": {"label": "MR"}})
        ('quick', 'senteval')
    """
    suite = record.get("suite")
    if isinstance(suite, str) and suite:
        return suite
    from benchmarks.suites import get_suite, list_suites

    label = str(record["task"]["label"])
    for name in list_suites():
        if any(entry.label == label for entry in get_suite(name).tasks):
            return name
    return "own" if _own_task_note(record["task"].get("params") or {}) else "other"


def build_tables(
    records: Sequence[Mapping[str, Any]],
    *,
    tasks: Sequence[str] | None = None,
    encoders: Sequence[str] | None = None,
) -> list[ResultTable]:
    """One :func:`build_table` per suite (:func:`suite_of`), in the order they ran.

    Results of several suites in one folder (say the quick suite of some encoders and
    the SentEval suite of others) give one table and one average each, instead of one
    table whose average covers no task.  ``tasks`` and ``encoders`` filter every
    table; a name that no result has raises.

    Example:
        >>> recs = [{"task": {"label": "TREC (quick)", "main_score": "accuracy"},
        ...          "encoder": {"label": "a"}, "main_score": 80.0, "score_scale": 100},
        ...         {"task": {"label": "MR", "main_score": "accuracy"},
        ...          "encoder": {"label": "b"}, "main_score": 75.0, "score_scale": 100}]
        >>> [(t.suite, t.averages()) for t in build_tables(recs)]
        [('quick', {'a': 80.0}), ('senteval', {'b': 75.0})]
    """
    if tasks is not None or encoders is not None:
        build_table(records, tasks=tasks, encoders=encoders)  # names no result has raise
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for rec in sorted(records, key=lambda r: str(r.get("created", ""))):
        groups.setdefault(suite_of(rec), []).append(rec)
    tables = []
    for suite, recs in groups.items():
        table = build_table(recs)
        wanted_t = [t for t in tasks if _has_task(table, t)] if tasks is not None else None
        wanted_e = [e for e in encoders if e in table.encoders] if encoders is not None else None
        if wanted_t == [] or wanted_e == []:
            continue
        table = build_table(recs, tasks=wanted_t, encoders=wanted_e)
        table.suite = suite
        tables.append(table)
    return tables


def _has_task(table: ResultTable, name: str) -> bool:
    key = name.lower()
    return any(key in (t.lower(), table.task_names[t].lower()) for t in table.tasks)


# ------------------------------------------------------------------ files


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "suite"


def write_report(
    results_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    reference: str | None = None,
    tasks: Sequence[str] | None = None,
    encoders: Sequence[str] | None = None,
    plots: bool = True,
    title: str | None = None,
) -> tuple[str, ReportFiles]:
    """Build the tables, write ``report.md``, ``report.csv`` and the plots.

    Results of one suite give one table, ``bars.png`` and ``heatmap.png``.  Results
    of several suites in one folder give one table and one average per suite (one
    markdown section each, a ``suite`` column in the CSV) and
    ``bars-<suite>.png`` / ``heatmap-<suite>.png`` per suite.

    Args:
        results_dir: Folder of result JSON files.
        out_dir: Where to write; ``None`` is ``results_dir``.
        reference: A reference set name or JSON path to show alongside, or ``None``.
        tasks: Only these tasks (labels or names).
        encoders: Only these encoders.
        plots: Also write the bar charts and heatmaps.
        title: A heading for the markdown.

    Returns:
        The markdown text and the paths written.

    Raises:
        DataNotFoundError: no results in ``results_dir``.

    Example:
        >>> text, files = write_report("results/", reference="senteval")   # doctest: +SKIP
    """
    records = load_results(results_dir)
    if not records:
        raise DataNotFoundError(
            f"no benchmark results in {results_dir}; run `transferkit bench --out {results_dir}`"
        )
    tables = build_tables(records, tasks=tasks, encoders=encoders)
    ref = load_reference(reference) if reference else None
    out = Path(out_dir) if out_dir is not None else Path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    several = len(tables) > 1
    if several:
        heading = [f"## {title}", ""] if title else []
        sections = [to_markdown(t, ref, title=f"suite: {t.suite}") for t in tables]
        text = "\n".join([*heading, "\n".join(sections)]).rstrip() + "\n"
    else:
        text = to_markdown(tables[0], ref, title=title)
    md_path, csv_path = out / "report.md", out / "report.csv"
    atomic_write_text(md_path, text)  # a link at the path is replaced, not written through
    atomic_write_text(csv_path, suites_csv(tables, ref) if several else to_csv(tables[0], ref))
    files: ReportFiles = {
        "markdown": str(md_path),
        "csv": str(csv_path),
        "bars": None,
        "heatmap": None,
        "plots": [],
    }
    if plots:
        for table in tables:
            if not (table.tasks and table.encoders):
                continue
            tail = f"-{_slug(table.suite)}" if several else ""
            what = f"suite {table.suite}: " if table.suite else ""
            bars = plot_bars(table, out / f"bars{tail}.png", title=f"{what}{title or _BARS}")
            heat = plot_heatmap(table, out / f"heatmap{tail}.png", title=f"{what}{title or _HEAT}")
            files["plots"] += [str(bars), str(heat)]
            if files["bars"] is None:
                files["bars"], files["heatmap"] = str(bars), str(heat)
    return text, files


_BARS = "main score per task and encoder (points, 0-100)"
_HEAT = "main score per task and encoder"
