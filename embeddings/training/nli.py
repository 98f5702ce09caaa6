"""Natural language inference (NLI) pairs for encoders trained on entailment.

Readers for the layouts sentence-pair encoders such as InferSent train on:

* **SNLI / MultiNLI jsonl**, as published (``snli_1.0_train.jsonl``,
  ``multinli_1.0_train.jsonl``...): one JSON object per line with ``gold_label``,
  ``sentence1`` (premise) and ``sentence2`` (hypothesis); every other field is
  ignored.  Pairs without a gold label (``"-"``: the annotators did not agree) are
  dropped and counted;
* **transferkit's TSV layout** of the benchmark data (``SICK-E/train.tsv``): a
  ``label<TAB>text_a<TAB>text_b`` header, then one pair per line; labels in any case.

Labels are ``entailment``, ``neutral`` and ``contradiction`` (:data:`NLI_LABELS`,
in that order: the class index of a label is its position).

A training **spec** names one or more sources, comma-separated
(:func:`resolve_nli_spec`, :func:`load_nli`): a file (its training pairs; the dev
file next to it, ``*_dev.jsonl`` / ``*_dev_matched.jsonl`` / ``dev.tsv``, is found
by name), a folder holding such files, or the name of a data folder under
``$TRANSFERKIT_DATA`` (``SICK-E`` reads ``$TRANSFERKIT_DATA/SICK-E/train.tsv`` and
``dev.tsv``).  A test split is never read: a file whose name says ``test`` is refused.

Example:
    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> rows = [
    ...     {"gold_label": "entailment", "sentence1": "A man sleeps.", "sentence2": "He rests."},
    ...     {"gold_label": "-", "sentence1": "A dog runs.", "sentence2": "An animal moves."},
    ... ]
    >>> _ = (d / "snli_1.0_train.jsonl").write_text("".join(json.dumps(r) + "\\n" for r in rows))
    >>> pairs = read_nli_file(d / "snli_1.0_train.jsonl")
    >>> len(pairs), pairs.dropped, pairs.label_names()
    (1, 1, ['entailment'])
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import DataNotFoundError, InvalidInputError, InvalidParameterError

__all__ = [
    "NLI_LABELS",
    "NLIPairs",
    "NLISource",
    "read_nli_jsonl",
    "read_nli_tsv",
    "read_nli_file",
    "nli_sources",
    "resolve_nli_spec",
    "load_nli",
    "label_ids",
]

#: the three NLI classes; a label's class index is its position here
NLI_LABELS: tuple[str, ...] = ("entailment", "neutral", "contradiction")
_NO_GOLD = ("-", "")
_TSV_HEADER = ("label", "text_a", "text_b")
#: the data folder environment variable that names such as ``SICK-E`` are looked up in
ENV_DATA = "TRANSFERKIT_DATA"
_DEV_NAMES = ("dev.tsv", "dev.jsonl")


@dataclass
class NLIPairs:
    """Premise/hypothesis pairs with class indices into :data:`NLI_LABELS`.

    Attributes:
        premises: the first sentence of every pair.
        hypotheses: the second sentence of every pair.
        labels: int64 class index of every pair.
        dropped: pairs read but dropped because they had no gold label.
        files: ``{path: sha256}`` of the files the pairs were read from.

    Example:
        >>> p = NLIPairs(["a"], ["b"], np.array([2]))
        >>> p.label_names(), p.counts()
        (['contradiction'], {'entailment': 0, 'neutral': 0, 'contradiction': 1})
    """

    premises: list[str]
    hypotheses: list[str]
    labels: np.ndarray
    dropped: int = 0
    files: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.premises)

    def label_names(self) -> list[str]:
        """The label of every pair as a string."""
        return [NLI_LABELS[int(i)] for i in self.labels]

    def counts(self) -> dict[str, int]:
        """Pairs per label."""
        found = np.bincount(self.labels.astype(np.int64), minlength=len(NLI_LABELS))
        return {name: int(found[i]) for i, name in enumerate(NLI_LABELS)}

    @classmethod
    def concat(cls, parts: Sequence[NLIPairs]) -> NLIPairs:
        """All pairs of ``parts``, in order.

        Example:
            >>> a = NLIPairs(["a"], ["b"], np.array([0]), dropped=1)
            >>> len(NLIPairs.concat([a, a])), NLIPairs.concat([a, a]).dropped
            (2, 2)
        """
        return cls(
            [p for part in parts for p in part.premises],
            [h for part in parts for h in part.hypotheses],
            np.concatenate([part.labels for part in parts]).astype(np.int64)
            if parts
            else np.zeros(0, dtype=np.int64),
            dropped=sum(part.dropped for part in parts),
            files={k: v for part in parts for k, v in part.files.items()},
        )


def label_ids(labels: Sequence[object]) -> np.ndarray:
    """Class indices of NLI labels given as names (any case) or as indices 0-2.

    Raises:
        InvalidInputError: a label that is neither, naming its position.

    Example:
        >>> label_ids(["ENTAILMENT", "neutral", 2]).tolist()
        [0, 1, 2]
    """
    out = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        if isinstance(label, str) and label.strip().lower() in NLI_LABELS:
            out[i] = NLI_LABELS.index(label.strip().lower())
        elif (
            not isinstance(label, (bool, np.bool_))
            and isinstance(label, (int, np.integer))
            and 0 <= int(label) < len(NLI_LABELS)
        ):
            out[i] = int(label)
        else:
            raise InvalidInputError(
                f"NLI label at position {i} is {label!r}; allowed: {', '.join(NLI_LABELS)} "
                f"(any case) or their indices 0-{len(NLI_LABELS) - 1}"
            )
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _check_not_test(path: Path) -> None:
    name = path.name.lower()
    if "test" in name and "train" not in name and "dev" not in name:
        raise InvalidParameterError(
            f"{path} looks like a test split; NLI training reads training pairs (and the dev "
            "pairs next to them for early stopping), never test data. Pass the train file"
        )


def _label_or_none(raw: object, where: str) -> int | None:
    if not isinstance(raw, str):
        raise InvalidInputError(f"{where}: the label must be a string, got {raw!r:.60}")
    low = raw.strip().lower()
    if low in _NO_GOLD:
        return None
    if low not in NLI_LABELS:
        raise InvalidInputError(
            f"{where}: label {raw!r:.60} is not one of {', '.join(NLI_LABELS)} (or '-', "
            "which marks a pair without a gold label)"
        )
    return NLI_LABELS.index(low)


def read_nli_jsonl(path: str | os.PathLike[str]) -> NLIPairs:
    """Read an SNLI / MultiNLI ``.jsonl`` file (``gold_label``, ``sentence1``, ``sentence2``).

    Pairs whose ``gold_label`` is ``"-"`` are dropped and counted in ``dropped``.

    Raises:
        DataNotFoundError: no such file.
        InvalidInputError: a line that is not a JSON object with those three string
            fields, or an unknown label (the message names the line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x_train.jsonl"
        >>> _ = p.write_text('{"gold_label": "neutral", "sentence1": "a", "sentence2": "b"}\\n')
        >>> read_nli_jsonl(p).label_names()
        ['neutral']
    """
    file = _existing_file(path)
    return _collect(file, _jsonl_rows(file))


def _jsonl_rows(file: Path) -> Iterator[tuple[Any, str, str, str]]:
    with open(file, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{file}:{n}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise InvalidInputError(f"{where}: not a JSON object ({err})") from None
            if not isinstance(row, dict):
                raise InvalidInputError(f"{where}: expected a JSON object, got {row!r:.60}")
            missing = [k for k in ("gold_label", "sentence1", "sentence2") if k not in row]
            if missing:
                raise InvalidInputError(
                    f"{where}: missing field(s) {missing}; SNLI/MultiNLI lines have "
                    "gold_label, sentence1 and sentence2"
                )
            for key in ("sentence1", "sentence2"):
                if not isinstance(row[key], str):
                    raise InvalidInputError(
                        f"{where}: {key} must be a string, got {row[key]!r:.60}"
                    )
            yield row["gold_label"], row["sentence1"], row["sentence2"], where


def _collect(file: Path, rows: Iterable[tuple[Any, str, str, str]]) -> NLIPairs:
    """The pairs of ``(gold label, premise, hypothesis, where)`` rows; a pair without a
    gold label is dropped and counted."""
    premises: list[str] = []
    hypotheses: list[str] = []
    labels: list[int] = []
    dropped = 0
    for gold, premise, hypothesis, where in rows:
        label = _label_or_none(gold, where)
        if label is None:
            dropped += 1
            continue
        premises.append(premise)
        hypotheses.append(hypothesis)
        labels.append(label)
    return NLIPairs(
        premises, hypotheses, np.asarray(labels, dtype=np.int64), dropped,
        {str(file): _sha256(file)},
    )  # fmt: skip


def read_nli_tsv(path: str | os.PathLike[str]) -> NLIPairs:
    """Read a TSV with the header ``label<TAB>text_a<TAB>text_b`` (transferkit's layout).

    Labels are case-insensitive; ``-`` or an empty label drops the pair (counted).

    Raises:
        DataNotFoundError: no such file.
        InvalidInputError: another header, a line without three fields, or an
            unknown label (the message names the line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "train.tsv"
        >>> _ = p.write_text("label\\ttext_a\\ttext_b\\nENTAILMENT\\ta b\\ta\\n")
        >>> read_nli_tsv(p).label_names()
        ['entailment']
    """
    file = _existing_file(path)
    return _collect(file, _tsv_rows(file))


def _tsv_rows(file: Path) -> Iterator[tuple[Any, str, str, str]]:
    with open(file, encoding="utf-8", newline="") as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
        if tuple(header) != _TSV_HEADER:
            raise InvalidInputError(
                f"{file}:1: header {header!r:.80} is not {list(_TSV_HEADER)} (TAB-separated)"
            )
        for n, line in enumerate(fh, start=2):
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("\t")
            where = f"{file}:{n}"
            if len(parts) != 3:
                raise InvalidInputError(
                    f"{where}: expected 3 TAB-separated fields (label, text_a, text_b), "
                    f"got {len(parts)}"
                )
            yield parts[0], parts[1], parts[2], where


def read_nli_file(path: str | os.PathLike[str]) -> NLIPairs:
    """Read a ``.jsonl`` (SNLI/MultiNLI) or ``.tsv`` (transferkit) NLI file.

    Raises:
        InvalidParameterError: another file type.

    Example:
        >>> read_nli_file("pairs.csv")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        embeddings.errors.InvalidParameterError: ...
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".jsonl":
        return read_nli_jsonl(file)
    if suffix == ".tsv":
        return read_nli_tsv(file)
    raise InvalidParameterError(
        f"NLI file {str(file)!r} has suffix {suffix!r}; allowed: .jsonl (SNLI / MultiNLI "
        "as published) or .tsv (label, text_a, text_b)"
    )


def _existing_file(path: str | os.PathLike[str]) -> Path:
    file = Path(path)
    if not file.is_file():
        raise DataNotFoundError(f"NLI file {str(file)!r} does not exist")
    return file


@dataclass(frozen=True)
class NLISource:
    """One source of a spec: its training file and, when there is one, its dev file.

    Attributes:
        name: the spec item as given (a path or a data folder name).
        train: the training file.
        dev: the dev file used for early stopping, or ``None``.
    """

    name: str
    train: Path
    dev: Path | None


def _dev_next_to(train: Path) -> Path | None:
    name = train.name
    candidates = []
    if "train" in name:
        candidates += [name.replace("train", "dev_matched"), name.replace("train", "dev")]
    candidates += [n for n in _DEV_NAMES if n.endswith(train.suffix)]
    for cand in candidates:
        path = train.with_name(cand)
        if path.is_file() and path != train:
            return path
    return None


def _source_in_folder(name: str, folder: Path) -> NLISource:
    trains = sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in (".jsonl", ".tsv") and "train" in p.name.lower()
    )  # fmt: skip
    if len(trains) != 1:
        found = ", ".join(p.name for p in trains) or "none"
        raise InvalidParameterError(
            f"NLI folder {str(folder)!r} must hold exactly one training file (*train*.jsonl "
            f"or *train*.tsv), found {found}; name the file instead"
        )
    return NLISource(name, trains[0], _dev_next_to(trains[0]))


def nli_sources(spec: str) -> list[NLISource]:
    """The sources of a comma-separated spec (see the module docstring).

    Raises:
        InvalidParameterError: an empty spec, or a test file.
        DataNotFoundError: an item that is neither a file, a folder, nor a data folder
            under ``$TRANSFERKIT_DATA``.

    Example:
        >>> nli_sources(" , ")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        embeddings.errors.InvalidParameterError: ...
    """
    if not isinstance(spec, str):
        raise InvalidParameterError(f"the NLI spec must be a str, got {type(spec).__name__}")
    items = [s.strip() for s in spec.split(",") if s.strip()]
    if not items:
        raise InvalidParameterError(
            f"the NLI spec {spec!r} names no source; give files, folders or data folder "
            "names (e.g. SICK-E), comma-separated"
        )
    out = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_file():
            _check_not_test(path)
            read_suffix = path.suffix.lower()
            if read_suffix not in (".jsonl", ".tsv"):
                read_nli_file(path)  # raises with the allowed suffixes
            out.append(NLISource(item, path.resolve(), _dev_next_to(path.resolve())))
            continue
        if path.is_dir():
            out.append(_source_in_folder(item, path.resolve()))
            continue
        root = os.environ.get(ENV_DATA)
        folder = Path(root).expanduser() / item if root and "/" not in item else None
        if folder is not None and not folder.is_dir() and folder.parent.is_dir():
            # task names are case-insensitive: `--nli snli` reads $TRANSFERKIT_DATA/SNLI
            same = [p for p in folder.parent.iterdir() if p.name.lower() == item.lower()]
            folder = same[0] if len(same) == 1 else folder
        if folder is not None and (folder / "train.tsv").is_file():
            dev = folder / "dev.tsv"
            out.append(NLISource(item, folder / "train.tsv", dev if dev.is_file() else None))
            continue
        where = f"${ENV_DATA} = {root}" if root else f"${ENV_DATA} is not set"
        raise DataNotFoundError(
            f"NLI source {item!r} is neither a file, a folder, nor a data folder with a "
            f"train.tsv under ${ENV_DATA} ({where}); give a .jsonl/.tsv file, a folder, or "
            "a data folder name such as SICK-E"
        )
    return out


def resolve_nli_spec(spec: str) -> str:
    """Check a spec and return it canonical: paths absolute, data folder names as given.

    Used by ``transferkit train infersent --nli SPEC`` before anything is written.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "train.tsv").write_text("label\\ttext_a\\ttext_b\\n")
        >>> resolve_nli_spec(str(d / "train.tsv")) == str(d.resolve() / "train.tsv")
        True
    """
    parts = []
    for src in nli_sources(spec):
        path = Path(src.name).expanduser()
        parts.append(str(path.resolve()) if path.exists() else src.name)
    return ",".join(parts)


def load_nli(spec: str) -> tuple[NLIPairs, NLIPairs | None]:
    """``(training pairs, dev pairs or None)`` of every source of ``spec``, concatenated.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> head = "label\\ttext_a\\ttext_b\\n"
        >>> _ = (d / "train.tsv").write_text(head + "NEUTRAL\\ta\\tb\\n")
        >>> _ = (d / "dev.tsv").write_text(head + "CONTRADICTION\\ta\\tc\\n")
        >>> train, dev = load_nli(str(d))
        >>> len(train), dev.label_names()
        (1, ['contradiction'])
    """
    sources = nli_sources(spec)
    train = NLIPairs.concat([read_nli_file(s.train) for s in sources])
    devs = [read_nli_file(s.dev) for s in sources if s.dev is not None]
    return train, (NLIPairs.concat(devs) if devs else None)
