"""SNLI and MultiNLI: pinned zip archives, a streaming converter and their task base.

SNLI and MultiNLI are training data for sentence-pair encoders (InferSent), not
SentEval transfer tasks: they are registered by name (``transferkit data download
snli``, ``get_task("MultiNLI")``) but belong to no suite and are not listed with the
benchmark tasks.

The published archives are pinned by size and sha256 (:data:`ARCHIVES`).  A download
streams the archive to ``<data>/<folder>/raw/<archive>`` while hashing it (never more
bytes than the pinned size), and only an archive whose sha256 matches is converted.
The converter reads the named jsonl members straight from the zip, line by line
(nothing is extracted; a member larger than :data:`MAX_MEMBER_BYTES` is refused) and
writes the normalised pair-classification TSV of the other tasks
(``label<TAB>text_a<TAB>text_b``, labels ``entailment`` / ``neutral`` /
``contradiction``, text cleaned as :func:`benchmarks.tasks.convert.clean_text` does).
Pairs without a gold label (``gold_label`` ``"-"``) are dropped and counted.

Splits: SNLI's train, dev and test.  MultiNLI's test labels are not public, so
``dev.tsv`` is ``dev_matched`` (the genres of the training data) and ``test.tsv`` is
``dev_mismatched`` (other genres).

The sha256 of the converted files cannot be pinned in advance here, so the converter
records them in ``<folder>/manifest.json`` with the archive's sha256; loading a split
checks that the manifest names the pinned archive and that the file still has the
recorded sha256.

Example:
    >>> ARCHIVES["SNLI"].members["train"]
    'snli_1.0/snli_1.0_train.jsonl'
    >>> ARCHIVES["MultiNLI"].members["test"]
    'multinli_1.0/multinli_1.0_dev_mismatched.jsonl'
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from benchmarks.tasks._errors import DataFormatError
from benchmarks.tasks.base import PairClassificationTask, read_tsv
from benchmarks.tasks.checksum import file_sha256
from benchmarks.tasks.convert import clean_text
from benchmarks.tasks.download_report import DownloadReport
from benchmarks.tasks.paths import data_dir, find_file
from embeddings._atomic import atomic_open, atomic_write_json
from embeddings._jsonfile import read_json_file
from embeddings.errors import ChecksumError, DataNotFoundError

__all__ = [
    "ARCHIVES",
    "MANIFEST",
    "MAX_MEMBER_BYTES",
    "NLIArchive",
    "NLITrainingTask",
    "StreamOpener",
    "convert_nli_zip",
    "download_nli",
]

NLI_LABELS = ("entailment", "neutral", "contradiction")
MANIFEST = "manifest.json"
#: the largest manifest read (the one written is under 1 kB)
MAX_MANIFEST_BYTES = 1 << 20
#: the largest jsonl member read from an archive (MultiNLI's train file is ~440 MB)
MAX_MEMBER_BYTES = 1024**3
_HEADER = b"label\ttext_a\ttext_b\n"

StreamOpener = Callable[[str, float], IO[bytes]]
"""``opener(url, timeout_seconds) -> readable binary stream``; raise ``OSError`` on failure."""


@dataclass(frozen=True)
class NLIArchive:
    """One published NLI archive and the jsonl member of each split.

    Attributes:
        folder: The data folder (``SNLI``, ``MultiNLI``).
        url: The official download.
        size: The archive's size in bytes.
        sha256: The archive's sha256.
        members: Split (``train``, ``dev``, ``test``) -> jsonl member in the zip.
    """

    folder: str
    url: str
    size: int
    sha256: str
    members: dict[str, str]

    @property
    def filename(self) -> str:
        """The archive's file name under ``raw/``."""
        return self.url.rsplit("/", 1)[-1]


ARCHIVES: dict[str, NLIArchive] = {
    "SNLI": NLIArchive(
        "SNLI",
        "https://nlp.stanford.edu/projects/snli/snli_1.0.zip",
        94_550_081,
        "afb3d70a5af5d8de0d9d81e2637e0fb8c22d1235c2749d83125ca43dab0dbd3e",
        {s: f"snli_1.0/snli_1.0_{s}.jsonl" for s in ("train", "dev", "test")},
    ),
    "MultiNLI": NLIArchive(
        "MultiNLI",
        "https://cims.nyu.edu/~sbowman/multinli/multinli_1.0.zip",
        226_850_426,
        "049f507b9e36b1fcb756cfd5aeb3b7a0cfcb84bf023793652987f7e7e0957822",
        {
            "train": "multinli_1.0/multinli_1.0_train.jsonl",
            "dev": "multinli_1.0/multinli_1.0_dev_matched.jsonl",
            "test": "multinli_1.0/multinli_1.0_dev_mismatched.jsonl",
        },
    ),
}


