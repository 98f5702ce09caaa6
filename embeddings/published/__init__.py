"""Published models, one command away: a catalogue (data) and verified downloads.

``transferkit models --catalog`` lists the catalogue; ``transferkit models pull NAME``
or ``embeddings.load(NAME, download=True)`` downloads a model's files into the model
cache (resumable, size- and sha256-checked, see :mod:`embeddings.published.download`)
and loads them with the registry preset the catalogue names.  Nothing is downloaded
unless the caller asks.

Example:
    >>> from embeddings.published import load_catalog, resolve_model
    >>> "glove-wiki-gigaword-100" in load_catalog().models
    True
    >>> try:
    ...     resolve_model("glove-wiki-gigaword-100", download=False)  # doctest: +SKIP
    ... except FileNotFoundError as err:
    ...     print("transferkit models pull" in str(err))
    True
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypedDict

from embeddings.errors import UnknownEncoderError
from embeddings.published.catalog import Catalog, PublishedModel, catalog_path, load_catalog

__all__ = [
    "CatalogRow",
    "catalog_path",
    "catalog_rows",
    "ensure_model",
    "get_model",
    "load_catalog",
    "lock_path",
    "published_root",
    "pull",
    "resolve_model",
]

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class CatalogRow(TypedDict):
    """One line of ``transferkit models --catalog``."""

    name: str
    family: str
    size: str
    source: str
    licence: str
    verified: str
    preset: str


def catalog_rows(catalog: Catalog | None = None) -> list[CatalogRow]:
    """One row per published model: its size, source, licence and how it is verified."""
    cat = load_catalog() if catalog is None else catalog
    rows: list[CatalogRow] = []
    for m in cat.models.values():
        arts = [cat.artifacts[a] for a in m.artifacts]
        files = [f for a in arts for f in a.files]
        sizes = [f.approx_size or (f"{f.size / 1e6:,.1f} MB" if f.size else "?") for f in files]
        published = sum(f.sha256 is not None for f in files)
        verified = (
            "sha256 published"
            if published == len(files)
            else "lock file"
            if published == 0
            else f"sha256 published ({published}/{len(files)}), lock file"
        )
        rows.append(
            CatalogRow(
                name=m.name,
                family=m.family,
                size=" + ".join(dict.fromkeys(sizes)) if len(files) <= 2 else f"{len(files)} files",
                source="; ".join(dict.fromkeys(a.source for a in arts)),
                licence=", ".join(dict.fromkeys(a.licence for a in arts)),
                verified=verified,
                preset=m.preset,
            )
        )
    return rows


def published_root() -> Path:
    """Where published artifacts are kept: ``model_cache_dir() / "published"``."""
    from embeddings.published.download import published_root as root

    return root()


def lock_path() -> Path:
    """The lock file: ``$TRANSFERKIT_MODELS_LOCK``, else ``transferkit-models.lock.json`` here."""
    from embeddings.published.lockfile import lock_path as path

    return path()


def get_model(name: str, catalog: Catalog | None = None) -> PublishedModel:
    """The catalogue entry ``name``.

    Raises:
        UnknownEncoderError: no such entry (with the catalogue's names, or the reason
            when it is a documented omission).
    """
    cat = load_catalog() if catalog is None else catalog
    if name in cat.models:
        return cat.models[name]
    if name in cat.omissions:
        raise UnknownEncoderError(f"{name} is not in the catalogue: {cat.omissions[name]}")
    import difflib

    close = difflib.get_close_matches(name, list(cat.models), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    raise UnknownEncoderError(
        f"{name[:100]!r} is not a published model{hint} See `transferkit models --catalog`"
    )


def ensure_model(
    model: PublishedModel,
    catalog: Catalog,
    *,
    download: bool,
    show_progress: bool = True,
    timeout: float = 60.0,
) -> dict[str, Path]:
    """The folder of each artifact of ``model``, downloaded first when ``download``."""
    from embeddings.published.download import ensure_artifact

    return {
        a: ensure_artifact(
            catalog.artifacts[a],
            model=model.name,
            download=download,
            show_progress=show_progress,
            timeout=timeout,
        )
        for a in model.artifacts
    }


def _fill(value: Any, folders: dict[str, Path]) -> Any:
    if isinstance(value, list):
        return [_fill(v, folders) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        art, _, rel = match.group(1).partition("/")
        return str(folders[art] / rel) if rel else str(folders[art])

    return _PLACEHOLDER.sub(one, value)


def resolve_model(
    name: str, *, download: bool, show_progress: bool = True, timeout: float = 60.0
) -> tuple[str, dict[str, Any]] | None:
    """``(preset, parameters)`` that load the published model ``name``, with the
    downloaded files' paths filled in; ``None`` when ``name`` is not in the catalogue.

    Raises:
        DataNotFoundError: not downloaded and ``download`` is false (the message names
            the pull command), or the download failed.
        ChecksumError, ModelFormatError: see :func:`ensure_artifact`.
    """
    catalog = load_catalog()
    model = catalog.models.get(name)
    if model is None:
        return None
    folders = ensure_model(
        model, catalog, download=download, show_progress=show_progress, timeout=timeout
    )
    return model.preset, {k: _fill(v, folders) for k, v in model.params.items()}


def pull(name: str, *, show_progress: bool = True, timeout: float = 60.0) -> dict[str, Path]:
    """Download the published model ``name`` (a no-op when already there and verified).

    Returns:
        The folder of each of its artifacts.

    Example:
        >>> import embeddings.published as pub
        >>> pub.pull("glove-wiki-gigaword-50")  # doctest: +SKIP
        {'glove.6B': PosixPath('/home/me/.cache/transferkit/models/published/glove.6B')}
    """
    catalog = load_catalog()
    model = get_model(name, catalog)
    return ensure_model(model, catalog, download=True, show_progress=show_progress, timeout=timeout)
