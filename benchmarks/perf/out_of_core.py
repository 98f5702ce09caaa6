"""Out-of-core and distributed encoding: peak memory, wall time and Dask throughput.

Builds a corpus of ``--n`` sentences (default 1,000,000) from the non-blank lines
of ``<data>/unlabeled`` (cycled until there are enough), fits ``glove-6b-50d-sif``
on its first ``--fit`` sentences (default 10,000) and saves it, then measures:

* **out-of-core**: :func:`embeddings.encode_corpus` of the whole file into a ``.npy``
  in a fresh process: wall time, peak RSS (``ru_maxrss``), the RSS once the encoder
  is loaded, against the size of the output array (``n x 50 x 4`` bytes);
  the same for a ``.parquet`` output;
* **in memory** (the peer): the same process reads every line into a list, calls
  ``encoder.encode`` once and ``np.save``s the array;
* **Dask**: :func:`embeddings.distributed.encode` on a ``LocalCluster`` of 1 and of 2
  single-threaded worker processes against the single-process ``encode_corpus`` of
  the same file into parquet (the peer), as texts/s and ratios.  Cluster start and
  module imports are not timed; every timing includes loading the saved encoder
  (once per worker for Dask, once for the peer), encoding and writing.

Every result is checked bit for bit against the single-process output.  Each
measurement that reports memory runs in its own process, so peaks do not mix.

Example:
    $ python -m benchmarks.perf.out_of_core
    $ python -m benchmarks.perf.out_of_core --n 200000 --dask-n 100000 --json out.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.perf.run import write_json

_REPO = Path(__file__).resolve().parents[2]


def data_root() -> Path:
    """``$TRANSFERKIT_DATA`` or ``../shared/data`` next to the repository."""
    return Path(os.environ.get("TRANSFERKIT_DATA") or _REPO.parent / "shared" / "data")


def build_corpus(path: Path, n: int) -> dict[str, Any]:
    """Write ``n`` non-blank lines of the unlabeled corpus (cycled) to ``path``."""
    from embeddings.training.corpus import corpus_files

    files = corpus_files(data_root() / "unlabeled")

    def lines() -> Any:
        for f in files:
            with open(f, encoding="utf-8") as fh:
                for line in fh:
                    text = line.strip()
                    if text:
                        yield text

    distinct = sum(1 for _ in lines())
    with open(path, "w", encoding="utf-8") as out:
        for text in itertools.islice(itertools.cycle(lines()), n):
            out.write(text + "\n")
    return {"files": len(files), "distinct_lines": distinct, "bytes": path.stat().st_size}


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _load() -> str:
    """The 1/5/15-minute load averages (other processes share the cores)."""
    return ", ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(mode: str, encoder_dir: str, corpus: str, out: str, chunk_size: int) -> dict[str, Any]:
    """One measurement, run in a fresh process; returns its numbers."""
    import warnings

    warnings.simplefilter("ignore", RuntimeWarning)  # zero vectors for out-of-vocabulary lines
    import embeddings

    enc = embeddings.load(encoder_dir)
    _ = enc.encode(["warm up the encoder"])
    loaded = _rss_mib()
    start = time.perf_counter()
    if mode == "stream":
        embeddings.encode_corpus(enc, corpus, out, chunk_size=chunk_size, show_progress=False)
    elif mode == "memory":
        with open(corpus, encoding="utf-8") as fh:
            texts = [line.rstrip("\n") for line in fh]
        np.save(out, enc.encode(texts), allow_pickle=False)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    wall = time.perf_counter() - start
    return {"mode": mode, "wall_s": wall, "rss_loaded_mib": loaded, "peak_rss_mib": _peak_mib()}


def _run_child(mode: str, encoder_dir: Path, corpus: Path, out: Path, chunk: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.perf.out_of_core",
        "--child",
        mode,
        str(encoder_dir),
        str(corpus),
        str(out),
        str(chunk),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(_REPO)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, cwd=_REPO)
    if done.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _warm_imports() -> bool:
    """Import what encoding needs (a fresh worker process spends most start-up here)."""
    import pyarrow.parquet  # noqa: F401

    import embeddings.adapters.word_vectors
    import embeddings.base
    import embeddings.streaming  # noqa: F401

    return True


def dask_throughput(
    encoder_dir: Path, corpus: Path, work: Path, n: int, partition_size: int
) -> dict[str, Any]:
    """texts/s of distributed.encode with 1 and 2 workers against one process."""
    import warnings

    from distributed import Client, LocalCluster

    import embeddings
    from embeddings import distributed
    from embeddings.streaming import read_vectors

    warnings.simplefilter("ignore", RuntimeWarning)
    _warm_imports()
    start = time.perf_counter()  # like each Dask worker: load the saved encoder, then encode
    enc = embeddings.load(str(encoder_dir))
    single = work / "single.parquet"
    embeddings.encode_corpus(enc, corpus, single, chunk_size=partition_size, show_progress=False)
    single_s = time.perf_counter() - start
    reference = read_vectors(single)
    peer = {"wall_s": single_s, "texts_per_s": n / single_s}
    rows: dict[str, Any] = {"single process (encode_corpus -> parquet)": peer}
    os.environ["PYTHONWARNINGS"] = "ignore::RuntimeWarning"  # the workers inherit it
    for workers in (1, 2):
        t0 = time.perf_counter()
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                scheduler_kwargs={"dashboard_address": ":0"},
                silence_logs=40,
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(_warm_imports)  # module imports of a fresh worker process: not timed
            startup = time.perf_counter() - t0
            out = work / f"dask{workers}"
            start = time.perf_counter()
            result = distributed.encode(
                str(encoder_dir),
                corpus,
                out,
                client=client,
                partition_size=partition_size,
                show_progress=False,
                resume=False,
            )
            wall = time.perf_counter() - start
        same = bool(np.array_equal(read_vectors(out), reference))
        if not same:
            raise SystemExit(f"dask with {workers} worker(s) differs from the single process")
        rows[f"dask, {workers} worker{'s' if workers > 1 else ''}"] = {
            "wall_s": wall,
            "texts_per_s": n / wall,
            "cluster_start_s": startup,
            "partitions_per_worker": sorted(result.workers.values()),
            "encoder_loads_per_worker": sorted(result.loads.values()),
            "worker_busy_s": sorted(round(v, 1) for v in result.busy_seconds.values()),
            "worker_encode_write_s": sorted(round(v, 1) for v in result.encode_seconds.values()),
            "bit_identical": same,
        }
        shutil.rmtree(out, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf.out_of_core")
    parser.add_argument("--n", type=int, default=1_000_000, help="sentences to encode")
    parser.add_argument("--fit", type=int, default=10_000, help="sentences SIF is fitted on")
    parser.add_argument("--dask-n", type=int, default=None, help="sentences for Dask (--n)")
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--partition-size", type=int, default=50_000)
    parser.add_argument("--workdir", default=None, help="keep the files here (default: temp)")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, enc_dir, corpus, out, chunk = args.child
        print(json.dumps(child(mode, enc_dir, corpus, out, int(chunk))))
        return 0

    import warnings

    import embeddings

    warnings.simplefilter("ignore", RuntimeWarning)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="out_of_core-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        corpus = work / "corpus.txt"
        info = build_corpus(corpus, args.n)
        with open(corpus, encoding="utf-8") as fh:
            fit_texts = [line.rstrip("\n") for line in itertools.islice(fh, args.fit)]
        sif = embeddings.load("glove-6b-50d-sif").fit(fit_texts)
        encoder_dir = work / "sif"
        sif.save(encoder_dir)
        output_mib = args.n * sif.dim * 4 / 2**20
        print(
            f"corpus: {args.n:,} sentences ({info['bytes'] / 2**20:.0f} MiB), cycled from "
            f"{info['distinct_lines']:,} non-blank lines of {info['files']} files in "
            f"{data_root() / 'unlabeled'}; glove-6b-50d-sif fitted on the first {args.fit:,}"
        )
        print(f"output array: {args.n:,} x {sif.dim} float32 = {output_mib:.1f} MiB")
        print(f"load average before: {_load()}")
        print()
        results: dict[str, Any] = {"n": args.n, "output_mib": output_mib, "corpus": info}
        small, n_small = work / "small.txt", args.n // 10
        build_corpus(small, n_small)
        runs = [
            (f"out-of-core -> .npy, first {n_small:,} only", "stream", small, n_small, "s.npy"),
            ("out-of-core -> .npy", "stream", corpus, args.n, "v.npy"),
            ("out-of-core -> .parquet", "stream", corpus, args.n, "v.parquet"),
            ("in memory: read all + encode + np.save", "memory", corpus, args.n, "mem.npy"),
        ]
        print(
            f"{'run':<42}{'wall s':>8}{'texts/s':>10}{'RSS loaded':>12}{'peak RSS':>10}"
            f"{'peak-loaded':>13}{'/ output':>10}"
        )
        memory = {}
        for label, mode, source, n, name in runs:
            row = _run_child(mode, encoder_dir, source, work / name, args.chunk_size)
            memory[label] = row
            extra = row["peak_rss_mib"] - row["rss_loaded_mib"]
            out_mib = n * sif.dim * 4 / 2**20
            print(
                f"{label:<42}{row['wall_s']:>8.1f}{n / row['wall_s']:>10,.0f}"
                f"{row['rss_loaded_mib']:>9.0f} MiB{row['peak_rss_mib']:>6.0f} MiB"
                f"{extra:>9.0f} MiB{extra / out_mib:>10.2f}"
            )
        same = np.array_equal(np.load(work / "v.npy", mmap_mode="r"), np.load(work / "mem.npy"))
        from embeddings.streaming import read_vectors

        same_pq = np.array_equal(read_vectors(work / "v.parquet"), np.load(work / "mem.npy"))
        print(f"out-of-core .npy == in-memory encode: {same}; .parquet == in-memory: {same_pq}")
        results["memory"] = memory
        results["bit_identical"] = {"npy": same, "parquet": same_pq}
        for f in ("s.npy", "v.npy", "v.parquet", "mem.npy", "small.txt"):
            (work / f).unlink(missing_ok=True)

        dask_n = args.dask_n or args.n
        dask_corpus = corpus
        if dask_n != args.n:
            dask_corpus = work / "dask_corpus.txt"
            build_corpus(dask_corpus, dask_n)
        print()
        print(
            f"Dask on this machine ({os.cpu_count()} cores), {dask_n:,} sentences, "
            f"partitions of {args.partition_size:,}:"
        )
        rows = dask_throughput(encoder_dir, dask_corpus, work, dask_n, args.partition_size)
        peer = rows["single process (encode_corpus -> parquet)"]["texts_per_s"]
        one = rows["dask, 1 worker"]["texts_per_s"]
        print(f"{'run':<44}{'wall s':>8}{'texts/s':>10}{'vs single':>11}{'vs 1 worker':>13}")
        for label, row in rows.items():
            print(
                f"{label:<44}{row['wall_s']:>8.1f}{row['texts_per_s']:>10,.0f}"
                f"{row['texts_per_s'] / peer:>11.2f}{row['texts_per_s'] / one:>13.2f}"
            )
        for label, row in rows.items():
            if "cluster_start_s" in row:
                print(
                    f"  {label}: cluster start + imports {row['cluster_start_s']:.1f}s "
                    "(not timed); "
                    f"per worker: partitions {row['partitions_per_worker']}, encoder loads "
                    f"{row['encoder_loads_per_worker']}, busy {row['worker_busy_s']} s of "
                    f"which encoding + writing {row['worker_encode_write_s']} s; "
                    f"bit-identical {row['bit_identical']}"
                )
        results["dask"] = rows
        print(f"load average after: {_load()}")
        write_json(args.json, results)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
