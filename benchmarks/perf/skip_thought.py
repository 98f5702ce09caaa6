"""Training throughput of Quick-Thought against Skip-Thought at the same sizes.

``python -m benchmarks.perf.skip_thought`` trains, each in a fresh subprocess with
``--threads`` torch threads and the same time budget (``--seconds``), on the same
first ``--n`` sentences of the unlabelled corpus (``$TRANSFERKIT_DATA/unlabeled``,
in corpus order):

* ``quick-thought``: the ``quick-thought`` preset's recipe (GRU encoders ``f`` and
  ``g``, the classifier over the batch's contiguous sentences);
* ``skip-thought-uni``: the ``skip-thought-uni`` recipe (a GRU encoder and two GRU
  decoders, softmax over the batch's target words);
* ``skip-thought-uni (full softmax)``: the same with the softmax over the whole
  capped vocabulary,

all with ``--hidden`` GRU units, ``--embedding-dim`` word embeddings and the same
vocabulary cap (``--max-vocab``).  Sentences/s is what the shared trainer reports:
sentences consumed by optimizer steps per second of training (the vocabulary and
token ids are built before the clock starts).  It prints the table and the
Quick-Thought / Skip-Thought ratios.

Example:
    $ python -m benchmarks.perf.skip_thought --seconds 120
    $ python -m benchmarks.perf.skip_thought --n 20000 --json perf-skip-thought.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.perf.run import run_child, write_json

__all__ = ["main", "measure"]

KINDS = ("quick-thought", "skip-thought-uni", "skip-thought-uni-full")


def corpus_slice(n: int, folder: Path) -> Path:
    """The first ``n`` lines (sentences and document breaks) of the unlabelled corpus."""
    from benchmarks.perf.run import _data_dir
    from embeddings.training.corpus import corpus_files

    out = folder / "slice.txt"
    lines: list[str] = []
    kept = 0
    for f in corpus_files(_data_dir() / "unlabeled"):
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                lines.append(line.rstrip("\n"))
                kept += bool(line.strip())
                if kept >= n:
                    break
        if kept >= n:
            break
        lines.append("")  # every file is its own document
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def measure(kind: str, corpus: str, args: argparse.Namespace) -> dict[str, Any]:
    """Train one family for ``args.seconds`` on ``corpus``; report the trainer's rate."""
    import embeddings

    common = {"hidden_size": args.hidden, "embedding_dim": args.embedding_dim,
              "max_vocab": args.max_vocab, "min_count": 1, "epochs": 1000,
              "threads": args.threads, "random_state": 0}  # fmt: skip
    if kind == "quick-thought":
        enc = embeddings.load("quick-thought", **common)
    else:
        softmax = "full" if kind.endswith("-full") else "batch"
        enc = embeddings.load(
            "skip-thought-uni", **common, decoder_size=args.hidden, softmax=softmax
        )
    enc.fit(corpus, max_minutes=args.seconds / 60.0)
    result = enc.training_result_
    return {
        "encoder": kind if not kind.endswith("-full") else "skip-thought-uni (full softmax)",
        "batch_size": int(enc.batch_size),
        "steps": int(result.steps),
        "seconds": round(float(result.seconds), 1),
        "sentences_per_s": round(float(result.items_per_second), 1),
        "vocabulary": len(enc.get_vocabulary()),
        "threads": args.threads,
    }


def _child(kind: str, corpus: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.perf.skip_thought", "--child", kind,
           "--corpus", str(corpus), "--seconds", str(args.seconds), "--hidden", str(args.hidden),
           "--embedding-dim", str(args.embedding_dim), "--max-vocab", str(args.max_vocab),
           "--threads", str(args.threads)]  # fmt: skip
    return run_child(cmd, kind)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the three trainers in fresh processes and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=20_000, help="corpus sentences to train on")
    p.add_argument("--seconds", type=float, default=90.0, help="training time per family")
    p.add_argument("--hidden", type=int, default=300, help="GRU size of both families")
    p.add_argument("--embedding-dim", type=int, default=50, help="word embedding size")
    p.add_argument("--max-vocab", type=int, default=20_000, help="vocabulary cap of both")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--json", default=None, help="also write the rows as JSON")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--corpus", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.corpus, args)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        corpus = corpus_slice(args.n, Path(tmp))
        rows = [_child(kind, corpus, args) for kind in KINDS]
    print("| trainer | batch | steps | seconds | sentences/s | vocabulary |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['encoder']} | {r['batch_size']} | {r['steps']} | {r['seconds']} | "
              f"{r['sentences_per_s']:,.1f} | {r['vocabulary']:,} |")  # fmt: skip
    qt = rows[0]["sentences_per_s"]
    ratios = {r["encoder"]: qt / r["sentences_per_s"] for r in rows[1:]}
    for name, ratio in ratios.items():
        print(f"quick-thought trains {ratio:,.1f}x more sentences/s than {name}")
    sizes = f"hidden {args.hidden}, embeddings {args.embedding_dim}"
    print(f"({sizes}, vocabulary cap {args.max_vocab:,}, {args.threads} torch thread(s), "
          f"{args.seconds:g} s each)")  # fmt: skip
    write_json(args.json, {"rows": rows, "quick_thought_over": ratios})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
