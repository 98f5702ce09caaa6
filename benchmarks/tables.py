"""The tasks x encoders table of benchmark results, rendered as markdown or CSV.

:class:`ResultTable` holds main scores in points (0-100: accuracy in %, correlations
and V-measure x100); :func:`benchmarks.report.build_table` makes one from result
records.  :func:`to_markdown` and :func:`to_csv` render it, optionally next to
published reference numbers (:mod:`benchmarks.references`) shown as a separate,
labelled set of columns; :func:`suites_csv` puts the tables of several suites in one
CSV.

Example:
    >>> t = ResultTable(["MR"], ["glove"], {("MR", "glove"): 77.5}, {"MR": "accuracy"},
    ...                 {"MR": "MR"}, ["MR"])
    >>> t.averages()
    {'glove': 77.5}
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.references import ReferenceModel, ReferenceScore, ReferenceSet

__all__ = ["ResultTable", "suites_csv", "to_csv", "to_markdown"]


@dataclass
class ResultTable:
    """Main scores (points, 0-100) as rows = task labels, columns = encoder labels.

    Attributes:
        tasks: Row labels, in suite order where known, else sorted.
        encoders: Column labels, in the order their first result was created.
        values: ``{(task, encoder): score}``; a missing pair has no key.
        metrics: ``{task: main score name}``.
        task_names: ``{task label: registered task name}`` (for reference lookup).
        average_tasks: The tasks that the average row averages over.
        comparable: ``{task: False}`` for subsampled or protocol-changed entries (no
            reference number is shown next to them); a missing task counts as ``True``.
        not_comparable: ``{task: why}`` for those entries, e.g. ``"subsampled (train
            2000 rows); 5-fold C selection"``.
        task_notes: ``{task: note}`` for tasks of your own data: where the rows came
            from and how the splits were made.
        superseded: ``(task, version, encoder)`` of results left out because the task
            has a newer version in the folder.
        suite: The suite of the results (:func:`build_tables`), or ``""``.
    """

    tasks: list[str]
    encoders: list[str]
    values: dict[tuple[str, str], float]
    metrics: dict[str, str]
    task_names: dict[str, str]
    average_tasks: list[str] = field(default_factory=list)
    comparable: dict[str, bool] = field(default_factory=dict)
    not_comparable: dict[str, str] = field(default_factory=dict)
    task_notes: dict[str, str] = field(default_factory=dict)
    superseded: list[tuple[str, str, str]] = field(default_factory=list)
    suite: str = ""

    def get(self, task: str, encoder: str) -> float | None:
        """The score of a pair, or ``None``."""
        return self.values.get((task, encoder))

    def averages(self) -> dict[str, float | None]:
        """Per-encoder mean over :attr:`average_tasks` (``None`` if there are none)."""
        out: dict[str, float | None] = {}
        for enc in self.encoders:
            vals = [self.values[(t, enc)] for t in self.average_tasks if (t, enc) in self.values]
            complete = bool(vals) and len(vals) == len(self.average_tasks)
            out[enc] = sum(vals) / len(vals) if complete else None
        return out


def _ref_value(model: ReferenceModel, table: ResultTable, task: str) -> ReferenceScore | None:
    if not table.comparable.get(task, True):
        return None
    return model["scores"].get(table.task_names.get(task, task))


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def _ref_columns(reference: ReferenceSet | None) -> list[ReferenceModel]:
    return list(reference["models"]) if reference else []


def to_markdown(
    table: ResultTable, reference: ReferenceSet | None = None, *, title: str | None = None
) -> str:
    """The table as GitHub markdown; reference columns come after a ``‖`` divider.

    Reference numbers whose metric differs from the task's main score carry a ``†``;
    the empty reference cells of subsampled or protocol-changed entries carry a ``‡``
    and a note that says why.

    Example:
        >>> t = ResultTable(["MR"], ["glove"], {("MR", "glove"): 77.5}, {"MR": "accuracy"},
        ...                 {"MR": "MR"}, ["MR"])
        >>> print(to_markdown(t).splitlines()[2])
        | MR | accuracy | 77.50 |
    """
    refs = _ref_columns(reference)
    lines: list[str] = []
    if title:
        lines += [f"### {title}", ""]
    header = ["task", "metric", *table.encoders]
    if refs:
        header += ["‖", *[f"ref: {m['label']} [{i + 1}]" for i, m in enumerate(refs)]]
    lines.append("| " + " | ".join(header) + " |")
    align = ["---", "---", *["---:"] * len(table.encoders)]
    if refs:
        align += [":-:", *["---:"] * len(refs)]
    lines.append("|" + "|".join(align) + "|")
    footnote_metric = False
    for task in table.tasks:
        metric = table.metrics.get(task, "")
        row = [task, metric, *[_fmt(table.get(task, e)) for e in table.encoders]]
        if refs:
            cells = []
            for m in refs:
                ref = _ref_value(m, table, task)
                if ref is None:
                    cells.append("—‡" if task in table.not_comparable else "—")
                    continue
                mark = ""
                if ref.get("metric") and ref.get("metric") != metric:
                    mark, footnote_metric = "†", True
                cells.append(f"{_fmt(float(ref['value']), 1)}{mark}")
            row += ["‖", *cells]
        lines.append("| " + " | ".join(row) + " |")
    avgs = table.averages()
    n = len(table.average_tasks)
    row = [f"**average ({n} tasks)**", "", *[_fmt(avgs[e]) for e in table.encoders]]
    if refs:
        cells = []
        for m in refs:
            vals = [_ref_value(m, table, t) for t in table.average_tasks]
            ok = n > 0 and all(v is not None for v in vals)
            cells.append(_fmt(sum(float(v["value"]) for v in vals if v) / n, 1) if ok else "—")
        row += ["‖", *cells]
    lines.append("| " + " | ".join(row) + " |")
    notes = []
    if n < len(table.tasks):
        notes.append(
            f"The average covers the {n} task(s) that every encoder column has; "
            "a reference average is shown only when it has all of them."
        )
    notes.append(
        "Scores in points, 0-100 (accuracy in %, correlations and V-measure x100); — = no result."
    )
    if refs:
        notes.append(
            "Reference columns (right of ‖) are published numbers, not computed here; their "
            "data versions, preprocessing and classifier may differ. They are shown only "
            "next to full-data entries with the task's own protocol."
        )
        if footnote_metric:
            notes.append("† the reference reports a different metric than the task's main score.")
        shown = [t for t in table.tasks if t in table.not_comparable]
        if shown:
            notes.append(
                "‡ no published number beside "
                + "; ".join(f"{t}: {table.not_comparable[t]}" for t in shown)
                + "."
            )
        cites = []
        for i, m in enumerate(refs):
            src = reference["sources"].get(m["source"], {}) if reference else {}
            cite = src.get("citation", m["source"])
            url = src.get("url", "")
            cites.append(f"[{i + 1}] {m['label']}: {cite}" + (f" <{url}>" if url else ""))
        notes += cites
    for task in table.tasks:
        if task in table.task_notes:
            notes.append(f"{task}: {table.task_notes[task]}.")
    if table.superseded:
        older = sorted({f"{t} v{v}" for t, v, _ in table.superseded})
        notes.append(
            f"Not shown: {len(table.superseded)} result(s) of older task versions "
            f"({', '.join(older)}); rerun `transferkit bench` to compute them for the current "
            "version."
        )
    lines.append("")
    lines += [f"{note}  " for note in notes]
    return "\n".join(lines).rstrip() + "\n"


def to_csv(table: ResultTable, reference: ReferenceSet | None = None) -> str:
    """The table as CSV (one row per task plus ``average``; reference columns prefixed ``ref:``).

    Example:
        >>> t = ResultTable(["MR"], ["glove"], {("MR", "glove"): 77.5}, {"MR": "accuracy"},
        ...                 {"MR": "MR"}, ["MR"])
        >>> to_csv(t).splitlines()[1]
        'MR,accuracy,77.5'
    """
    refs = _ref_columns(reference)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["task", "metric", *table.encoders, *[f"ref:{m['label']}" for m in refs]])

    def cell(value: float | None) -> str:
        return "" if value is None else repr(round(value, 4))

    for task in table.tasks:
        ref_cells = []
        for m in refs:
            ref = _ref_value(m, table, task)
            ref_cells.append("" if ref is None else cell(float(ref["value"])))
        writer.writerow(
            [
                task,
                table.metrics.get(task, ""),
                *[cell(table.get(task, e)) for e in table.encoders],
                *ref_cells,
            ]
        )
    avgs = table.averages()
    writer.writerow(
        [
            "average",
            f"{len(table.average_tasks)} tasks",
            *[cell(avgs[e]) for e in table.encoders],
            *[""] * len(refs),
        ]
    )
    return buf.getvalue()


def suites_csv(tables: Sequence[ResultTable], reference: ReferenceSet | None) -> str:
    """The tables of several suites as one CSV with a leading ``suite`` column.

    Example:
        >>> t = ResultTable(["MR"], ["glove"], {("MR", "glove"): 77.5}, {"MR": "accuracy"},
        ...                 {"MR": "MR"}, ["MR"], suite="senteval")
        >>> suites_csv([t], None).splitlines()[1]
        'senteval,MR,accuracy,77.5'
    """
    rows: list[str] = []
    for i, table in enumerate(tables):
        lines = to_csv(table, reference).splitlines()
        if i == 0:
            rows.append("suite," + lines[0])
        rows += [f"{_csv_cell(table.suite)},{line}" for line in lines[1:]]
    return "\n".join(rows) + "\n"


def _csv_cell(value: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([value])
    return buf.getvalue()