def urlopen_stream(url: str, timeout: float) -> IO[bytes]:
    """Open ``url`` with :mod:`urllib` for streaming (http(s) only)."""
    if not url.startswith(("https://", "http://")):
        raise OSError(f"{url}: only http(s) URLs are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": "transferkit-data/0.1"})
    return urllib.request.urlopen(request, timeout=timeout)  # type: ignore[no-any-return]


def _fetch_archive(archive: NLIArchive, target: Path, opener: StreamOpener, timeout: float) -> None:
    """Stream the archive into ``target`` (atomically), checking size and sha256."""
    digest = hashlib.sha256()
    total = 0
    with atomic_open(target) as out, opener(archive.url, timeout) as stream:
        while chunk := stream.read(1 << 20):
            total += len(chunk)
            if total > archive.size:
                raise ChecksumError(
                    f"{archive.url}: more than the pinned {archive.size} bytes; refusing"
                )
            digest.update(chunk)
            out.write(chunk)
        if digest.hexdigest() != archive.sha256 or total != archive.size:
            raise ChecksumError(
                f"{archive.url}: {total} bytes with sha256 {digest.hexdigest()}; pinned "
                f"{archive.size} bytes with sha256 {archive.sha256}; nothing was written"
            )


def _pair_lines(stream: IO[bytes], where: str, counts: dict[str, int]) -> Iterator[bytes]:
    """The TSV lines of a jsonl member; counts the pairs dropped in ``counts``."""
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="\n")
    for n, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataFormatError(f"{where}:{n}: not a JSON object ({err})") from None
        if not isinstance(row, dict) or not all(
            isinstance(row.get(k), str) for k in ("gold_label", "sentence1", "sentence2")
        ):
            raise DataFormatError(
                f"{where}:{n}: expected an object with string gold_label, sentence1 and "
                "sentence2 (the SNLI / MultiNLI jsonl layout)"
            )
        label = row["gold_label"].strip().lower()
        if label in ("-", ""):
            counts["dropped_no_gold_label"] += 1
            continue
        if label not in NLI_LABELS:
            raise DataFormatError(
                f"{where}:{n}: gold_label {row['gold_label']!r:.40} is not one of "
                f"{', '.join(NLI_LABELS)} or '-'"
            )
        a, b = clean_text(row["sentence1"]), clean_text(row["sentence2"])
        if not a or not b:
            counts["dropped_empty_sentence"] += 1
            continue
        counts["rows"] += 1
        yield f"{label}\t{a}\t{b}\n".encode()


def _write_split(target: Path, lines: Iterator[bytes]) -> tuple[str, int]:
    """Write the header and ``lines`` to ``target`` atomically; ``(sha256, bytes)``."""
    digest = hashlib.sha256()
    size = 0
    with atomic_open(target) as out:
        for line in itertools.chain((_HEADER,), lines):
            digest.update(line)
            out.write(line)
            size += len(line)
    return digest.hexdigest(), size


