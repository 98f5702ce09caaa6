"""Verified, resumable downloads of published artifacts into the model cache.

An artifact lands in ``model_cache_dir()/published/NAME/``, and only whole:

1. each file streams into ``published/.NAME.parts/FILE.part``; an interrupted
   download resumes there with an HTTP ``Range`` request;
2. the size is checked before reading (``Content-Length`` against the catalogue's
   size or the lock file's) and after, and a server that sends more is cut off;
3. the sha256, computed while streaming, must equal the published one, else the
   lock file's; a file with neither has its sha256 recorded in the lock file;
4. archives are extracted by their expected members only
   (:mod:`embeddings.published.extract`) into a temporary folder, which gets a
   record of what was verified (``.transferkit-download.json``) and is then renamed
   to ``NAME``.

A process lock (``published/.NAME.lock``) keeps two downloads of one artifact apart.
A later load checks the record against the catalogue and the lock file, and the
extracted files' sizes against the record.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shutil
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from embeddings._atomic import atomic_write_json, fsync_dir, temporary_name, writing_errors
from embeddings._cache_dirs import model_cache_dir
from embeddings._jsonfile import read_json_file
from embeddings._progress import progress
from embeddings.errors import ChecksumError, DataNotFoundError, ModelFormatError
from embeddings.published.catalog import Artifact, CatalogFile
from embeddings.published.extract import MAX_MEMBER_BYTES, extract
from embeddings.published.lockfile import lock_path, read_lock, record_locks

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no process lock
    fcntl = None  # type: ignore[assignment]

__all__ = ["published_root", "ensure_artifact", "RECORD_NAME"]

RECORD_NAME = ".transferkit-download.json"
_MAX_RECORD_BYTES = 4 * 1024 * 1024
_CHUNK = 1 << 20
_MAX_REDIRECTS = 5


def published_root() -> Path:
    """Where published artifacts are kept: ``model_cache_dir() / "published"``."""
    return model_cache_dir() / "published"


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows at most 5 redirects, and only to http(s) URLs."""

    max_redirections = _MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if not newurl.lower().startswith(("http://", "https://")):
            raise DataNotFoundError(f"{req.full_url}: redirected to a non-http(s) URL; refused")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        _Redirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.UnknownHandler(),
    ):
        opener.add_handler(handler)
    return opener


