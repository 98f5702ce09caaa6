"""Dask scaling: start-up cost and steady-state sentences/s against one process, and
the cost model fitted from them.

For each encoder (default ``glove-6b-50d-sif``, fitted on the first 1,000 texts and
saved, ``minilm-l6-int8`` and ``minilm-l6``) and each size (default 2,000, 20,000 and
100,000 sentences, MR's sentences repeated in order where the task has fewer), the
sentences are written to a ``.txt`` file and encoded

* by **one process** (the peer): :func:`embeddings.encode_corpus` into a parquet
  file, on one core (torch and ONNX Runtime on one thread, as on each worker);
  start-up is loading the encoder and a first tiny encoding, as on the workers;
* on a **LocalCluster of 1 and of 2** single-threaded workers (the workers read their
  own byte ranges, ``--partitions-per-worker`` partitions each): start-up is starting
  the cluster plus a first tiny encoding, which imports transferkit and loads the
  encoder on every worker; steady state is the timed call's wall time less the
  longest encoder load of a worker in it (each call loads the encoder once per
  worker).

Every output is checked bit for bit against the one-process output.  A cell whose
time, predicted from the rate measured at the smaller size, is over
``--max-cell-minutes`` is skipped and listed.  On a machine with fewer cores than
workers, workers share cores and cannot scale.

**Cost model** (per encoder, printed and written to ``--json``)::

    T(N, W) = S + F + (N * c + P * o) / W          X(W) = W / (c + o / p)

``S`` start-up of the cluster (s), ``F`` the fixed cost of one call (planning,
registering the encoder on the workers, the manifest), ``c`` seconds per text on one
core (from the one-process rows), ``o`` seconds of overhead per partition on a worker
(reading its byte range, writing its parquet part), ``P = N / p`` partitions of ``p``
texts, ``W`` worker cores; ``F`` and ``o`` come from the workers' own timings (see
:func:`fit_cost_model`).  ``X(W)`` is the steady rate once ``N`` is large.  The
client and the shared file system bound it:

* the client spends ``t_client`` seconds per partition (measured: submitting and
  collecting no-op tasks), so it carries at most ``p / t_client`` texts/s;
* each text moves ``b_in + b_out`` bytes through the shared storage (measured: the
  input file and the parquet parts), so storage of ``B`` bytes/s carries at most
  ``B / (b_in + b_out)`` texts/s (``--storage-mb-s``, default 110: 1 Gbit/s NFS).

The machine counts where ``X(W)`` reaches either bound are printed for machines of
``--cores-per-machine`` cores.

Example:
    $ python -m benchmarks.perf.distributed --sizes 2000 --encoders glove-6b-50d-sif
    $ python -m benchmarks.perf.distributed --json dask-scaling.json
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.perf.run import write_json

__all__ = ["main", "fit_cost_model"]

DEFAULT_ENCODERS = ("glove-6b-50d-sif", "minilm-l6-int8", "minilm-l6")
DEFAULT_SIZES = (2000, 20_000, 100_000)


def _reference(name: str, texts: list[str], folder: Path) -> str:
    """A preset name, or the saved folder of the encoder fitted on the first texts."""
    import embeddings

    enc = embeddings.load(name)
    if not enc.requires_fit:
        return name
    saved = folder / f"{name}-fitted"
    enc.fit(texts[:1000]).save(saved)
    return str(saved)


def _one_process(ref: str, corpus: Path, out: Path) -> dict[str, Any]:
    import embeddings
    from embeddings._deps import pin_process_threads

    pin_process_threads(1)  # one core, as each worker: torch and ONNX Runtime
    t0 = time.perf_counter()
    enc = embeddings.load(ref)
    enc.encode(["warm up"] * 8)  # as the workers' first tiny encoding
    t1 = time.perf_counter()
    result = embeddings.encode_corpus(enc, corpus, out, show_progress=False)
    seconds = time.perf_counter() - t1
    return {"startup_s": t1 - t0, "steady_s": seconds, "rate": result.rows / seconds}


def _client_seconds_per_task(client: Any, n: int = 200) -> float:
    """The client's own cost of one task: submitting and collecting ``n`` no-op tasks."""
    t0 = time.perf_counter()
    futures = [client.submit(abs, i, pure=False) for i in range(n)]
    client.gather(futures)
    return (time.perf_counter() - t0) / n


def _on_cluster(ref: str, corpus: Path, folder: Path, workers: int, per_worker: int) -> dict:
    from embeddings import distributed
    from embeddings._dask_workers import client_for

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
            ref, corpus, out, client=client,
            partition_bytes=-(-size // (per_worker * workers)), show_progress=False,
            resume=False,
        )  # fmt: skip
        client_s = _client_seconds_per_task(client)
    loads = [result.busy_seconds[w] - result.encode_seconds[w] for w in result.busy_seconds]
    steady = result.seconds - max(loads, default=0.0)
    out_bytes = sum(f.stat().st_size for f in out.rglob("*.parquet"))
    return {
        "startup_s": startup, "steady_s": steady, "rate": result.rows / steady,
        "partitions": result.partitions, "client_s_per_task": client_s,
        "worker_s_sum": sum(result.encode_seconds.values()),
        "worker_s_max": max(result.encode_seconds.values(), default=0.0),
        "out_bytes": out_bytes, "path": out,
    }  # fmt: skip


