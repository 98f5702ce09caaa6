"""Download the public raw files of a task, convert them, and write the normalised layout.

For each raw file of the task's data folder, the pinned sources are tried in order
(a GitHub snapshot at the commit recorded in the data README first, then the official
release, where one is known).  Every fetched file, or archive member, must match the
raw file's pinned sha256; an archive's own sha256 is checked where it is pinned.  The
raw files are kept under ``<dir>/<folder>/raw/``; the converter then rebuilds the
normalised TSV files, whose sha256 must equal the data README's before they are
written.  All writes are atomic (temporary file in the same folder, fsync, ``os.replace``).

Network access goes through ``opener(url, timeout) -> bytes``, by default
:func:`urlopen_bytes` (``urllib`` with a timeout); tests pass their own.

Example:
    >>> report = download("CR", "/tmp/tk-data")        # doctest: +SKIP
    >>> [p.name for p in report.written]                # doctest: +SKIP
    ['all.tsv']
"""

from __future__ import annotations

import io
import logging
import os
import tarfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict, Unpack

from benchmarks.tasks._errors import DataFormatError
from benchmarks.tasks._pins import FILES, RAW_FILES
from benchmarks.tasks.checksum import file_sha256, sha256_bytes
from benchmarks.tasks.convert import convert_folder
from benchmarks.tasks.download_report import DownloadReport
from benchmarks.tasks.metadata import RawFile, Source
from benchmarks.tasks.nli import ARCHIVES, download_nli
from benchmarks.tasks.paths import data_dir
from benchmarks.tasks.registry import get_task_class
from embeddings._atomic import atomic_write_bytes, writing_errors
from embeddings.errors import ChecksumError, DataNotFoundError

__all__ = [
    "DownloadOptions",
    "DownloadReport",
    "Opener",
    "atomic_write",
    "download",
    "download_folder",
    "extract_member",
    "urlopen_bytes",
]

logger = logging.getLogger("transferkit.data")

Opener = Callable[[str, float], bytes]
"""``opener(url, timeout_seconds) -> body``; raise ``OSError`` on failure."""

USER_AGENT = "transferkit-data/0.1 (python urllib)"
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024


