"""The layout of a benchmark result file, its key, and how it is written and checked.

One JSON file per (suite entry, encoder) pair, named
``<task label>__v<task version>__<config hash>__<encoder>__<fingerprint>.json``
(:func:`result_path`).  Its fields are :class:`ResultRecord`; a file with another
:data:`RESULT_FORMAT`, :data:`SCHEMA_VERSION` or toolkit version is not current
(:func:`is_current`) and is recomputed by the runner.

Example:
    >>> from benchmarks.suites import SuiteTask
    >>> result_path("results", SuiteTask("TREC"), "2", "glove-6b-50d", "ab" * 32).name[:9]
    'TREC__v2_'
"""

from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

import numpy as np

from embeddings._atomic import atomic_write_text

if TYPE_CHECKING:
    from benchmarks.suites import SuiteTask
    from benchmarks.tasks.base import Task

__all__ = [
    "RESULT_FORMAT",
    "SCHEMA_VERSION",
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
    "result_path",
    "task_info",
    "to_jsonable",
    "toolkit_version",
    "write_json_atomic",
]

RESULT_FORMAT = "transferkit-benchmark-result"
SCHEMA_VERSION = 1
"""Bump when the layout of :class:`ResultRecord` changes."""

FitPolicy = Literal["none", "train", "per_fold", "unlabeled", "pretrained"]
"""What a trainable encoder was fitted on: nothing (frozen encoder), the train split,
each outer fold's training part, the unlabeled corpus, or elsewhere (a saved folder)."""


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


class ProtocolInfo(TypedDict):
    """How the score was obtained (enough to reproduce it)."""

    evaluator: str
    head: str | None
    seed: int
    n_folds: int | None
    c_grid: list[float] | None
    selection: str | None
    pair_features: str | None
    min_score: int | None
    fit: FitPolicy
    fit_texts: int
    fit_source: str | None
    max_samples: dict[str, int]
    data_verified: bool
    features: NotRequired[str]


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
    text = json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=True) + "\n"
    atomic_write_text(path, text)


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
