"""Published reference numbers to show beside computed scores.

A reference set is a JSON file in ``benchmarks/reference/`` (or any path): models,
each with its scores (``value`` in points, 0-100, the metric, a note) and a source
that must carry a citation.

Example:
    >>> load_reference("senteval")["models"][0]["scores"]["MR"]["value"]
    81.1
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypedDict

from embeddings.errors import InvalidParameterError, ModelFormatError

__all__ = [
    "REFERENCE_DIR",
    "ReferenceModel",
    "ReferenceScore",
    "ReferenceSet",
    "list_references",
    "load_reference",
]

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
"""Where the published reference numbers live (one JSON file per set)."""


class ReferenceScore(TypedDict, total=False):
    """One published number: its value (points, 0-100), the metric, and a note."""

    value: float
    metric: str
    note: str


class ReferenceModel(TypedDict):
    """One published model: a column of the reference set; ``source`` names its citation."""

    label: str
    source: str
    protocol: str
    scores: dict[str, ReferenceScore]


class ReferenceSet(TypedDict):
    """A reference file: its models and the citations of its sources."""

    name: str
    description: str
    scale: str
    sources: dict[str, dict[str, str]]
    models: list[ReferenceModel]


def list_references() -> list[str]:
    """The names of the bundled reference sets.

    Example:
        >>> "senteval" in list_references()
        True
    """
    return sorted(p.stem for p in REFERENCE_DIR.glob("*.json"))


def load_reference(name_or_path: str | os.PathLike[str]) -> ReferenceSet:
    """A reference set by name (``"senteval"``) or from a JSON file path.

    Every model must name a source with a citation: a reference is cited or absent.

    Raises:
        InvalidParameterError: unknown name.
        ModelFormatError: a file without ``models``, or a model without a cited source.

    Example:
        >>> ref = load_reference("senteval")
        >>> ref["models"][0]["scores"]["MR"]["value"]
        81.1
    """
    path = Path(name_or_path)
    if not path.is_file():
        path = REFERENCE_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise InvalidParameterError(
                f"unknown reference set {str(name_or_path)!r}; bundled: {list_references()}, "
                "or give the path of a JSON file"
            )
    from benchmarks.results import read_json_file

    data = read_json_file(path, what="reference", follow_link=True)
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ModelFormatError(f"{path}: a reference file needs a 'models' list")
    sources = data.get("sources") or {}
    if not isinstance(sources, dict):
        raise ModelFormatError(f"{path}: 'sources' must be an object of citations")
    for i, model in enumerate(data["models"]):
        if not isinstance(model, dict) or not isinstance(model.get("scores"), dict):
            raise ModelFormatError(f"{path}: models[{i}] needs a 'scores' object")
        for score in model["scores"].values():
            value = score.get("value") if isinstance(score, dict) else None
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ModelFormatError(f"{path}: each score of models[{i}] needs a numeric 'value'")
        if not isinstance(model.get("source"), str):
            raise ModelFormatError(f"{path}: models[{i}].source must be a string")
        source = sources.get(model.get("source"))
        if not isinstance(source, dict) or not str(source.get("citation", "")).strip():
            raise ModelFormatError(
                f"{path}: models[{i}] ({model.get('label')!r}) names the source "
                f"{model.get('source')!r}, which has no citation in 'sources' "
                f"(sources with citations: {sorted(k for k, v in sources.items() if v)})"
            )
        model.setdefault("label", str(model.get("source")))
        model.setdefault("protocol", "")
    return {
        "name": str(data.get("name", path.stem)),
        "description": str(data.get("description", "")),
        "scale": str(data.get("scale", "percent")),
        "sources": sources,
        "models": data["models"],
    }
