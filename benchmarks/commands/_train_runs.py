"""``transferkit train``'s output folder: its checks and the stored run (``run.json``).

A run records its family, parameters and corpus in ``OUT/training/run.json`` so that
``--resume`` continues it with the same settings; every field is checked against the
family's options when it is read back.

Example:
    >>> from pathlib import Path
    >>> import tempfile
    >>> prepare_out(Path(tempfile.mkdtemp()) / "new", force=False)  # absent: nothing to do
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.commands._options import options_spec
from embeddings._atomic import check_writable
from embeddings.errors import InvalidParameterError, ModelFormatError

__all__ = [
    "RUN_FILE",
    "RUN_FORMAT",
    "check_data",
    "out_folder",
    "prepare_out",
    "read_run",
    "refuse_links",
    "write_run",
]


#: the file in ``OUT/training/`` that records a run's family and parameters
RUN_FILE = "run.json"

RUN_FORMAT = "transferkit-train-run"

RUN_FORMAT_VERSION = 1

_RUN_FIELDS: dict[str, type] = {
    "format": str,
    "format_version": int,
    "family": str,
    "params": dict,
    "corpus": str,
}


def _run_path(out: Path) -> Path:
    return out / "training" / RUN_FILE


def read_run(out: Path, family: Any) -> dict[str, Any]:
    """The stored run of ``out``, every field checked against the family's options."""
    path = _run_path(out)
    if not path.is_file():
        raise InvalidParameterError(
            f"--resume: {out} holds no run to continue ({path} is missing); "
            "start a run without --resume"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFormatError(f"{path}: cannot read the stored run: {err}") from err
    if not isinstance(data, dict):
        raise ModelFormatError(f"{path}: expected a JSON object, got {type(data).__name__}")
    for key, typ in _RUN_FIELDS.items():
        if not isinstance(data.get(key), typ) or isinstance(data.get(key), bool):
            raise ModelFormatError(
                f"{path}: field {key!r} must be a {typ.__name__}, got {data.get(key)!r:.60}"
            )
    if data["format"] != RUN_FORMAT or data["format_version"] != RUN_FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: format {data['format']!r} version {data['format_version']} is not "
            f"{RUN_FORMAT!r} version {RUN_FORMAT_VERSION}"
        )
    if data["family"] != family.name:
        raise InvalidParameterError(
            f"--resume: {out} holds a {data['family']!r} run, not {family.name!r}; continue it "
            f"with: transferkit train {data['family']} --out {shlex.quote(str(out))} --resume"
        )
    options = {o.param: o for o in options_spec(family)}
    for key, value in data["params"].items():
        if key in options:
            if not options[key].check(value):
                raise ModelFormatError(
                    f"{path}: params.{key} = {value!r:.60} is not a valid value of "
                    f"{options[key].flag} ({options[key].metavar})"
                )
        elif key in family.params:
            if value != family.params[key]:
                raise ModelFormatError(
                    f"{path}: params.{key} = {value!r:.60}, but {family.name} fixes "
                    f"{key}={family.params[key]!r}"
                )
        else:
            raise ModelFormatError(
                f"{path}: params.{key} is not a parameter of {family.name}; "
                f"allowed: {sorted([*options, *family.params])}"
            )
    return data


def write_run(out: Path, family: Any, params: Mapping[str, Any], corpus: str) -> None:
    from embeddings._atomic import atomic_write_text

    record = {
        "format": RUN_FORMAT,
        "format_version": RUN_FORMAT_VERSION,
        "family": family.name,
        "class": family.target,
        "params": dict(params),
        "corpus": str(corpus),
    }
    path = _run_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")


def out_folder(given: str) -> Path:
    """``--out`` as a path, checked to be writable before any training.

    An ``--out`` that is itself a symbolic link names the folder it points to (the
    caller chose it); links inside ``OUT`` are refused (:func:`refuse_links`).
    """
    out = Path(given)
    if out.is_symlink():
        out = Path(os.path.realpath(out))
    return check_writable(out, what="--out", folder=True)


def refuse_links(out: Path) -> None:
    """Refuse an ``OUT/training`` that holds a symbolic link or a special file.

    A resumed run reads and writes only inside ``OUT``: a link there could make it
    overwrite, or read checkpoints from, files elsewhere; a FIFO would block a read.
    """
    training = out / "training"
    found: Path | None = training if training.is_symlink() else None
    if found is None and training.is_dir():
        for folder, dirs, files in os.walk(training):  # never descends into links
            for name in [*dirs, *files]:
                path = Path(folder) / name
                if path.is_symlink() or not (path.is_dir() or path.is_file()):
                    found = path
                    break
            if found is not None:
                break
    if found is not None:
        kind = "a symbolic link" if found.is_symlink() else "not a regular file or folder"
        raise InvalidParameterError(
            f"--resume: {found} is {kind}; a run reads and writes only regular files inside "
            f"--out {out}: remove it, or start over with --force"
        )


def prepare_out(out: Path, force: bool) -> None:
    """Refuse a non-empty ``out`` unless ``force``; with ``force``, delete it."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InvalidParameterError(f"--out {out} exists and is not a folder")
    if not any(out.iterdir()):
        return
    if not force:
        raise InvalidParameterError(
            f"--out {out} exists and is not empty; pass --resume to continue the run stored "
            "there, or --force to delete it and start over"
        )
    if not ((out / "config.json").is_file() or (out / "training").is_dir()):
        raise InvalidParameterError(
            f"--force: {out} does not look like the output of transferkit train (no "
            "config.json, no training/), so it is left untouched; remove it yourself or "
            "choose another --out"
        )
    shutil.rmtree(out)


def check_data(family: Any, given: str, *, check: bool = True) -> str:
    """The data argument as stored in ``run.json``; a bad one fails before ``OUT`` is touched."""
    if family.data_check is None:
        if check:
            from embeddings.training.corpus import corpus_files

            corpus_files(given)  # a missing or empty corpus fails here
        return str(Path(given).resolve())
    import importlib

    module, _, name = family.data_check.partition(":")
    resolve = getattr(importlib.import_module(module), name)
    return str(resolve(given))