def urlopen_bytes(url: str, timeout: float) -> bytes:
    """Fetch ``url`` with :mod:`urllib` (timeout, size cap) and return the body.

    Raises:
        OSError: Network errors (``urllib.error.URLError`` is an ``OSError``) or a
            body above :data:`MAX_DOWNLOAD_BYTES`.
    """
    if not url.startswith(("https://", "http://")):
        raise OSError(f"{url}: only http(s) URLs are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        chunks: list[bytes] = []
        total = 0
        while chunk := response.read(1 << 20):
            total += len(chunk)
            if total > MAX_DOWNLOAD_BYTES:
                raise OSError(f"{url}: more than {MAX_DOWNLOAD_BYTES} bytes, refusing")
            chunks.append(chunk)
    return b"".join(chunks)


def atomic_write(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename).

    See :func:`embeddings._atomic.atomic_write_bytes`.

    Example:
        >>> import tempfile, pathlib
        >>> p = atomic_write(pathlib.Path(tempfile.mkdtemp()) / "sub" / "f.txt", b"x")
        >>> p.read_bytes()
        b'x'
    """
    return atomic_write_bytes(path, data)


def extract_member(archive: bytes, member: str) -> bytes:
    """Read one member of a ``.zip`` or ``.tar(.gz)`` archive held in memory.

    The member is matched exactly, else by the unique path ending in ``/<base name>``.
    Nothing is extracted to disk.

    Raises:
        DataFormatError: Not an archive, or no (unique) such member.

    Example:
        >>> import io, zipfile
        >>> buf = io.BytesIO()
        >>> with zipfile.ZipFile(buf, "w") as z:
        ...     z.writestr("top/dir/a.txt", b"hello")
        >>> extract_member(buf.getvalue(), "dir/a.txt")
        b'hello'
    """
    if archive[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            return zf.read(_match_member(names, member))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tf:
            files = {m.name: m for m in tf.getmembers() if m.isfile()}
            handle = tf.extractfile(files[_match_member(list(files), member)])
            if handle is None:  # pragma: no cover - isfile() members always have data
                raise DataFormatError(f"archive member {member!r} has no data")
            return handle.read()
    except tarfile.TarError:
        raise DataFormatError(
            f"expected a .zip or .tar(.gz) archive holding {member!r}, got something else"
        ) from None


def _match_member(names: list[str], member: str) -> str:
    if member in names:
        return member
    base = member.rsplit("/", 1)[-1]
    hits = [n for n in names if n == base or n.endswith("/" + base)]
    if len(hits) == 1:
        return hits[0]
    raise DataFormatError(
        f"archive has {'no' if not hits else 'several'} member(s) matching {member!r}"
        + (f": {hits}" if hits else "")
    )


class _Fetcher:
    """Fetches URLs once per download run (archives serve many members)."""

    def __init__(self, opener: Opener, timeout: float) -> None:
        self.opener = opener
        self.timeout = timeout
        self.bodies: dict[str, bytes] = {}
        self.failures: dict[str, str] = {}

    def get(self, url: str) -> bytes:
        if url in self.failures:
            raise OSError(self.failures[url])
        if url not in self.bodies:
            logger.info("fetching %s", url)
            try:
                self.bodies[url] = self.opener(url, self.timeout)
            except OSError as err:
                self.failures[url] = f"{type(err).__name__}: {err}"
                raise
        return self.bodies[url]

    def raw_bytes(self, raw: RawFile) -> bytes:
        """The raw file's bytes from the first source that gives the pinned content."""
        problems: list[str] = []
        mismatched = False
        for source in raw.resolved_sources():
            try:
                data = self._from_source(source)
            except (OSError, DataFormatError, ChecksumError) as err:
                problems.append(f"{source.url}: {err}")
                mismatched |= isinstance(err, ChecksumError)
                continue
            digest = sha256_bytes(data)
            if digest == raw.sha256:
                return data
            mismatched = True
            problems.append(f"{source.url}: sha256 {digest}, pinned {raw.sha256}")
        detail = "; ".join(problems)
        if mismatched:
            raise ChecksumError(f"no source of {raw.name} matched its pinned sha256: {detail}")
        raise DataNotFoundError(f"could not download {raw.name}: {detail}")

    def _from_source(self, source: Source) -> bytes:
        body = self.get(source.url)
        if source.sha256 is not None and sha256_bytes(body) != source.sha256:
            raise ChecksumError(
                f"archive sha256 {sha256_bytes(body)} does not match the pinned {source.sha256}"
            )
        return body if source.member is None else extract_member(body, source.member)


def download_folder(
    folder: str,
    dest: str | os.PathLike[str] | None = None,
    *,
    timeout: float = 60.0,
    force: bool = False,
    opener: Opener | None = None,
) -> DownloadReport:
    """Download, verify and convert one data folder (e.g. ``"TREC"``, ``"STS12"``).

    Args:
        folder: A data folder name (a task's ``metadata.dataset``).
        dest: Data directory to write to; default :func:`benchmarks.tasks.data_dir`.
        timeout: Seconds per network request.
        force: Fetch raw files again even when present with the right sha256.
        opener: ``opener(url, timeout) -> bytes``; default :func:`urlopen_bytes`.

    Returns:
        A :class:`DownloadReport`.

    Raises:
        DataNotFoundError: A required raw file could not be fetched from any source, or
            the data folder cannot be read or written (the message names the path and
            the fix).
        ChecksumError: Fetched bytes, or the converted output, differ from the pins.
    """
    if folder in ARCHIVES:  # SNLI, MultiNLI: one pinned zip, streamed and converted
        stream = None if opener is None else (lambda url, t: io.BytesIO(opener(url, t)))
        return download_nli(folder, dest, timeout=timeout, force=force, opener=stream)
    if folder not in RAW_FILES:
        raise DataNotFoundError(
            f"no download recipe for data folder {folder!r}; known: {sorted(RAW_FILES)}"
        )
    root = Path(dest).expanduser() if dest is not None else data_dir()
    report = DownloadReport(folder=folder, root=root)
    with writing_errors(
        f"store the {folder} data",
        fix="pass dest= (or set TRANSFERKIT_DATA to) a writable folder with free space",
        error=DataNotFoundError,
    ):
        raw_dir = root / folder / "raw"
        fetcher = _Fetcher(opener or urlopen_bytes, timeout)
        raw: dict[str, bytes] = {}
        for item in RAW_FILES[folder]:
            target = raw_dir / item.name
            if not force and target.is_file() and file_sha256(target) == item.sha256:
                raw[item.name] = target.read_bytes()
                report.raw_kept.append(item.name)
                continue
            try:
                data = fetcher.raw_bytes(item)
            except (DataNotFoundError, ChecksumError) as err:
                if item.required:
                    raise
                report.warnings.append(f"optional {item.name} skipped: {err}")
                logger.warning("optional %s skipped: %s", item.name, err)
                continue
            atomic_write(target, data)
            raw[item.name] = data
            report.raw_fetched.append(item.name)

        outputs = convert_folder(folder, raw)
        checked: list[tuple[Path, bytes]] = []
        for name, data in sorted(outputs.items()):
            rel = f"{folder}/{name}"
            pinned = FILES[rel]
            digest = sha256_bytes(data)
            if digest != pinned.sha256:
                raise ChecksumError(
                    f"converted {rel} has sha256 {digest}, pinned {pinned.sha256}; "
                    "the raw files or the converter changed; nothing was written"
                )
            checked.append((root / rel, data))
        for path, data in checked:  # only after every output matched its pin
            report.written.append(atomic_write(path, data))
        return report


class DownloadOptions(TypedDict, total=False):
    """The keyword options of :func:`download`: those of :func:`download_folder`."""

    timeout: float
    force: bool
    opener: Opener | None


def download(
    task: str, dest: str | os.PathLike[str] | None = None, **options: Unpack[DownloadOptions]
) -> DownloadReport:
    """Download the data folder of a task (by task name, any case).

    ``download("TREC-fine")`` is ``download_folder("TREC")``: ``dest`` and the keyword
    options (``timeout``, ``force``, ``opener``) are those of :func:`download_folder`.

    Returns:
        A :class:`DownloadReport`.

    Example:
        >>> download("TREC-fine", "data")  # doctest: +SKIP
    """
    folder = get_task_class(task).metadata.dataset
    return download_folder(folder, dest, **options)
