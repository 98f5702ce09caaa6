"""Tasks of your own data: a DataFrame or a TSV/CSV/parquet file becomes a task.

:func:`from_dataframe` and :func:`from_file` (also ``Task.from_dataframe`` /
``Task.from_file``, which call them through :mod:`benchmarks.tasks.hooks`) build a
task of one of four types, evaluated exactly like the built-in tasks of its family
(same heads, same protocol, same result files):

======================  ==================================  ==========================
``type``                columns                              protocol
======================  ==================================  ==========================
``classification``      ``text``, ``label``                  SentEval's logistic
                                                             regression: C chosen on
                                                             dev, else by 10-fold CV on
                                                             train; accuracy on test
``pair_classification`` ``text``, ``pair``, ``label``        the same on ``[|u-v|, u*v]``
``sts``                 ``text``, ``pair``, ``score``        cosine vs. gold, Spearman
``clustering``          ``text``, ``label``                  k-means, V-measure
======================  ==================================  ==========================

Splits come from a ``split`` column (values ``train``, ``dev``, ``test``), from
separate files or DataFrames, or, when none is given, from a seeded stratified
``test_size`` split of the rows for the classification types (the task's parameters,
recorded in every result, say so).  STS and clustering tasks score all rows when no
split is given (a trainable encoder then fits on the unlabeled corpus, never on the
scored texts).

The task's version is a hash of its rows and splits, so results of edited data are
never mixed with older ones.

Example:
    >>> task = from_dataframe(
    ...     {"text": ["good", "fine", "bad", "awful"] * 5, "label": ["+", "+", "-", "-"] * 5},
    ...     name="tiny")
    >>> task.metadata.family, task.metadata.labels, len(task.load("test"))
    ('classification', ('+', '-'), 4)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from benchmarks.tasks import hooks
from benchmarks.tasks.base import (
    ClassificationTask,
    ClusteringTask,
    PairClassificationTask,
    STSTask,
    Task,
)
from benchmarks.tasks.data import PairClassificationData, PairScoreData, TextClassificationData
from benchmarks.tasks.metadata import Family, MainScore, OwnTaskType, TaskMetadata
from benchmarks.tasks.own_rows import (
    FILE_SUFFIXES,
    SPLITS,
    check_seed,
    check_test_size,
    check_type,
    columns_for,
    frame_of,
    read_table,
    rows_of,
    stratified_split,
    take,
)
from benchmarks.tasks.registry import list_tasks
from embeddings.errors import InvalidInputError, InvalidParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FILE_SUFFIXES",
    "OwnTaskType",
    "from_dataframe",
    "from_file",
]


_FAMILY: dict[str, Family] = {
    "classification": "classification",
    "pair_classification": "pair_classification",
    "sts": "sts",
    "clustering": "clustering",
}
_MAIN_SCORE: dict[str, MainScore] = {
    "classification": "accuracy",
    "pair_classification": "accuracy",
    "sts": "spearman",
    "clustering": "v_measure",
}


class _OwnData:
    """In-memory rows of a task of your own (mixed into a family class).

    Args:
        metadata: The task's metadata (name, version = hash of the rows, splits).
        parts: Split name -> the family's data container.
        provenance: Where the rows came from and how the splits were made (recorded
            in results as the task's parameters).
    """

    pinned: ClassVar[bool] = False

    def __init__(
        self,
        *,
        metadata: TaskMetadata,
        parts: Mapping[str, Any],
        provenance: Mapping[str, Any],
    ) -> None:
        self.metadata = metadata  # type: ignore[misc]  # an own task's metadata is its own
        self.parts = dict(parts)
        self.provenance = dict(provenance)
        self.data_dir: str | os.PathLike[str] | None = None

    def get_params(self) -> dict[str, Any]:
        """Where the rows came from and how the splits were made."""
        return dict(self.provenance)

    def __repr__(self) -> str:
        meta = self.metadata
        sizes = ", ".join(f"{s}={len(d)}" for s, d in self.parts.items())
        return f"{type(self).__name__}(name={meta.name!r}, version={meta.version!r}, {sizes})"

    def _load(self, split: str, subset: str | None, verify: bool) -> Any:
        if split not in self.parts:
            raise InvalidParameterError(
                f"{self.metadata.name} has no split {split!r}; choose one of {list(self.parts)}"
            )
        if subset is not None:
            raise InvalidParameterError(
                f"{self.metadata.name} has no subset {subset!r}; subsets: none (a task of your "
                "own data has none)"
            )
        return self.parts[split]

    def path(self, split: str, subset: str | None = None) -> Path:
        """Not available: the rows are held in memory."""
        raise InvalidParameterError(
            f"{self.metadata.name} is held in memory (source: {self.provenance.get('source')}); "
            "it has no data file of its own"
        )

    def verify(self) -> dict[str, str]:
        """Nothing to verify: a task of your own data has no pinned files."""
        return {}


class OwnClassificationTask(_OwnData, ClassificationTask):
    """Classification task of your own data."""


class OwnPairClassificationTask(_OwnData, PairClassificationTask):
    """Pair-classification task of your own data."""


class OwnSTSTask(_OwnData, STSTask):
    """STS task of your own data (cosine similarity against gold scores)."""


class OwnClusteringTask(_OwnData, ClusteringTask):
    """Clustering task of your own data."""


_CLASSES: dict[str, type[_OwnData]] = {
    "classification": OwnClassificationTask,
    "pair_classification": OwnPairClassificationTask,
    "sts": OwnSTSTask,
    "clustering": OwnClusteringTask,
}


# ---------------------------------------------------------------- checks


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(f"name must be a non-empty str, got {name!r}")
    name = name.strip()
    builtin = {t.lower(): t for t in list_tasks()}
    if name.lower() in builtin:
        raise InvalidParameterError(
            f"name {name!r} is the built-in task {builtin[name.lower()]!r}; give your task "
            "another name (e.g. name='my-reviews')"
        )
    return name


def _container(
    kind: str, rows: dict[str, list[Any]], label_names: tuple[str, ...], name: str
) -> Any:
    import numpy as np

    if kind == "sts":
        n = len(rows["text"])  # one subset, named after the task, in the STS scores
        scores = np.array(rows["score"], dtype=np.float64)
        ids = np.zeros(n, dtype=np.int64)
        return PairScoreData(rows["text"], rows["pair"], scores, ids, (name,))
    index = {name: i for i, name in enumerate(label_names)}
    ids = np.array([index[x] for x in rows["label"]], dtype=np.int64)
    if kind == "pair_classification":
        return PairClassificationData(rows["text"], rows["pair"], ids, label_names)
    return TextClassificationData(rows["text"], ids, label_names)


def _build(
    kind: str,
    parts: dict[str, dict[str, list[Any]]],
    *,
    name: str,
    source: str,
    columns: dict[str, str],
    splits_note: str,
) -> Task[Any]:
    where = f"task {name!r}"
    allowed = (
        ("train", "dev", "test")
        if kind in ("classification", "pair_classification")
        else (
            "train",
            "test",
        )
    )
    unknown = [s for s in parts if s not in allowed]
    if unknown:
        raise InvalidInputError(
            f"{where}: a {kind!r} task uses the splits {list(allowed)}, got {unknown}"
            + (" (a dev split is only used to choose a classifier)" if "dev" in unknown else "")
        )
    needed = ("train", "test") if kind in ("classification", "pair_classification") else ("test",)
    absent = [s for s in needed if s not in parts]
    if absent:
        raise InvalidInputError(
            f"{where}: a {kind!r} task needs the splits {list(needed)}; {absent} missing "
            f"(have {list(parts)})"
        )
    label_names: tuple[str, ...] = ()
    if kind != "sts":
        label_names = tuple(sorted({x for part in parts.values() for x in part["label"]}))
        if kind in ("classification", "pair_classification"):
            train_labels = set(parts["train"]["label"])
            if len(train_labels) < 2:
                raise InvalidInputError(
                    f"{where}: the train split has a single label {sorted(train_labels)}; "
                    "a classifier needs two"
                )
        elif len(set(parts["test"]["label"])) < 2:
            raise InvalidInputError(f"{where}: clustering needs at least two labels")
    order = [s for s in SPLITS if s in parts]
    blob = json.dumps(
        {"type": kind, "splits": {s: parts[s] for s in order}}, ensure_ascii=False, sort_keys=True
    ).encode()
    digest = hashlib.sha256(blob).hexdigest()
    meta = TaskMetadata(
        name=name,
        version=digest[:12],
        family=_FAMILY[kind],
        description=f"Your own {kind} task ({source}).",
        dataset=name,
        files={},
        splits=tuple(order),
        main_score=_MAIN_SCORE[kind],
        eval_protocol="unsupervised" if kind in ("sts", "clustering") else "split",
        labels=label_names or None,
    )
    containers = {s: _container(kind, parts[s], label_names, name) for s in order}
    provenance = {
        "source": source,
        "type": kind,
        "columns": columns,
        "splits": splits_note,
        "sha256": digest,
    }
    cls = _CLASSES[kind]
    task = cls(metadata=meta, parts=containers, provenance=provenance)
    return task  # type: ignore[return-value]


# ---------------------------------------------------------------- public


def from_dataframe(
    data: pd.DataFrame | Mapping[str, Any],
    *,
    type: OwnTaskType = "classification",
    text: str = "text",
    label: str | None = "label",
    pair: str | None = None,
    score: str | None = None,
    split: str | None = None,
    name: str = "own-task",
    test_size: float = 0.2,
    random_state: int = 1111,
    source: str = "DataFrame",
) -> Task[Any]:
    """A task of your own rows.

    Args:
        data: A pandas DataFrame (or a dict of equal-length columns), or the splits
            as ``{"train": frame, "test": frame}`` (``"dev"`` optional).
        type: ``"classification"``, ``"pair_classification"``, ``"sts"`` (also
            ``"similarity"``) or ``"clustering"``.
        text: The column of texts (the first texts of a pair).
        label: The column of labels (classification, pair classification, clustering);
            any values, compared as strings.
        pair: The column of the second texts (pair classification, STS).
        score: The column of gold similarity scores (STS).
        split: A column whose values (``train``, ``dev``, ``test``) assign the rows.
        name: The task's name in results and reports (not a built-in task's name).
        test_size: Without splits, the share (float) or number (int) of rows held out
            as test by a stratified split (classification types only).
        random_state: Seed of that split.
        source: Where the rows came from (recorded in results).

    Returns:
        A task of the type's family; ``task.evaluate(encoder)`` scores an encoder,
        ``benchmarks.runner.run_suite([task], ...)`` writes result files.

    Raises:
        InvalidParameterError: A bad type, name, column choice, ``test_size`` or seed.
        InvalidInputError: Missing columns, empty or non-text cells, missing labels,
            non-numeric scores, unknown split values, or splits the type cannot use.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"a": ["a cat", "a dog", "stocks", "bonds"] * 3,
        ...                    "b": ["a kitten", "a puppy", "shares", "a cat"] * 3,
        ...                    "sim": [4.5, 4.0, 3.5, 0.5] * 3})
        >>> task = from_dataframe(df, type="sts", text="a", pair="b", score="sim", name="pairs")
        >>> task.metadata.main_score, task.metadata.splits, task.get_params()["splits"]
        ('spearman', ('test',), 'no split given: all rows are scored')
    """
    kind = check_type(type)
    name = _check_name(name)
    random_state = check_seed(random_state)
    columns = columns_for(kind, text, label, pair, score)
    where = f"task {name!r}"
    import pandas as pd

    if (
        isinstance(data, Mapping)
        and not isinstance(data, pd.DataFrame)
        and data
        and all(isinstance(v, pd.DataFrame) for v in data.values())
    ):
        if split is not None:
            raise InvalidParameterError(
                f"{where}: give the splits either as separate frames or as a split column, "
                f"not both (got frames {list(data)} and split={split!r})"
            )
        unknown = [str(k) for k in data if k not in SPLITS]
        if unknown:
            raise InvalidInputError(f"{where}: split names must be {list(SPLITS)}, got {unknown}")
        parts = {s: rows_of(data[s], columns, f"{where}, {s}") for s in SPLITS if s in data}
        note = "given: " + ", ".join(f"{s} ({len(p['text'])} rows)" for s, p in parts.items())
        return _build(kind, parts, name=name, source=source, columns=columns, splits_note=note)
    frame = frame_of(data, where)
    if split is not None:
        if split not in frame.columns:
            raise InvalidInputError(
                f"{where}: no split column {split!r}; the columns are "
                f"{[str(c) for c in frame.columns]}"
            )
        values = [str(v).strip().lower() for v in frame[split].tolist()]
        bad = sorted({v for v in values if v not in SPLITS})
        if bad:
            raise InvalidInputError(
                f"{where}: split column {split!r} has the values {bad[:5]}; allowed: {list(SPLITS)}"
            )
        rows = rows_of(frame, columns, where)
        parts = {
            s: take(rows, [i for i, v in enumerate(values) if v == s])
            for s in SPLITS
            if s in values
        }
        note = f"split column {split!r}: " + ", ".join(
            f"{s} ({len(p['text'])} rows)" for s, p in parts.items()
        )
        return _build(kind, parts, name=name, source=source, columns=columns, splits_note=note)
    rows = rows_of(frame, columns, where)
    if kind in ("classification", "pair_classification"):
        test_size = check_test_size(test_size)
        parts = stratified_split(rows, test_size, random_state, where)
        note = (
            f"stratified random split of the rows: test_size={test_size!r}, "
            f"random_state={random_state}"
        )
    else:
        parts = {"test": rows}
        note = "no split given: all rows are scored"
    return _build(kind, parts, name=name, source=source, columns=columns, splits_note=note)


def from_file(
    path: str | os.PathLike[str],
    *,
    test: str | os.PathLike[str] | None = None,
    dev: str | os.PathLike[str] | None = None,
    sep: str | None = None,
    name: str | None = None,
    **options: Any,
) -> Task[Any]:
    """A task of your own TSV, CSV or parquet file(s).

    Text files need a header line; cells are read as text (``NA`` stays ``"NA"``).

    Args:
        path: The rows, or the train rows when ``test`` is given.
        test: A file of test rows (then ``path`` is the train split).
        dev: A file of dev rows (with ``test``; used to choose the classifier).
        sep: Field separator of text files (default: TAB for ``.tsv``/``.tab``, comma
            for ``.csv``).
        name: The task's name (default: the file name without suffix).
        **options: ``type``, ``text``, ``label``, ``pair``, ``score``, ``split``,
            ``test_size``, ``random_state`` as in :func:`from_dataframe`.

    Raises:
        DataNotFoundError: A file does not exist.
        InvalidParameterError: An unknown file type or option.
        InvalidInputError: As :func:`from_dataframe`.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "reviews.tsv").write_text(
        ...     "text\\tlabel\\n" + "a great film\\tpos\\na dull film\\tneg\\n" * 10)
        >>> task = from_file(folder / "reviews.tsv")
        >>> task.name, task.metadata.splits
        ('reviews', ('train', 'test'))
    """
    allowed = {"type", "text", "label", "pair", "score", "split", "test_size", "random_state"}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InvalidParameterError(
            f"from_file got unexpected options {unknown}; it takes {sorted(allowed)} "
            "besides path, test, dev, sep and name"
        )
    main = Path(path)
    if dev is not None and test is None:
        raise InvalidParameterError(
            f"dev={str(dev)!r} needs test= too (then {main.name} is the train split)"
        )
    task_name = name if name is not None else main.stem
    if test is None:
        return from_dataframe(read_table(main, sep), name=task_name, source=str(main), **options)
    if options.get("split") is not None:
        raise InvalidParameterError(
            f"give the splits either as files (test={str(test)!r}) or as a split column "
            f"(split={options['split']!r}), not both"
        )
    frames = {"train": read_table(main, sep), "test": read_table(Path(test), sep)}
    files = {"train": str(main), "test": str(test)}
    if dev is not None:
        frames["dev"] = read_table(Path(dev), sep)
        files["dev"] = str(dev)
    source = ", ".join(f"{s}={f}" for s, f in files.items())
    return from_dataframe(frames, name=task_name, source=source, **options)


hooks.provide("from_dataframe", from_dataframe)
hooks.provide("from_file", from_file)