def fit_cost_model(cells: Sequence[dict[str, Any]]) -> dict[str, float]:
    """``c``, ``F``, ``o`` and ``S`` of ``T = S + F + (N c + P o) / W`` from one encoder's cells.

    ``c``: the one-process seconds per text.  From each cluster cell, with the workers'
    own timings (reading, encoding and writing, without the encoder load): ``o`` is
    their sum less ``N c``, per partition; ``F`` is the call's steady wall time less
    the busiest worker's time (planning, registering the encoder, scheduling, the
    manifest).  Each is the median over cells, clipped at 0; ``S`` is the median
    cluster start-up.

    Example:
        >>> cells = [{"run": "one process", "n": 1000, "steady_s": 10.0},
        ...          {"run": "cluster", "n": 1000, "partitions": 4, "startup_s": 5.0,
        ...           "steady_s": 10.9, "worker_s_sum": 10.4, "worker_s_max": 10.4}]
        >>> {k: round(v, 3) for k, v in fit_cost_model(cells).items()}
        {'c': 0.01, 'F': 0.5, 'o': 0.1, 'S': 5.0}
    """

    def median(values: list[float]) -> float:
        values = sorted(values)
        return values[len(values) // 2] if values else 0.0

    c = median([cell["steady_s"] / cell["n"] for cell in cells if cell["run"] == "one process"])
    cluster = [cell for cell in cells if cell["run"] == "cluster"]
    o = median([(cell["worker_s_sum"] - cell["n"] * c) / cell["partitions"] for cell in cluster])
    fixed = median([cell["steady_s"] - cell["worker_s_max"] for cell in cluster])
    return {
        "c": c,
        "F": max(0.0, fixed),
        "o": max(0.0, o),
        "S": median([cell["startup_s"] for cell in cluster]),
    }


def _bounds(model: dict[str, float], extra: dict[str, float], args: argparse.Namespace) -> dict:
    """Throughput per machine and the machine counts where the client or storage binds."""
    p = extra["texts_per_partition"]
    per_machine = args.cores_per_machine / (model["c"] + model["o"] / p)
    client_cap = p / extra["client_s_per_task"]
    storage_cap = args.storage_mb_s * 1e6 / (extra["bytes_in"] + extra["bytes_out"])
    return {
        "texts_per_s_per_machine": per_machine,
        "client_cap_texts_per_s": client_cap,
        "storage_cap_texts_per_s": storage_cap,
        "machines_at_client_cap": client_cap / per_machine,
        "machines_at_storage_cap": storage_cap / per_machine,
        "predicted_texts_per_s": {
            str(m): min(m * per_machine, client_cap, storage_cap) for m in (1, 2, 4, 8, 16, 64)
        },
    }


def _corpus(texts: list[str], n: int, folder: Path) -> Path:
    path = folder / f"corpus-{n}.txt"
    lines = [texts[i % len(texts)].replace("\n", " ") + "\n" for i in range(n)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _print_row(name: str, n: int, cell: dict[str, Any], base: float, one: float | None) -> None:
    run = "one process" if cell["run"] == "one process" else f"LocalCluster x{cell['workers']}"
    vs_one = f"{cell['rate'] / one:>11.2f}" if one and cell.get("workers") == 2 else ""
    print(f"{name:<18} {n:>7,} {run:<16} {cell['startup_s']:>10.2f} {cell['rate']:>10.1f} "
          f"{cell['rate'] / base:>9.2f} {vs_one}", flush=True)  # fmt: skip


def _measure_encoder(
    name: str, texts: list[str], folder: Path, args: argparse.Namespace, skipped: list[str]
) -> list[dict[str, Any]]:
    import numpy as np

    from embeddings.streaming import read_vectors

    ref = _reference(name, texts, folder)
    cells: list[dict[str, Any]] = []
    rate: float | None = None
    for n in args.sizes:
        if rate is not None and n / rate / 60.0 > args.max_cell_minutes:
            skipped.append(f"{name} at {n:,}: about {n / rate / 60:.0f} min per cell")
            continue
        corpus = _corpus(texts, n, folder)
        one = {"run": "one process", "n": n,
               **_one_process(ref, corpus, folder / f"{name}-{n}.parquet")}  # fmt: skip
        rate = one["rate"]
        expected = read_vectors(folder / f"{name}-{n}.parquet")
        cells.append(one)
        _print_row(name, n, one, rate, None)
        one_worker = None
        for workers in (1, 2):
            got = _on_cluster(
                ref, corpus, folder / f"{name}-{n}", workers, args.partitions_per_worker
            )
            vectors = read_vectors(got.pop("path"))
            identical = vectors.tobytes() == expected.tobytes()
            if not identical:
                diff = float(np.max(np.abs(vectors - expected)))
                print(f"  {name}: {workers} workers differ from one process by {diff:.3g}")
            cell = {"run": "cluster", "workers": workers, "n": n, "identical": identical,
                    "bytes_in": corpus.stat().st_size, **got}  # fmt: skip
            cells.append(cell)
            _print_row(name, n, cell, rate, one_worker)
            one_worker = cell["rate"] if workers == 1 else one_worker
        corpus.unlink()
    return cells


def _report_model(name: str, cells: list[dict[str, Any]], args: argparse.Namespace) -> dict:
    model = fit_cost_model(cells)
    cluster = [c for c in cells if c["run"] == "cluster"]
    last = max(cluster, key=lambda c: c["n"])
    extra = {
        "texts_per_partition": last["n"] / last["partitions"],
        "client_s_per_task": sorted(c["client_s_per_task"] for c in cluster)[len(cluster) // 2],
        "bytes_in": last["bytes_in"] / last["n"],
        "bytes_out": last["out_bytes"] / last["n"],
    }
    bounds = _bounds(model, extra, args)
    print(f"\n{name}: S = {model['S']:.2f} s, F = {model['F']:.2f} s, "
          f"c = {model['c'] * 1e3:.3f} ms/text, "
          f"o = {model['o'] * 1e3:.1f} ms/partition, p = {extra['texts_per_partition']:,.0f} "
          f"texts/partition, t_client = {extra['client_s_per_task'] * 1e3:.2f} ms/partition, "
          f"b_in + b_out = {extra['bytes_in']:.0f} + {extra['bytes_out']:.0f} B/text")  # fmt: skip
    print(f"  one {args.cores_per_machine}-core machine: {bounds['texts_per_s_per_machine']:,.0f} "
          f"texts/s; client bound {bounds['client_cap_texts_per_s']:,.0f} texts/s (at "
          f"{bounds['machines_at_client_cap']:,.1f} machines); storage bound at "
          f"{args.storage_mb_s:g} MB/s {bounds['storage_cap_texts_per_s']:,.0f} texts/s (at "
          f"{bounds['machines_at_storage_cap']:,.1f} machines)")  # fmt: skip
    pred = ", ".join(f"{m}: {v:,.0f}" for m, v in bounds["predicted_texts_per_s"].items())
    print(f"  predicted texts/s by machines: {pred}")
    return {"model": model, **extra, **bounds}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scaling measurement, print the table and the fitted cost model."""
    from benchmarks.perf.run import read_sentences

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--encoders", nargs="+", default=list(DEFAULT_ENCODERS))
    parser.add_argument("--sizes", nargs="+", type=int, default=list(DEFAULT_SIZES))
    parser.add_argument("--task", default="MR")
    parser.add_argument("--partitions-per-worker", type=int, default=4)
    parser.add_argument("--max-cell-minutes", type=float, default=20.0)
    parser.add_argument("--cores-per-machine", type=int, default=16)
    parser.add_argument("--storage-mb-s", type=float, default=110.0)
    parser.add_argument("--json", default=None, help="also write every cell and the model")
    args = parser.parse_args(argv)
    texts = read_sentences(min(max(args.sizes), _task_size(args.task)), args.task)
    load = os.getloadavg()[0]
    print(f"{args.task}: {len(texts):,} distinct sentences; {os.cpu_count()} CPU cores; "
          f"1-minute load average {load:.2f} at the start")  # fmt: skip
    print(f"{'encoder':<18} {'texts':>7} {'run':<16} {'start-up s':>10} {'sent/s':>10} "
          f"{'vs 1 proc':>9} {'vs 1 worker':>11}")  # fmt: skip
    results: dict[str, Any] = {"encoders": {}, "skipped": [], "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.encoders:
            cells = _measure_encoder(name, texts, Path(tmp), args, results["skipped"])
            results["encoders"][name] = {"cells": cells}
    for name, entry in results["encoders"].items():
        if any(c["run"] == "cluster" for c in entry["cells"]):
            entry["cost_model"] = _report_model(name, entry["cells"], args)
    for line in results["skipped"]:
        print(f"skipped: {line} (over --max-cell-minutes {args.max_cell_minutes:g})")
    results["load_average_end"] = os.getloadavg()[0]
    write_json(args.json, results)
    return 0


def _task_size(task: str) -> int:
    from benchmarks.perf.run import _data_dir

    with open(_data_dir() / task / "all.tsv", encoding="utf-8") as handle:
        return sum(1 for _ in handle) - 1


if __name__ == "__main__":
    raise SystemExit(main())
