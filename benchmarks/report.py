"""Tables and plots from a folder of benchmark results.

:func:`load_results` reads the JSON files that :mod:`benchmarks.runner` writes;
:func:`build_table` arranges their main scores as tasks x encoders (x100: accuracy
in %, correlations and V-measure x100) with an average row; :func:`to_markdown` and
:func:`to_csv` render it, optionally next to published reference numbers
(:func:`load_reference`, ``benchmarks/reference/<name>.json``) shown as a separate,
labelled set of columns; :func:`plot_bars` and :func:`plot_heatmap` draw it with
matplotlib; :func:`write_report` does all of that into one folder.

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

import csv
import io
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from embeddings._atomic import atomic_write_bytes, atomic_write_text
from embeddings.errors import DataNotFoundError, InvalidParameterError, ModelFormatError

__all__ = [
    "REFERENCE_DIR",
    "ReferenceModel",
    "ReferenceSet",
    "ReportFiles",
    "ResultTable",
    "build_table",
    "list_references",
    "load_reference",
    "load_results",
    "plot_bars",
    "plot_heatmap",
    "to_csv",
    "to_markdown",
    "write_report",
]

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
"""Where the published reference numbers live (one JSON file per set)."""

_RESULT_FORMAT = "transferkit-benchmark-result"


class ReferenceScore(TypedDict, total=False):
    """One published number: its value (x100), the metric, and a note."""

    value: float
    metric: str
    note: str


class ReferenceModel(TypedDict):
    """One published model: a column of the reference set; ``source`` names its citation."""

    label: str
    source: str
    protocol: str
    scores: dict[str, ReferenceScore]


class ReferenceSet(TypedDict):
    """A reference file: its models and the citations of its sources."""

    name: str
    description: str
    scale: str
    sources: dict[str, dict[str, str]]
    models: list[ReferenceModel]


class ReportFiles(TypedDict):
    """What :func:`write_report` wrote."""

    markdown: str
    csv: str
    bars: str | None
    heatmap: str | None


@dataclass
class ResultTable:
    """Main scores (x100) as rows = task labels, columns = encoder labels.

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


def list_references() -> list[str]:
    """The names of the bundled reference sets.

    Example:
        >>> "senteval" in list_references()
        True
    """
    return sorted(p.stem for p in REFERENCE_DIR.glob("*.json"))


def load_reference(name_or_path: str | os.PathLike[str]) -> ReferenceSet:
    """A reference set by name (``"senteval"``) or from a JSON file path.

    Every model must name a source with a citation: a reference is cited or absent.

    Raises:
        InvalidParameterError: unknown name.
        ModelFormatError: a file without ``models``, or a model without a cited source.

    Example:
        >>> ref = load_reference("senteval")
        >>> ref["models"][0]["scores"]["MR"]["value"]
        81.1
    """
    path = Path(name_or_path)
    if not path.is_file():
        path = REFERENCE_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise InvalidParameterError(
                f"unknown reference set {str(name_or_path)!r}; bundled: {list_references()}, "
                "or give the path of a JSON file"
            )
    from benchmarks.results import read_json_file

    data = read_json_file(path, what="reference", follow_link=True)
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ModelFormatError(f"{path}: a reference file needs a 'models' list")
    sources = data.get("sources") or {}
    if not isinstance(sources, dict):
        raise ModelFormatError(f"{path}: 'sources' must be an object of citations")
    for i, model in enumerate(data["models"]):
        if not isinstance(model, dict) or not isinstance(model.get("scores"), dict):
            raise ModelFormatError(f"{path}: models[{i}] needs a 'scores' object")
        for score in model["scores"].values():
            value = score.get("value") if isinstance(score, dict) else None
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ModelFormatError(f"{path}: each score of models[{i}] needs a numeric 'value'")
        if not isinstance(model.get("source"), str):
            raise ModelFormatError(f"{path}: models[{i}].source must be a string")
        source = sources.get(model.get("source"))
        if not isinstance(source, dict) or not str(source.get("citation", "")).strip():
            raise ModelFormatError(
                f"{path}: models[{i}] ({model.get('label')!r}) names the source "
                f"{model.get('source')!r}, which has no citation in 'sources' "
                f"(sources with citations: {sorted(k for k, v in sources.items() if v)})"
            )
        model.setdefault("label", str(model.get("source")))
        model.setdefault("protocol", "")
    return {
        "name": str(data.get("name", path.stem)),
        "description": str(data.get("description", "")),
        "scale": str(data.get("scale", "percent")),
        "sources": sources,
        "models": data["models"],
    }


# ------------------------------------------------------------------ the table


