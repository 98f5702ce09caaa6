"""``transferkit bench``: run a benchmark suite and write one JSON result per pair.

Example:
    $ transferkit bench --suite quick --out results/ \\
          --encoders glove-6b-50d,use-multilingual-v3,minilm-l6,tfidf
    $ transferkit bench --suite senteval --encoders glove-6b-50d:pooling=sif --tasks MR,TREC
    $ transferkit bench --list
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


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


def _run(args: argparse.Namespace) -> int:
    from benchmarks.runner import run_suite

    if args.list:
        return _list(args)
    encoders = _split(args.encoders)
    if not encoders:
        print(
            "transferkit bench: error: --encoders is required (comma-separated names)",
            file=sys.stderr,
        )
        return 2
    summary = run_suite(
        args.suite,
        encoders,
        args.out,
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        data_dir=args.data_dir,
        verify=not args.no_verify,
        force=args.force,
        tasks=_split(args.tasks) or None,
        batch_size=args.batch_size,
        n_jobs=args.n_jobs,
        blas_threads=args.blas_threads or None,
        progress=not args.no_progress,
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
        help="run a benchmark suite (quick, senteval, full)",
        description="Evaluate encoders on a suite of tasks. Each (encoder, task) result is "
        "written to OUT as JSON; results that exist are skipped, failures are reported and "
        "the run goes on. Exit code 1 when something failed.",
    )
    parser.add_argument("--suite", default="quick", help="quick (default), senteval or full")
    parser.add_argument(
        "--encoders",
        default=None,
        help="comma-separated preset names; 'name:key=value' sets a parameter "
        "(e.g. glove-6b-50d:pooling=sif); the folder of a saved encoder (e.g. from "
        "'transferkit train') is used as pretrained, never re-fitted",
    )
    parser.add_argument("--out", default="results", help="results folder (default: results)")
    parser.add_argument("--tasks", default=None, help="only these tasks of the suite")
    parser.add_argument("--cache-dir", default=None, help="embedding cache folder")
    parser.add_argument("--no-cache", action="store_true", help="do not use the embedding cache")
    parser.add_argument("--data-dir", default=None, help="benchmark data folder")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the sha256 check of the data files (your own data; recorded in results)",
    )
    parser.add_argument("--force", action="store_true", help="recompute existing results")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-jobs", type=int, default=None, help="joblib workers of the heads")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads while evaluating (default 1; 0 = library default)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--report", action="store_true", help="print the table when done")
    parser.add_argument("--reference", default=None, help="with --report: e.g. senteval")
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    parser.set_defaults(func=_run)