def convert_nli_zip(
    zip_path: str | os.PathLike[str], archive: NLIArchive, out_dir: str | os.PathLike[str]
) -> dict[str, Any]:
    """Convert the jsonl members of a verified archive into ``out_dir/<split>.tsv``.

    Only the members named in ``archive.members`` are read (by exact name, streamed
    from the zip, never extracted to disk, so member paths never name an output);
    each output is written atomically, then ``manifest.json`` records the archive and,
    per split, the pairs written, the pairs dropped and the sha256.

    Returns:
        The manifest as a dict.

    Raises:
        DataNotFoundError: No file at ``zip_path``.
        DataFormatError: Not a regular file (a FIFO or device is refused before it is
            opened), not a zip, a missing or repeated member, an encrypted member or
            one with an unsupported compression, a member above
            :data:`MAX_MEMBER_BYTES`, damaged compressed data or checksum, a member
            that is not UTF-8, or a line that is not an SNLI/MultiNLI pair (the archive
            and member are named).
        InvalidParameterError: ``out_dir`` (or an output in it) is taken by a file or
            folder of the wrong kind.

    Example:
        >>> convert_nli_zip("snli_1.0.zip", ARCHIVES["SNLI"], "data/SNLI")  # doctest: +SKIP
    """
    import errno
    import lzma
    import stat
    import struct
    import zlib
    from collections import Counter

    from embeddings.errors import InvalidParameterError

    class _LineBounded(io.RawIOBase):
        """A member's bytes, refusing a line longer than ``max_line`` (the published
        lines are a few kB) before it is gathered in memory."""

        max_line = 1 << 20

        def __init__(self, raw: IO[bytes], where: str) -> None:
            self._raw, self._where, self._run = raw, where, 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            data = self._raw.read(len(buffer))
            cut = data.rfind(b"\n")
            self._run = len(data) - cut - 1 if cut >= 0 else self._run + len(data)
            if self._run > self.max_line:
                raise DataFormatError(
                    f"{self._where}: a line is longer than {self.max_line} bytes; the SNLI / "
                    "MultiNLI jsonl lines are a few kB"
                )
            buffer[: len(data)] = data
            return len(data)

    out = Path(out_dir)
    splits: dict[str, dict[str, Any]] = {}
    try:
        mode = os.stat(zip_path).st_mode
    except FileNotFoundError:
        raise DataNotFoundError(f"{zip_path}: no such archive") from None
    if not stat.S_ISREG(mode):
        raise DataFormatError(
            f"{zip_path}: not a regular file (a folder, FIFO, socket or device); nothing was read"
        )
    if out.exists() and not out.is_dir():
        raise InvalidParameterError(f"out_dir {out} exists and is not a folder")
    try:
        zf = zipfile.ZipFile(zip_path)
    except UnicodeDecodeError:
        raise DataFormatError(
            f"{zip_path}: a member name is marked UTF-8 but is not valid UTF-8"
        ) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, struct.error) as err:  # fmt: skip
        raise DataFormatError(f"{zip_path}: not a zip archive ({err})") from None
    read_errors = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError,
                   RuntimeError, struct.error)  # fmt: skip
    with zf:
        names = {info.filename: info for info in zf.infolist()}
        counted = Counter(info.filename for info in zf.infolist())
        for split, member in archive.members.items():
            info = names.get(member)
            where = f"{zip_path}: member {member!r}"
            if info is None or info.is_dir():
                raise DataFormatError(
                    f"{zip_path}: no member {member!r}; the {archive.folder} archive holds "
                    f"{sorted(n[:80] for n in names if n.endswith('.jsonl'))[:6]}"
                )
            if counted[member] > 1:
                raise DataFormatError(f"{where} appears {counted[member]} times")
            if info.flag_bits & 0x1:
                raise DataFormatError(f"{where} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                          zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):  # fmt: skip
                raise DataFormatError(
                    f"{where} uses compression method {info.compress_type}; stored, deflate, "
                    "bzip2 and lzma are read"
                )
            if info.file_size > MAX_MEMBER_BYTES:
                raise DataFormatError(
                    f"{zip_path}: member {member!r} unpacks to {info.file_size} bytes, more "
                    f"than the {MAX_MEMBER_BYTES} allowed"
                )
            counts = {"rows": 0, "dropped_no_gold_label": 0, "dropped_empty_sentence": 0}
            try:
                with zf.open(info) as raw:
                    stream = io.BufferedReader(_LineBounded(raw, where))
                    lines = _pair_lines(stream, f"{zip_path}:{member}", counts)
                    digest, size = _write_split(out / f"{split}.tsv", lines)
            except RecursionError:
                raise DataFormatError(f"{where}: a line nests JSON too deeply") from None
            except UnicodeDecodeError as err:
                raise DataFormatError(
                    f"{where} is not UTF-8 (byte {err.start} of a read block does not decode)"
                ) from None
            except (FileExistsError, NotADirectoryError, IsADirectoryError) as err:
                raise InvalidParameterError(
                    f"{out / f'{split}.tsv'}: cannot write the {split} split of {where} there "
                    f"({err.strerror}); out_dir must be a folder whose outputs are files"
                ) from None
            except read_errors as err:
                raise DataFormatError(
                    f"{where} cannot be read ({type(err).__name__}: {str(err)[:120]})"
                ) from None
            except OSError as err:
                if err.errno is not None and err.errno != errno.EINVAL:
                    raise  # the disk or the permissions, not the archive
                raise DataFormatError(f"{where} cannot be read (OSError: {err})") from None
            splits[split] = {"member": member, **counts, "sha256": digest, "bytes": size}
    manifest = {
        "folder": archive.folder,
        "archive": {"url": archive.url, "sha256": archive.sha256, "size": archive.size},
        "splits": splits,
    }
    atomic_write_json(out / MANIFEST, manifest)
    return manifest


def download_nli(
    folder: str,
    dest: str | os.PathLike[str] | None = None,
    *,
    timeout: float = 60.0,
    force: bool = False,
    opener: StreamOpener | None = None,
) -> DownloadReport:
    """Download (streamed, size- and sha256-checked) and convert SNLI or MultiNLI.

    Args:
        folder: ``"SNLI"`` or ``"MultiNLI"``.
        dest: Data directory; default :func:`benchmarks.tasks.data_dir`.
        timeout: Seconds per network request.
        force: Fetch the archive again even when present with the right sha256.
        opener: ``opener(url, timeout) -> binary stream``; default :mod:`urllib`.

    Returns:
        A :class:`~benchmarks.tasks.download_report.DownloadReport`; its ``warnings`` give the
        pairs per split and the pairs dropped for want of a gold label.

    Raises:
        ChecksumError: The archive's size or sha256 differs from the pins.
        DataNotFoundError: The archive could not be fetched.
    """
    archive = ARCHIVES[folder]
    root = Path(dest).expanduser() if dest is not None else data_dir()
    report = DownloadReport(folder=folder, root=root)
    target = root / folder / "raw" / archive.filename
    if not force and target.is_file() and file_sha256(target) == archive.sha256:
        report.raw_kept.append(archive.filename)
    else:
        try:
            _fetch_archive(archive, target, opener or urlopen_stream, timeout)
        except OSError as err:
            raise DataNotFoundError(f"could not download {archive.url}: {err}") from err
        report.raw_fetched.append(archive.filename)
    manifest = convert_nli_zip(target, archive, root / folder)
    for split, info in manifest["splits"].items():
        report.written.append(root / folder / f"{split}.tsv")
        report.warnings.append(
            f"{split}: {info['rows']} pairs written; dropped {info['dropped_no_gold_label']} "
            f"without a gold label and {info['dropped_empty_sentence']} with an empty sentence"
        )
    report.written.append(root / folder / MANIFEST)
    return report


class NLITrainingTask(PairClassificationTask):
    """Base of SNLI and MultiNLI: files checked against the manifest of a pinned archive.

    The converted files' sha256 are those recorded by :func:`convert_nli_zip` from the
    archive whose pinned sha256 the manifest names (see the module docstring).
    """

    def _manifest(self) -> dict[str, Any]:
        meta = self.metadata
        path = find_file(f"{meta.dataset}/{MANIFEST}", task=meta.name, root=self.data_dir)
        manifest = read_json_file(
            path, what="NLI manifest", limit=MAX_MANIFEST_BYTES, error=DataFormatError
        )
        try:
            pinned = manifest["archive"]["sha256"]
            splits = manifest["splits"]
        except (ValueError, KeyError, TypeError) as err:
            raise DataFormatError(f"{path}: not a transferkit NLI manifest ({err})") from None
        if pinned != ARCHIVES[meta.dataset].sha256:
            raise ChecksumError(
                f"{path}: converted from an archive with sha256 {pinned}, not the pinned "
                f"{ARCHIVES[meta.dataset].sha256}; run `transferkit data download {meta.name}`"
            )
        return dict(splits)

    def _check(self, split: str, path: Path) -> None:
        recorded = self._manifest().get(split, {}).get("sha256")
        actual = file_sha256(path)
        if recorded != actual:
            raise ChecksumError(
                f"{path}: sha256 {actual} is not the {recorded} recorded when it was converted; "
                f"delete it and run `transferkit data download {self.metadata.name}`"
            )

    def _read(self, split: str, subset: str | None, verify: bool) -> list[list[str]]:
        pinned = self._file_for(split, subset)
        path = find_file(pinned.path, task=self.name, root=self.data_dir)
        if verify:
            self._check(split, path)
        return read_tsv(path, self._header)

    def verify(self) -> dict[str, str]:
        """Check every file of the task against the manifest (existence and sha256)."""
        status: dict[str, str] = {}
        for split in self.metadata.splits:
            rel = self.metadata.files[split].path
            try:
                self._check(split, find_file(rel, task=self.name, root=self.data_dir))
                status[rel] = "ok"
            except DataNotFoundError:
                status[rel] = "missing"
            except (ChecksumError, DataFormatError):
                status[rel] = "sha256 mismatch"
        return status
