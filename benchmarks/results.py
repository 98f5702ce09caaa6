"""The layout of a benchmark result file, its key, and how it is written and checked.

One JSON file per (suite entry, encoder) pair, named
``<task label>__v<task version>__<config hash>__<encoder>__<fingerprint>.json``
(:func:`result_path`).  Its fields are :class:`ResultRecord`; a file with another
:data:`RESULT_FORMAT`, :data:`SCHEMA_VERSION` or toolkit version is not current
(:func:`is_current`) and is recomputed by the runner.  :func:`read_json_file` reads a
result (or reference) file within bounds, and :func:`result_problem` names the field
that keeps a record out of a report.

Scores are points, 0-100 (accuracy in %, correlations and V-measure x100), and every
record says so: ``"score_scale": 100``.  A record without that field was written by
an older version on the 0-1 scale; :func:`read_result_folder` converts it
(:func:`scores_in_points`), so old and new results share one table.

Example:
    >>> from benchmarks.suites import SuiteTask
    >>> result_path("results", SuiteTask("TREC"), "2", "glove-6b-50d", "ab" * 32).name[:9]
    'TREC__v2_'
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

import numpy as np

from benchmarks.tasks.records import FitPolicy as FitPolicy
from benchmarks.tasks.records import ProtocolInfo as ProtocolInfo
from embeddings._atomic import atomic_write_json
from embeddings._jsonfile import read_json_file as _read_json_file
from embeddings.errors import ModelFormatError

if TYPE_CHECKING:
    from benchmarks.tasks.base import Task
    from benchmarks.tasks.settings import SuiteTask

__all__ = [
    "RESULT_FORMAT",
    "SCHEMA_VERSION",
    "SCORE_SCALE",
    "EncoderInfo",
    "FailureInfo",
    "FitPolicy",
    "ProtocolInfo",
    "ResultRecord",
    "RunSummary",
    "TaskInfo",
    "Timings",
    "environment",
    "is_current",
    "read_json_file",
    "read_result_folder",
    "result_path",
    "result_problem",
    "scores_in_points",
    "task_info",
    "to_jsonable",
    "toolkit_version",
    "write_json_atomic",
]

RESULT_FORMAT = "transferkit-benchmark-result"
SCHEMA_VERSION = 2
"""Bump when the layout of :class:`ResultRecord` changes (2: scores in points)."""
SCORE_SCALE = 100
"""The scale of every score in a record: points, a fraction x100 (the scale of
:data:`evaluators.metrics.SCORE_SCALE`, not imported so that reading results needs no
scipy)."""
MAX_JSON_BYTES = 16 << 20
"""A result or reference file is a few KiB; a bigger one is not read."""
MAX_LABEL_CHARS = 200


class TaskInfo(TypedDict):
    """The task part of a result."""

    name: str
    label: str
    version: str
    family: str
    eval_protocol: str
    main_score: str
    params: dict[str, Any]
    config: dict[str, Any]
    config_hash: str


class EncoderInfo(TypedDict):
    """The encoder part of a result; ``fingerprint`` is that of the unfitted encoder."""

    label: str
    name: str
    spec: str
    class_path: str
    fingerprint: str
    params: dict[str, Any]
    dim: int | None
    trainable: bool


class Timings(TypedDict):
    """Seconds spent per stage (the encoder's weights load in the first encode/fit)."""

    fit_s: float
    encode_s: float
    evaluate_s: float
    total_s: float


class ResultRecord(TypedDict):
    """One result file."""

    format: str
    schema_version: int
    toolkit_version: str
    created: str
    key: str
    task: TaskInfo
    encoder: EncoderInfo
    protocol: ProtocolInfo
    n_samples: dict[str, int]
    suite: NotRequired[str]
    score_scale: int
    main_score: float
    scores: dict[str, Any]
    timings: Timings
    environment: dict[str, Any]


class FailureInfo(TypedDict):
    """A pair that could not be computed."""

    encoder: str
    task: str
    error: str
    error_type: str


class RunSummary(TypedDict):
    """What :func:`benchmarks.runner.run_suite` did."""

    suite: str
    out_dir: str
    computed: list[str]
    skipped: list[str]
    failed: list[FailureInfo]
    wall_s: float


def toolkit_version() -> str:
    """The transferkit version recorded in every result.

    Example:
        >>> toolkit_version().count(".") >= 1
        True
    """
    from embeddings import __version__

    return str(__version__)


_SLUG_RE = re.compile(r"[^A-Za-z0-9._-]+")


def _slug(text: str) -> str:
    return _SLUG_RE.sub("-", text).strip("-") or "x"


def result_path(
    out_dir: str | os.PathLike[str],
    entry: SuiteTask,
    task_version: str,
    encoder_label: str,
    fingerprint: str,
) -> Path:
    """The result file of one (suite entry, encoder) pair.

    The name holds the entry label, the task version, the first 12 hex digits of the
    entry's configuration hash, the encoder label and the first 16 of its fingerprint.

    Example:
        >>> from benchmarks.suites import SuiteTask
        >>> result_path("r", SuiteTask("MR"), "1", "glove-6b-50d", "ab" * 32).name[:16]
        'MR__v1__630e26f0'
    """
    name = (
        f"{_slug(entry.label)}__v{_slug(task_version)}__{entry.config_hash()[:12]}__"
        f"{_slug(encoder_label)}__{fingerprint[:16]}.json"
    )
    return Path(out_dir) / name


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON, atomically (a reader never sees half a file).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "r.json"
        >>> write_json_atomic(p, {"a": 1}); p.read_text()
        '{\\n  "a": 1\\n}\\n'
    """
    atomic_write_json(path, payload, allow_nan=True)


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy arrays and scalars turned into lists and Python numbers.

    Anything else that JSON cannot hold becomes its ``repr``.

    Example:
        >>> to_jsonable({"a": np.arange(2), "b": np.float32(0.5)})
        {'a': [0, 1], 'b': 0.5}
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def is_current(path: Path, version: str | None = None) -> bool:
    """Whether a result file parses and has this format, schema and toolkit version.

    Args:
        path: The result file.
        version: The toolkit version to require (``None``: :func:`toolkit_version`).

    Example:
        >>> is_current(Path("no-such-result.json"))
        False
    """
    if version is None:
        version = toolkit_version()
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and record.get("format") == RESULT_FORMAT
        and record.get("schema_version") == SCHEMA_VERSION
        and record.get("toolkit_version") == version
    )


def environment() -> dict[str, Any]:
    """The machine a result was computed on (Python, platform, CPU count).

    Example:
        >>> sorted(environment())
        ['cpu_count', 'platform', 'python']
    """
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }


def task_info(task: Task[Any], entry: SuiteTask) -> TaskInfo:
    """The task part of a result: metadata, constructor parameters and entry config.

    Example:
        >>> from benchmarks.suites import SuiteTask
        >>> from benchmarks.tasks import get_task
        >>> task_info(get_task("TREC"), SuiteTask("TREC"))["version"]
        '2'
    """
    meta = task.metadata
    return {
        "name": meta.name,
        "label": entry.label,
        "version": meta.version,
        "family": meta.family,
        "eval_protocol": meta.eval_protocol,
        "main_score": meta.main_score,
        "params": to_jsonable({k: v for k, v in task.get_params().items() if k != "data_dir"}),
        "config": entry.config(),
        "config_hash": entry.config_hash(),
    }


def read_json_file(path: str | os.PathLike[str], *, what: str, follow_link: bool = False) -> Any:
    """Parse a JSON file of at most :data:`MAX_JSON_BYTES`, checked before it is read.

    Args:
        path: the file.
        what: what the file is, for messages (``"result"``).
        follow_link: read through a symbolic link at ``path`` (a path the caller
            named); otherwise a link is refused, so a folder's files never lead
            outside it.

    Raises:
        ModelFormatError: a link, a special file (FIFO, device), a file that is too
            big, not UTF-8 or not JSON; the message names the file, never its content.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "r.json"
        >>> _ = p.write_text('{"a": 1}')
        >>> read_json_file(p, what="result")
        {'a': 1}
    """
    return _read_json_file(path, what=what, limit=MAX_JSON_BYTES, follow_links=follow_link)


_MISSING = object()


def _kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number"}  # fmt: skip
    return kinds.get(type(value), "null" if value is None else f"a {type(value).__name__}")


def _label_problem(name: str, value: Any) -> str | None:
    if value is _MISSING:
        return f"field {name!r} is missing"
    if not isinstance(value, str):
        return f"field {name!r} must be a string, got {_kind(value)}"
    if not 0 < len(value) <= MAX_LABEL_CHARS or not value.isprintable():
        return (
            f"field {name!r} must be 1 to {MAX_LABEL_CHARS} printable characters (got "
            f"{len(value)} characters{'' if value.isprintable() else ', some of them control'})"
        )
    return None


def result_problem(record: Mapping[str, Any]) -> str | None:
    """What keeps a result record out of a report: its first missing or mistyped field.

    A report needs ``task.label`` and ``encoder.label`` (printable strings of at most
    200 characters) and ``main_score`` (a number; ``NaN`` shows as a missing cell);
    the optional fields it reads must have their types.

    Returns:
        ``None`` for a usable record, else e.g. ``"field 'task' is missing"``.

    Example:
        >>> result_problem({"task": {"label": "MR"}, "encoder": {"label": "g"}, "main_score": 1})
        >>> result_problem({"encoder": {"label": "g"}, "main_score": 1})
        "field 'task' is missing"
    """
    for part in ("task", "encoder"):
        value = record.get(part, _MISSING)
        if not isinstance(value, dict):
            if value is _MISSING:
                return f"field {part!r} is missing"
            return f"field {part!r} must be an object, got {_kind(value)}"
        problem = _label_problem(f"{part}.label", value.get("label", _MISSING))
        if problem:
            return problem
    task = record["task"]
    score = record.get("main_score", _MISSING)
    if score is _MISSING:
        return "field 'main_score' is missing"
    if not isinstance(score, (int, float)) or isinstance(score, bool):
        return f"field 'main_score' must be a number, got {_kind(score)}"
    if not (isinstance(score, float) and math.isnan(score)) and not -1e9 <= score <= 1e9:
        return "field 'main_score' must be a number between -1e9 and 1e9 (or NaN)"
    config = task.get("config")
    checks: list[tuple[str, Any, tuple[type, ...], str]] = [
        ("created", record.get("created"), (str,), "a string"),
        ("task.name", task.get("name"), (str,), "a string"),
        ("task.main_score", task.get("main_score"), (str,), "a string"),
        ("task.version", task.get("version"), (str, int), "a string or an integer"),
        ("task.params", task.get("params"), (dict,), "an object"),
        ("task.config", config, (dict,), "an object"),
    ]
    if isinstance(config, dict):
        checks += [
            ("task.config.max_samples", config.get("max_samples"), (dict,), "an object"),
            ("task.config.n_folds", config.get("n_folds"), (int,), "an integer"),
        ]
    for name, value, types, expected in checks:
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            return f"field {name!r} must be {expected}, got {_kind(value)}"
    sizes = (config or {}).get("max_samples") or {}
    for n in sizes.values():
        if not isinstance(n, int) or isinstance(n, bool):
            return f"the values of field 'task.config.max_samples' must be integers, got {_kind(n)}"
    return None


def read_result_folder(root: Path, result_format: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The usable result records under ``root`` (recursively), and why others were skipped.

    JSON objects of another ``format`` are other files, ignored without a word.
    Linked folders and files are never followed out of ``root``.

    Returns:
        The records in file-name order, and one line per skipped file naming it and
        the reason (``"r.json: field 'task' is missing"``).

    Example:
        >>> import tempfile
        >>> read_result_folder(Path(tempfile.mkdtemp()), RESULT_FORMAT)
        ([], [])
    """
    files: list[Path] = []
    skipped: list[str] = []
    for folder, dirs, names in os.walk(root):  # never descends into a linked folder
        skipped += [
            f"{Path(folder, d)}: a symbolic link (not followed)"
            for d in sorted(dirs)
            if os.path.islink(os.path.join(folder, d))
        ]
        files += [Path(folder, n) for n in names if n.endswith(".json") and n[:1] != "."]
    records = []
    for file in sorted(files):
        try:
            record = read_json_file(file, what="result")
        except ModelFormatError as err:
            skipped.append(str(err))
            continue
        if not isinstance(record, dict):
            skipped.append(f"{file}: the JSON holds {_kind(record)}, not a result object")
            continue
        if record.get("format") != result_format:
            continue
        problem = result_problem(record)
        if problem is not None:
            skipped.append(f"{file}: {problem}")
            continue
        records.append(scores_in_points(record))
    return records, skipped


# Score fields of the evaluators' dicts (fractions or correlations before version 2);
# sizes, seeds, parameters and the MSE are left as they are.
_POINT_KEYS = frozenset(
    ("main_score", "accuracy", "accuracy_std", "f1", "dev_accuracy", "fold_accuracies",
     "pearson", "spearman", "dev_pearson", "v_measure", "v_measure_std", "ari", "ari_std",
     "nmi", "nmi_std")
)  # fmt: skip
_NESTED_SCORES = frozenset(("mean", "wmean", "all", "subsets", "runs"))


def _to_points(value: Any, factor: float) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value * factor
    if isinstance(value, list):
        return [_to_points(v, factor) for v in value]
    return value


def _scores_to_points(scores: Any, factor: float) -> Any:
    if isinstance(scores, list):
        return [_scores_to_points(s, factor) for s in scores]
    if not isinstance(scores, dict):
        return scores
    out = {}
    for key, value in scores.items():
        if key in _POINT_KEYS:
            out[key] = _to_points(value, factor)
        elif key == "subsets" and isinstance(value, dict):
            out[key] = {name: _scores_to_points(v, factor) for name, v in value.items()}
        elif key in _NESTED_SCORES:
            out[key] = _scores_to_points(value, factor)
        else:
            out[key] = value
    return out


def scores_in_points(record: dict[str, Any]) -> dict[str, Any]:
    """A result record with its scores in points (0-100), whatever version wrote it.

    A record with ``"score_scale": 100`` is returned as it is; one without (written
    before scores were points, so on the 0-1 scale) or with another positive scale
    has ``main_score`` and the scores of ``scores`` rescaled to points, and gets
    ``"score_scale": 100``.

    Example:
        >>> old = {"main_score": 0.775, "scores": {"accuracy": 0.775, "n_folds": 10}}
        >>> new = scores_in_points(old)
        >>> new["main_score"], new["scores"], new["score_scale"]
        (77.5, {'accuracy': 77.5, 'n_folds': 10}, 100)
    """
    scale = record.get("score_scale", 1)
    if scale == SCORE_SCALE:
        return record
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
        scale = 1  # not a usable scale: the 0-1 scale of the records that had none
    factor = SCORE_SCALE / float(scale)
    converted = dict(record)
    score = record.get("main_score")
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        converted["main_score"] = score * factor
    converted["scores"] = _scores_to_points(record.get("scores"), factor)
    converted["score_scale"] = SCORE_SCALE
    return converted
