"""Distributed encoding on Dask: one encoder per worker, ordered parquet partitions.

:func:`encode` splits a text file (the sources of
:class:`~embeddings.streaming.TextSource`) into partitions of ``partition_size``
texts, encodes them on the workers of a Dask cluster and writes one parquet file
per partition, ``part-00000.parquet``, ``part-00001.parquet`` ..., each with an
``id`` column (the row number in the source) and a ``vector`` column, in source
order whatever order the workers finish in.  Reading the folder
(:func:`embeddings.streaming.read_vectors`, ``pandas.read_parquet``,
``dask.dataframe.read_parquet``) gives the same vectors, bit for bit, as
``encoder.encode(all_texts)`` in one process.

How the encoder reaches the workers: never by pickling its weights into tasks.  A
:class:`EncoderPlugin` carrying only a reference to the encoder is registered once
on the cluster; each worker loads the encoder from that reference the first time it
runs a partition and keeps it for the rest of the call (and checks that its
fingerprint is the caller's).  The reference is

* a saved folder: an encoder object is saved (``encoder.save``, safetensors + JSON)
  into ``encoder_dir``, by default ``OUT/_encoder``, a folder every worker can read
  because every worker writes into ``OUT``;
* or a preset name (with ``encoder_params``) or the path of a saved folder, given as
  a string: each worker builds it with :func:`embeddings.load`.

Texts are read by the calling process in a streaming pass and sent with their
partition (at most a few partitions per worker thread are in flight, so memory stays
bounded); the workers therefore need no access to the input, only to ``OUT``, which
must be the same path on every machine (a shared file system).  Partition files are
written atomically, so a run that was killed can be continued (``resume=True``):
finished partitions are kept and only the missing ones are encoded.

With ``client=None`` a ``LocalCluster`` of ``n_workers`` single-threaded worker
processes is started for the call and closed afterwards; a scheduler address
(``"tcp://host:8786"``) or a ``distributed.Client`` uses an existing cluster.
Requires the ``dask`` extra: ``pip install 'transferkit[dask]'``.

Example:
    >>> import tempfile, pathlib
    >>> import embeddings
    >>> from embeddings import distributed
    >>> from embeddings.streaming import read_vectors
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "t.txt").write_text("a cat\\na dog\\nstocks fell\\n")
    >>> result = distributed.encode("glove-6b-50d", folder / "t.txt", folder / "vectors",
    ...                             partition_size=2, n_workers=1, show_progress=False)
    >>> read_vectors(folder / "vectors").shape
    (3, 50)
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from embeddings._checks import check_bool, check_int
from embeddings.errors import InvalidParameterError
from embeddings.streaming import (
    TextSource,
    check_progress,
    parquet_schema,
    write_parquet_part,
)

try:  # the optional ``dask`` extra; encode() raises MissingDependencyError without it
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - exercised only without the extra
    _WorkerPlugin = object  # type: ignore[assignment,misc]

__all__ = ["encode", "EncoderPlugin", "EncoderSpec", "DistributedEncodeResult"]

DEFAULT_PARTITION_SIZE = 50_000
MANIFEST_NAME = "_transferkit.json"
ENCODER_DIR_NAME = "_encoder"
MANIFEST_FORMAT = "transferkit-distributed-encode"
MANIFEST_VERSION = 1
_START_OVER = "pass resume=False to start over, or choose another output folder"

#: encoder loads per plugin name in this worker process, reported with each partition
_LOADS: dict[str, int] = {}
_LOADS_LOCK = threading.Lock()


@dataclass(frozen=True)
class EncoderSpec:
    """How a worker builds the encoder: ``embeddings.load(name, **params)``.

    Attributes:
        name: a preset name or the path of a saved encoder folder (readable by workers).
        params: preset parameter overrides (empty for a folder).

    Example:
        >>> EncoderSpec("glove-6b-50d", {"pooling": "max"}).load().dim
        50
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        """Build the encoder (``embeddings.load``)."""
        from embeddings.registry import load

        return load(self.name, **self.params)


