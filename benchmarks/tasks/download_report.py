"""What a download did: the record both downloaders return.

:func:`benchmarks.tasks.download.download_folder` (the TSV tasks) and
:func:`benchmarks.tasks.nli.download_nli` (SNLI, MultiNLI) each return a
:class:`DownloadReport`; it lives in this leaf module so that neither imports the other.

Example:
    >>> from pathlib import Path
    >>> report = DownloadReport(folder="CR", root=Path("/tmp/tk-data"))
    >>> report.written, report.warnings
    ([], [])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DownloadReport"]


@dataclass
class DownloadReport:
    """What a download of one data folder did.

    Attributes:
        folder: The data folder.
        root: The data directory written to.
        written: Normalised files written (or rewritten).
        raw_fetched: Raw files downloaded.
        raw_kept: Raw files already present with the right sha256 (not fetched again).
        warnings: Optional raw files (readmes, licences) that could not be fetched, and
            notes of the converters (rows written and dropped).
    """

    folder: str
    root: Path
    written: list[Path] = field(default_factory=list)
    raw_fetched: list[str] = field(default_factory=list)
    raw_kept: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
