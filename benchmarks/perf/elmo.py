"""Encoding throughput of ELMo against averaged GloVe, on the same sentences.

``python -m benchmarks.perf.elmo`` encodes the same ``--n`` real sentences (default:
the first 2,000 of MR) with

* an ELMo encoder: a saved folder given with ``--model`` (e.g. the output of
  ``transferkit train elmo --out DIR``), or a published biLM given with
  ``--options`` and ``--weights``, or else a network of the ``elmo-small``
  architecture after one training step on a few sentences (the weights do not
  change the speed);
* ``glove-6b-50d``: the mean of GloVe 6B 50d vectors,

each in a fresh subprocess with ``--threads`` torch threads, after a warm-up on 100
other sentences, one timed ``encode(batch_size=64)``.  It prints sentences/s, the
ratio, the peak resident memory of each child, and both dimensions.

Example:
    $ python -m benchmarks.perf.elmo --model models/elmo-small
    $ python -m benchmarks.perf.elmo --options options.json --weights weights.hdf5 --n 500
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from benchmarks.perf.run import encoder_parser, report_glove_ratio, run_child, timed_encode

__all__ = ["main", "measure"]


def _encoder(which: str, args: argparse.Namespace) -> Any:
    import embeddings

    if which == "glove-6b-50d":
        return embeddings.load("glove-6b-50d")
    if args.options and args.weights:
        return embeddings.load("elmo", options_file=args.options, weight_file=args.weights,
                               threads=args.threads)  # fmt: skip
    if args.model is not None:
        enc = embeddings.load(args.model)
        enc.set_params(threads=args.threads)
        return enc
    enc = embeddings.load("elmo-small", threads=args.threads, batch_size=4, holdout_every=None)
    return enc.fit(["The cat sat on the mat .", "It purred .", "Stocks fell .", "Banks sold ."])


def _label(which: str, args: argparse.Namespace) -> str:
    if which == "glove-6b-50d":
        return which
    if args.options and args.weights:
        return f"elmo ({args.weights})"
    return str(args.model or "elmo-small (1 step)")


def measure(which: str, args: argparse.Namespace) -> dict[str, Any]:
    """Time one encoder (:func:`benchmarks.perf.run.timed_encode`); run it in a fresh
    process (``main`` does)."""
    _, row = timed_encode(lambda: _encoder(which, args), int(args.n))
    return {"encoder": _label(which, args), **row, "threads": int(args.threads)}


def _child(which: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.perf.elmo", "--child", which,
           "--n", str(args.n), "--threads", str(args.threads)]  # fmt: skip
    for flag, value in (("--model", args.model), ("--options", args.options),
                        ("--weights", args.weights)):  # fmt: skip
        if value:
            cmd += [flag, value]
    return run_child(cmd, which)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure both encoders in fresh processes and print the table."""
    p = encoder_parser(
        __doc__, n=2000, model_help="a saved ELMo folder", threads_help="torch threads of ELMo"
    )
    p.add_argument("--options", default=None, help="a published options.json (with --weights)")
    p.add_argument("--weights", default=None, help="a published weights.hdf5 (with --options)")
    args = p.parse_args(argv)
    if bool(args.options) != bool(args.weights):
        p.error("--options and --weights go together")
    if args.child:
        import torch

        torch.set_num_threads(int(args.threads))
        print(json.dumps(measure(args.child, args)))
        return 0
    report_glove_ratio([_child("elmo", args), _child("glove-6b-50d", args)], "ELMo", args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