def build_table(
    records: Sequence[Mapping[str, Any]],
    *,
    tasks: Sequence[str] | None = None,
    encoders: Sequence[str] | None = None,
) -> ResultTable:
    """Arrange results as tasks x encoders (main score x100), newest result per pair.

    Args:
        records: Result records (see :func:`load_results`).
        tasks: Only these task labels or names, in this order.
        encoders: Only these encoder labels, in this order.

    Example:
        >>> rec = {"task": {"label": "MR", "name": "MR", "main_score": "accuracy"},
        ...        "encoder": {"label": "glove"}, "main_score": 0.775, "created": "x"}
        >>> build_table([rec]).get("MR", "glove")
        77.5
    """
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
        k: 100.0 * float(r["main_score"])
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
    notes.append("Scores x100 (accuracy in %, correlations and V-measure x100); — = no result.")
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


# ------------------------------------------------------------------ plots


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save_figure(plt: Any, fig: Any, out: Path) -> Path:
    """Render ``fig`` and write it to ``out`` atomically (a link there is replaced)."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=out.suffix.lstrip(".").lower() or "png", dpi=120)
    finally:
        plt.close(fig)
    return atomic_write_bytes(out, buffer.getvalue())


def plot_bars(table: ResultTable, path: str | os.PathLike[str]) -> Path:
    """Grouped bars: one group per task, one bar per encoder; saved as an image.

    Example:
        >>> plot_bars(build_table(load_results("results")), "bars.png")  # doctest: +SKIP
    """
    import numpy as np

    plt = _pyplot()
    n_t, n_e = len(table.tasks), len(table.encoders)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.0 + n_t * (0.35 + 0.18 * n_e)), 4.5))
    width = 0.8 / max(n_e, 1)
    x = np.arange(n_t)
    for j, enc in enumerate(table.encoders):
        vals = [table.get(t, enc) for t in table.tasks]
        ax.bar(
            x + (j - (n_e - 1) / 2) * width,
            [np.nan if v is None else v for v in vals],
            width,
            label=enc,
        )
    ax.set_xticks(x)
    ax.set_xticklabels(table.tasks, rotation=35, ha="right")
    ax.set_ylabel("main score (x100)")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small", ncols=min(n_e, 4))
    fig.tight_layout()
    return _save_figure(plt, fig, Path(path))


def plot_heatmap(table: ResultTable, path: str | os.PathLike[str]) -> Path:
    """Heatmap of tasks x encoders with the scores written in the cells.

    Example:
        >>> plot_heatmap(build_table(load_results("results")), "heat.png")  # doctest: +SKIP
    """
    import numpy as np

    plt = _pyplot()
    data = np.array(
        [
            [np.nan if table.get(t, e) is None else table.get(t, e) for e in table.encoders]
            for t in table.tasks
        ],
        dtype=float,
    )
    fig, ax = plt.subplots(figsize=(2.0 + 1.2 * len(table.encoders), 1.2 + 0.4 * len(table.tasks)))
    image = ax.imshow(np.ma.masked_invalid(data), cmap="viridis", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(table.encoders)))
    ax.set_xticklabels(table.encoders, rotation=30, ha="right")
    ax.set_yticks(range(len(table.tasks)))
    ax.set_yticklabels(table.tasks)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            if not np.isnan(data[i, j]):
                ax.text(
                    j,
                    i,
                    f"{data[i, j]:.1f}",
                    ha="center",
                    va="center",
                    color="white" if data[i, j] < 60 else "black",
                    fontsize=8,
                )
    fig.colorbar(image, ax=ax, label="main score (x100)")
    fig.tight_layout()
    return _save_figure(plt, fig, Path(path))


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
    """Build the table, write ``report.md``, ``report.csv`` and the plots.

    Args:
        results_dir: Folder of result JSON files.
        out_dir: Where to write; ``None`` is ``results_dir``.
        reference: A reference set name or JSON path to show alongside, or ``None``.
        tasks: Only these tasks (labels or names).
        encoders: Only these encoders.
        plots: Also write ``bars.png`` and ``heatmap.png``.
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
    table = build_table(records, tasks=tasks, encoders=encoders)
    ref = load_reference(reference) if reference else None
    text = to_markdown(table, ref, title=title)
    out = Path(out_dir) if out_dir is not None else Path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    md_path, csv_path = out / "report.md", out / "report.csv"
    atomic_write_text(md_path, text)  # a link at the path is replaced, not written through
    atomic_write_text(csv_path, to_csv(table, ref))
    files: ReportFiles = {
        "markdown": str(md_path),
        "csv": str(csv_path),
        "bars": None,
        "heatmap": None,
    }
    if plots and table.tasks and table.encoders:
        files["bars"] = str(plot_bars(table, out / "bars.png"))
        files["heatmap"] = str(plot_heatmap(table, out / "heatmap.png"))
    return text, files
