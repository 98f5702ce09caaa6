"""The catalogue of published models: reading and validating ``catalog.json``.

The catalogue is data.  An *artifact* is a set of files published together (the
GloVe 6B zip, the seven Skip-Thought files), each with its download URLs (mirrors
in order), its size and sha256 where the publisher gives them, and for archives the
members to extract.  A *model* names the artifacts it needs, the registry preset
that loads them and the preset's parameters, where ``{ARTIFACT}`` stands for the
artifact's downloaded folder and ``{ARTIFACT/FILE}`` for a file in it.

The catalogue shipped with transferkit is read by default; ``TRANSFERKIT_CATALOG``
names another one (a mirror, or a test server).

Example:
    >>> cat = load_catalog()
    >>> cat.models["infersent-v1"].preset
    'infersent'
    >>> sorted(cat.models["infersent-v1"].artifacts)
    ['glove.840B.300d', 'infersent1']
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from embeddings._jsonfile import read_json_file
from embeddings.errors import ModelFormatError

__all__ = ["CatalogFile", "Artifact", "PublishedModel", "Catalog", "catalog_path", "load_catalog"]

#: the catalogue shipped with transferkit
DEFAULT_CATALOG = Path(__file__).with_name("catalog.json")
_MAX_CATALOG_BYTES = 4 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ARCHIVES = ("zip", "tar.gz", "gzip")

Archive = Literal["zip", "tar.gz", "gzip"]


@dataclass(frozen=True)
class CatalogFile:
    """One published file: where to get it, how to check it, what it holds."""

    name: str
    urls: tuple[str, ...]
    size: int | None
    sha256: str | None
    archive: Archive | None = None
    #: the members to extract from an archive; ``None`` for every regular file
    members: tuple[str, ...] | None = None
    approx_size: str | None = None

    @property
    def outputs(self) -> tuple[str, ...] | None:
        """The paths this file leaves in its artifact's folder (``None``: any member)."""
        return (self.name,) if self.archive is None else self.members


@dataclass(frozen=True)
class Artifact:
    """Files published together; they are downloaded into one folder."""

    name: str
    source: str
    licence: str
    files: tuple[CatalogFile, ...]


@dataclass(frozen=True)
class PublishedModel:
    """A loadable name: a registry preset plus parameters naming downloaded files."""

    name: str
    family: str
    description: str
    artifacts: tuple[str, ...]
    preset: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Catalog:
    """A validated catalogue."""

    path: Path
    artifacts: dict[str, Artifact]
    models: dict[str, PublishedModel]
    omissions: dict[str, str]


def catalog_path() -> Path:
    """``$TRANSFERKIT_CATALOG`` when set, else the catalogue shipped with transferkit."""
    value = os.environ.get("TRANSFERKIT_CATALOG", "").strip()
    return Path(value).expanduser() if value else DEFAULT_CATALOG


def _fail(path: Path, where: str, msg: str) -> ModelFormatError:
    return ModelFormatError(f"{path}: {where}: {msg}")


def _str(path: Path, where: str, value: object, *, max_len: int = 2000) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise _fail(
            path,
            where,
            f"must be a non-empty str of at most {max_len} characters, got {type(value).__name__}",
        )
    return value


def _relpath(path: Path, where: str, value: object) -> str:
    """A relative path of plain parts: no ``..``, no absolute path, no backslash."""
    text = _str(path, where, value, max_len=400)
    parts = text.split("/")
    if len(parts) > 8 or not all(_PART.match(p) and p not in (".", "..") for p in parts):
        raise _fail(
            path,
            where,
            f"{text[:80]!r} is not a relative path of plain names "
            "(letters, digits, '._-'; no '..', no absolute path)",
        )
    return text


def _url(path: Path, where: str, value: object) -> str:
    text = _str(path, where, value)
    if not text.startswith(("https://", "http://")) or any(c.isspace() for c in text):
        raise _fail(path, where, f"{text[:80]!r} is not an http(s) URL")
    return text


