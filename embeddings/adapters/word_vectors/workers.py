"""Processes for ``n_jobs``: large batches split across forked copies of an encoder.

Each worker is forked (POSIX ``fork`` only) when the first large batch of an
``encode`` call arrives, so it holds a snapshot of the fitted encoder; the parent
encodes the first part itself.  Each text's vector depends on that text only, so the
result is bit-identical to one process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from embeddings.errors import EncodingError

__all__ = ["MAX_JOBS", "PARALLEL_MIN", "WorkerPool"]

#: the most processes of ``n_jobs`` (never more than the CPUs are started)
MAX_JOBS = 256
#: texts per batch before ``n_jobs > 1`` splits it across processes
PARALLEL_MIN = 4096

#: encodes a list of texts: (vectors, number of texts without a known token)
EncodeFn = Callable[[list[str]], tuple[np.ndarray, int]]


def _mp_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def _serve(encode: EncodeFn, conn: Any) -> None:
    """Worker loop: encode the texts received with the forked snapshot of ``encode``."""
    while True:
        try:
            texts = conn.recv()
        except EOFError:
            return
        if texts is None:
            return
        try:
            conn.send(("ok", *encode(texts)))
        except BaseException as err:  # report to the parent, keep serving
            conn.send(("error", f"{type(err).__name__}: {err}", 0))


class _Worker:
    """One forked process that encodes part of a large batch."""

    def __init__(self, encode: EncodeFn) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(encode, child), daemon=True)
        self.process.start()
        child.close()

    def send(self, texts: list[str]) -> None:
        self.conn.send(texts)

    def receive(self) -> tuple[np.ndarray, int]:
        try:
            status, payload, n_empty = self.conn.recv()
        except EOFError:
            raise EncodingError("a word-vector worker process died; retry with n_jobs=1") from None
        if status != "ok":
            raise EncodingError(f"word-vector worker failed: {payload}")
        return payload, n_empty

    def close(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.conn.close()


class WorkerPool:
    """Up to ``n_jobs - 1`` forked workers, started on the first large batch.

    Args:
        n_jobs: processes in all, the caller's included; ``-1``: one per CPU.
    """

    def __init__(self, n_jobs: int) -> None:
        self.n_jobs = n_jobs
        self._workers: list[_Worker] | None = None

    def _start(self, encode: EncodeFn) -> list[_Worker]:
        if self._workers is None:
            cpus = os.cpu_count() or 1
            n_jobs = cpus if self.n_jobs == -1 else min(int(self.n_jobs), cpus)
            self._workers = []
            if n_jobs > 1 and "fork" in _mp_methods():
                self._workers = [_Worker(encode) for _ in range(n_jobs - 1)]
        return self._workers

    def map(self, encode: EncodeFn, texts: list[str]) -> tuple[np.ndarray, int]:
        """``encode(texts)``, split across the workers when there are many texts.

        The workers are forked on the first large batch with ``encode`` (a bound
        method of the encoder): later batches are encoded by that snapshot.
        """
        workers = self._start(encode) if len(texts) >= PARALLEL_MIN else []
        if not workers:
            return encode(texts)
        bounds = np.linspace(0, len(texts), len(workers) + 2).astype(int).tolist()
        for worker, lo, hi in zip(workers, bounds[1:-1], bounds[2:]):
            worker.send(texts[lo:hi])
        parts = [encode(texts[: bounds[1]])]
        parts.extend(worker.receive() for worker in workers)
        return np.concatenate([vecs for vecs, _ in parts]), sum(n for _, n in parts)

    def close(self) -> None:
        """Stop the workers (a later large batch forks new ones)."""
        for worker in self._workers or []:
            worker.close()
        self._workers = None
