"""``transferkit bench``: run a benchmark suite and write one JSON result per pair.

Example:
    $ transferkit bench                       # the quick suite on the embedded defaults
    $ transferkit bench --suite quick --out results/ \\
          --encoders glove-6b-50d,use-multilingual-v3,minilm-l6,tfidf
    $ transferkit bench --suite senteval --encoders glove-6b-50d:pooling=sif --tasks MR,TREC
    $ transferkit bench --tasks AGNews --encoders glove-6b-50d      # found in suite 'full'
    $ transferkit bench --task-file reviews.tsv --type classification \\
          --text-column review --label-column stars --encoders glove-6b-50d,tfidf --out own/
    $ transferkit bench --list
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["default_encoders", "register"]

_TYPES = ("classification", "pair_classification", "sts", "clustering")


def default_encoders() -> list[str]:
    """The encoders ``bench`` runs without ``--encoders``: those of ``make demo``.

    Example:
        >>> "minilm-l6" in default_encoders()
        True
    """
    from benchmarks.demo import DEFAULT_ENCODERS

    return list(DEFAULT_ENCODERS)


def _test_size(text: str) -> float | int:
    """``--test-size``: a share of the rows (``0.2``) or a number of rows (``500``)."""
    value = float(text)
    return int(value) if value >= 1 and value.is_integer() else value


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _list(_: argparse.Namespace) -> int:
    from benchmarks.suites import get_suite, list_suites

    for name in list_suites():
        suite = get_suite(name)
        print(f"{name}: {suite.description}")
        for entry in suite.tasks:
            extra = []
            if entry.max_samples:
                extra.append("max " + ", ".join(f"{k}={v}" for k, v in entry.max_samples.items()))
            if entry.n_folds:
                extra.append(f"{entry.n_folds} folds")
            print(f"  {entry.label}" + (f"  ({'; '.join(extra)})" if extra else ""))
    return 0


def _own_task(args: argparse.Namespace) -> Any:
    """The task of ``--task-file`` (and its options)."""
    from benchmarks.tasks import Task

    options: dict[str, Any] = {
        "type": args.type,
        "text": args.text_column,
        "label": args.label_column,
        "pair": args.pair_column,
        "score": args.score_column,
        "split": args.split_column,
        "test_size": args.test_size,
        "random_state": args.split_seed,
    }
    return Task.from_file(
        args.task_file,
        test=args.test_file,
        dev=args.dev_file,
        sep=args.sep,
        name=args.task_name,
        **options,
    )


def _check_own_options(args: argparse.Namespace) -> str | None:
    """Why the options of an own task do not fit together (``None``: they do)."""
    own = {
        "--test-file": args.test_file,
        "--dev-file": args.dev_file,
        "--split-column": args.split_column,
        "--pair-column": args.pair_column,
        "--score-column": args.score_column,
        "--task-name": args.task_name,
        "--sep": args.sep,
    }
    if args.task_file is None:
        given = [flag for flag, value in own.items() if value is not None]
        if given:
            return f"{', '.join(given)} describe(s) a task file; add --task-file PATH"
        return None
    if args.suite is not None or args.tasks:
        return (
            "--task-file runs your own task; leave out --suite/--tasks "
            f"(got --suite {args.suite!r}, --tasks {args.tasks!r})"
        )
    return None


def _check_encoder_names(specs: list[str]) -> None:
    """Refuse an unknown encoder name before any task runs.

    Raises:
        UnknownEncoderError: the name is no preset, alias or published model (with a
            did-you-mean suggestion); saved and model folders are taken as they are.
    """
    from benchmarks.specs import parse_encoder_spec
    from embeddings.registry import get_preset, published_preset

    for spec in specs:
        if os.path.isdir(os.path.expanduser(spec.strip())):
            continue
        name, _ = parse_encoder_spec(spec)
        if published_preset(name) is None:
            get_preset(name)


def _check_data_folder(data_dir: str | None) -> str | None:
    """What is wrong with the benchmark data folder named by ``--data-dir`` or
    ``TRANSFERKIT_DATA`` (``None`` when it exists or neither is set)."""
    from benchmarks.tasks.paths import ENV_DATA

    source = "--data-dir" if data_dir else ENV_DATA
    root = data_dir or os.environ.get(ENV_DATA)
    if not root or os.path.isdir(os.path.expanduser(root)):
        return None
    return (
        f"the data folder {root!r:.200} ({source}) does not exist; point {source} at the "
        "folder that holds the benchmark data, or unset it to use the download cache "
        "(`transferkit data download TASK ...` fetches and verifies tasks)"
    )


def _run_mteb(task_name: str, encoders: list[str], data_dir: str | None) -> int:
    """Evaluate each encoder on MTEB's own ``task_name`` with mteb 2, offline, and print
    the main score in points."""
    from benchmarks.interop import MTEBModel, load_mteb_task
    from embeddings._deps import require

    mteb = require("mteb", extra="mteb")
    task = load_mteb_task(task_name, data_dir=data_dir)
    for spec in encoders:
        result = mteb.evaluate(MTEBModel(spec), task, cache=None, show_progress_bar=False)
        score = 100 * result.task_results[0].get_score()
        print(f"MTEB {task_name} x {spec}: main score = {score:.2f} (points; mteb's own scoring)")
    return 0


def _run(args: argparse.Namespace) -> int:
    from benchmarks.runner import run_suite
    from benchmarks.suites import find_tasks

    if args.list:
        return _list(args)
    problem = _check_own_options(args)
    if problem:
        print(f"transferkit bench: error: {problem}", file=sys.stderr)
        return 2
    encoders = _split(args.encoders)
    if not encoders:
        encoders = default_encoders()
        print(f"no --encoders given: running the embedded defaults {','.join(encoders)}")
    _check_encoder_names(encoders)  # a typo fails here, once, not once per task
    if args.mteb is not None:
        return _run_mteb(args.mteb, encoders, args.data_dir)
    problem = None if args.task_file is not None else _check_data_folder(args.data_dir)
    if problem:
        print(f"transferkit bench: error: {problem}", file=sys.stderr)
        return 2
    names = _split(args.tasks)
    suite: Any
    if args.task_file is not None:
        suite = _own_task(args)
        names = []
    elif names:
        suite = find_tasks(names, args.suite)
        names = []
    else:
        suite = args.suite or "quick"
    summary = run_suite(
        suite,
        encoders,
        args.out,
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        data_dir=args.data_dir,
        verify=not args.no_verify,
        force=args.force,
        tasks=names or None,
        batch_size=args.batch_size,
        n_jobs=args.n_jobs,
        blas_threads=args.blas_threads or None,
        show_progress=not args.no_progress,
    )
    print(
        f"{summary['suite']}: {len(summary['computed'])} computed, "
        f"{len(summary['skipped'])} already done, {len(summary['failed'])} failed "
        f"in {summary['wall_s']:.0f}s -> {summary['out_dir']}"
    )
    for fail in summary["failed"]:
        print(
            f"  FAILED {fail['task']} x {fail['encoder']}: {fail['error_type']}: {fail['error']}",
            file=sys.stderr,
        )
    if args.report:
        from benchmarks.report import write_report

        text, _ = write_report(args.out, reference=args.reference)
        print(text)
    return 1 if summary["failed"] else 0


def register(subparsers: Any) -> None:
    """Add ``bench`` to the ``transferkit`` parser."""
    parser = subparsers.add_parser(
        "bench",
        help="run a benchmark suite (quick, senteval, full) or your own task",
        description="Evaluate encoders on a suite of tasks, or on your own task "
        "(--task-file). Each (encoder, task) result is written to OUT as JSON; results that "
        "exist are skipped, failures are reported and the run goes on. Exit code 1 when "
        "something failed.",
    )
    parser.add_argument(
        "--suite",
        default=None,
        help="quick, senteval or full (see --list); without it: quick, or with --tasks the "
        "first suite that has each task",
    )
    parser.add_argument(
        "--encoders",
        default=None,
        help="comma-separated preset names; 'name:key=value' sets a parameter "
        "(e.g. glove-6b-50d:pooling=sif); the folder of a saved encoder (e.g. from "
        "'transferkit train') is used as pretrained, never re-fitted; without it: the "
        "embedded defaults (" + ",".join(default_encoders()) + ")",
    )
    parser.add_argument("--out", default="results", help="results folder")
    parser.add_argument(
        "--tasks", default=None, help="only these tasks (comma-separated labels or task names)"
    )
    own = parser.add_argument_group(
        "your own task",
        "a TSV/CSV/parquet file with a header; evaluated with the protocol of its type's "
        "built-in tasks. Without --split-column or --test-file, classification rows are "
        "split by a seeded stratified split (recorded in the results).",
    )
    own.add_argument("--task-file", default=None, metavar="PATH", help="the rows (or train rows)")
    own.add_argument("--type", default="classification", choices=_TYPES, help="the task type")
    own.add_argument("--text-column", default="text", help="column of the texts")
    own.add_argument("--label-column", default="label", help="column of the labels (not for sts)")
    own.add_argument(
        "--pair-column",
        default=None,
        help="column of the second texts (pair_classification, sts)",
    )
    own.add_argument("--score-column", default=None, help="column of the gold scores (sts)")
    own.add_argument(
        "--split-column", default=None, help="column assigning rows to train, dev or test"
    )
    own.add_argument("--test-file", default=None, metavar="PATH", help="test rows in a file")
    own.add_argument("--dev-file", default=None, metavar="PATH", help="dev rows (with --test-file)")
    own.add_argument(
        "--test-size",
        type=_test_size,
        default=0.2,
        help="without splits: share (0.2) or number (500) of the rows held out as test",
    )
    own.add_argument("--split-seed", type=int, default=1111, help="seed of that split")
    own.add_argument(
        "--task-name", default=None, help="name in results and reports (default: file name)"
    )
    own.add_argument(
        "--sep", default=None, help="field separator (default: TAB for .tsv, comma for .csv)"
    )
    parser.add_argument(
        "--mteb",
        default=None,
        metavar="TASK",
        help="run MTEB's own task (STSBenchmark, STS12 ... STS16) through mteb 2, its rows "
        "read from the local task files (offline; the mteb extra)",
    )
    parser.add_argument("--cache-dir", default=None, help="embedding cache folder")
    parser.add_argument("--no-cache", action="store_true", help="do not use the embedding cache")
    parser.add_argument("--data-dir", default=None, help="benchmark data folder")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the sha256 check of the data files (recorded in results)",
    )
    parser.add_argument("--force", action="store_true", help="recompute existing results")
    parser.add_argument("--batch-size", type=int, default=64, help="encoding batch size")
    parser.add_argument("--n-jobs", type=int, default=None, help="joblib workers of the heads")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads while evaluating (0: the library's own setting)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--report", action="store_true", help="print the table when done")
    parser.add_argument("--reference", default=None, help="with --report: e.g. senteval")
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    parser.set_defaults(func=_run)
