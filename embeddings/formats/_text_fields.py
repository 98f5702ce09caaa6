"""The fields of word-vector text lines: words and float64 numbers, in bulk or line by line.

:func:`parse_plain_block` reads a piece of a file whose lines all have the usual
shape in a few Arrow calls; :func:`parse_lines` reads any lines one by one and
reports the first problem with its line number.  Both give float64 values with
correct rounding (the same values); :func:`check_finite` refuses NaN and infinity.
Used by :mod:`embeddings.formats.text`.

Example:
    >>> words, block = parse_plain_block(b"a 1 2\\nb 3 4", 2)
    >>> words, block.tolist()
    (['a', 'b'], [[1.0, 2.0], [3.0, 4.0]])
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.errors import ModelFormatError

__all__ = ["check_finite", "parse_lines", "parse_plain_block", "split_line"]


def split_line(line: str, dim: int, path: Path, lineno: int) -> tuple[str, str]:
    word, _, rest = line.partition(" ")
    if rest and rest.count(" ") + 1 == dim:
        return word, rest
    # multiple spaces, tabs, or a word containing spaces
    fields = line.split()
    if len(fields) == dim + 1:
        return fields[0], " ".join(fields[1:])
    if len(fields) > dim + 1:
        parts = line.rsplit(None, dim)
        if len(parts) == dim + 1:
            return parts[0], " ".join(parts[1:])
    raise ModelFormatError(
        f"{path}: line {lineno}: expected a word followed by {dim} numbers, found "
        f"{len(fields)} field(s) in all (truncated or mixed-dimension file?)"
    )


def _parse_fields(rests: list[str], linenos: Sequence[int], dim: int, path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            flat = np.fromstring(" ".join(rests), dtype=np.float64, sep=" ")
        except ValueError:  # numpy >= 2.3 raises on unparsable text
            flat = np.empty(0)
    if flat.size != len(rests) * dim:
        for text, lineno in zip(rests, linenos):
            for column, tok in enumerate(text.split(), start=2):
                try:
                    float(tok)
                except ValueError:
                    raise ModelFormatError(
                        f"{path}: line {lineno}: field {column} is not a number; expected "
                        f"{dim} decimal numbers after the word"
                    ) from None
        raise ModelFormatError(f"{path}: lines {linenos[0]}-{linenos[-1]}: cannot parse numbers")
    return flat.reshape(len(rests), dim)  # float64: NaN/inf are refused by the caller


def _split_lines(
    lines: list[str], linenos: Sequence[int], dim: int, path: Path
) -> tuple[list[str], list[str]]:
    """Words and number fields of lines; the usual single-spaced lines take no detour."""
    words: list[str] = []
    rests: list[str] = []
    add_word, add_rest = words.append, rests.append
    want = dim - 1
    for line, lineno in zip(lines, linenos):
        word, _, rest = line.partition(" ")
        if not rest or rest.count(" ") != want:
            word, rest = split_line(line, dim, path, lineno)
        add_word(word)
        add_rest(rest)
    return words, rests


def parse_lines(
    lines: list[str], linenos: Sequence[int], dim: int, path: Path
) -> tuple[list[str], Sequence[int], np.ndarray]:
    """Words, line numbers and float64 vectors of lines, read one by one (any spacing)."""
    words, rests = _split_lines(lines, linenos, dim, path)
    return words, linenos, _parse_fields(rests, linenos, dim, path)


def check_finite(block: np.ndarray, linenos: Sequence[int], path: Path) -> np.ndarray:
    if not np.isfinite(block).all():
        bad = int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
        raise ModelFormatError(
            f"{path}: line {linenos[bad]}: NaN or infinite value; expected finite numbers"
        )
    return block


def parse_plain_block(
    body: bytes | bytearray | memoryview, dim: int
) -> tuple[list[str], np.ndarray] | None:
    """Words and float64 vectors of a piece whose lines are all ``word v1 ... vDIM``.

    Everything happens in Arrow: the UTF-8 check, the split into lines and on single
    spaces, the words and the numbers (parsed with correct rounding, as numpy parses
    them).  ``None`` when anything else occurs: a blank line, other spacing (a tab, a
    carriage return, trailing space), a word with spaces, a field that is not a
    number, invalid UTF-8; the caller then reads the piece line by line, which
    handles or reports it.  NaN and infinity are left for the caller to refuse.
    Nothing returned refers to ``body``'s memory.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        data = pa.py_buffer(body)  # no copy
        offsets = pa.py_buffer(np.array([0, data.size], dtype=np.int64))
        raw = pa.LargeBinaryArray.from_buffers(pa.large_binary(), 1, [None, offsets, data])
        text = raw.cast(pa.large_string())
        lines = pc.list_flatten(pc.split_pattern(text, "\n"))
        halves = pc.split_pattern(lines, " ", max_splits=1)
        n = len(lines)
        if not (pc.list_value_length(halves).to_numpy() == 2).all():
            return None
        words = pc.list_element(halves, 0)
        fields = pc.split_pattern(pc.list_element(halves, 1), " ")
        if not (pc.list_value_length(fields).to_numpy() == dim).all():
            return None
        numbers = pc.cast(pc.list_flatten(fields), pa.float64())
        if numbers.null_count or pc.any(pc.equal(words, "")).as_py():
            return None
        return words.to_pylist(), numbers.to_numpy(zero_copy_only=False).reshape(n, dim)
    except (ImportError, ValueError, TypeError, ArithmeticError):  # ArrowInvalid included
        return None