def _keys(path: Path, where: str, obj: object, required: set[str], optional: set[str]) -> dict:
    if not isinstance(obj, dict):
        raise _fail(path, where, f"must be an object, got {type(obj).__name__}")
    missing = sorted(required - set(obj))
    unknown = sorted(set(obj) - required - optional)
    if missing or unknown:
        raise _fail(
            path,
            where,
            f"missing fields {missing}, unknown fields "
            f"{[str(k)[:40] for k in unknown]}; allowed: {sorted(required | optional)}",
        )
    return obj


def _file(path: Path, where: str, raw: object) -> CatalogFile:
    d = _keys(
        path, where, raw, {"name", "urls", "size", "sha256"}, {"archive", "members", "approx_size"}
    )
    name = _relpath(path, f"{where}.name", d["name"])
    urls = d["urls"]
    if not isinstance(urls, list) or not 1 <= len(urls) <= 8:
        raise _fail(path, f"{where}.urls", "must be a list of 1 to 8 URLs")
    size = d["size"]
    if size is not None and (type(size) is not int or size <= 0):
        raise _fail(path, f"{where}.size", f"must be null or a positive int, got {size!r:.40}")
    sha = d["sha256"]
    if sha is not None and not (isinstance(sha, str) and _SHA256.match(sha)):
        raise _fail(path, f"{where}.sha256", "must be null or 64 lowercase hex digits")
    archive = d.get("archive")
    if archive is not None and archive not in _ARCHIVES:
        raise _fail(path, f"{where}.archive", f"got {archive!r:.40}; allowed: {list(_ARCHIVES)}")
    members: tuple[str, ...] | None = None
    if archive is not None:
        raw_members = d.get("members")
        if raw_members == "*" and archive == "tar.gz":
            members = None
        elif isinstance(raw_members, list) and 1 <= len(raw_members) <= 1000:
            members = tuple(_relpath(path, f"{where}.members", m) for m in raw_members)
            if archive == "gzip" and len(members) != 1:
                raise _fail(path, f"{where}.members", "a gzip file holds exactly one member")
        else:
            raise _fail(
                path,
                f"{where}.members",
                "must list 1 to 1000 member paths ('*': every regular file, tar.gz only)",
            )
    elif "members" in d:
        raise _fail(path, f"{where}.members", "only an archive has members")
    approx = d.get("approx_size")
    return CatalogFile(
        name=name,
        urls=tuple(_url(path, f"{where}.urls", u) for u in urls),
        size=size,
        sha256=sha,
        archive=archive,
        members=members,
        approx_size=None
        if approx is None
        else _str(path, f"{where}.approx_size", approx, max_len=40),
    )


def _artifact(path: Path, name: str, raw: object) -> Artifact:
    where = f"artifacts.{name}"
    d = _keys(path, where, raw, {"source", "licence", "files"}, set())
    files = d["files"]
    if not isinstance(files, list) or not 1 <= len(files) <= 100:
        raise _fail(path, f"{where}.files", "must be a list of 1 to 100 files")
    parsed = tuple(_file(path, f"{where}.files[{i}]", f) for i, f in enumerate(files))
    seen: set[str] = set()
    for f in parsed:
        for out in (f.name, *(f.outputs or ())):
            if out in seen and out != f.name:
                raise _fail(path, where, f"two files produce {out!r}")
        if f.name in seen:
            raise _fail(path, where, f"file {f.name!r} is listed twice")
        seen.update((f.name, *(f.outputs or ())))
    return Artifact(
        name=name,
        source=_str(path, f"{where}.source", d["source"]),
        licence=_str(path, f"{where}.licence", d["licence"], max_len=80),
        files=parsed,
    )


