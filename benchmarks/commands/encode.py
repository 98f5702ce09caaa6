"""``transferkit encode``: embed a text file into a ``.npy`` matrix.

Input formats (by extension): ``.txt`` (one text per line), ``.csv``/``.tsv`` (with a
header; ``--column`` names the text column, default ``text``) and ``.jsonl`` (one
JSON object per line; ``--column`` names the key).  The output is a float32
``(n, dim)`` ``.npy`` file in input order, written atomically.

Example:
    $ transferkit encode --model minilm-l6 --input texts.txt --output vecs.npy
    $ transferkit encode --model use-multilingual-v3 --input reviews.csv --column review \\
          --output reviews.npy
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from embeddings.errors import InvalidInputError, InvalidParameterError

SUPPORTED_INPUTS = (".txt", ".csv", ".tsv", ".jsonl")


def read_texts(path: Path, column: str | None = None) -> list[str]:
    """Read texts from a .txt / .csv / .tsv / .jsonl file.

    Raises:
        InvalidInputError: unsupported extension, missing column, or a non-string value.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
        >>> _ = p.write_text("a cat\\nstocks fell\\n")
        >>> read_texts(p)
        ['a cat', 'stocks fell']
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_INPUTS:
        raise InvalidInputError(
            f"{path}: unsupported input extension {suffix!r}; supported: {list(SUPPORTED_INPUTS)}"
        )
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file")
    if suffix == ".txt":
        if column is not None:
            raise InvalidParameterError("--column applies to .csv/.tsv/.jsonl input, not .txt")
        with path.open(encoding="utf-8", newline="") as fh:
            return [line.rstrip("\r\n") for line in fh]
    col = column or "text"
    if suffix in (".csv", ".tsv"):
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t" if suffix == ".tsv" else ",")
            if reader.fieldnames is None or col not in reader.fieldnames:
                raise InvalidInputError(
                    f"{path}: no column {col!r}; columns are {reader.fieldnames}; use --column"
                )
            return [row[col] if row[col] is not None else "" for row in reader]
    texts = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise InvalidInputError(f"{path}:{lineno}: invalid JSON: {err.msg}") from err
            if not isinstance(obj, dict) or col not in obj:
                raise InvalidInputError(f"{path}:{lineno}: no key {col!r}; use --column")
            if not isinstance(obj[col], str):
                raise InvalidInputError(
                    f"{path}:{lineno}: {col!r} must be a string, got {type(obj[col]).__name__}"
                )
            texts.append(obj[col])
    return texts


def save_npy_atomic(array: np.ndarray, path: Path) -> None:
    """Write ``array`` to ``path`` (.npy) atomically (temporary file, fsync, rename)."""
    from embeddings._atomic import atomic_open

    with atomic_open(path) as fh:
        np.save(fh, array, allow_pickle=False)


def run(args: argparse.Namespace) -> int:
    """Execute ``transferkit encode``."""
    import embeddings

    out = Path(args.output)
    if out.suffix.lower() != ".npy":
        raise InvalidParameterError(f"--output must end in .npy, got {out.name!r}")
    texts = read_texts(Path(args.input), args.column)
    encoder = embeddings.load(args.model)
    if encoder.requires_fit and not encoder.is_fitted:
        raise InvalidParameterError(
            f"{args.model} must be fitted on training texts first; fit it in Python and pass "
            "the folder written by encoder.save(...) as --model"
        )
    t0 = time.perf_counter()
    _ = encoder.dim  # load the weights outside the timed encoding
    start = time.perf_counter()
    if args.cache_dir:
        from embeddings.cache import CachedEncoder

        runner = CachedEncoder(encoder, cache_dir=args.cache_dir)
        vectors = runner.encode(
            texts, batch_size=args.batch_size, show_progress=not args.no_progress
        )
    else:
        vectors = encoder.encode(
            texts, batch_size=args.batch_size, show_progress=not args.no_progress
        )
    elapsed = time.perf_counter() - start
    save_npy_atomic(vectors, out)
    rate = len(texts) / elapsed if elapsed > 0 else float("inf")
    print(
        f"wrote {out} ({vectors.shape[0]} x {vectors.shape[1]} float32) with {encoder.name}: "
        f"load {start - t0:.1f}s, encode {elapsed:.1f}s ({rate:.0f} texts/s)",
        file=sys.stderr,
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``encode`` subcommand."""
    p = sub.add_parser("encode", help="embed a file of texts into a .npy matrix")
    p.add_argument("--model", required=True, help="preset name or saved-encoder folder")
    p.add_argument("--input", required=True, help="a .txt/.csv/.tsv/.jsonl file")
    p.add_argument("--output", required=True, help="the .npy file to write")
    p.add_argument("--column", default=None, help="text column/key for .csv/.tsv/.jsonl")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--cache-dir", default=None, help="reuse/store vectors in this cache")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)
