"""Crash-safe training checkpoints: a folder per checkpoint and a ``latest`` pointer.

A checkpoint is written into a temporary folder (every file fsynced), renamed into
place (``ckpt-000000120``), and only then named in ``latest``; older checkpoints
are removed after that, so the previous one stays loadable until the new one is
complete.  Reading takes the checkpoint ``latest`` names, else the newest complete
folder.  Nothing is unpickled: tensors go to safetensors, optimizer/scheduler
state to ``torch.save`` read back with ``weights_only=True``, the rest to JSON.

The trainer's loop state is a :class:`TrainState`, whose :meth:`TrainState.as_dict`
is the ``state.json`` of a checkpoint and whose :meth:`TrainState.from_dict`
validates it when read back.

Example:
    >>> import tempfile, torch
    >>> root = tempfile.mkdtemp()
    >>> _ = write_checkpoint(root, 3, {"w": torch.ones(2)}, {}, TrainState(step=3).as_dict())
    >>> TrainState.from_dict(read_latest(root)[2]).step
    3
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from embeddings._atomic import atomic_write_text, fsync_dir, write_folder_atomically
from embeddings.errors import ModelFormatError
from embeddings.training.loss_plot import is_number

__all__ = ["STOP_REASONS", "TrainState", "write_checkpoint", "read_latest", "list_checkpoints"]

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


def write_checkpoint(
    root: str | os.PathLike[str],
    step: int,
    tensors: dict[str, Any],
    torch_state: dict[str, Any],
    state: dict[str, Any],
    *,
    keep: int = 2,
) -> Path:
    """Write checkpoint ``step`` and point ``latest`` at it; keep the newest ``keep``.

    Args:
        root: the checkpoint folder.
        step: the optimizer step the checkpoint was taken after.
        tensors: named tensors (model weights, best weights) for safetensors.
        torch_state: optimizer/scheduler ``state_dict``s (tensors, numbers, lists).
        state: JSON-compatible trainer state.
        keep: how many checkpoints to keep (>= 1).

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

    if final.exists():  # a checkpoint of the same step from an earlier, killed run
        shutil.rmtree(final)
        fsync_dir(root)
    write_folder_atomically(final, fill, kind="checkpoint")
    atomic_write_text(root / _LATEST, final.name + "\n")
    for old in list_checkpoints(root)[: -max(int(keep), 1)]:
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _read(folder: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
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
    if not isinstance(state, dict) or not isinstance(torch_state, dict):
        raise ModelFormatError(f"{folder}: malformed checkpoint")
    return tensors, torch_state, state


def read_latest(
    root: str | os.PathLike[str],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
    """The newest readable checkpoint as ``(tensors, torch_state, state)``, or ``None``.

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