def _hash_part(part: Path) -> tuple[Any, int]:
    h = hashlib.sha256()
    n = 0
    with open(part, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            n += len(chunk)
    return h, n


def _content_range_start(value: str | None) -> int | None:
    """The first byte of ``Content-Range: bytes START-END/TOTAL``."""
    if not value or not value.startswith("bytes ") or "-" not in value:
        return None
    start = value[6:].split("-", 1)[0].strip()
    return int(start) if start.isdigit() and len(start) < 20 else None


def _fetch(url: str, part: Path, size: int | None, hint: str, show: bool, timeout: float) -> str:
    """Stream ``url`` into ``part`` (resuming it), checking sizes; the sha256 in hex."""
    if os.path.lexists(part) and not stat.S_ISREG(os.lstat(part).st_mode):
        os.unlink(part)
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    if size is not None and have == size:  # complete, not yet verified
        return _hash_part(part)[0].hexdigest()
    headers = {"User-Agent": "transferkit", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = _opener().open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and have and size is None:  # the part already holds everything
            return _hash_part(part)[0].hexdigest()
        what = f"HTTP {err.code}"
        if 300 <= err.code < 400:
            what += " (redirect refused: a loop, more than 5, or a target other than http(s))"
        raise DataNotFoundError(f"cannot download {url}: {what}; {hint}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise DataNotFoundError(f"cannot download {url}: {str(reason)[:200]}; {hint}") from None
    with resp:
        if resp.status == 206 and _content_range_start(resp.headers.get("Content-Range")) == have:
            h, _ = _hash_part(part)
        else:  # the server sent the whole file
            have, h = 0, hashlib.sha256()
        length_text = resp.headers.get("Content-Length")
        length = int(length_text) if length_text and length_text.strip().isdigit() else None
        if size is not None and length is not None and have + length != size:
            raise ModelFormatError(
                f"{url}: the server announces {have + length} bytes, the catalogue or lock "
                f"file expects {size}; nothing was saved"
            )
        cap = size if size is not None else (have + length if length is not None else None)
        cap = MAX_MEMBER_BYTES if cap is None else cap
        got = have
        with (
            open(part, "ab" if have else "wb") as sink,
            progress(
                enabled=show,
                total=size or cap,
                desc=f"download {part.name[:-5]}",
                unit="byte",
                initial=have,
            ) as bar,
        ):
            try:
                while chunk := resp.read(min(_CHUNK, cap + 1 - got)):
                    got += len(chunk)
                    if got > cap:
                        sink.truncate(cap)
                        raise ModelFormatError(
                            f"{url}: the server sent more than the expected {cap} bytes; refused"
                        )
                    sink.write(chunk)
                    h.update(chunk)
                    bar.update(len(chunk))
            except (TimeoutError, http.client.IncompleteRead, OSError) as err:
                if isinstance(err, ModelFormatError):
                    raise
                raise DataNotFoundError(
                    f"download of {url} stopped at {got} bytes ({type(err).__name__}); {hint} "
                    "to resume it"
                ) from None
    expected = size if size is not None else (have + length if length is not None else got)
    if got != expected:
        raise DataNotFoundError(
            f"download of {url} stopped at {got} of {expected} bytes; {hint} to resume it"
        )
    return h.hexdigest()


@contextlib.contextmanager
def _process_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _read_record(folder: Path) -> dict[str, Any] | None:
    rec = folder / RECORD_NAME
    if not os.path.lexists(rec):
        return None
    data = read_json_file(rec, what="download record", limit=_MAX_RECORD_BYTES, follow_links=False)
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key), dict) for key in ("files", "outputs")
    ):
        raise ModelFormatError(
            f"{rec}: not a valid download record; delete {folder} and pull again"
        )
    return data


def _check_downloaded(artifact: Artifact, folder: Path) -> bool:
    """``True`` when ``folder`` holds ``artifact`` as recorded, verified against the
    catalogue and the lock file (missing lock entries are added)."""
    record = _read_record(folder)
    if record is None:
        return False
    lock = read_lock()
    add: dict[str, dict[str, Any]] = {}
    for f in artifact.files:
        entry = record["files"].get(f.name)
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise ModelFormatError(f"{folder / RECORD_NAME}: no entry for {f.name!r}; pull again")
        key = f"{artifact.name}/{f.name}"
        pinned, where = (
            (f.sha256, "the catalogue")
            if f.sha256
            else (lock.get(key, {}).get("sha256"), str(lock_path()))
        )
        if pinned is None:
            add[key] = {k: entry.get(k) for k in ("sha256", "size", "url")}
        elif entry["sha256"] != pinned:
            raise ChecksumError(
                f"{folder}: {f.name} has sha256 {entry['sha256']}, {where} pins {pinned}; "
                f"delete {folder} and pull again, or remove the entry {key!r} from {where}"
            )
    for rel, size in record["outputs"].items():
        path = folder / rel
        try:
            st = os.lstat(path)
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode) or st.st_size != size:
            raise ModelFormatError(
                f"{path}: missing or changed since it was downloaded (expected a regular file "
                f"of {size} bytes); delete {folder} and pull again"
            )
    if add:
        record_locks(add)
    return True


