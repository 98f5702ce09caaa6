"""A Dask nanny preload for workers that encode with transferkit.

Dask's nanny starts each worker process with ``MALLOC_TRIM_THRESHOLD_=65536`` (its
``distributed.nanny.pre-spawn-environ`` default).  Any value of that variable fixes
glibc's mmap threshold, and torch encoders then run about 20% slower (MiniLM on one
core: 82 against 106 sentences/s).  The clusters that transferkit starts leave it out;
for workers you start yourself, load this module into each nanny::

    dask worker tcp://scheduler:8786 --nworkers 4 --nthreads 1 \\
        --preload-nanny embeddings.dask_nanny

A value you configured yourself is kept.
"""

from __future__ import annotations

from typing import Any

from embeddings._dask_workers import without_dask_trim

__all__ = ["dask_setup"]


def dask_setup(nanny: Any) -> None:
    """Called by Dask when the nanny starts, before it spawns its worker process.

    Example:
        >>> class Nanny:  # a stand-in for distributed.Nanny
        ...     pre_spawn_env = {"MALLOC_TRIM_THRESHOLD_": "65536"}
        ...     env = {"MALLOC_TRIM_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}
        >>> nanny = Nanny()
        >>> dask_setup(nanny)
        >>> nanny.pre_spawn_env, nanny.env
        ({}, {'OMP_NUM_THREADS': '1'})
    """
    nanny.pre_spawn_env = without_dask_trim(dict(nanny.pre_spawn_env))
    nanny.env = without_dask_trim(dict(nanny.env))