class EncoderPlugin(_WorkerPlugin):  # type: ignore[misc,valid-type]
    """A Dask worker plugin that holds one encoder per worker, loaded on first use.

    Only the :class:`EncoderSpec` and the expected fingerprint travel to the workers
    (once, at registration); each worker builds the encoder itself, checks its
    fingerprint and reuses it for every partition.  Encoding on a worker is
    serialised by a lock, so one encoder instance is never used by two threads at
    once: scale with worker processes, not threads.

    Args:
        spec: how to build the encoder.
        fingerprint: the fingerprint the built encoder must have.
        name: the plugin's registration name (counts loads under it).

    Example:
        >>> plugin = EncoderPlugin(EncoderSpec("glove-6b-50d"), "0" * 64, "demo")
        >>> plugin.spec.name
        'glove-6b-50d'
    """

    def __init__(self, spec: EncoderSpec, fingerprint: str, name: str) -> None:
        self.spec = spec
        self.fingerprint = fingerprint
        self.name = name
        self._encoder: Any = None
        self._lock: threading.Lock | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec, "fingerprint": self.fingerprint, "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["spec"], state["fingerprint"], state["name"])  # type: ignore[misc]

    def setup(self, worker: Any) -> None:
        """Called by Dask on each worker; the encoder is loaded by the first partition."""
        self._lock = threading.Lock()

    def teardown(self, worker: Any) -> None:
        """Called by Dask when the plugin is removed: drop the encoder."""
        self._encoder = None
        with _LOADS_LOCK:
            _LOADS.pop(self.name, None)

    @contextlib.contextmanager
    def encoder(self) -> Iterator[Any]:
        """The worker's encoder, loaded once, held exclusively while the block runs."""
        if self._lock is None:
            self._lock = threading.Lock()
        with self._lock:
            if self._encoder is None:
                enc = self.spec.load()
                got = enc.fingerprint()
                if got != self.fingerprint:
                    raise InvalidParameterError(
                        f"the encoder built on this worker from {self.spec.name!r} has "
                        f"fingerprint {got[:12]}, the caller's has {self.fingerprint[:12]}: "
                        "the worker sees another folder or other package versions; use a "
                        "folder on shared storage and the same environment on every worker"
                    )
                with _LOADS_LOCK:
                    _LOADS[self.name] = _LOADS.get(self.name, 0) + 1
                self._encoder = enc
            yield self._encoder


def _encode_partition(
    plugin_name: str,
    index: int,
    start: int,
    texts: list[str],
    path: str,
    batch_size: int,
    meta: dict[str, Any],
) -> dict[str, Any]:
    """Worker side: encode one partition and write its parquet file atomically."""
    import numpy as np
    from distributed import get_worker

    worker = get_worker()
    plugin = cast(EncoderPlugin, worker.plugins[plugin_name])
    started = time.perf_counter()
    with plugin.encoder() as enc:
        loaded = time.perf_counter()
        vectors = enc.encode(texts, batch_size=batch_size)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    write_parquet_part(Path(path), start, vectors, parquet_schema(int(meta["dim"]), meta))
    return {
        "index": index,
        "rows": len(texts),
        "worker": worker.address,
        "loads": _LOADS.get(plugin_name, 0),
        "seconds": time.perf_counter() - started,
        "encode_write_seconds": time.perf_counter() - loaded,
    }


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
        encode_seconds: the same without loading: encoding and writing only.
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


def _part_file(index: int, width: int) -> str:
    return f"part-{index:0{width}d}.parquet"


def _is_ours(name: str) -> bool:
    return (
        (name.startswith("part-") and name.endswith(".parquet"))
        or name in (MANIFEST_NAME, ENCODER_DIR_NAME)
        or (name.startswith(".part-") or name.startswith(f".{MANIFEST_NAME}."))
    )


