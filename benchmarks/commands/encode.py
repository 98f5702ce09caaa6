"""``transferkit encode``: embed a file of texts into a ``.npy`` or ``.parquet`` file.

Input formats (by extension): ``.txt`` (one text per line), ``.csv``/``.tsv`` (with a
header; ``--column`` names the text column, default ``text``), ``.jsonl`` (one JSON
object per line; ``--column`` names the key) and ``.parquet`` (``--column`` names a
string column).  The input is streamed in chunks of ``--chunk-size`` texts, so it
may be bigger than memory (:func:`embeddings.streaming.encode_corpus`).  The output
is a float32 ``(n, dim)`` ``.npy`` in input order, or a ``.parquet`` file with an
``id`` column (the row number) and a ``vector`` column; it appears under its name
only once complete.  A run that was killed continues where it stopped when the
same command is run again (``--no-resume`` starts over).  An output that already
exists is refused unless ``--overwrite`` (or ``--no-resume``, which starts over) is
given, and the output's folder is checked to be writable before the model is loaded.

Example:
    $ transferkit encode --model minilm-l6 --input texts.txt --output vecs.npy
    $ transferkit encode --model use-multilingual-v3 --input reviews.csv --column review \\
          --output reviews.npy
    $ transferkit encode --model glove-6b-50d --input big.jsonl --column body \\
          --output big.parquet --chunk-size 50000
    $ transferkit encode --model minilm-l6 --input big.txt --output vectors/ --workers 2

``--device`` puts a torch encoder on that device (a device this machine lacks is
refused, naming those it has).  ``--workers N`` encodes on a local Dask cluster of N
single-threaded processes, ``--cluster tcp://HOST:PORT`` on an existing one
(:func:`embeddings.distributed.encode`); ``--output`` is then a folder of parquet
partitions, and the workers read a ``.txt``/``.jsonl``/``.parquet`` input themselves.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from embeddings._atomic import check_writable
from embeddings._vector_sinks import _side_paths
from embeddings.errors import InvalidParameterError
from embeddings.streaming import (
    DEFAULT_CHUNK_SIZE,
    OUTPUT_FORMATS,
    SOURCE_KINDS,
    TextSource,
    encode_corpus,
)


def read_texts(path: Path, column: str | None = None) -> list[str]:
    """Read every text of a .txt / .csv / .tsv / .jsonl / .parquet file into a list.

    For files bigger than memory use :func:`embeddings.streaming.encode_corpus`,
    which streams them.

    Raises:
        InvalidInputError: unsupported extension, missing column, or a non-string value.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
        >>> _ = p.write_text("a cat\\nstocks fell\\n")
        >>> read_texts(p)
        ['a cat', 'stocks fell']
    """
    chunks = TextSource(path, column).chunks(DEFAULT_CHUNK_SIZE)
    return [text for chunk, _ in chunks for text in chunk]


def _check_output(out: Path, *, overwrite: bool) -> None:
    """Refuse an ``--output`` that cannot be written, or that exists without ``--overwrite``.

    An existing output with a progress file next to it is left to
    :func:`~embeddings.streaming.encode_corpus` (a run cut short during its clean-up).
    """
    check_writable(out, what="--output")
    progress = _side_paths(out)[0]  # encode_corpus's progress file
    if os.path.lexists(out) and not overwrite and not progress.is_file():
        raise InvalidParameterError(
            f"--output {out} already exists; pass --overwrite to encode again and replace "
            "it, or choose another output"
        )


def _load(model: str, device: str | None) -> Any:
    """The encoder of ``--model`` on ``--device`` (checked by the encoder's family)."""
    import embeddings

    if device is None:
        return embeddings.load(model)
    try:
        return embeddings.load(model, device=device)
    except InvalidParameterError as err:
        if "unknown parameter" not in str(err) or "'device'" not in str(err):
            raise
    if device != "cpu":
        raise InvalidParameterError(
            f"--device {device!r}: {model} runs on the CPU only (it has no device setting); "
            "drop --device or pass --device cpu"
        )
    return embeddings.load(model)


def _run_distributed(args: argparse.Namespace, encoder: Any) -> int:
    """``--workers N`` or ``--cluster ADDRESS``: partitions encoded on Dask workers."""
    from embeddings import distributed

    src = TextSource(args.input, args.column)
    by_bytes = src.kind in ("txt", "jsonl")
    if args.chunk_size is not None and by_bytes:
        raise InvalidParameterError(
            f"a .{src.kind} input is cut by bytes on the workers: pass --partition-bytes "
            "instead of --chunk-size"
        )
    if args.partition_bytes is not None and not by_bytes:
        raise InvalidParameterError(
            f"--partition-bytes applies to .txt/.jsonl input; a .{src.kind} input takes "
            "--chunk-size (texts per partition)"
        )
    start = time.perf_counter()
    result = distributed.encode(
        args.model if encoder is None else encoder,
        args.input,
        args.output,
        client=args.cluster,
        n_workers=args.workers,
        column=args.column,
        partition_size=args.chunk_size,
        partition_bytes=args.partition_bytes,
        batch_size=args.batch_size,
        resume=args.resume and not args.overwrite,
        show_progress=not args.no_progress,
    )
    elapsed = time.perf_counter() - start
    print(
        f"wrote {result.path} ({result.rows} x {result.dim} float32, {result.partitions} "
        f"parquet partitions) with {args.model} on {len(result.workers)} workers in "
        f"{elapsed:.1f}s",
        file=sys.stderr,
    )
    return 0


def run(args: argparse.Namespace) -> int:
    """Execute ``transferkit encode``."""
    out = Path(args.output)
    dask = args.workers is not None or args.cluster is not None
    if args.workers is not None and args.cluster is not None:
        raise InvalidParameterError(
            "--workers starts a local cluster and --cluster connects to one: pass one of them"
        )
    if dask and out.suffix.lower() in OUTPUT_FORMATS:
        raise InvalidParameterError(
            f"with --workers/--cluster, --output is a folder of parquet partitions, got "
            f"{out.name!r}; drop the {out.suffix} suffix"
        )
    if not dask and args.partition_bytes is not None:
        raise InvalidParameterError("--partition-bytes applies with --workers or --cluster")
    if not dask and out.suffix.lower() not in OUTPUT_FORMATS:
        raise InvalidParameterError(
            f"--output must end in {' or '.join(OUTPUT_FORMATS)}, got {out.name!r}"
        )
    if not dask:
        _check_output(out, overwrite=args.overwrite or not args.resume)
    TextSource(args.input, args.column)  # check the input before loading the model
    if dask:  # the workers load the model; the caller only when it must be saved for them
        return _run_distributed(
            args, None if args.device is None else _load(args.model, args.device)
        )
    encoder = _load(args.model, args.device)
    if encoder.requires_fit and not encoder.is_fitted:
        raise InvalidParameterError(
            f"{args.model} must be fitted on training texts first; fit it in Python and pass "
            "the folder written by encoder.save(...) as --model"
        )
    t0 = time.perf_counter()
    _ = encoder.dim  # load the weights outside the timed encoding
    start = time.perf_counter()
    runner = encoder
    if args.cache_dir:
        from embeddings.cache import CachedEncoder

        runner = CachedEncoder(encoder, cache_dir=args.cache_dir)
    result = encode_corpus(
        runner,
        args.input,
        out,
        column=args.column,
        chunk_size=args.chunk_size,
        batch_size=args.batch_size,
        show_progress=not args.no_progress,
        resume=args.resume,
    )
    elapsed = time.perf_counter() - start
    encoded_rows = result.rows if result.chunks_resumed == 0 else None
    rate = f" ({encoded_rows / elapsed:.0f} texts/s)" if encoded_rows and elapsed > 0 else ""
    resumed = (
        f"; resumed after {result.chunks_resumed} of {result.chunks} chunks"
        if result.chunks_resumed
        else ""
    )
    print(
        f"wrote {out} ({result.rows} x {result.dim} float32) with {encoder.name}: "
        f"load {start - t0:.1f}s, encode {elapsed:.1f}s{rate}{resumed}",
        file=sys.stderr,
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``encode`` subcommand."""
    p = sub.add_parser(
        "encode", help="embed a file of texts (any size) into a .npy or .parquet file"
    )
    p.add_argument("--model", required=True, help="preset name or saved-encoder folder")
    p.add_argument(
        "--input", required=True, help=f"a {'/'.join(SOURCE_KINDS)} file (streamed in chunks)"
    )
    p.add_argument(
        "--output",
        required=True,
        help="the .npy (float32 matrix) or .parquet (id + vector columns) file to write",
    )
    p.add_argument("--column", default=None, help="text column/key for .csv/.tsv/.jsonl/.parquet")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help=f"texts read, encoded and committed at a time (default {DEFAULT_CHUNK_SIZE}; "
        "memory grows with it)",
    )
    p.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue a killed run into the same --output (default); --no-resume starts over",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="encode again and replace an existing --output (without it, or --no-resume, an "
        "existing output is refused)",
    )
    p.add_argument(
        "--device",
        default=None,
        help="torch device of the encoder ('cpu', 'cuda', 'cuda:N', 'mps'; checked against "
        "this machine)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="encode on a local Dask cluster of N single-threaded worker processes; "
        "--output is then a folder of parquet partitions",
    )
    p.add_argument(
        "--cluster",
        default=None,
        metavar="tcp://HOST:PORT",
        help="encode on the Dask cluster of this scheduler (the input and --output on "
        "storage every worker sees)",
    )
    p.add_argument(
        "--partition-bytes",
        type=int,
        default=None,
        help="with --workers/--cluster: bytes of a .txt/.jsonl input per partition "
        "(default: 4 per worker thread, 64 KiB to 16 MiB; --chunk-size sets texts per "
        "partition of other inputs)",
    )
    p.add_argument("--cache-dir", default=None, help="reuse/store vectors in this cache")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)
