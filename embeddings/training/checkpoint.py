"""Crash-safe training checkpoints: a folder per checkpoint and a ``latest`` pointer.

A checkpoint is written into a temporary folder (every file fsynced), renamed into
place (``ckpt-000000120``), and only then named in ``latest``; older checkpoints
are removed after that, so the previous one stays loadable until the new one is
complete.  Reading takes the checkpoint ``latest`` names, else the newest complete
folder.  Nothing is unpickled: tensors go to safetensors, optimizer/scheduler
state to ``torch.save`` read back with ``weights_only=True``, the rest to JSON.

Each checkpoint also records what run it belongs to (``run_key.json``: the settings that
decide the result and a digest of the data, see :func:`data_digest`), so that a resume
with other settings or other data is refused (:func:`run_changes`) instead of
silently mixing two runs.

The trainer's loop state is a :class:`TrainState`, whose :meth:`TrainState.as_dict`
is the ``state.json`` of a checkpoint and whose :meth:`TrainState.from_dict`
validates it when read back.

Example:
    >>> import tempfile, torch
    >>> root = tempfile.mkdtemp()
    >>> _ = write_checkpoint(root, 3, {"w": torch.ones(2)}, {}, TrainState(step=3).as_dict())
    >>> TrainState.from_dict(read_latest(root).state).step
    3
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from embeddings._atomic import atomic_write_text, fsync_dir, write_folder_atomically
from embeddings.errors import ModelFormatError
from embeddings.training.loss_plot import is_number

__all__ = [
    "STOP_REASONS", "Checkpoint", "TrainState", "data_digest", "list_checkpoints", "read_latest",
    "run_changes", "weights_digest", "write_checkpoint",
]  # fmt: skip

_NAME = re.compile(r"^ckpt-(\d{9})$")
_LATEST = "latest"

#: why a run stopped; ``""`` while it runs
STOP_REASONS = ("", "completed", "early_stopping", "max_steps", "time_budget")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class TrainState:
    """Where a training run is: the loop state that a checkpoint's ``state.json`` holds.

    Attributes:
        step: optimizer steps taken in total.
        epoch: the current epoch (0-based).
        batch: the next batch of the current epoch's plan.
        epoch_loss: the sum of ``loss * items`` over the current epoch.
        epoch_items: items seen in the current epoch.
        window_loss: the sum of ``loss * items`` since the last logged step record.
        window_items: items since the last logged step record.
        best_metric: the best dev metric so far, or ``None``.
        best_epoch: the epoch of ``best_metric``, or ``None``.
        stale: epochs since the best dev metric.
        history: one record per finished epoch.
        seconds: training wall time over every invocation.
        done: whether the run is over.
        stop_reason: one of :data:`STOP_REASONS`.
        lr_scale: the learning-rate factor of plateaus so far.

    Example:
        >>> TrainState.from_dict(TrainState(step=4, epoch=1).as_dict()).epoch
        1
    """

    step: int = 0
    epoch: int = 0
    batch: int = 0
    epoch_loss: float = 0.0
    epoch_items: int = 0
    window_loss: float = 0.0
    window_items: int = 0
    best_metric: float | None = None
    best_epoch: int | None = None
    stale: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    done: bool = False
    stop_reason: str = ""
    lr_scale: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (the checkpoint's ``state.json``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Any, *, where: str = "checkpoint state") -> TrainState:
        """Validate a ``state.json`` and build the state from it.

        Raises:
            ModelFormatError: a missing, unknown or malformed field, named with the
                value found and what is allowed.
        """
        if not isinstance(values, dict):
            raise ModelFormatError(f"{where}: expected a JSON object, got {type(values).__name__}")
        known = [f.name for f in fields(cls)]
        missing = [k for k in known if k not in values]
        unknown = sorted(k for k in values if k not in known)
        if missing or unknown:
            raise ModelFormatError(
                f"{where}: missing field(s) {missing}, unknown field(s) {unknown}; a checkpoint "
                "written by another version cannot be resumed: start without resume"
            )
        for name in known:
            _check_field(name, values[name], where)
        return cls(**{k: values[k] for k in known})


#: field -> (test, what is allowed)
_FIELD_RULES: dict[str, tuple[Any, str]] = {
    "int": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "number": (is_number, "a finite number"),
    "optional_number": (lambda v: v is None or is_number(v), "null or a finite number"),
    "optional_int": (lambda v: v is None or (_is_int(v) and v >= 0), "null or an integer >= 0"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "stop_reason": (lambda v: v in STOP_REASONS, f"one of {list(STOP_REASONS)}"),
    "history": (
        lambda v: isinstance(v, list) and all(isinstance(r, dict) for r in v),
        "a list of epoch records (objects)",
    ),
}
_FIELD_KINDS = {
    "step": "int", "epoch": "int", "batch": "int", "epoch_items": "int", "window_items": "int",
    "stale": "int", "epoch_loss": "number", "window_loss": "number", "seconds": "number",
    "lr_scale": "number", "best_metric": "optional_number", "best_epoch": "optional_int",
    "done": "bool", "stop_reason": "stop_reason", "history": "history",
}  # fmt: skip


def _check_field(name: str, value: Any, where: str) -> None:
    test, allowed = _FIELD_RULES[_FIELD_KINDS[name]]
    if not test(value):
        raise ModelFormatError(
            f"{where}: field {name!r} must be {allowed}, got {value!r:.60}; the checkpoint is "
            "damaged: delete it to resume from an older one, or start without resume"
        )


def list_checkpoints(root: str | os.PathLike[str]) -> list[Path]:
    """Complete checkpoint folders under ``root``, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and _NAME.match(p.name)]
    return sorted(found, key=lambda p: p.name)


