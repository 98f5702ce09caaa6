"""The rows of your own data, checked: columns, cells, splits and files.

What :mod:`benchmarks.tasks.own` needs before it makes a task: the task type and
parameters, the columns a type uses, text, label and score cells (each bad cell is
named by row and column), a seeded stratified train/test split, and the reading of
TSV, CSV and parquet files.  Nothing here knows of task classes.

Example:
    >>> columns = columns_for("classification", "review", "stars", None, None)
    >>> rows_of(frame_of({"review": ["good", "bad"], "stars": [5, 1]}, "t"), columns, "t")
    {'text': ['good', 'bad'], 'label': ['5', '1']}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from benchmarks.tasks.metadata import OwnTaskType
from embeddings.errors import DataNotFoundError, InvalidInputError, InvalidParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ALIASES",
    "FILE_SUFFIXES",
    "SPLITS",
    "check_seed",
    "check_test_size",
    "check_type",
    "columns_for",
    "frame_of",
    "read_table",
    "rows_of",
    "stratified_split",
    "take",
]

ALIASES = {"similarity": "sts", "pair-classification": "pair_classification"}
"""Other names of task types."""
SPLITS = ("train", "dev", "test")
"""The split names of your own data, in order."""
FILE_SUFFIXES = (".tsv", ".tab", ".csv", ".parquet", ".pq")
"""File types :func:`read_table` reads (``.tsv``/``.tab``: TAB-separated)."""


def check_type(value: Any) -> str:
    allowed = list(get_args(OwnTaskType))
    if not isinstance(value, str) or ALIASES.get(value, value) not in allowed:
        raise InvalidParameterError(
            f"type must be one of {allowed} ('similarity' means 'sts'), got {value!r}"
        )
    return ALIASES.get(value, value)


def check_test_size(test_size: Any) -> float | int:
    ok_float = isinstance(test_size, float) and 0.0 < test_size < 1.0
    ok_int = isinstance(test_size, int) and not isinstance(test_size, bool) and test_size >= 1
    if not (ok_float or ok_int):
        raise InvalidParameterError(
            "test_size must be a float in (0, 1) (a fraction of the rows) or an int >= 1 "
            f"(a number of rows), got {test_size!r}"
        )
    return test_size


def check_seed(random_state: Any) -> int:
    if isinstance(random_state, bool) or not isinstance(random_state, int) or random_state < 0:
        raise InvalidParameterError(f"random_state must be an int >= 0, got {random_state!r}")
    return random_state


def columns_for(
    kind: str, text: str, label: str | None, pair: str | None, score: str | None
) -> dict[str, str]:
    """The role -> column name map a task type needs."""
    needs: dict[str, tuple[str, str | None]] = {"text": ("text", text)}
    if kind in ("pair_classification", "sts"):
        needs["pair"] = ("pair", pair)
    if kind == "sts":
        needs["score"] = ("score", score)
    else:
        needs["label"] = ("label", label)
    missing = [arg for arg, (_, column) in needs.items() if not column]
    if missing:
        what = {
            "pair": "pair= (--pair-column: the column of the second texts)",
            "score": "score= (--score-column: the column of gold similarity scores)",
            "label": "label= (--label-column: the column of labels)",
            "text": "text= (--text-column: the column of texts)",
        }
        raise InvalidParameterError(
            f"a {kind!r} task needs " + " and ".join(what[m] for m in missing)
        )
    return {role: str(column) for role, (_, column) in needs.items()}


def describe(value: Any) -> str:
    text = repr(value)
    return (text[:40] + "...") if len(text) > 43 else text


def texts_of(values: Sequence[Any], column: str, where: str) -> list[str]:
    out = []
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise InvalidInputError(
                f"{where}: row {i} of column {column!r} is {describe(value)} "
                f"({type(value).__name__}); texts must be str"
            )
        out.append(value)
    return out


def labels_of(values: Sequence[Any], column: str, where: str) -> list[str]:
    out = []
    for i, value in enumerate(values):
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        if missing or (isinstance(value, str) and not value.strip()):
            raise InvalidInputError(
                f"{where}: row {i} of column {column!r} has no label ({describe(value)})"
            )
        out.append(str(value.item() if hasattr(value, "item") else value).strip())
    return out


def scores_of(values: Sequence[Any], column: str, where: str) -> list[float]:
    out = []
    for i, value in enumerate(values):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise InvalidInputError(
                f"{where}: row {i} of column {column!r} is {describe(value)}; "
                "scores must be finite numbers"
            )
        out.append(number)
    return out


def frame_of(data: Any, where: str) -> pd.DataFrame:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        try:
            return pd.DataFrame(dict(data))
        except ValueError as err:
            raise InvalidInputError(
                f"{where}: cannot make a table of the columns ({err})"
            ) from None
    raise InvalidInputError(
        f"{where}: expected a pandas DataFrame or a dict of columns, got {type(data).__name__}"
    )


def rows_of(frame: pd.DataFrame, columns: dict[str, str], where: str) -> dict[str, list[Any]]:
    """The needed columns of a frame, checked: {role: values}."""
    missing = [c for c in columns.values() if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"{where}: no column {missing[0]!r}; the columns are {[str(c) for c in frame.columns]}"
        )
    if len(frame) == 0:
        raise InvalidInputError(f"{where}: no rows")
    out: dict[str, list[Any]] = {}
    for role, column in columns.items():
        values = frame[column].tolist()
        if role in ("text", "pair"):
            out[role] = texts_of(values, column, where)
        elif role == "label":
            out[role] = labels_of(values, column, where)
        else:
            out[role] = scores_of(values, column, where)
    return out


def take(rows: dict[str, list[Any]], idx: Sequence[int]) -> dict[str, list[Any]]:
    return {role: [values[i] for i in idx] for role, values in rows.items()}


def stratified_split(
    rows: dict[str, list[Any]], test_size: float | int, random_state: int, where: str
) -> dict[str, dict[str, list[Any]]]:
    """A seeded split stratified by label; each part keeps the rows' order."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    labels = rows["label"]
    names, counts = np.unique(np.array(labels, dtype=object), return_counts=True)
    if names.size < 2:
        raise InvalidInputError(f"{where}: a single label {str(names[0])!r}; a task needs two")
    if counts.min() < 2:
        lonely = [str(n) for n, c in zip(names, counts) if c < 2]
        raise InvalidInputError(
            f"{where}: a stratified train/test split needs at least 2 rows per label; "
            f"the labels {lonely} have 1 row (add rows, or give a split column or test file)"
        )
    try:
        train_idx, test_idx = train_test_split(
            np.arange(len(labels)),
            test_size=test_size,
            random_state=random_state,
            stratify=np.array(labels, dtype=object),
        )
    except ValueError as err:
        raise InvalidInputError(
            f"{where}: cannot make a stratified split with test_size={test_size!r} of "
            f"{len(labels)} rows and {names.size} labels ({err})"
        ) from None
    return {
        "train": take(rows, sorted(train_idx.tolist())),
        "test": take(rows, sorted(test_idx.tolist())),
    }


def read_table(path: Path, sep: str | None) -> pd.DataFrame:
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise InvalidParameterError(
            f"{path}: cannot tell the format from {suffix or 'no suffix'!r}; "
            f"use one of {list(FILE_SUFFIXES)}"
        )
    if not path.is_file():
        raise DataNotFoundError(f"task file {path} does not exist")
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    from embeddings._text_sources import read_delimited  # the quoting rule of encode's input

    return read_delimited(path, sep if sep is not None else ("," if suffix == ".csv" else "\t"))