def _install(
    artifact: Artifact, parts: dict[str, Path], records: dict[str, Any], root: Path
) -> Path:
    """Extract or move the verified parts into a temporary folder, then rename it."""
    tmp = root / temporary_name(artifact.name)
    tmp.mkdir()
    try:
        outputs: dict[str, int] = {}
        for f in artifact.files:
            part = parts[f.name]
            if f.archive is not None:
                try:
                    outputs.update(extract(part, f.archive, f.members, tmp))
                except ModelFormatError:
                    part.unlink(missing_ok=True)  # bad data: the next pull starts afresh
                    raise
            else:
                dest = tmp / f.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(part, dest)
                outputs[f.name] = records[f.name]["size"]
        body = {
            "format": "transferkit-download",
            "version": 1,
            "artifact": artifact.name,
            "files": records,
            "outputs": outputs,
        }
        atomic_write_json(tmp / RECORD_NAME, body)
        final = root / artifact.name
        if os.path.lexists(final):
            aside = root / temporary_name(artifact.name, "old")
            os.replace(final, aside)
            shutil.rmtree(aside, ignore_errors=True)
        os.replace(tmp, final)
        fsync_dir(root)
        return final
    finally:
        if os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def _download_file(
    artifact: Artifact,
    f: CatalogFile,
    part: Path,
    lock: dict,
    hint: str,
    show: bool,
    timeout: float,
) -> dict[str, Any]:
    key = f"{artifact.name}/{f.name}"
    locked = lock.get(key)
    size = f.size if f.size is not None else (locked["size"] if locked else None)
    errors: list[DataNotFoundError] = []
    for url in f.urls:
        try:
            sha = _fetch(url, part, size, hint, show, timeout)
            break
        except DataNotFoundError as err:
            errors.append(err)
    else:
        if len(errors) == 1:
            raise errors[0]
        raise DataNotFoundError("; ".join(str(e).split("; ")[0] for e in errors) + f"; {hint}")
    pinned, where = (
        (f.sha256, "the catalogue")
        if f.sha256
        else (locked["sha256"] if locked else None, str(lock_path()))
    )
    if pinned is not None and sha != pinned:
        part.unlink(missing_ok=True)
        raise ChecksumError(
            f"{url}: the downloaded {f.name} has sha256 {sha}, {where} pins {pinned}; the file "
            f"was deleted. If the publisher changed the file, remove the entry {key!r} from "
            f"{where} and pull again"
        )
    return {"sha256": sha, "size": part.stat().st_size, "url": url}


def ensure_artifact(
    artifact: Artifact,
    *,
    model: str,
    download: bool,
    show_progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """The folder of ``artifact``, downloading it first when ``download`` is true.

    Raises:
        DataNotFoundError: not downloaded and ``download`` is false, the download
            failed (connection, HTTP error, interrupted: run the pull again to resume),
            or the model folder cannot be written (named, with the fix).
        ModelFormatError: sizes that differ from the expected ones, an unsafe or
            damaged archive, or a downloaded folder that changed since.
        ChecksumError: a sha256 that differs from the published one or the lock file's.
    """
    root = published_root()
    folder = root / artifact.name
    hint = f"run `transferkit models pull {model}` again"
    if _check_downloaded(artifact, folder):
        return folder
    if not download:
        raise DataNotFoundError(
            f"{model}: {artifact.name} is not downloaded (it would go to {folder}); run "
            f"`transferkit models pull {model}` or pass download=True to embeddings.load"
        )
    with writing_errors(
        f"store {artifact.name}",
        fix="set TRANSFERKIT_CACHE to a writable folder with free space, then pull again",
        error=DataNotFoundError,
    ):
        root.mkdir(parents=True, exist_ok=True)
        with _process_lock(root / f".{artifact.name}.lock"):
            if _check_downloaded(artifact, folder):  # another process finished it meanwhile
                return folder
            staging = root / f".{artifact.name}.parts"
            staging.mkdir(exist_ok=True)
            lock = read_lock()
            parts = {
                f.name: staging / (f.name.replace("/", "__") + ".part") for f in artifact.files
            }
            records = {
                f.name: _download_file(
                    artifact, f, parts[f.name], lock, hint, show_progress, timeout
                )
                for f in artifact.files
            }
            final = _install(artifact, parts, records, root)
            new = {
                f"{artifact.name}/{f.name}": records[f.name]
                for f in artifact.files
                if f.sha256 is None and f"{artifact.name}/{f.name}" not in lock
            }
            if new:
                record_locks(new)
            shutil.rmtree(staging, ignore_errors=True)
            return final