class Checkpoint(NamedTuple):
    """A checkpoint read back: weights, optimizer/RNG state, loop state and run key."""

    tensors: dict[str, Any]
    torch_state: dict[str, Any]
    state: dict[str, Any]
    #: the ``run_key`` given to :func:`write_checkpoint`; ``None`` when it recorded none
    run_key: dict[str, Any] | None


def write_checkpoint(
    root: str | os.PathLike[str],
    step: int,
    tensors: dict[str, Any],
    torch_state: dict[str, Any],
    state: dict[str, Any],
    *,
    keep: int = 2,
    run_key: dict[str, Any] | None = None,
) -> Path:
    """Write checkpoint ``step`` and point ``latest`` at it; keep the newest ``keep``.

    Args:
        root: the checkpoint folder.
        step: the optimizer step the checkpoint was taken after.
        tensors: named tensors (model weights, best weights) for safetensors.
        torch_state: optimizer/scheduler ``state_dict``s (tensors, numbers, lists).
        state: JSON-compatible trainer state.
        keep: how many checkpoints to keep (>= 1).
        run_key: JSON-compatible description of the run (its settings and data),
            read back as :attr:`Checkpoint.run_key`.

    Returns:
        the checkpoint folder.
    """
    import torch
    from safetensors.torch import save_file

    root = Path(root)
    final = root / f"ckpt-{int(step):09d}"

    def fill(tmp: Path) -> None:
        save_file(
            {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()},
            str(tmp / "tensors.safetensors"),
        )
        torch.save(torch_state, tmp / "optim.pt")
        (tmp / "state.json").write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
        if run_key is not None:
            (tmp / "run_key.json").write_text(json.dumps(run_key, sort_keys=True),
                                              encoding="utf-8")  # fmt: skip

    if final.exists():  # a checkpoint of the same step from an earlier, killed run
        shutil.rmtree(final)
        fsync_dir(root)
    write_folder_atomically(final, fill, kind="checkpoint")
    atomic_write_text(root / _LATEST, final.name + "\n")
    for old in list_checkpoints(root)[: -max(int(keep), 1)]:
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _read(folder: Path) -> Checkpoint:
    import torch
    from safetensors.torch import load_file

    from embeddings.formats._files import check_regular_file

    if folder.is_symlink():
        raise ModelFormatError(f"{folder}: a checkpoint folder that is a link is not read")
    for name in ("tensors.safetensors", "optim.pt", "state.json"):  # no FIFO, device or link out
        check_regular_file(folder / name, what="checkpoint file", inside=folder)
    tensors = load_file(str(folder / "tensors.safetensors"))
    torch_state = torch.load(folder / "optim.pt", weights_only=True, map_location="cpu")
    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    run: Any = None  # no run_key.json: a checkpoint that recorded no run
    has_run = (folder / "run_key.json").exists() or (folder / "run_key.json").is_symlink()
    if has_run:
        check_regular_file(folder / "run_key.json", what="checkpoint file", inside=folder)
        run = json.loads((folder / "run_key.json").read_text(encoding="utf-8"))
    if not (isinstance(state, dict) and isinstance(torch_state, dict)
            and (isinstance(run, dict) or not has_run)):  # fmt: skip
        raise ModelFormatError(f"{folder}: malformed checkpoint")
    return Checkpoint(tensors, torch_state, state, run)


