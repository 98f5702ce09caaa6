"""``transferkit advise``: which encoder, frozen or fine-tuned, suits your labelled data.

Cross-validated learning curves on your rows for TF-IDF, frozen encoders and (for the
best fine-tunable one) contrastive fine-tuning and top-2 unfreezing, within a time
budget; prints the ranking with 95% intervals, predictions with 2x and 4x the labels,
costs, a recommendation and the code that rebuilds it, and saves the recommended model
(see :mod:`benchmarks.advise`).

Example:
    $ transferkit advise --task-file reviews.tsv --type classification --budget 10m \\
          --out advice
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _task(args: argparse.Namespace) -> Any:
    from benchmarks.tasks import Task, get_task
    from embeddings.errors import InvalidParameterError

    if (args.task_file is None) == (args.task is None):
        raise InvalidParameterError("give your rows with --task-file PATH, or a --task NAME")
    if args.task is not None:
        return get_task(args.task)
    return Task.from_file(
        args.task_file, type=args.type, text=args.text_column, label=args.label_column,
        pair=args.pair_column, sep=args.sep, name=args.task_name,
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Advise, print the report (and write it with ``--out``)."""
    from benchmarks.advice_report import render
    from benchmarks.advise import advise

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    candidates = args.candidates.split(",") if args.candidates else None
    advice = advise(
        _task(args), budget=args.budget, candidates=candidates,
        fine_tuning=not args.no_fine_tuning, folds=args.folds,
        random_state=args.random_state, cache_dir=args.cache_dir, out=args.out,
        show_progress=not args.no_progress,
    )  # fmt: skip
    sys.stdout.write(render(advice))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``advise`` subcommand."""
    p = sub.add_parser(
        "advise",
        help="which encoder, frozen or fine-tuned, suits your labelled data",
        description=__doc__.split("\n\n")[1],
    )
    p.add_argument("--task-file", default=None, metavar="PATH",
                   help="your labelled rows (TSV/CSV/parquet with a header); without a "
                   "split column every row is used")  # fmt: skip
    p.add_argument("--task", default=None, help="a built-in task instead (its train split)")
    p.add_argument("--type", default="classification",
                   choices=("classification", "pair_classification"))  # fmt: skip
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--pair-column", default=None, help="second texts (pair_classification)")
    p.add_argument("--sep", default=None, help="field separator (default: by file suffix)")
    p.add_argument("--task-name", default=None)
    p.add_argument("--budget", default="20m", help="time budget: seconds, or 90s, 20m, 1h")
    p.add_argument("--candidates", default=None,
                   help="comma-separated frozen encoders (default: the embedded ones, "
                   "minilm-l6-int8, and mpnet-base when installed)")  # fmt: skip
    p.add_argument("--no-fine-tuning", action="store_true", help="frozen candidates only")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--cache-dir", default=None, help="vectors and scores cache")
    p.add_argument("--out", default=None,
                   help="write advice.json, advice.md, curves.png and model/ here")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)
