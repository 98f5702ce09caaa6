"""Dask workers of distributed encoding: the encoder plugin and the cluster they run in.

:class:`EncoderPlugin` carries only a reference to the encoder (:class:`EncoderSpec`);
each worker builds the encoder on its first partition and keeps it.  A worker pins
torch and the numerical libraries' thread pools to its own threads (one per core in a
``LocalCluster`` of single-threaded processes).  :func:`client_for` starts such a
cluster for one call, or connects to a scheduler, and turns a ``LocalCluster`` that
cannot start because the calling script has no ``if __name__ == "__main__":`` guard
into one clear error.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embeddings._deps import pin_process_threads
from embeddings.errors import InvalidParameterError

try:  # the optional ``dask`` extra; encode() raises MissingDependencyError without it
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - exercised only without the extra
    _WorkerPlugin = object  # type: ignore[assignment,misc]


__all__ = [
    "EncoderPlugin",
    "EncoderSpec",
    "client_for",
    "cluster_threads",
    "importing_main_in_worker",
    "resolve_encoder",
    "resolve_reference",
    "without_dask_trim",
]


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
        """Called by Dask on each worker: pin torch and ONNX Runtime to the worker's threads.

        The encoder itself is loaded by the first partition.
        """
        self._lock = threading.Lock()
        pin_process_threads(int(getattr(getattr(worker, "state", None), "nthreads", 1) or 1))

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


_GUARD_HINT = (
    "a LocalCluster starts its workers by importing the main module {path} again, and "
    "that module starts the encoding at import: put the call under "
    "'if __name__ == \"__main__\":' (or pass client='tcp://HOST:PORT')"
)


def importing_main_in_worker() -> bool:
    """Whether this process is a worker still importing the caller's main module."""
    import multiprocessing

    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def _main_without_guard() -> str | None:
    """The main script's path when it has no ``if __name__ == "__main__":`` block."""
    import ast
    import sys

    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if not path or not str(path).endswith(".py"):
        return None
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        test = ast.unparse(node.test) if isinstance(node, ast.If) else ""
        if "__name__" in test and "__main__" in test:
            return None
    return str(path)


def resolve_encoder(encoder: Any, encoder_params: dict[str, Any] | None) -> tuple[Any, Any]:
    """The caller's encoder and the spec the workers load (``None``: save it first).

    Raises:
        InvalidParameterError: not an encoder, a preset name or a folder, or
            ``encoder_params`` with an encoder object.
        NotFittedError: an encoder that must be fitted first.
    """
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


def resolve_reference(
    encoder: Any, encoder_params: dict[str, Any] | None, encoder_dir: Path | None
) -> tuple[Any, str, dict[str, Any]]:
    """The caller's encoder, and the name and parameters each worker loads it by;
    an encoder object is saved into ``encoder_dir`` first."""
    local, spec = resolve_encoder(encoder, encoder_params)
    if spec is not None:
        return local, spec.name, dict(spec.params)
    if encoder_dir is None:
        raise InvalidParameterError(
            "an encoder object reaches the workers as a saved folder: pass encoder_dir= (a "
            "folder every worker can read), or pass a preset name or a saved folder's path"
        )
    local.save(encoder_dir)
    return local, str(Path(encoder_dir).resolve()), {}


#: thread pools of numerical libraries, pinned to the worker's one thread
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def _thread_env(threads: int = 1) -> dict[str, str]:
    return {name: str(threads) for name in _THREAD_VARS}


#: the glibc setting that Dask's nanny gives its workers by default
#: (``distributed.nanny.pre-spawn-environ``): it returns freed memory to the system at
#: once, and makes torch's many short-lived allocations about 20% slower
_DASK_MALLOC_TRIM = ("MALLOC_TRIM_THRESHOLD_", 65536)


def without_dask_trim(environ: dict[str, Any]) -> dict[str, Any]:
    """``environ`` less Dask's default ``MALLOC_TRIM_THRESHOLD_`` (a user's value is kept).

    Example:
        >>> without_dask_trim({"MALLOC_TRIM_THRESHOLD_": 65536, "OMP_NUM_THREADS": 1})
        {'OMP_NUM_THREADS': 1}
        >>> without_dask_trim({"MALLOC_TRIM_THRESHOLD_": "1048576"})
        {'MALLOC_TRIM_THRESHOLD_': '1048576'}
    """
    name, value = _DASK_MALLOC_TRIM
    return {k: v for k, v in environ.items() if not (k == name and str(v) == str(value))}


def _worker_environ() -> dict[str, Any]:
    """The nanny's pre-spawn environment: Dask's configured one, :func:`without_dask_trim`."""
    import dask

    return without_dask_trim(
        dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    )


def _drop_inherited_trim() -> None:
    """Drop the trim threshold that an earlier Dask nanny put into ``os.environ``.

    A nanny sets its pre-spawn variables in its own process's environment, which new
    workers inherit.  The variable is dropped only when this process did not start with
    it (``/proc/self/environ``, Linux) and it holds Dask's default.
    """
    name, value = _DASK_MALLOC_TRIM
    if os.environ.get(name) != str(value):
        return
    try:
        with open("/proc/self/environ", "rb") as fh:
            started_with = fh.read().split(b"\0")
    except OSError:  # not Linux: leave the environment as it is
        return
    if not any(entry.startswith(name.encode() + b"=") for entry in started_with):
        del os.environ[name]


def _start_local_cluster(n_workers: int | None) -> Any:
    """A LocalCluster of single-threaded worker processes, one thread per core each."""
    import dask
    from distributed import LocalCluster

    workers = (os.cpu_count() or 1) if n_workers is None else n_workers
    _drop_inherited_trim()
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": _worker_environ()}):
            return LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,  # no dashboard; its HTTP routes on a free port:
                scheduler_kwargs={"dashboard_address": ":0"},
                silence_logs=50,
                env=_thread_env(),
            )
    except (RuntimeError, TimeoutError, OSError):
        script = _main_without_guard()
        if script is None:
            raise
        raise InvalidParameterError(_GUARD_HINT.format(path=script)) from None


def cluster_threads(client: Any) -> int:
    """The worker threads of the cluster behind ``client`` (at least 1).

    Example:
        >>> class Client:  # a stand-in for distributed.Client
        ...     def scheduler_info(self, n_workers=-1):
        ...         return {"workers": {"a": {"nthreads": 1}, "b": {"nthreads": 2}}}
        >>> cluster_threads(Client())
        3
    """
    info = client.scheduler_info(n_workers=-1).get("workers", {})
    return max(1, sum(int(w.get("nthreads", 1)) for w in info.values()))


@contextlib.contextmanager
def client_for(client: Any, n_workers: int | None) -> Iterator[Any]:
    from distributed import Client

    if client is None:
        cluster = _start_local_cluster(n_workers)
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
