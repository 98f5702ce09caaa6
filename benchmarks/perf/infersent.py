"""Encoding throughput of InferSent against averaged GloVe, on the same sentences.

``python -m benchmarks.perf.infersent`` encodes the same ``--n`` real sentences
(default: the first 10,000 of MR) with

* an InferSent encoder: the saved folder given with ``--model`` (e.g. the output of
  ``transferkit train infersent --nli SICK-E --out DIR``), or else a network of the
  ``infersent-sick`` architecture after one training step on eight pairs (the
  weights do not change the speed);
* ``glove-6b-50d``: the mean of the same GloVe 6B 50d vectors InferSent reads,

each in a fresh subprocess with ``--threads`` torch threads, after a warm-up on 100
other sentences, one timed ``encode(batch_size=64)``.  It prints sentences/s, the
ratio, the peak resident memory of each child, and both dimensions.

Example:
    $ python -m benchmarks.perf.infersent --model models/infersent-sick
    $ python -m benchmarks.perf.infersent --n 2000 --json perf-infersent.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from benchmarks.perf.run import encoder_parser, report_glove_ratio, run_child, timed_encode

__all__ = ["main", "measure"]


def _encoder(which: str, model: str | None, threads: int) -> Any:
    import embeddings

    if which == "glove-6b-50d":
        return embeddings.load("glove-6b-50d")
    if model is not None:
        enc = embeddings.load(model)
        enc.set_params(threads=threads)
        return enc
    enc = embeddings.load("infersent-sick", threads=threads, epochs=1)
    pairs = [("a man plays", "a man sings"), ("a dog runs", "a cat sleeps")] * 4
    return enc.fit(pairs, ["entailment", "neutral"] * 4)


def measure(which: str, n: int, model: str | None = None, threads: int = 1) -> dict[str, Any]:
    """Time one encoder (:func:`benchmarks.perf.run.timed_encode`); run it in a fresh
    process (``main`` does)."""
    _, row = timed_encode(lambda: _encoder(which, model, threads), n)
    label = which if which == "glove-6b-50d" else (model or "infersent-sick (1 step)")
    return {"encoder": label, **row, "threads": threads}


def _child(which: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.perf.infersent", "--child", which,
           "--n", str(args.n), "--threads", str(args.threads)]  # fmt: skip
    if args.model:
        cmd += ["--model", args.model]
    return run_child(cmd, which)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure both encoders in fresh processes and print the table."""
    helps = {"model_help": "a saved InferSent folder", "threads_help": "torch threads"}
    p = encoder_parser(__doc__, n=10_000, **helps)
    args = p.parse_args(argv)
    if args.child:
        import torch

        torch.set_num_threads(int(args.threads))
        print(json.dumps(measure(args.child, args.n, args.model, args.threads)))
        return 0
    report_glove_ratio([_child("infersent", args), _child("glove-6b-50d", args)], "InferSent", args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
