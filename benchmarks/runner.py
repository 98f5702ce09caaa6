"""Run a suite: every (encoder, task) pair becomes one JSON result file.

For each encoder and each :class:`~benchmarks.suites.SuiteTask` the runner builds the
task, lets it evaluate the encoder (``Task.evaluate``: the family's protocol in
:mod:`benchmarks.protocols` loads its splits, fits trainable encoders on training texts
only, encodes through the embedding cache and runs its head from :mod:`evaluators`)
and writes the result atomically to
``<out_dir>/<task label>__v<task version>__<config hash>__<encoder>__<fingerprint>.json``
(layout: :mod:`benchmarks.results`; encoder specs: :mod:`benchmarks.specs`; what is
fitted on what: :mod:`benchmarks.evaluation`).

* **Resume.**  A result file that exists, parses, has this schema version and this
  toolkit version is skipped; anything else is recomputed (``force=True``
  recomputes everything).
* **Failures.**  An encoder that cannot be built or loaded, or a task that fails,
  is reported (message and exception type) and the run goes on with the rest.
  Nothing is written for a failed pair, so the next run retries it.
* **Your own tasks.**  ``run_suite`` also takes tasks made with
  ``Task.from_dataframe`` / ``Task.from_file`` in place of a suite; they are
  evaluated with their family's protocol and written in the same format.

Example:
    >>> from benchmarks.runner import parse_encoder_spec
    >>> parse_encoder_spec("glove-6b-50d:pooling=sif:sif_a=0.001")
    ('glove-6b-50d', {'pooling': 'sif', 'sif_a': 0.001})
    >>> summary = run_suite("quick", ["glove-6b-50d"], "results/")   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks.evaluation import (
    UNLABELED_FIT_TEXTS,
    EncoderSession,
    TaskEvaluation,
    unlabeled_texts,
)

# the record layout lives in benchmarks.results; its names stay importable from here
from benchmarks.results import RESULT_FORMAT as RESULT_FORMAT
from benchmarks.results import SCHEMA_VERSION as SCHEMA_VERSION
from benchmarks.results import (
    SCORE_SCALE,
    EncoderInfo,
    FailureInfo,
    ProtocolInfo,
    ResultRecord,
    RunSummary,
    environment,
    is_current,
    result_path,
    task_info,
    toolkit_version,
    write_json_atomic,
)
from benchmarks.results import FitPolicy as FitPolicy
from benchmarks.results import TaskInfo as TaskInfo
from benchmarks.results import Timings as Timings
from benchmarks.specs import build_encoder, encoder_info, parse_encoder_spec
from benchmarks.suites import Suite, SuiteTask, get_suite
from embeddings.errors import InvalidParameterError, renamed_parameters

__all__ = [
    "UNLABELED_FIT_TEXTS",
    "evaluate_task",
    "parse_encoder_spec",
    "result_path",
    "run_suite",
    "toolkit_version",
    "unlabeled_texts",
]

OWN_SUITE = "own"
"""The suite name of a run over tasks of your own data."""


def evaluate_task(
    task: Any,
    entry: SuiteTask,
    enc: EncoderSession,
    *,
    verify: bool = True,
    data_dir: Any = None,
    n_jobs: int | None = None,
) -> tuple[dict[str, Any], dict[str, int], ProtocolInfo]:
    """Evaluate one task with the settings of a suite entry: (scores, sizes, protocol).

    The task evaluates itself (``Task.evaluate``); this is the runner's view of it.

    Example:
        >>> from benchmarks.tasks import get_task
        >>> scores, sizes, protocol = evaluate_task(
        ...     get_task("TREC"), SuiteTask("TREC"), session)            # doctest: +SKIP
    """
    result = task.evaluate(
        enc, settings=entry, verify=verify, data_dir=data_dir, n_jobs=n_jobs, blas_threads=None
    )
    return result["scores"], result["n_samples"], result["protocol"]


def _say(message: str, log: Callable[[str], None] | None) -> None:
    if log is None:
        return
    log(message)


def _default_log(message: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)


@contextlib.contextmanager
def _bar(total: int, enabled: bool, desc: str) -> Iterator[Any]:
    from embeddings._progress import progress

    with progress(enabled=enabled, total=total, desc=desc, unit="result") as bar:
        yield bar


def _resolve_suite(suite: Any) -> tuple[Suite, dict[str, Any]]:
    """The suite to run and the task instances of its entries that are not registered
    (tasks of your own data), keyed by entry label."""
    from benchmarks.tasks.base import Task

    if isinstance(suite, Suite):
        return suite, {}
    if isinstance(suite, str):
        return get_suite(suite), {}
    items = [suite] if isinstance(suite, Task) else suite
    if isinstance(items, Sequence) and items and all(isinstance(t, Task) for t in items):
        entries = tuple(SuiteTask(t.name) for t in items)
        own = Suite(OWN_SUITE, "tasks of your own data", entries)
        return own, {t.name: t for t in items}
    raise InvalidParameterError(
        "suite must be a suite name, a Suite, or a task (or list of tasks) made with "
        f"Task.from_dataframe / Task.from_file; got {type(suite).__name__}"
    )


@renamed_parameters(progress="show_progress")
def run_suite(
    suite: Any,
    encoders: Sequence[Any],
    out_dir: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    data_dir: str | os.PathLike[str] | None = None,
    verify: bool = True,
    force: bool = False,
    tasks: Sequence[str] | None = None,
    batch_size: int = 64,
    n_jobs: int | None = None,
    blas_threads: int | None = 1,
    show_progress: bool = True,
    log: Callable[[str], None] | None = _default_log,
) -> RunSummary:
    """Evaluate every encoder on every task of a suite; write one JSON per pair.

    Args:
        suite: A suite name (``"quick"``, ``"senteval"``, ``"full"``), a
            :class:`~benchmarks.suites.Suite`, or a task of your own data
            (``Task.from_dataframe`` / ``Task.from_file``) or a list of them.
        encoders: Preset names, ``"name:key=value"`` specs, saved encoder folders, or
            encoder instances.
        out_dir: Folder of the result files (created).
        cache_dir: Embedding cache folder; ``None`` is the default cache.
        use_cache: Encode through :class:`~embeddings.cache.CachedEncoder`.
        data_dir: Benchmark data folder instead of ``$TRANSFERKIT_DATA``.
        verify: Check each data file's pinned sha256 (recorded in the result).
        force: Recompute results that exist already.
        tasks: Only these entries of the suite (labels or task names).
        batch_size: Encoding batch size (does not change the vectors).
        n_jobs: joblib workers of the heads (``None``: one).
        blas_threads: BLAS threads while fitting and evaluating (``None``: leave the
            library default).  One thread is about 20x faster for the logistic
            regressions on a busy 2-core machine.  The thread count can move the
            last bits of a fit (BLAS summation order), so compare scores computed
            with the same setting.
        show_progress: Show progress bars (overall, and per encode call); ``progress``
            is its old name.
        log: Receives one line per pair (done, skipped, failed); ``None`` is silent.

    Returns:
        :class:`~benchmarks.results.RunSummary`: the files computed and skipped, and
        the failures.

    Raises:
        InvalidParameterError: unknown suite or task, or no encoders.

    Example:
        >>> s = run_suite("quick", ["glove-6b-50d"], "results")       # doctest: +SKIP
        >>> s["failed"]                                                 # doctest: +SKIP
        []
        >>> from benchmarks.tasks import Task
        >>> mine = Task.from_file("reviews.tsv", text="review")      # doctest: +SKIP
        >>> s = run_suite(mine, ["glove-6b-50d", "tfidf"], "own/")     # doctest: +SKIP
    """
    from benchmarks.tasks import get_task

    start = time.perf_counter()
    suite_obj, instances = _resolve_suite(suite)
    if tasks:
        suite_obj = suite_obj.select(list(tasks))
    if isinstance(encoders, str) or not encoders:
        raise InvalidParameterError(
            f"encoders must be a non-empty list of names or encoders, got {encoders!r}"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary: RunSummary = {
        "suite": suite_obj.name,
        "out_dir": str(out),
        "computed": [],
        "skipped": [],
        "failed": [],
        "wall_s": 0.0,
    }
    task_params_extra = {"data_dir": data_dir} if data_dir is not None else {}
    total = len(encoders) * len(suite_obj.tasks)
    with _bar(total, show_progress, f"bench {suite_obj.name}") as bar:
        for spec in encoders:
            spec_text = spec if isinstance(spec, str) else getattr(spec, "name", repr(spec))
            try:
                encoder, label, spec_str = build_encoder(spec)
                fingerprint = str(encoder.fingerprint())
                enc_info = encoder_info(encoder, label, spec_str, fingerprint)
            except Exception as err:  # a broken encoder must not stop the others
                for entry in suite_obj.tasks:
                    summary["failed"].append(_failure(str(spec_text), entry.label, err))
                _say(
                    f"FAILED {spec_text}: cannot build/load the encoder: "
                    f"{type(err).__name__}: {err}",
                    log,
                )
                bar.update(len(suite_obj.tasks))
                continue
            session = EncoderSession(
                encoder,
                cache_dir=cache_dir,
                use_cache=use_cache,
                batch_size=batch_size,
                show_progress=show_progress,
            )
            for entry in suite_obj.tasks:
                bar.set_postfix_str(f"{label} / {entry.label}")
                try:
                    task = instances.get(entry.label) or get_task(
                        entry.task, **{**dict(entry.task_params), **task_params_extra}
                    )
                    path = result_path(out, entry, task.metadata.version, label, fingerprint)
                    if not force and path.is_file() and is_current(path, toolkit_version()):
                        summary["skipped"].append(str(path))
                        _say(f"skip   {entry.label} x {label} (result exists: {path.name})", log)
                        bar.update(1)
                        continue
                    record = _run_one(
                        task,
                        entry,
                        session,
                        enc_info,
                        path,
                        suite=suite_obj.name,
                        verify=verify,
                        data_dir=data_dir,
                        n_jobs=n_jobs,
                        blas_threads=blas_threads,
                    )
                except KeyboardInterrupt:
                    raise
                except Exception as err:
                    summary["failed"].append(_failure(label, entry.label, err))
                    _say(f"FAILED {entry.label} x {label}: {type(err).__name__}: {err}", log)
                    bar.update(1)
                    continue
                summary["computed"].append(str(path))
                _say(
                    f"done   {entry.label} x {label}: {record['task']['main_score']} = "
                    f"{record['main_score']:.2f} ({record['timings']['total_s']:.1f}s)",
                    log,
                )
                bar.update(1)
    summary["wall_s"] = time.perf_counter() - start
    return summary


def _failure(encoder: str, task: str, err: BaseException) -> FailureInfo:
    last = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
    where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
    return {
        "encoder": encoder,
        "task": task,
        "error": f"{err}{where}",
        "error_type": type(err).__name__,
    }


def _run_one(
    task: Any,
    entry: SuiteTask,
    session: EncoderSession,
    enc_info: EncoderInfo,
    path: Path,
    *,
    suite: str,
    verify: bool,
    data_dir: Any,
    n_jobs: int | None,
    blas_threads: int | None,
) -> ResultRecord:
    t0 = time.perf_counter()
    result: TaskEvaluation = task.evaluate(
        session,
        settings=entry,
        verify=verify,
        data_dir=data_dir,
        n_jobs=n_jobs,
        blas_threads=blas_threads,
    )
    total = time.perf_counter() - t0
    if enc_info["dim"] is None:
        with contextlib.suppress(Exception):
            enc_info = {**enc_info, "dim": int(session.encoder.dim)}
    record: ResultRecord = {
        "format": RESULT_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "toolkit_version": toolkit_version(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "key": path.stem,
        "task": task_info(task, entry),
        "encoder": enc_info,
        "protocol": result["protocol"],
        "n_samples": result["n_samples"],
        "suite": suite,
        "score_scale": SCORE_SCALE,
        "main_score": result["main_score"],
        "scores": result["scores"],
        "timings": {
            "fit_s": round(session.fit_s, 3),
            "encode_s": round(session.encode_s, 3),
            "evaluate_s": round(total - session.fit_s - session.encode_s, 3),
            "total_s": round(total, 3),
        },
        "environment": environment(),
    }
    write_json_atomic(path, record)
    return record
