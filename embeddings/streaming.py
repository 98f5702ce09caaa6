"""Out-of-core encoding: corpora bigger than RAM, streamed in chunks, resumable after a kill.

:func:`encode_corpus` reads texts from a file in chunks (never the whole file),
encodes each chunk and writes its vectors before reading the next one, so memory
stays bounded by the chunk size whatever the corpus size.  Sources (by extension):

* ``.txt``: one text per line (lines end with ``\\n`` or ``\\r\\n``; an empty line is
  an empty text);
* ``.csv`` / ``.tsv``: a header line, then one row per text; ``column`` names the text
  column (default ``text``).  CSV follows RFC 4180 quoting (a quoted value may hold
  commas and line breaks); TSV has no quoting (a TAB always separates values).
  Read with pyarrow's streaming CSV reader.  A quoted value that is never closed
  (which would swallow the rest of the file into one text) is an error naming the
  line where it opens, and so is a header line over 1 MiB or a row over 4 MiB;
  error messages never quote the file's content;
* ``.jsonl``: one JSON object per line, ``column`` names the key; blank lines are
  skipped;
* ``.parquet``: ``column`` names a string column; read one row group at a time.

Outputs:

* ``.npy``: a float32 ``(n, dim)`` array in input order.  The row count is needed for
  the header, so one cheap streaming pass counts the rows first (newlines for
  ``.txt``, the footer for parquet, a parse of the text column only for CSV); each
  chunk is then written through a memory map of its own rows, flushed and unmapped,
  so the output never has to fit in memory either.  Counting first (rather than
  writing chunk files and concatenating them at the end) writes every vector once,
  needs no second copy of the output on disk, and gives the progress bar its total.
* ``.parquet``: columns ``id`` (int64, the row number in the source) and ``vector``
  (``fixed_size_list<float32>[dim]``); one row group per chunk.

Resume: every finished chunk is committed in a progress file next to the output
(``OUT.progress.json``, written atomically after the chunk's vectors are flushed).
After a crash or a ``kill -9``, calling :func:`encode_corpus` again with the same
arguments continues after the last committed chunk; committed chunks are never
recomputed.  The progress file records the encoder's fingerprint and the input's
identity (path, size, modification time and a hash of its first MiB), so a resume
with another encoder or a changed input is refused instead of mixing vectors.
While running, the vectors live in ``OUT.partial`` (npy) or ``OUT.parts/`` (parquet,
one file per chunk); the output appears under its final name only when complete.
Vectors do not depend on which texts share a batch (the encoder contract), so the
result is bit-identical to ``encoder.encode(all_texts)``.

Example:
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> import embeddings
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "texts.txt").write_text("the cat sat\\nstocks fell\\n")
    >>> enc = embeddings.load("glove-6b-50d")
    >>> result = encode_corpus(enc, folder / "texts.txt", folder / "v.npy", show_progress=False)
    >>> np.array_equal(np.load(folder / "v.npy"), enc.encode(["the cat sat", "stocks fell"]))
    True
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_bool, check_int
from embeddings._text_sources import DEFAULT_COLUMN, SOURCE_KINDS, TextSource
from embeddings._text_sources import SourceKind as SourceKind
from embeddings._vector_sinks import ID_COLUMN as ID_COLUMN
from embeddings._vector_sinks import VECTOR_COLUMN as VECTOR_COLUMN
from embeddings._vector_sinks import (
    _assemble_parquet,
    _exclusive,
    _NpyPartial,
    _part_name,
    _side_paths,
    parquet_schema,
    read_vectors,
    write_parquet_part,
)
from embeddings._vector_sinks import vectors_table as vectors_table
from embeddings.errors import (
    EncodingError,
    InvalidInputError,
    InvalidParameterError,
)

__all__ = [
    "encode_corpus",
    "read_vectors",
    "TextSource",
    "CorpusEncodeResult",
    "check_progress",
    "parquet_schema",
    "write_parquet_part",
    "SOURCE_KINDS",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_COLUMN",
]

OutputFormat = Literal["npy", "parquet"]

OUTPUT_FORMATS: dict[str, OutputFormat] = {".npy": "npy", ".parquet": "parquet"}
DEFAULT_CHUNK_SIZE = 10_000
PROGRESS_FORMAT = "transferkit-encode-progress"
_START_OVER = (
    "pass resume=False (transferkit encode --no-resume) to start over, or choose another output"
)
PROGRESS_VERSION = 1


# ------------------------------------------------------------------- result
@dataclass(frozen=True)
class CorpusEncodeResult:
    """What :func:`encode_corpus` did.

    Attributes:
        path: the output file.
        rows: texts encoded in all (the rows of the output).
        dim: the vector dimension.
        chunks: chunks in all.
        chunks_encoded: chunks encoded by this call.
        chunks_resumed: chunks committed by an earlier, interrupted call and reused.
        seconds: wall time of this call.
    """

    path: Path
    rows: int
    dim: int
    chunks: int
    chunks_encoded: int
    chunks_resumed: int
    seconds: float


# ------------------------------------------------------------------ progress
def _encoder_fingerprint(encoder: Any) -> str | None:
    fingerprint = getattr(encoder, "fingerprint", None)
    return str(fingerprint()) if callable(fingerprint) else None


def _encoder_name(encoder: Any) -> str:
    return str(getattr(encoder, "name", type(encoder).__name__))


def encoder_identity(encoder: Any) -> tuple[str | None, str, int]:
    """An encoder's fingerprint (``None`` when it has none), name and dimension, as
    progress files and manifests record them."""
    return _encoder_fingerprint(encoder), _encoder_name(encoder), int(encoder.dim)


def _describe_input_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    changes = []
    for key in ("path", "kind", "column", "size", "mtime_ns", "head_sha256"):
        before, after = old.get(key), new.get(key)
        if before != after:
            if key == "head_sha256":
                before, after = str(before)[:12], str(after)[:12]
            changes.append(f"{key} {before!r} -> {after!r}")
    return "; ".join(changes)


def check_progress(
    progress: dict[str, Any],
    *,
    path: Path,
    encoder_name: str,
    fingerprint: str | None,
    source: dict[str, Any],
    output: dict[str, Any],
    chunk_size: int | None,
    size_name: str = "chunk_size",
    file_format: str = PROGRESS_FORMAT,
    version: int = PROGRESS_VERSION,
    start_over: str = _START_OVER,
) -> None:
    """Refuse to resume from ``progress`` when the encoder, input or output settings differ.

    Args:
        progress: the recorded progress (or manifest) of the interrupted run.
        path: its file, for messages.
        encoder_name: the encoder of this call, for messages.
        fingerprint: its fingerprint (``None``: it has none, and resuming is refused).
        source: :meth:`TextSource.fingerprint` of this call's input.
        output: output settings that must be equal (format, dim).
        chunk_size: this call's explicit chunk size (``None``: take the recorded one).
        size_name: the name of the chunk size setting, for messages.
        file_format: the expected ``format`` field.
        version: the expected ``version`` field.
        start_over: how to start over, for messages.

    Raises:
        InvalidParameterError: naming what differs and how to start over.

    Example:
        >>> p = {"format": PROGRESS_FORMAT, "version": 1,
        ...      "encoder": {"name": "e", "fingerprint": "f"}, "input": {"size": 1},
        ...      "output": {"format": "npy"}}
        >>> check_progress(p, path=Path("o.progress.json"), encoder_name="e", fingerprint="f",
        ...                source={"size": 1}, output={"format": "npy"}, chunk_size=None)
    """
    if progress.get("format") != file_format or progress.get("version") != version:
        raise InvalidParameterError(
            f"{path}: not a progress file of this transferkit version "
            f"(format {progress.get('format')!r}, version {progress.get('version')!r}); "
            + start_over
        )
    recorded = progress.get("encoder") or {}
    if fingerprint is None or recorded.get("fingerprint") != fingerprint:
        what = (
            "this encoder has no fingerprint() to check it against"
            if fingerprint is None
            else f"this call uses {encoder_name} (fingerprint {fingerprint[:12]})"
        )
        raise InvalidParameterError(
            f"{path}: the interrupted run used encoder {recorded.get('name')!r} "
            f"(fingerprint {str(recorded.get('fingerprint'))[:12]}); {what}. Resuming would "
            f"mix vectors of two encoders: {start_over}"
        )
    if progress.get("input") != source:
        raise InvalidParameterError(
            f"{path}: the input changed since the interrupted run "
            f"({_describe_input_change(progress.get('input') or {}, source)}); {start_over}"
        )
    recorded_out = progress.get("output") or {}
    for key, value in output.items():
        if recorded_out.get(key) != value:
            raise InvalidParameterError(
                f"{path}: the interrupted run wrote {key}={recorded_out.get(key)!r}, this "
                f"call {key}={value!r}; {start_over}"
            )
    if chunk_size is not None and recorded_out.get("chunk_size") != chunk_size:
        raise InvalidParameterError(
            f"{path}: the interrupted run used {size_name}={recorded_out.get('chunk_size')}, "
            f"this call {size_name}={chunk_size}; leave {size_name} unset to resume with the "
            f"recorded one, or {start_over}"
        )


def resume_from(
    path: Path, resume: bool, *, what: str = "progress file", **check: Any
) -> dict[str, Any] | None:
    """The recorded state of an interrupted run at ``path``, checked against this call
    by :func:`check_progress` (given ``check``'s keywords); ``None`` when not resuming
    or when nothing is recorded.

    Raises:
        InvalidParameterError: a damaged file (not a JSON object), or a recorded run
            that differs from this call.
    """
    if not resume:
        return None
    start_over = check.get("start_over", _START_OVER)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise InvalidParameterError(f"{path}: damaged {what} (not a JSON object); {start_over}")
    check_progress(data, path=path, **check)
    return data


def write_recorded(path: Path, data: dict[str, Any]) -> None:
    """Write a progress file or manifest atomically, as :func:`resume_from` reads it."""
    from embeddings._atomic import atomic_write_text

    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


# ------------------------------------------------------------------ encoding
def encode_corpus(
    encoder: Any,
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    column: str | None = None,
    chunk_size: int | None = None,
    batch_size: int = 64,
    format: OutputFormat | None = None,
    show_progress: bool = True,
    resume: bool = True,
) -> CorpusEncodeResult:
    """Encode a text file of any size into ``out`` chunk by chunk, resumable after a kill.

    Memory is bounded by ``chunk_size`` texts and their vectors (plus, for parquet
    input, one row group), not by the corpus.  See the module docs for the formats and
    how resuming works.  The output is bit-identical to
    ``encoder.encode(all_texts)``.

    Args:
        encoder: any encoder (``encode`` and ``dim``); resuming also needs its
            ``fingerprint()`` (every transferkit encoder and ``CachedEncoder`` have one).
            A fitted encoder must be fitted before the call.
        source: a ``.txt``, ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` file.
        out: the output file, ``.npy`` or ``.parquet``.
        column: the text column or key (CSV/TSV/JSONL/parquet; default ``text``).
        chunk_size: texts read, encoded and committed at a time; default 10,000, or
            the one recorded by the interrupted run when resuming.
        batch_size: passed to ``encoder.encode`` (does not change the vectors).
        format: ``"npy"`` or ``"parquet"``; default from the extension of ``out``.
        show_progress: show progress (texts): see :mod:`embeddings._progress`
            (``TRANSFERKIT_PROGRESS``).
        resume: continue an interrupted run into the same ``out`` (after checking that
            encoder and input are unchanged); ``False`` discards it and starts over.

    Returns:
        A :class:`CorpusEncodeResult` (rows, chunks encoded by this call and reused).

    Raises:
        InvalidInputError: an unreadable or malformed source (see :class:`TextSource`).
        InvalidParameterError: a bad argument, an output another process is writing,
            or a resume whose encoder, input or settings differ from the interrupted
            run's.
        EncodingError: the encoder returned a wrong shape or non-finite values; the
            message names the rows.

    Example:
        >>> import tempfile, pathlib
        >>> import embeddings
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "t.txt").write_text("a cat\\na dog\\nstocks fell\\n")
        >>> r = encode_corpus(embeddings.load("glove-6b-50d"), folder / "t.txt",
        ...                   folder / "v.parquet", chunk_size=2, show_progress=False)
        >>> (r.rows, r.chunks, read_vectors(folder / "v.parquet").shape)
        (3, 2, (3, 50))
    """
    started = time.perf_counter()
    out_path = Path(out)
    if format is None:
        fmt = OUTPUT_FORMATS.get(out_path.suffix.lower())
        if fmt is None:
            raise InvalidParameterError(
                f"cannot tell the output format from {out_path.name!r}: use a .npy or "
                "a .parquet file name, or pass format='npy' or 'parquet'"
            )
    elif format in ("npy", "parquet"):
        fmt = format
    else:
        raise InvalidParameterError(f"format must be 'npy' or 'parquet', got {format!r}")
    if chunk_size is not None:
        chunk_size = check_int("chunk_size", chunk_size)
    check_int("batch_size", batch_size)
    if check_bool("show_progress", show_progress):
        from embeddings._progress import progress_mode

        progress_mode()  # refuses a wrong TRANSFERKIT_PROGRESS before any work
    check_bool("resume", resume)
    if not callable(getattr(encoder, "encode", None)):
        raise InvalidParameterError(
            f"encoder must have an encode(texts) method, got {type(encoder).__name__}"
        )
    src = TextSource(source, column)
    if out_path.resolve() == src.path.resolve():
        raise InvalidParameterError(f"the output {out_path} is the input file; choose another")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    progress_path, _partial, _parts, lock = _side_paths(out_path)
    try:
        with _exclusive(lock, out_path):
            return _encode_locked(
                encoder,
                src,
                out_path,
                fmt=fmt,
                chunk_size=chunk_size,
                batch_size=batch_size,
                show_progress=show_progress,
                resume=resume,
                started=started,
            )
    finally:
        if not progress_path.exists():  # nothing to resume: no lock file left behind
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


def _encode_locked(
    encoder: Any,
    src: TextSource,
    out_path: Path,
    *,
    fmt: OutputFormat,
    chunk_size: int | None,
    batch_size: int,
    show_progress: bool,
    resume: bool,
    started: float,
) -> CorpusEncodeResult:
    """:func:`encode_corpus` once the output's lock is held."""
    progress_path, partial, parts, _lock = _side_paths(out_path)
    fingerprint, name, dim = encoder_identity(encoder)
    source_id = src.fingerprint()
    progress = resume_from(
        progress_path,
        resume,
        encoder_name=name,
        fingerprint=fingerprint,
        source=source_id,
        output={"format": fmt, "dim": dim},
        chunk_size=chunk_size,
    )
    if progress is None:
        for leftover in (progress_path, partial, parts):
            _remove(leftover)
        rows = src.count()
        progress = {
            "format": PROGRESS_FORMAT,
            "version": PROGRESS_VERSION,
            "encoder": {"name": name, "fingerprint": fingerprint},
            "input": source_id,
            "output": {
                "format": fmt,
                "path": str(out_path.resolve()),
                "rows": rows,
                "dim": dim,
                "chunk_size": DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
            },
            "done": {"chunks": 0, "rows": 0, "offset": None},
        }
    size = int(progress["output"]["chunk_size"])
    rows = int(progress["output"]["rows"])
    n_chunks = -(-rows // size)
    done, cleanup_only = _usable_done(progress, fmt, partial, parts, out_path, size, rows)
    progress["done"] = done
    resumed = int(done["chunks"])
    meta = {"encoder": name, "fingerprint": fingerprint, "dim": dim}
    schema = parquet_schema(dim, meta) if fmt == "parquet" else None
    writer = None
    if fmt == "npy" and not cleanup_only:
        writer = _NpyPartial(partial, rows, dim, create=done["rows"] == 0)
    if fmt == "parquet" and not cleanup_only:
        parts.mkdir(exist_ok=True)
    write_recorded(progress_path, progress)

    from embeddings._progress import progress as progress_display

    encoded = 0
    row, index = int(done["rows"]), int(done["chunks"])
    with progress_display(
        enabled=show_progress, total=rows, initial=row, unit="text", desc=f"encode {name}"
    ) as bar:
        offset = done["offset"] if src.kind in ("txt", "jsonl") else None
        chunks = iter(()) if cleanup_only else src.chunks(size, start_row=row, start_offset=offset)
        for texts, next_offset in chunks:
            if row + len(texts) > rows:
                raise InvalidInputError(
                    f"{src.path}: the file grew while it was read (more than the {rows} "
                    "texts counted); encode a file that does not change"
                )
            vectors = _encode_chunk(encoder, texts, batch_size, dim, src.path, row)
            if writer is not None:
                writer.write(row, vectors)
            else:
                write_parquet_part(parts / _part_name(index), row, vectors, schema)
            row += len(texts)
            index += 1
            encoded += 1
            progress["done"] = {"chunks": index, "rows": row, "offset": next_offset}
            write_recorded(progress_path, progress)
            bar.update(len(texts))
    if not cleanup_only:
        if row != rows:
            raise InvalidInputError(
                f"{src.path}: {row} texts read but {rows} were counted; the file changed "
                "while it was read: encode a file that does not change"
            )
        if writer is not None:
            writer.finish(out_path)
        else:
            _assemble_parquet(parts, out_path, n_chunks, schema)
    from embeddings._atomic import fsync_dir

    fsync_dir(out_path.parent)
    _remove(partial)
    _remove(parts)
    _remove(progress_path)
    return CorpusEncodeResult(
        path=out_path,
        rows=rows,
        dim=dim,
        chunks=n_chunks,
        chunks_encoded=encoded,
        chunks_resumed=resumed,
        seconds=time.perf_counter() - started,
    )


def _usable_done(
    progress: dict[str, Any],
    fmt: OutputFormat,
    partial: Path,
    parts: Path,
    out: Path,
    size: int,
    rows: int,
) -> tuple[dict[str, Any], bool]:
    """The committed progress that the files on disk still back, and whether only the
    clean-up after a finished run remains."""
    done = progress.get("done") or {}
    chunks = done.get("chunks")
    if not isinstance(chunks, int) or isinstance(chunks, bool) or chunks < 0:
        chunks = 0
    n_chunks = -(-rows // size)
    chunks = min(chunks, n_chunks)
    fresh = {"chunks": 0, "rows": 0, "offset": None}
    committed = {"chunks": chunks, "rows": min(chunks * size, rows), "offset": done.get("offset")}
    complete = chunks == n_chunks and rows > 0
    if chunks == 0:
        return fresh, False
    if fmt == "npy":
        if not partial.exists():
            if complete and out.exists():  # renamed into place; the clean-up was cut short
                return committed, True
            warnings.warn(
                f"{partial} is missing; encoding {out.name} from the start",
                RuntimeWarning,
                stacklevel=4,
            )
            return fresh, False
        try:
            _NpyPartial(partial, rows, int(progress["output"]["dim"]), create=False)
        except (ValueError, OSError):
            warnings.warn(
                f"{partial} does not match its progress file; encoding {out.name} from the start",
                RuntimeWarning,
                stacklevel=4,
            )
            return fresh, False
        return committed, False
    present = 0
    while present < chunks and (parts / _part_name(present)).is_file():
        present += 1
    if present == chunks:
        return committed, False
    if complete and out.exists():  # assembled; the parts were being removed
        return committed, True
    warnings.warn(
        f"{parts} lacks committed chunk {present}; encoding {out.name} from chunk {present}",
        RuntimeWarning,
        stacklevel=4,
    )
    return {"chunks": present, "rows": present * size, "offset": None}, False


def _encode_chunk(
    encoder: Any, texts: list[str], batch_size: int, dim: int, path: Path, start: int
) -> np.ndarray:
    try:
        vectors = encoder.encode(texts, batch_size=batch_size, show_progress=False)
    except EncodingError as err:
        raise EncodingError(
            f"{path}: texts {start}..{start + len(texts) - 1} (index relative to that chunk): {err}"
        ) from err
    vectors = np.asarray(vectors)
    if vectors.shape != (len(texts), dim) or vectors.dtype != np.float32:
        raise EncodingError(
            f"{_encoder_name(encoder)} returned {vectors.dtype} {vectors.shape} for "
            f"{len(texts)} texts; expected float32 {(len(texts), dim)}"
        )
    return np.ascontiguousarray(vectors)
