"""Dask scaling: start-up cost and steady-state sentences/s, against one process.

For each encoder (default ``glove-6b-50d-sif``, fitted on the first 1,000 texts and
saved, and ``minilm-l6``), the first ``--n`` MR sentences are written to a ``.txt``
file and encoded

* by **one process** (the peer): :func:`embeddings.encode_corpus` into a parquet
  file, torch on one thread; start-up is loading the encoder and a first tiny
  encoding, as on the workers;
* on a **LocalCluster of 1 and of 2** single-threaded workers (the workers read their
  own byte ranges): start-up is starting the cluster plus a first tiny encoding,
  which imports transferkit and loads the encoder on every worker; steady state is
  the timed call's wall time less the longest encoder load of a worker in it (each
  call loads the encoder once per worker).

Every output is checked bit for bit against the one-process output.  Each row prints
start-up seconds, steady-state sentences/s and the ratio to one process measured in
the same run; the last column gives 2 workers against 1.  On a machine with fewer
cores than workers, workers share cores and cannot scale.

Example:
    $ python -m benchmarks.perf.distributed
    $ python -m benchmarks.perf.distributed --encoders minilm-l6 --n 20000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_ENCODERS = ("glove-6b-50d-sif", "minilm-l6")


def _reference(name: str, texts: list[str], folder: Path) -> str:
    """A preset name, or the saved folder of the encoder fitted on the first texts."""
    import embeddings

    enc = embeddings.load(name)
    if not enc.requires_fit:
        return name
    saved = folder / f"{name}-fitted"
    enc.fit(texts[:1000]).save(saved)
    return str(saved)


def _one_process(ref: str, corpus: Path, out: Path) -> tuple[float, float, Any]:
    import embeddings
    from embeddings._deps import torch_threads
    from embeddings.streaming import read_vectors

    t0 = time.perf_counter()
    enc = embeddings.load(ref)
    with torch_threads(1):
        enc.encode(["warm up"] * 8)  # as the workers' first tiny encoding
        t1 = time.perf_counter()
        result = embeddings.encode_corpus(enc, corpus, out, show_progress=False)
    t2 = time.perf_counter()
    return t1 - t0, result.rows / (t2 - t1), read_vectors(out)


def _on_cluster(ref: str, corpus: Path, folder: Path, workers: int) -> tuple[float, float, Any]:
    from embeddings import distributed
    from embeddings._dask_workers import client_for
    from embeddings.streaming import read_vectors

    folder.mkdir(parents=True, exist_ok=True)
    tiny = folder / "tiny.txt"
    tiny.write_text("warm up\n" * (4 * workers))
    t0 = time.perf_counter()
    with client_for(None, workers) as client:
        distributed.encode(  # imports and one encoder load on every worker
            ref, tiny, folder / f"warm-{workers}", client=client, partition_bytes=8,
            show_progress=False, resume=False,
        )  # fmt: skip
        startup = time.perf_counter() - t0
        size = corpus.stat().st_size
        out = folder / f"dask-{workers}"
        result = distributed.encode(
            ref, corpus, out, client=client, partition_bytes=-(-size // (4 * workers)),
            show_progress=False, resume=False,
        )  # fmt: skip
    loads = [result.busy_seconds[w] - result.encode_seconds[w] for w in result.busy_seconds]
    steady = result.seconds - max(loads, default=0.0)
    return startup, result.rows / steady, read_vectors(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scaling measurement and print one table."""
    import numpy as np

    from benchmarks.perf.cache import read_texts

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--encoders", nargs="+", default=list(DEFAULT_ENCODERS))
    parser.add_argument("--n", type=int, default=3000, help="MR sentences (default 3000)")
    parser.add_argument("--task", default="MR")
    args = parser.parse_args(argv)
    texts = read_texts(args.task, args.n)
    print(f"{len(texts)} {args.task} sentences; {os.cpu_count()} CPU cores on this machine")
    header = f"{'encoder':<18} {'run':<16} {'start-up s':>10} {'sent/s':>9} {'vs 1 proc':>9}"
    print(header + f" {'vs 1 worker':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        corpus = folder / "corpus.txt"
        corpus.write_text("".join(t.replace("\n", " ") + "\n" for t in texts), encoding="utf-8")
        for name in args.encoders:
            ref = _reference(name, texts, folder)
            load, base, expected = _one_process(ref, corpus, folder / f"{name}.parquet")
            print(f"{name:<18} {'one process':<16} {load:>10.2f} {base:>9.1f} {1.0:>9.2f}")
            one_worker = None
            for workers in (1, 2):
                startup, rate, got = _on_cluster(ref, corpus, folder / name, workers)
                if got.tobytes() != expected.tobytes():
                    diff = float(np.max(np.abs(got - expected)))
                    print(f"  {name}: {workers} workers differ from one process by {diff:.3g}")
                one_worker = rate if workers == 1 else one_worker
                vs_one = f"{rate / one_worker:>11.2f}" if workers == 2 and one_worker else ""
                run = f"LocalCluster x{workers}"
                cells = f"{startup:>10.2f} {rate:>9.1f} {rate / base:>9.2f} {vs_one}"
                print(f"{name:<18} {run:<16} {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