def _check_placeholders(
    path: Path,
    where: str,
    value: object,
    model: PublishedModel,
    artifacts: dict[str, Artifact],
    depth: int = 0,
) -> None:
    if depth > 3:
        raise _fail(path, where, "nested too deeply")
    if isinstance(value, list):
        for item in value[:100]:
            _check_placeholders(path, where, item, model, artifacts, depth + 1)
        return
    if value is None or isinstance(value, (bool, int, float)):
        return
    if not isinstance(value, str) or len(value) > 1000:
        raise _fail(path, where, "parameter values are JSON scalars or lists")
    for ref in _PLACEHOLDER.findall(value):
        art, _, rel = ref.partition("/")
        if art not in model.artifacts:
            raise _fail(
                path,
                where,
                f"{{{ref[:80]}}} names {art[:80]!r}, not one of the model's "
                f"artifacts {list(model.artifacts)}",
            )
        if rel:
            _relpath(path, where, rel)
            outputs = [f.outputs for f in artifacts[art].files]
            if None not in outputs and rel not in {o for out in outputs for o in out or ()}:
                raise _fail(path, where, f"{{{ref[:80]}}}: artifact {art!r} has no file {rel!r}")


def _model(path: Path, name: str, raw: object, artifacts: dict[str, Artifact]) -> PublishedModel:
    where = f"models.{name}"
    d = _keys(path, where, raw, {"family", "description", "artifacts", "preset", "params"}, set())
    arts = d["artifacts"]
    if not isinstance(arts, list) or not 1 <= len(arts) <= 10:
        raise _fail(path, f"{where}.artifacts", "must list 1 to 10 artifact names")
    for a in arts:
        if a not in artifacts:
            raise _fail(path, f"{where}.artifacts", f"unknown artifact {str(a)[:80]!r}")
    params = d["params"]
    if not isinstance(params, dict) or len(params) > 50:
        raise _fail(path, f"{where}.params", "must be an object of at most 50 parameters")
    model = PublishedModel(
        name=name,
        family=_str(path, f"{where}.family", d["family"], max_len=40),
        description=_str(path, f"{where}.description", d["description"]),
        artifacts=tuple(arts),
        preset=_str(path, f"{where}.preset", d["preset"], max_len=100),
        params=dict(params),
    )
    for key, value in params.items():
        if not _NAME.match(key):
            raise _fail(
                path, f"{where}.params", f"parameter name {key[:40]!r} is not an identifier"
            )
        _check_placeholders(path, f"{where}.params.{key}", value, model, artifacts)
    return model


def _names(path: Path, where: str, obj: object, limit: int) -> dict:
    if not isinstance(obj, dict) or len(obj) > limit:
        raise _fail(path, where, f"must be an object of at most {limit} entries")
    for key in obj:
        if not _NAME.match(key):
            raise _fail(
                path,
                where,
                f"name {key[:80]!r} is not allowed (letters, digits, '._-', "
                "starting with a letter or digit, at most 100 characters)",
            )
    return obj


def load_catalog(path: str | os.PathLike[str] | None = None) -> Catalog:
    """Read and validate a catalogue (default: :func:`catalog_path`).

    Raises:
        ModelFormatError: the file is missing, not a regular file, larger than 4 MiB,
            not JSON, or a field breaks the schema (the message names the field).
    """
    p = catalog_path() if path is None else Path(path)
    raw = read_json_file(p, what="model catalogue", limit=_MAX_CATALOG_BYTES)
    d = _keys(p, "top level", raw, {"format", "version", "artifacts", "models"}, {"omissions"})
    if d["format"] != "transferkit-catalog" or d["version"] != 1:
        raise _fail(p, "format/version", "expected 'transferkit-catalog' version 1")
    artifacts = {
        name: _artifact(p, name, a)
        for name, a in _names(p, "artifacts", d["artifacts"], 500).items()
    }
    models = {
        name: _model(p, name, m, artifacts)
        for name, m in _names(p, "models", d["models"], 500).items()
    }
    omissions = _names(p, "omissions", d.get("omissions", {}), 100)
    for key, why in omissions.items():
        _str(p, f"omissions.{key}", why)
    return Catalog(path=p, artifacts=artifacts, models=models, omissions=dict(omissions))
