"""``transferkit report``: the results of ``transferkit bench`` as a table and plots.

Example:
    $ transferkit report results/
    $ transferkit report results/ --reference senteval --out report/
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def _split(value: str | None) -> list[str] | None:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return items or None


def _run(args: argparse.Namespace) -> int:
    from benchmarks.report import write_report
    from embeddings._atomic import check_writable

    if args.out is not None:  # checked before any result is read
        check_writable(args.out, what="--out", folder=True)
    text, files = write_report(
        args.results,
        args.out,
        reference=args.reference,
        tasks=_split(args.tasks),
        encoders=_split(args.encoders),
        plots=not args.no_plots,
        title=args.title,
    )
    print(text)
    written = [files["markdown"], files["csv"], *files["plots"]]  # plots: one pair per suite
    print("wrote " + ", ".join(p for p in written if p))
    return 0


def register(subparsers: Any) -> None:
    """Add ``report`` to the ``transferkit`` parser."""
    parser = subparsers.add_parser(
        "report",
        help="tasks x encoders table (markdown, CSV) and plots from bench results",
        description="Print a markdown table of the main scores (tasks x encoders, plus the "
        "average), and write report.md, report.csv, bars.png and heatmap.png.",
    )
    parser.add_argument("results", help="folder of result JSON files (transferkit bench --out)")
    parser.add_argument("--out", default=None, help="where to write (default: the results folder)")
    parser.add_argument(
        "--reference",
        default=None,
        help="show published numbers alongside: a bundled set (senteval) or a JSON path",
    )
    parser.add_argument("--tasks", default=None, help="only these tasks (comma-separated)")
    parser.add_argument("--encoders", default=None, help="only these encoders")
    parser.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")
    parser.add_argument("--title", default=None, help="a heading for the table")
    parser.set_defaults(func=_run)
