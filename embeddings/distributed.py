"""Distributed encoding on Dask: one encoder per worker, ordered parquet partitions.

:func:`encode` cuts a text file (the sources of
:class:`~embeddings.streaming.TextSource`) into partitions, encodes them on the
workers of a Dask cluster and writes one parquet file per partition,
``part-00000.parquet``, ``part-00001.parquet`` ..., each with an ``id`` column (the
row number in the source) and a ``vector`` column, in source order whatever order
the workers finish in.  Reading the folder (:func:`embeddings.streaming.read_vectors`,
``pandas.read_parquet``, ``dask.dataframe.read_parquet``) gives the same vectors, bit
for bit, as ``encoder.encode(all_texts)`` in one process.

Who reads the input:

* ``.txt`` and ``.jsonl``: the workers.  The file is cut into byte ranges of
  ``partition_bytes`` from its size alone (:mod:`embeddings._partitions`); each
  worker counts, then reads and encodes, the lines that start in its ranges.  The
  calling process never opens the file: it must be at the same path on every worker
  (shared storage), and the resume check identifies it by path, size and mtime.
* ``.parquet``: the workers, by row groups (gathered up to ``partition_size`` rows);
  the calling process reads only the footer.
* ``.csv`` and ``.tsv`` (quoted values may span lines, so a byte offset cannot tell
  where a row starts): the calling process, in a streaming pass, sending each
  partition of ``partition_size`` texts with its task (a few partitions per worker
  thread in flight, so memory stays bounded).

How the encoder reaches the workers: never by pickling its weights into tasks.  An
:class:`EncoderPlugin` carrying only a reference to the encoder is registered once
on the cluster; each worker loads the encoder from that reference the first time it
runs a partition and keeps it for the rest of the call (and checks that its
fingerprint is the caller's).  The reference is a saved folder (an encoder object is
saved into ``encoder_dir``, by default ``OUT/_encoder``), or a preset name (with
``encoder_params``) or saved-folder path that each worker builds with
:func:`embeddings.load`.  ``OUT`` must be the same path on every machine.

Partition files are written atomically, so a run that was killed can be continued
(``resume=True``): finished partitions are kept and only the missing ones encoded.
With ``client=None`` a ``LocalCluster`` of ``n_workers`` single-threaded worker
processes (torch and BLAS pinned to that thread) is started for the call and closed
afterwards; a script that starts one needs the ``if __name__ == "__main__":`` guard.
A scheduler address (``"tcp://host:8786"``) or a ``distributed.Client`` uses an
existing cluster.  :func:`encode_dataframe` maps an encoder over a text column of a
``dask.dataframe``.  Requires the ``dask`` extra: ``pip install 'transferkit[dask]'``.

Example:
    >>> import tempfile, pathlib
    >>> import embeddings
    >>> from embeddings import distributed
    >>> from embeddings.streaming import read_vectors
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "t.txt").write_text("a cat\\na dog\\nstocks fell\\n")
    >>> result = distributed.encode("glove-6b-50d", folder / "t.txt", folder / "vectors",
    ...                             partition_bytes=8, n_workers=1, show_progress=False)
    >>> read_vectors(folder / "vectors").shape
    (3, 50)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

from embeddings._checks import check_bool, check_int
from embeddings._dask_frame import encode_dataframe
from embeddings._dask_output import (
    _START_OVER,
    ENCODER_DIR_NAME,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    MANIFEST_VERSION,
    _new_manifest,
    _part_file,
    _prepare_folder,
)
from embeddings._dask_workers import (
    _LOADS,
    EncoderPlugin,
    EncoderSpec,
    client_for,
    cluster_threads,
    importing_main_in_worker,
    resolve_encoder,
)
from embeddings._partitions import range_texts, row_group_texts
from embeddings._progress import progress, progress_mode
from embeddings.errors import InvalidInputError, InvalidParameterError
from embeddings.streaming import (
    TextSource,
    encoder_identity,
    parquet_schema,
    resume_from,
    write_parquet_part,
    write_recorded,
)

__all__ = [
    "encode",
    "encode_dataframe",
    "EncoderPlugin",
    "EncoderSpec",
    "DistributedEncodeResult",
]

#: input kinds whose partitions the workers read: byte ranges, or parquet row groups
_WORKER_READ = {"txt": "bytes", "jsonl": "bytes", "parquet": "row_groups"}


@dataclass(frozen=True)
class DistributedEncodeResult:
    """What :func:`encode` did.

    Attributes:
        path: the output folder of ``part-*.parquet`` files.
        rows: texts in all.
        dim: the vector dimension.
        partitions: partitions in all.
        partitions_encoded: partitions encoded by this call.
        partitions_resumed: partitions kept from an interrupted call.
        workers: partitions encoded by each worker (address -> count).
        loads: times each worker that encoded a partition loaded the encoder in this
            call (1 each: the encoder is loaded once per worker).
        busy_seconds: each worker's time in its partitions (address -> seconds),
            including its wait for the encoder to load.
        encode_seconds: the same without loading the encoder: reading (on the worker),
            encoding and writing.
        seconds: wall time of this call.
    """

    path: Path
    rows: int
    dim: int
    partitions: int
    partitions_encoded: int
    partitions_resumed: int
    workers: dict[str, int]
    loads: dict[str, int]
    busy_seconds: dict[str, float]
    encode_seconds: dict[str, float]
    seconds: float


def _partition_texts(source: dict[str, Any], part: dict[str, Any]) -> list[str]:
    """Worker side: read the texts of one partition from the shared input."""
    if "bytes" in part:
        start, end = part["bytes"]
        key = source["column"] if source["kind"] == "jsonl" else None
        return range_texts(source["path"], start, end, key)
    return row_group_texts(source["path"], source["column"], part["row_groups"])


def _encode_partition(
    plugin_name: str,
    index: int,
    part: dict[str, Any],
    texts: list[str] | None,
    source: dict[str, Any],
    path: str,
    batch_size: int,
    meta: dict[str, Any],
) -> dict[str, Any]:
    """Worker side: read (unless sent) and encode one partition, write it atomically."""
    import numpy as np
    from distributed import get_worker

    worker = get_worker()
    plugin = cast(EncoderPlugin, worker.plugins[plugin_name])
    started = time.perf_counter()
    if texts is None:
        texts = _partition_texts(source, part)
    if len(texts) != part["rows"]:
        raise InvalidInputError(
            f"{source['path']}: partition {index} holds {len(texts)} texts where "
            f"{part['rows']} were counted; the file changed while it was encoded: encode "
            "a file that does not change"
        )
    read = time.perf_counter()
    with plugin.encoder() as enc:
        loaded = time.perf_counter()
        vectors = enc.encode(texts, batch_size=batch_size, show_progress=False)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    schema = parquet_schema(int(meta["dim"]), meta)
    write_parquet_part(Path(path), int(part["first_row"]), vectors, schema)
    return {
        "index": index,
        "rows": len(texts),
        "worker": worker.address,
        "loads": _LOADS.get(plugin_name, 0),
        "seconds": time.perf_counter() - started,
        "encode_write_seconds": time.perf_counter() - loaded + (read - started),
    }


def encode(
    encoder: Any,
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    client: Any = None,
    column: str | None = None,
    partition_size: int | None = None,
    partition_bytes: int | None = None,
    batch_size: int = 64,
    encoder_params: dict[str, Any] | None = None,
    encoder_dir: str | os.PathLike[str] | None = None,
    n_workers: int | None = None,
    max_in_flight: int | None = None,
    resume: bool = True,
    show_progress: bool = True,
) -> DistributedEncodeResult:
    """Encode a text file on a Dask cluster into ordered parquet partitions.

    Args:
        encoder: a transferkit encoder (saved to ``encoder_dir`` and loaded from there
            by each worker), or a preset name or saved-folder path (loaded by each
            worker with ``embeddings.load``).  Loaded once per worker, never pickled.
        source: a ``.txt``, ``.jsonl`` or ``.parquet`` file (read by the workers: the
            same path on every machine), or a ``.csv``/``.tsv`` file (read by the
            calling process).
        out: the output folder (created; the same path on every worker): it receives
            ``part-NNNNN.parquet`` files and ``_transferkit.json``.
        client: ``None`` starts a ``LocalCluster`` for the call (``n_workers``
            single-threaded processes) and closes it afterwards; a scheduler address
            (``"tcp://host:8786"``) connects to that cluster; a ``distributed.Client``
            is used as it is (and left open).
        column: the text column or key (CSV/TSV/JSONL/parquet; default ``text``).
        partition_size: texts per partition of a ``.csv``/``.tsv`` file, at most rows
            per partition of a ``.parquet`` file (whole row groups); default 50,000.
        partition_bytes: bytes per partition of a ``.txt``/``.jsonl`` file; default:
            four partitions per worker thread, between 64 KiB and 16 MiB.  Neither size
            changes the vectors.
        batch_size: passed to ``encoder.encode`` (does not change the vectors).
        encoder_params: parameter overrides for a preset name.
        encoder_dir: where an encoder object is saved for the workers (default
            ``OUT/_encoder``, removed when the call succeeds).
        n_workers: worker processes of the ``LocalCluster`` (``client=None`` only;
            default: one per CPU core).
        max_in_flight: partitions submitted but not finished at most (default twice
            the cluster's worker threads, at least 2); bounds the caller's memory.
        resume: keep the partitions of an interrupted call into ``out`` (after checking
            that encoder and input are unchanged); ``False`` deletes them first.
        show_progress: show progress (texts): see :mod:`embeddings._progress`
            (``TRANSFERKIT_PROGRESS``).

    Returns:
        A :class:`DistributedEncodeResult`.

    Raises:
        MissingDependencyError: dask or distributed is not installed.
        InvalidParameterError: a bad argument, an ``out`` folder that holds other
            files, a resume whose encoder or input differ, or a ``LocalCluster``
            started from a script without a ``__main__`` guard.
        InvalidInputError: an unreadable or malformed source.

    Example:
        >>> import tempfile, pathlib
        >>> import embeddings
        >>> from embeddings import distributed
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "t.txt").write_text("a cat\\nstocks fell\\n")
        >>> enc = embeddings.load("glove-6b-50d", pooling="max")
        >>> r = distributed.encode(enc, folder / "t.txt", folder / "out", partition_bytes=6,
        ...                        n_workers=1, show_progress=False)
        >>> sorted(p.name for p in (folder / "out").glob("part-*"))
        ['part-00000.parquet', 'part-00001.parquet']
    """
    if client is None and importing_main_in_worker():
        raise SystemExit(1)  # the caller's process reports the missing __main__ guard
    from embeddings._deps import require

    require("dask", extra="dask")
    require("distributed", extra="dask")
    started = time.perf_counter()
    size = None if partition_size is None else check_int("partition_size", partition_size)
    nbytes = None if partition_bytes is None else check_int("partition_bytes", partition_bytes)
    check_int("batch_size", batch_size)
    if n_workers is not None:
        check_int("n_workers", n_workers)
        if client is not None:
            raise InvalidParameterError(
                "n_workers sizes the LocalCluster started when client=None; an existing "
                "cluster keeps its own workers"
            )
    if max_in_flight is not None:
        check_int("max_in_flight", max_in_flight)
    if check_bool("show_progress", show_progress):
        progress_mode()  # refuses a wrong TRANSFERKIT_PROGRESS before any work
    check_bool("resume", resume)
    from distributed import Client

    if not (client is None or isinstance(client, (str, Client))):
        raise InvalidParameterError(
            "client must be None (a LocalCluster for this call), a scheduler address such "
            f"as 'tcp://host:8786', or a distributed.Client; got {type(client).__name__}"
        )
    src = TextSource(source, column)
    mode = _WORKER_READ.get(src.kind, "texts")
    if mode == "bytes" and size is not None:
        raise InvalidParameterError(
            f"a .{src.kind} input is cut by bytes, read by the workers: pass "
            f"partition_bytes= instead of partition_size={size}"
        )
    if mode != "bytes" and nbytes is not None:
        raise InvalidParameterError(
            f"partition_bytes applies to .txt/.jsonl input; a .{src.kind} input takes "
            f"partition_size= (texts per partition), got partition_bytes={nbytes}"
        )
    unit, size_name = (nbytes, "partition_bytes") if mode == "bytes" else (size, "partition_size")
    local, spec = resolve_encoder(encoder, encoder_params)
    out_path = Path(out).resolve()
    _prepare_folder(out_path, resume)
    manifest_path = out_path / MANIFEST_NAME
    fingerprint, name, dim = encoder_identity(local)
    fingerprint = str(fingerprint)  # a transferkit encoder always has one
    source_id = src.fingerprint(read_head=mode == "texts")
    shared = {"path": str(src.path.resolve()), "kind": src.kind, "column": src.column}
    manifest = resume_from(
        manifest_path,
        resume,
        what="manifest",
        encoder_name=name,
        fingerprint=fingerprint,
        source=source_id,
        output={"dim": dim},
        chunk_size=unit,
        size_name=size_name,
        file_format=MANIFEST_FORMAT,
        version=MANIFEST_VERSION,
        start_over=_START_OVER,
    )
    meta = {"encoder": name, "fingerprint": fingerprint, "dim": dim}
    token = secrets.token_hex(4)
    plugin_name = f"transferkit-encoder-{fingerprint[:12]}-{token}"
    stats: dict[str, dict[str, Any]] = {"workers": {}, "loads": {}, "busy": {}, "compute": {}}
    saved = None
    with contextlib.ExitStack() as stack:
        connection: list[Any] = []

        def connect() -> Any:
            if not connection:
                connection.append(stack.enter_context(client_for(client, n_workers)))
            return connection[0]

        if manifest is None:
            for stale in out_path.glob("part-*.parquet"):  # no manifest vouches for them
                stale.unlink()
            manifest = _new_manifest(src, mode, unit, connect, shared, name, fingerprint, dim)
            manifest["input"] = source_id
            write_recorded(manifest_path, manifest)
        plan = manifest["plan"]
        width = int(manifest["output"]["width"])
        done = {i for i in range(len(plan)) if (out_path / _part_file(i, width)).is_file()}
        todo = [i for i in range(len(plan)) if i not in done]
        if todo and spec is None:  # an encoder object: the workers load its saved folder
            saved = Path(encoder_dir) if encoder_dir is not None else out_path / ENCODER_DIR_NAME
            local.save(saved)
            spec = EncoderSpec(str(saved.resolve()))
        if todo:
            dask_client = connect()
            with progress(
                enabled=show_progress,
                total=int(manifest["output"]["rows"]),
                initial=sum(int(plan[i]["rows"]) for i in done),
                unit="text",
                desc=f"encode {name} on dask",
            ) as bar:
                texts = (
                    src.chunks(int(manifest["output"]["chunk_size"])) if mode == "texts" else None
                )
                dask_client.register_plugin(
                    EncoderPlugin(spec, fingerprint, plugin_name), name=plugin_name
                )
                try:
                    _run(
                        dask_client,
                        plan,
                        done,
                        texts,
                        bar,
                        stats,
                        max_in_flight,
                        token,
                        width,
                        partial(
                            _encode_partition,
                            plugin_name,
                            source=shared,
                            batch_size=batch_size,
                            meta=meta,
                        ),
                        out_path,
                    )
                finally:
                    with contextlib.suppress(Exception):
                        dask_client.unregister_worker_plugin(plugin_name)
    missing = [i for i in range(len(plan)) if not (out_path / _part_file(i, width)).is_file()]
    if missing:
        raise InvalidParameterError(
            f"{out_path}: partitions {missing[:5]} were not written; run again to resume"
        )
    manifest["complete"] = True
    write_recorded(manifest_path, manifest)
    if saved is not None and encoder_dir is None:
        shutil.rmtree(saved, ignore_errors=True)
    return DistributedEncodeResult(
        path=out_path,
        rows=int(manifest["output"]["rows"]),
        dim=dim,
        partitions=len(plan),
        partitions_encoded=len(todo),
        partitions_resumed=len(plan) - len(todo),
        workers=stats["workers"],
        loads=stats["loads"],
        busy_seconds=stats["busy"],
        encode_seconds=stats["compute"],
        seconds=time.perf_counter() - started,
    )


def _run(
    client: Any,
    plan: list[dict[str, Any]],
    done: set[int],
    texts: Iterator[tuple[list[str], Any]] | None,
    bar: Any,
    stats: dict[str, dict[str, Any]],
    max_in_flight: int | None,
    token: str,
    width: int,
    task: Any,
    out: Path,
) -> None:
    """Submit the unfinished partitions with bounded look-ahead and collect them."""
    from distributed import wait

    if max_in_flight is None:
        max_in_flight = max(2, 2 * cluster_threads(client))
    pending: set[Any] = set()

    def collect(futures: set[Any]) -> None:
        for future in futures:
            report = future.result()  # re-raises a worker's error here
            address = report["worker"]
            stats["workers"][address] = stats["workers"].get(address, 0) + 1
            stats["loads"][address] = max(stats["loads"].get(address, 0), report["loads"])
            stats["busy"][address] = stats["busy"].get(address, 0.0) + report["seconds"]
            spent = stats["compute"].get(address, 0.0) + report["encode_write_seconds"]
            stats["compute"][address] = spent
            bar.update(report["rows"])

    sent = (chunk for chunk, _ in texts) if texts is not None else None
    try:
        for index, part in enumerate(plan):
            batch = next(sent) if sent is not None else None
            if index in done:
                continue
            pending.add(
                client.submit(
                    task,
                    index,
                    part,
                    batch,
                    path=str(out / _part_file(index, width)),
                    key=f"transferkit-encode-{token}-{index:0{width}d}",
                    pure=False,
                )
            )
            while len(pending) >= max_in_flight:
                finished, rest = wait(pending, return_when="FIRST_COMPLETED")
                pending = set(rest)
                collect(set(finished))
        if pending:
            finished, _ = wait(pending)
            pending = set()
            collect(set(finished))
    finally:
        for future in pending:
            future.cancel()
