"""``transferkit curve``: the learning curve that shows when transfer pays off.

For a classification or pair-classification task (MRPC, SICK-E: the methods then
read ``(text_a, text_b)`` pairs, the frozen ones through the pair features
``[u, v, |u-v|, u*v]``) and a list of labelled-set sizes, each method is trained on a
seeded, stratified subsample of the training split (one per seed) and scored on the
test split:

* ``tfidf``: TF-IDF (fitted on the subsample) + logistic regression, from scratch;
* ``frozen``: the pretrained encoder's frozen vectors + logistic regression (only
  the training texts that the runs use, plus dev and test, are encoded, once,
  through the embedding cache);
* ``finetune``: :func:`embeddings.training.fine_tune` with ``--unfreeze`` top layers;
* ``scratch``: the same architecture from random init, trained fully (no transfer).

Model selection uses the dev split for every method: the logistic-regression C
(:func:`evaluators.evaluate_classification_split`) and early stopping.  Tasks without
a dev split get a seeded, stratified dev set carved from train (``--dev-size``);
cross-validation tasks (one ``"all"`` split) also get a carved test set.  Dev and
test are capped by default (``--dev-max 500``, ``--test-max 1000``) with fixed
stratified subsamples (the same rows for every method), since every fine-tuning
epoch scores the dev set and every torch run scores the test set; ``all`` lifts a
cap.  Fine-tuning on 2 CPU cores is slow, so ``--finetune-max-size`` skips the torch
methods above that size.  Every long step (encoding, training, each validation and
test pass) shows its progress (see :mod:`embeddings._progress`).

Output: ``<out>/curve.json`` (config, every run, the mean/std/min/max per method and
size), rewritten after each run (``--resume`` skips runs already in it), and
``<out>/curve.png`` (accuracy vs labelled examples, log x, mean line with the
min-max band across seeds).

Example:
    $ transferkit curve --task SST2 --encoder minilm-l6 --sizes 50,100,300,1000 \\
          --seeds 3 --methods tfidf,frozen,finetune,scratch --unfreeze 2 \\
          --out results/curve_sst2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.commands._options import (
    add_finetune_options,
    load_task_splits,
    parse_cap,
    parse_unfreeze,
    write_json,
)
from benchmarks.curves import (  # the library behind the command (re-exported here)
    DEFAULT_DEV_MAX,
    DEFAULT_TEST_MAX,
    LABELS,
    METHODS,
    Split,
    describe_splits,
    format_table,
    load_encoder,
    load_splits,
    plot_curve,
    run_curve,
)
from embeddings.errors import InvalidParameterError

__all__ = [
    "DEFAULT_DEV_MAX",
    "DEFAULT_TEST_MAX",
    "LABELS",
    "METHODS",
    "Split",
    "describe_splits",
    "format_table",
    "load_encoder",
    "load_splits",
    "parse_cap",
    "parse_methods",
    "parse_sizes",
    "parse_unfreeze",
    "plot_curve",
    "register",
    "run",
    "run_curve",
]


# ------------------------------------------------------------------- parsing
def parse_sizes(value: str) -> list[int | None]:
    """``"50,100,all"`` -> ``[50, 100, None]`` (``None``: the whole training split).

    Example:
        >>> parse_sizes("100,50,all")
        [50, 100, None]
    """
    out: list[int | None] = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        if part == "all":
            out.append(None)
            continue
        if not part.isdigit() or int(part) < 2:
            raise InvalidParameterError(
                f"--sizes takes integers >= 2 or 'all', comma-separated; got {part!r}"
            )
        out.append(int(part))
    if not out:
        raise InvalidParameterError("--sizes is empty; e.g. --sizes 50,100,300,1000,all")
    ints = sorted({s for s in out if s is not None})
    return [*ints, *([None] if None in out else [])]


def parse_methods(value: str) -> list[str]:
    """Comma-separated methods, validated against :data:`METHODS`."""
    methods = [m.strip() for m in value.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise InvalidParameterError(
            f"--methods: unknown {bad or methods}; choose from {','.join(METHODS)}"
        )
    return methods


# ----------------------------------------------------------------------- CLI
def run(args: argparse.Namespace) -> int:
    """Run the curve, write curve.json and curve.png, print the table."""
    from benchmarks.curves import curve_summary

    sizes = parse_sizes(args.sizes)
    methods = parse_methods(args.methods)
    unfreeze = parse_unfreeze(args.unfreeze)
    if args.seeds < 1:
        raise InvalidParameterError(f"--seeds must be >= 1, got {args.seeds}")
    out = Path(args.out)
    train, dev, test, info = load_task_splits(args, pairs=True)
    ft_options = {
        "epochs": args.epochs, "patience": args.patience, "batch_size": args.batch_size,
        "learning_rate": args.learning_rate, "head_learning_rate": args.head_learning_rate,
    }  # fmt: skip
    config = {
        "task": info, "encoder": args.encoder, "sizes": args.sizes, "seeds": args.seeds,
        "finetune_seeds": args.finetune_seeds, "methods": methods, "unfreeze": unfreeze,
        "finetune_max_size": args.finetune_max_size, "max_seq_length": args.max_seq_length,
        "fine_tune": ft_options, "scratch_lr": args.scratch_lr,
    }  # fmt: skip
    done: list[dict[str, Any]] = []
    json_path = out / "curve.json"
    if args.resume and json_path.is_file():
        done = list(json.loads(json_path.read_text(encoding="utf-8")).get("runs", []))
    enc_label = Path(args.encoder).name
    labels = {m: LABELS[m].format(enc=enc_label, k=unfreeze) for m in METHODS}
    started = time.time()

    def save(records: list[dict[str, Any]]) -> None:
        import torch

        payload = {
            "config": config,
            "environment": {
                "python": platform.python_version(), "torch": torch.__version__,
                "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                "load_average_1m": os.getloadavg()[0], "wall_seconds": time.time() - started,
            },
            "labels": labels,
            "summary": curve_summary(records),
            "runs": records,
        }  # fmt: skip
        write_json(json_path, payload)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    records = run_curve(
        train, dev, test, encoder=args.encoder, sizes=sizes, seeds=args.seeds,
        methods=methods, unfreeze=unfreeze, finetune_seeds=args.finetune_seeds,
        finetune_max_size=args.finetune_max_size, max_seq_length=args.max_seq_length,
        ft_options=ft_options, scratch_lr=args.scratch_lr, cache_dir=args.cache_dir,
        done=done, on_record=save, log=log, show_progress=not args.no_progress,
    )  # fmt: skip
    save(records)
    summary = curve_summary(records)
    plot = plot_curve(
        summary, out / "curve.png", labels=labels,
        title=f"{info['task']}: test accuracy vs labelled examples ({enc_label})",
    )  # fmt: skip
    print(format_table(summary))
    print(f"wrote {json_path} and {plot}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``curve`` subcommand."""
    p = sub.add_parser(
        "curve",
        help="learning curve: TF-IDF vs frozen vs fine-tuned vs random-init encoder",
        description=(
            "The learning curve that shows when transfer pays off: for growing labelled-set\n"
            "sizes, TF-IDF + logistic regression (tfidf), the pretrained encoder's frozen\n"
            "vectors + logistic regression (frozen), fine-tuning its top layers (finetune)\n"
            "and the same network from random weights (scratch), scored on the test split.\n"
            "Dev and test are capped by default (--dev-max, --test-max; 'all' lifts a cap).\n"
            "Writes OUT/curve.json and OUT/curve.png and prints the table."
        ),
        epilog=(
            "example:\n"
            "  transferkit curve --task SST2 --encoder minilm-l6 --sizes 50,100,300,1000 \\\n"
            "      --seeds 3 --unfreeze 2 --out results/curve_sst2"
        ),
    )
    add_finetune_options(
        p, encoder_help="pretrained torch encoder: preset ('name:key=value' sets a parameter) "
        "or saved folder", unfreeze_help="top layers fine-tuned: an int >= 0 or 'all'",
        patience=3, epochs=10,
    )  # fmt: skip
    p.add_argument(
        "--sizes",
        default="50,100,300,1000,3000,all",
        help="labelled-set sizes, comma-separated integers >= 2 or 'all'",
    )
    p.add_argument("--seeds", type=int, default=3, help="seeds (subsamples) per size")
    p.add_argument(
        "--finetune-seeds",
        type=int,
        default=None,
        help="seeds of the torch methods (unset: --seeds)",
    )
    p.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated, any of: {', '.join(METHODS)}",
    )
    p.add_argument(
        "--finetune-max-size", type=int, default=1000, help="skip torch methods above this size"
    )
    p.add_argument(
        "--scratch-lr",
        type=float,
        default=None,
        help="learning rate of the random-init run (unset: --learning-rate)",
    )
    p.add_argument("--cache-dir", default=None, help="embedding cache folder (unset: the default)")
    p.add_argument("--resume", action="store_true", help="skip runs already in OUT/curve.json")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=run)