def _prepare_folder(out: Path, resume: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InvalidParameterError(f"out must be a folder, and {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    foreign = sorted(n for n in os.listdir(out) if not _is_ours(n))
    if foreign:
        raise InvalidParameterError(
            f"{out} holds files that are not partitions of an encoding ({foreign[:5]}); "
            "choose an empty or new folder"
        )
    if not resume:
        for name in os.listdir(out):
            path = out / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _resolve_encoder(encoder: Any, encoder_params: dict[str, Any] | None) -> tuple[Any, Any]:
    """The caller's encoder and the spec the workers load (``None``: save it first)."""
    from embeddings.base import BaseEncoder
    from embeddings.registry import load

    if encoder_params is not None and not isinstance(encoder_params, dict):
        raise InvalidParameterError(
            f"encoder_params must be a dict of preset parameters, got {encoder_params!r}"
        )
    if isinstance(encoder, (str, os.PathLike)):
        name = os.fspath(encoder)
        params = dict(encoder_params or {})
        if Path(name).is_dir():
            name = str(Path(name).resolve())
        local = load(name, **params)
        _ = local.dim  # loads it, and refuses an encoder that must be fitted first
        return local, EncoderSpec(name, params)
    if encoder_params:
        raise InvalidParameterError(
            "encoder_params apply to a preset name; set parameters on the encoder object "
            "itself (set_params) instead"
        )
    if not isinstance(encoder, BaseEncoder):
        raise InvalidParameterError(
            "encoder must be a transferkit encoder (BaseEncoder, shipped to the workers as "
            f"its saved folder), a preset name or a saved folder; got {type(encoder).__name__}"
        )
    _ = encoder.dim
    return encoder, None


@contextlib.contextmanager
def _client_for(client: Any, n_workers: int | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if client is None:
        workers = (os.cpu_count() or 1) if n_workers is None else n_workers
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,  # no dashboard; its HTTP routes on a free port:
            scheduler_kwargs={"dashboard_address": ":0"},
            silence_logs=40,
        )
        try:
            with Client(cluster) as own:
                yield own
        finally:
            cluster.close()
    elif isinstance(client, str):
        with Client(client) as own:
            yield own
    else:
        yield client


def encode(
    encoder: Any,
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    client: Any = None,
    column: str | None = None,
    partition_size: int | None = None,
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
        source: a ``.txt``, ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` file, read
            by the calling process in a streaming pass.
        out: the output folder (created; the same path on every worker): it receives
            ``part-NNNNN.parquet`` files and ``_transferkit.json``.
        client: ``None`` starts a ``LocalCluster`` for the call (``n_workers``
            single-threaded processes) and closes it afterwards; a scheduler address
            (``"tcp://host:8786"``) connects to that cluster; a ``distributed.Client``
            is used as it is (and left open).
        column: the text column or key (CSV/TSV/JSONL/parquet; default ``text``).
        partition_size: texts per partition (and per task); default 50,000, or the
            recorded one when resuming.
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
        show_progress: show a tqdm progress bar (texts).

    Returns:
        A :class:`DistributedEncodeResult`.

    Raises:
        MissingDependencyError: dask or distributed is not installed.
        InvalidParameterError: a bad argument, an ``out`` folder that holds other
            files, or a resume whose encoder or input differ.
        InvalidInputError: an unreadable or malformed source.

    Example:
        >>> import tempfile, pathlib
        >>> import embeddings
        >>> from embeddings import distributed
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "t.txt").write_text("a cat\\nstocks fell\\n")
        >>> enc = embeddings.load("glove-6b-50d", pooling="max")
        >>> r = distributed.encode(enc, folder / "t.txt", folder / "out", partition_size=1,
        ...                        n_workers=1, show_progress=False)
        >>> sorted(p.name for p in (folder / "out").glob("part-*"))
        ['part-00000.parquet', 'part-00001.parquet']
    """
    from embeddings._deps import require

    require("dask", extra="dask")
    require("distributed", extra="dask")
    started = time.perf_counter()
    size = None if partition_size is None else check_int("partition_size", partition_size)
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
    check_bool("show_progress", show_progress)
    check_bool("resume", resume)
    from distributed import Client

    if not (client is None or isinstance(client, (str, Client))):
        raise InvalidParameterError(
            "client must be None (a LocalCluster for this call), a scheduler address such "
            f"as 'tcp://host:8786', or a distributed.Client; got {type(client).__name__}"
        )
    src = TextSource(source, column)
    local, spec = _resolve_encoder(encoder, encoder_params)
    out_path = Path(out).resolve()
    _prepare_folder(out_path, resume)
    manifest_path = out_path / MANIFEST_NAME
    fingerprint = str(local.fingerprint())
    name = str(local.name)
    dim = int(local.dim)
    source_id = src.fingerprint()

    manifest = _read_manifest(manifest_path) if resume else None
    if manifest is not None:
        check_progress(
            manifest,
            path=manifest_path,
            encoder_name=name,
            fingerprint=fingerprint,
            source=source_id,
            output={"dim": dim},
            chunk_size=size,
            size_name="partition_size",
            file_format=MANIFEST_FORMAT,
            start_over=_START_OVER,
        )
    else:
        for stale in out_path.glob("part-*.parquet"):  # no manifest vouches for them
            stale.unlink()
        rows = src.count()
        size = DEFAULT_PARTITION_SIZE if size is None else size
        n_parts = -(-rows // size)
        manifest = {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "encoder": {"name": name, "fingerprint": fingerprint},
            "input": source_id,
            "output": {
                "rows": rows,
                "dim": dim,
                "chunk_size": size,
                "partitions": n_parts,
                "width": max(5, len(str(max(n_parts - 1, 0)))),
            },
            "complete": False,
        }
        _write_manifest(manifest_path, manifest)
    rows = int(manifest["output"]["rows"])
    size = int(manifest["output"]["chunk_size"])
    n_parts = int(manifest["output"]["partitions"])
    width = int(manifest["output"]["width"])
    finished = {i for i in range(n_parts) if (out_path / _part_file(i, width)).is_file()}
    meta = {"encoder": name, "fingerprint": fingerprint, "dim": dim}
    token = secrets.token_hex(4)
    plugin_name = f"transferkit-encoder-{fingerprint[:12]}-{token}"
    workers: dict[str, int] = {}
    loads: dict[str, int] = {}
    busy: dict[str, float] = {}
    compute: dict[str, float] = {}

    if show_progress:
        from tqdm.auto import tqdm
    else:  # tqdm.auto would warn in notebooks without ipywidgets, even when disabled
        from tqdm import tqdm

    done_rows = sum(min(size, rows - i * size) for i in finished)
    todo = [i for i in range(n_parts) if i not in finished]
    saved = None
    if todo and spec is None:  # an encoder object: the workers load its saved folder
        saved = Path(encoder_dir) if encoder_dir is not None else out_path / ENCODER_DIR_NAME
        local.save(saved)
        spec = EncoderSpec(str(saved.resolve()))
    if todo:
        with (
            _client_for(client, n_workers) as dask_client,
            tqdm(
                total=rows,
                initial=done_rows,
                disable=not show_progress,
                unit="text",
                desc=f"encode {name} on dask",
            ) as bar,
        ):
            _run(
                dask_client,
                src,
                out_path,
                spec=spec,
                fingerprint=fingerprint,
                plugin_name=plugin_name,
                token=token,
                size=size,
                width=width,
                finished=finished,
                batch_size=batch_size,
                meta=meta,
                max_in_flight=max_in_flight,
                bar=bar,
                workers=workers,
                loads=loads,
                busy=busy,
                compute=compute,
            )
    missing = [i for i in range(n_parts) if not (out_path / _part_file(i, width)).is_file()]
    if missing:
        raise InvalidParameterError(
            f"{out_path}: partitions {missing[:5]} were not written; run again to resume"
        )
    manifest["complete"] = True
    _write_manifest(manifest_path, manifest)
    if saved is not None and encoder_dir is None:
        shutil.rmtree(saved, ignore_errors=True)
    return DistributedEncodeResult(
        path=out_path,
        rows=rows,
        dim=dim,
        partitions=n_parts,
        partitions_encoded=len(todo),
        partitions_resumed=n_parts - len(todo),
        workers=workers,
        loads=loads,
        busy_seconds=busy,
        encode_seconds=compute,
        seconds=time.perf_counter() - started,
    )


def _run(
    client: Any,
    src: TextSource,
    out: Path,
    *,
    spec: EncoderSpec,
    fingerprint: str,
    plugin_name: str,
    token: str,
    size: int,
    width: int,
    finished: set[int],
    batch_size: int,
    meta: dict[str, Any],
    max_in_flight: int | None,
    bar: Any,
    workers: dict[str, int],
    loads: dict[str, int],
    busy: dict[str, float],
    compute: dict[str, float],
) -> None:
    """Submit the unfinished partitions with bounded look-ahead and collect them."""
    from distributed import wait

    client.register_plugin(EncoderPlugin(spec, fingerprint, plugin_name), name=plugin_name)
    if max_in_flight is None:
        info = client.scheduler_info(n_workers=-1).get("workers", {})
        threads = sum(int(w.get("nthreads", 1)) for w in info.values())
        max_in_flight = max(2, 2 * threads)
    pending: set[Any] = set()

    def collect(futures: set[Any]) -> None:
        for future in futures:
            report = future.result()  # re-raises a worker's error here
            address = report["worker"]
            workers[address] = workers.get(address, 0) + 1
            loads[address] = max(loads.get(address, 0), report["loads"])
            busy[address] = busy.get(address, 0.0) + report["seconds"]
            compute[address] = compute.get(address, 0.0) + report["encode_write_seconds"]
            bar.update(report["rows"])

    try:
        for index, (texts, _) in enumerate(src.chunks(size)):
            if index in finished:
                continue
            pending.add(
                client.submit(
                    _encode_partition,
                    plugin_name,
                    index,
                    index * size,
                    texts,
                    str(out / _part_file(index, width)),
                    batch_size,
                    meta,
                    key=f"transferkit-encode-{token}-{index:0{width}d}",
                    pure=False,
                )
            )
            while len(pending) >= max_in_flight:
                done, not_done = wait(pending, return_when="FIRST_COMPLETED")
                pending = set(not_done)
                collect(set(done))
        if pending:
            done, _ = wait(pending)
            pending = set()
            collect(set(done))
    finally:
        for future in pending:
            future.cancel()
        with contextlib.suppress(Exception):
            client.unregister_worker_plugin(plugin_name)


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise InvalidParameterError(f"{path}: damaged manifest (not a JSON object); {_START_OVER}")
    return data


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    from embeddings._atomic import atomic_write_text

    atomic_write_text(path, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
