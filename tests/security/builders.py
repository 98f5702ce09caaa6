"""Builders shared by the hostile-input tests: saved-folder configs and pickle payloads."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any


class MakeDir:
    """Unpickling this creates a folder: the proof that a pickle ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.mkdir, (self.path,)


def write_payload(folder: Path, name: str, marker: Path) -> Path:
    """``folder/name``: a pickle whose loading creates the folder ``marker``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(pickle.dumps(MakeDir(marker)))
    return path


def write_config(folder: Path, klass: str, params: dict[str, Any], **extra: Any) -> Path:
    """A saved-encoder folder with a hand-written ``config.json`` (``extra`` overrides
    fields, e.g. ``fitted``/``state``); the adapter version is the class's own."""
    from embeddings.registry import resolve_encoder_class

    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "format": "transferkit-encoder",
        "format_version": 1,
        "class": klass,
        "adapter_version": resolve_encoder_class(klass).adapter_version,
        "preset": None,
        "params": params,
        "fitted": False,
        "state": {},
        "fingerprint": "0" * 64,
        **extra,
    }
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder
