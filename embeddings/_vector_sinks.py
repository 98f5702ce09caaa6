"""Vector sinks of out-of-core encoding: the files vectors are written to and read from.

* parquet: :func:`parquet_schema` (``id`` int64, ``vector`` float32[dim]),
  :func:`write_parquet_part` (one chunk per file, written atomically) and the final
  assembly of the parts into one file (one row group per chunk);
* ``.npy``: the partial output of known shape, written chunk by chunk through
  short-lived memory maps;
* the side paths of an output (progress file, ``.npy`` partial, parquet parts folder,
  lock file) and the exclusive lock held while one process writes it;
* :func:`read_vectors`, which reads any of these outputs back.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from embeddings.errors import InvalidInputError, InvalidParameterError

__all__ = [
    "parquet_schema",
    "vectors_table",
    "write_parquet_part",
    "read_vectors",
    "ID_COLUMN",
    "VECTOR_COLUMN",
]

ID_COLUMN = "id"
VECTOR_COLUMN = "vector"
#: vectors rarely repeat: dictionary encoding would cost 8x the write time for nothing
_PARQUET_WRITE: dict[str, Any] = {"use_dictionary": False, "compression": "snappy"}


def parquet_schema(dim: int, metadata: dict[str, Any] | None = None) -> Any:
    """The schema of a vector parquet file: ``id`` int64, ``vector`` float32[dim].

    Example:
        >>> parquet_schema(3).names
        ['id', 'vector']
    """
    import pyarrow as pa

    meta = None if metadata is None else {b"transferkit": json.dumps(metadata).encode()}
    return pa.schema(
        [(ID_COLUMN, pa.int64()), (VECTOR_COLUMN, pa.list_(pa.float32(), dim))], metadata=meta
    )


def vectors_table(start: int, vectors: np.ndarray, schema: Any) -> Any:
    """A pyarrow table of rows ``start ...`` with ``vectors`` (float32, ``(n, dim)``).

    Example:
        >>> import numpy as np
        >>> vectors_table(5, np.zeros((2, 3), np.float32), parquet_schema(3))["id"].to_pylist()
        [5, 6]
    """
    import pyarrow as pa

    n, dim = vectors.shape
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    ids = pa.array(np.arange(start, start + n, dtype=np.int64))
    return pa.Table.from_arrays([ids, pa.FixedSizeListArray.from_arrays(flat, dim)], schema=schema)


def write_parquet_part(path: Path, start: int, vectors: np.ndarray, schema: Any) -> None:
    """Write one chunk of vectors as a parquet file, atomically (fsync, then rename).

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "part-00000.parquet"
        >>> write_parquet_part(p, 0, np.ones((2, 3), np.float32), parquet_schema(3))
        >>> read_vectors(p).shape
        (2, 3)
    """
    import pyarrow.parquet as pq

    from embeddings._atomic import atomic_open

    table = vectors_table(start, vectors, schema)
    with atomic_open(path) as fh:
        pq.write_table(table, fh, row_group_size=max(len(table), 1), **_PARQUET_WRITE)


class _NpyPartial:
    """A ``.npy`` file of known shape, written chunk by chunk through short-lived memory maps."""

    def __init__(self, path: Path, rows: int, dim: int, *, create: bool) -> None:
        self.path, self.rows, self.dim = path, rows, dim
        if create:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            if rows == 0:
                with open(path, "wb") as fh:
                    np.save(fh, np.empty((0, dim), np.float32), allow_pickle=False)
                self.offset = 0
            else:
                mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))
                self.offset = int(mm.offset)
                del mm
        else:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):  # a link or special file is never written through
                raise InvalidParameterError(
                    f"{path}: the partial output of an interrupted run is not a regular file "
                    "(a link, FIFO or device); remove it to start over"
                )
            self.offset = self._read_header()

    def _read_header(self) -> int:
        fmt = np.lib.format
        with open(self.path, "rb") as fh:
            header = {(1, 0): fmt.read_array_header_1_0}.get(
                fmt.read_magic(fh), fmt.read_array_header_2_0
            )
            shape, fortran, dtype = header(fh)
            offset = fh.tell()
        expected_size = offset + self.rows * self.dim * 4
        if (
            shape != (self.rows, self.dim)
            or fortran
            or dtype != np.dtype(np.float32)
            or self.path.stat().st_size != expected_size
        ):
            raise ValueError(f"{self.path} is not a float32 {(self.rows, self.dim)} array")
        return offset

    def write(self, start: int, vectors: np.ndarray) -> None:
        if len(vectors) == 0:
            return
        mm = np.memmap(
            self.path,
            dtype=np.float32,
            mode="r+",
            offset=self.offset + start * self.dim * 4,
            shape=vectors.shape,
        )
        mm[:] = vectors
        mm.flush()  # msync: the rows are on disk before the progress file names them
        del mm  # unmap, so resident memory stays bounded by one chunk

    def finish(self, out: Path) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.path, out)


def _side_paths(out: Path) -> tuple[Path, Path, Path, Path]:
    """progress file, npy partial, parquet parts folder, lock file of ``out``."""
    name = out.name
    return (
        out.with_name(name + ".progress.json"),
        out.with_name(name + ".partial"),
        out.with_name(name + ".parts"),
        out.with_name(name + ".lock"),
    )


@contextlib.contextmanager
def _exclusive(lock_path: Path, out: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        yield
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(lock_path, flags | getattr(os, "O_NONBLOCK", 0), 0o644)
    except OSError as err:
        raise InvalidParameterError(
            f"{lock_path}: cannot open the lock file of {out} ({err.strerror}); a link or "
            "special file at that name is never followed"
        ) from None
    fh: IO[bytes] = os.fdopen(fd, "ab")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InvalidParameterError(
                f"{out}: another process is encoding into this output right now "
                f"(it holds {lock_path.name}); wait for it or choose another output"
            ) from None
        yield
    finally:
        fh.close()


def _part_name(index: int, width: int = 5) -> str:
    return f"part-{index:0{width}d}.parquet"


def _assemble_parquet(parts: Path, out: Path, n_chunks: int, schema: Any) -> None:
    """Concatenate the chunk files into ``out`` (one row group each), atomically."""
    import pyarrow.parquet as pq

    from embeddings._atomic import atomic_open

    with atomic_open(out) as fh:
        writer = pq.ParquetWriter(fh, schema, **_PARQUET_WRITE)
        try:
            for i in range(n_chunks):
                writer.write_table(pq.read_table(parts / _part_name(i), schema=schema))
        finally:
            writer.close()


def read_vectors(path: str | os.PathLike[str], *, mmap: bool = True) -> np.ndarray:
    """Read vectors written by :func:`encode_corpus` or :func:`embeddings.distributed.encode`.

    Args:
        path: a ``.npy`` file, a vector parquet file, or a folder of
            ``part-*.parquet`` files (read in name order).
        mmap: memory-map a ``.npy`` file instead of reading it.

    Returns:
        The float32 ``(n, dim)`` array, rows in ``id`` order.

    Raises:
        InvalidInputError: a missing path, or parquet files whose ``id`` column is
            not ``0 .. n-1`` in order.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.npy"
        >>> np.save(p, np.eye(2, dtype=np.float32))
        >>> read_vectors(p).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".npy":
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    if path.is_dir():
        files = sorted(path.glob("part-*.parquet"))
        if not files:
            raise InvalidInputError(f"{path}: no part-*.parquet files")
    elif path.is_file():
        files = [path]
    else:
        raise InvalidInputError(f"{path}: no such file or folder")
    import pyarrow.parquet as pq

    blocks, expected = [], 0
    for f in files:
        table = pq.read_table(f, columns=[ID_COLUMN, VECTOR_COLUMN])
        ids = table.column(ID_COLUMN).to_numpy()
        if ids.size and not np.array_equal(ids, np.arange(expected, expected + ids.size)):
            raise InvalidInputError(
                f"{f}: ids are not {expected}..{expected + ids.size - 1} in order"
            )
        expected += ids.size
        col = table.column(VECTOR_COLUMN).combine_chunks()
        dim = col.type.list_size
        blocks.append(col.flatten().to_numpy().astype(np.float32, copy=False).reshape(-1, dim))
    return np.ascontiguousarray(np.concatenate(blocks)) if blocks else np.empty((0, 0), np.float32)