def read_latest(root: str | os.PathLike[str]) -> Checkpoint | None:
    """The newest readable checkpoint, or ``None``.

    The folder named in ``latest`` is tried first, then every complete folder from
    the newest down (a damaged one is skipped).
    """
    root = Path(root)
    candidates: list[Path] = []
    pointer = root / _LATEST
    if pointer.is_file() and not pointer.is_symlink() and pointer.stat().st_size < 4096:
        name = pointer.read_text(encoding="utf-8", errors="replace").strip()
        if _NAME.match(name) and (root / name).is_dir():
            candidates.append(root / name)
    candidates += [p for p in reversed(list_checkpoints(root)) if p not in candidates]
    for folder in candidates:
        try:
            return _read(folder)
        except Exception:  # a damaged checkpoint: fall back to an older one
            continue
    return None


# ------------------------------------------------------------------ run identity
def data_digest(data: Any) -> str:
    """sha256 of training data: texts, pairs, labels, arrays and corpus paths.

    Strings and numbers are hashed by value (a numpy string or integer like its Python
    twin), numpy arrays by dtype, shape and bytes, lists, tuples, dicts and dataclasses
    item by item, and a path (a ``Path``) by the resolved name, size and modification
    time of each corpus file it names
    (:meth:`~embeddings.training.corpus.OrderedCorpus.fingerprint`; the corpus is not
    read again).

    Example:
        >>> ab = data_digest(["a", "b"])
        >>> ab == data_digest(("a", "b")), ab == data_digest(["b", "a"])
        (True, False)
    """
    h = hashlib.sha256()
    _digest_into(h, data)
    return h.hexdigest()


def weights_digest(module: Any) -> str:
    """sha256 of a torch module's ``state_dict`` (names, dtypes, shapes and bytes).

    Example:
        >>> import torch
        >>> net = torch.nn.Linear(2, 1)
        >>> weights_digest(net) == weights_digest(net), len(weights_digest(net))
        (True, 64)
    """
    import torch

    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        t = t.detach().to("cpu").contiguous()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _scalar_kind(item: Any) -> str | None:
    """One tag per kind of scalar, so that ``np.str_("a")`` hashes like ``"a"``."""
    if item is None:
        return "n"
    if isinstance(item, (bool, np.bool_)):
        return "b"
    if isinstance(item, (str, np.str_)):
        return "s"
    if isinstance(item, (int, np.integer)):
        return "i"
    if isinstance(item, (float, np.floating)):
        return "f"
    return None


def _digest_into(h: Any, item: Any) -> None:
    kind = _scalar_kind(item)
    if kind is not None:
        value = str(item.item() if isinstance(item, np.generic) else item)
        h.update(f"{kind}:{value}".encode("utf-8", "surrogatepass") + b"\0")
    elif isinstance(item, os.PathLike):  # the corpus files' names, sizes and times
        from embeddings.training.corpus import OrderedCorpus

        h.update(b"P" + OrderedCorpus(item).fingerprint().encode())
    elif isinstance(item, np.ndarray) and item.dtype.kind not in "OUS":
        h.update(f"A{item.dtype.str}{item.shape}".encode())
        h.update(np.ascontiguousarray(item).tobytes())
    elif isinstance(item, dict):
        h.update(b"{")
        for k in sorted(item, key=str):
            _digest_into(h, str(k))
            _digest_into(h, item[k])
        h.update(b"}")
    elif dataclasses.is_dataclass(item) and not isinstance(item, type):
        _digest_into(h, {f.name: getattr(item, f.name) for f in dataclasses.fields(item)})
    else:
        h.update(b"[")
        for x in item:  # a list, tuple, text array or other iterable of the above
            _digest_into(h, x)
        h.update(b"]")


def run_changes(saved: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[str]:
    """What differs between two run descriptions, one ``"key: A there, B here"`` each.

    Example:
        >>> run_changes({"epochs": 3, "lr": 0.1}, {"epochs": 5, "lr": 0.1})
        ['epochs: 3 there, 5 here']
    """
    out: list[str] = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key, "(not set)"), now.get(key, "(not set)")
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += run_changes(a, b, prefix=f"{name}.")
        elif a != b and key in _DIGESTS:
            out.append(f"{name}: {_DIGESTS[key]} differ")
        elif a != b:
            out.append(f"{name}: {_short(a)} there, {_short(b)} here")
    return out


#: run-key fields that hold a digest, and what a difference means
_DIGESTS = {"data": "the training data", "initial_weights": "the starting weights"}


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
