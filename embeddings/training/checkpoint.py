"""Crash-safe training checkpoints: a folder per checkpoint and a ``latest`` pointer.

A checkpoint is written into a temporary folder (every file fsynced), renamed into
place (``ckpt-000000120``), and only then named in ``latest``; older checkpoints
are removed after that, so the previous one stays loadable until the new one is
complete.  Reading takes the checkpoint ``latest`` names, else the newest complete
folder.  Nothing is unpickled: tensors go to safetensors, optimizer/scheduler
state to ``torch.save`` read back with ``weights_only=True``, the rest to JSON.

Example:
    >>> import tempfile, torch
    >>> root = tempfile.mkdtemp()
    >>> _ = write_checkpoint(root, 3, {"w": torch.ones(2)}, {}, {"step": 3})
    >>> read_latest(root)[2]["step"]
    3
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from embeddings._atomic import atomic_write_text, fsync_dir, write_folder_atomically
from embeddings.errors import ModelFormatError

__all__ = ["write_checkpoint", "read_latest", "list_checkpoints"]

_NAME = re.compile(r"^ckpt-(\d{9})$")
_LATEST = "latest"


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
