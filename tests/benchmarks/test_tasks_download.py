"""Download: mocked network only.  Pinned sha256 checks, archives, fallbacks, atomic
writes; with data, an end-to-end run serving the real raw files for every folder."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

import benchmarks.tasks.download as dl
from benchmarks.tasks import DataFormatError, RawFile, Source, clear_checksum_cache, get_task
from benchmarks.tasks._pins import FILES, RAW_FILES
from benchmarks.tasks.download import (
    atomic_write,
    download,
    download_folder,
    extract_member,
    urlopen_bytes,
)
from benchmarks.tasks.metadata import DataFile
from embeddings.errors import ChecksumError, DataNotFoundError

DATA = os.environ.get("TRANSFERKIT_DATA")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FakeNet:
    """``opener(url, timeout)`` serving a dict; records calls; OSError for unknown URLs."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies = bodies
        self.calls: list[tuple[str, float]] = []

    def __call__(self, url: str, timeout: float) -> bytes:
        self.calls.append((url, timeout))
        if url not in self.bodies:
            raise OSError(f"HTTP Error 404: {url}")
        return self.bodies[url]


POS = b"good film .\n\nfine .\n"
NEG = b"bad film .\n"
CONVERTED = b"label\ttext\n1\tgood film .\n1\tfine .\n0\tbad film .\n"


@pytest.fixture
def fake_cr(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Replace the CR pins by synthetic ones (raw + converted) for offline tests."""

    def install(
        pos_sources: tuple[Source | str, ...] = ("https://x/custrev.pos",),
        neg_sources: tuple[Source | str, ...] = ("https://x/custrev.neg",),
        extra: tuple[RawFile, ...] = (),
        converted_sha: str | None = None,
    ) -> None:
        raws = {
            **RAW_FILES,
            "CR": (
                RawFile("custrev.neg", sha(NEG), neg_sources),
                RawFile("custrev.pos", sha(POS), pos_sources),
                *extra,
            ),
        }
        files = {
            **FILES,
            "CR/all.tsv": DataFile("CR/all.tsv", converted_sha or sha(CONVERTED), 3, 48),
        }
        monkeypatch.setattr(dl, "RAW_FILES", raws)
        monkeypatch.setattr(dl, "FILES", files)

    clear_checksum_cache()
    return install


def test_download_writes_raw_and_normalised(fake_cr, tmp_path: Path) -> None:
    fake_cr()
    net = FakeNet({"https://x/custrev.pos": POS, "https://x/custrev.neg": NEG})
    report = download("cr", tmp_path, opener=net, timeout=7.5)
    assert (tmp_path / "CR" / "all.tsv").read_bytes() == CONVERTED
    assert (tmp_path / "CR" / "raw" / "custrev.pos").read_bytes() == POS
    assert report.written == [tmp_path / "CR" / "all.tsv"]
    assert sorted(report.raw_fetched) == ["custrev.neg", "custrev.pos"]
    assert {t for _, t in net.calls} == {7.5}
    assert not list(tmp_path.rglob("*.part"))  # no temp files left behind

    # a second run re-uses verified raw files; force fetches again
    net.calls.clear()
    again = download("CR", tmp_path, opener=net)
    assert net.calls == [] and sorted(again.raw_kept) == ["custrev.neg", "custrev.pos"]
    download("CR", tmp_path, opener=net, force=True)
    assert len(net.calls) == 2


def test_download_defaults_to_data_dir(
    fake_cr, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_cr()
    monkeypatch.setenv("TRANSFERKIT_DATA", str(tmp_path / "d"))
    download("CR", opener=FakeNet({"https://x/custrev.pos": POS, "https://x/custrev.neg": NEG}))
    assert (tmp_path / "d" / "CR" / "all.tsv").is_file()


def test_corrupt_raw_file_is_refetched(fake_cr, tmp_path: Path) -> None:
    fake_cr()
    atomic_write(tmp_path / "CR" / "raw" / "custrev.pos", b"tampered\n")
    net = FakeNet({"https://x/custrev.pos": POS, "https://x/custrev.neg": NEG})
    download("CR", tmp_path, opener=net)
    assert (tmp_path / "CR" / "raw" / "custrev.pos").read_bytes() == POS


def test_wrong_bytes_raise_checksum_error_and_write_nothing(fake_cr, tmp_path: Path) -> None:
    fake_cr()
    net = FakeNet({"https://x/custrev.pos": b"other\n", "https://x/custrev.neg": NEG})
    with pytest.raises(ChecksumError) as info:
        download("CR", tmp_path, opener=net)
    assert sha(b"other\n") in str(info.value) and sha(POS) in str(info.value)
    assert not (tmp_path / "CR" / "raw" / "custrev.pos").exists()
    assert not (tmp_path / "CR" / "all.tsv").exists()


def test_an_unwritable_data_folder_is_a_data_error_naming_the_path(fake_cr, tmp_path: Path) -> None:
    fake_cr()
    (tmp_path / "CR").write_bytes(b"a file where the folder goes")
    net = FakeNet({"https://x/custrev.pos": POS, "https://x/custrev.neg": NEG})
    with pytest.raises(
        DataNotFoundError, match=r"CR/raw.*: cannot store the CR data .*dest="
    ) as info:
        download("CR", tmp_path, opener=net)
    assert isinstance(info.value.__cause__, OSError)  # the disk's own error, kept as the cause


def test_unreachable_source_raises_data_not_found(fake_cr, tmp_path: Path) -> None:
    fake_cr()
    with pytest.raises(DataNotFoundError, match="could not download custrev.neg.*404"):
        download("CR", tmp_path, opener=FakeNet({}))


def test_fallback_source_used_after_failure_and_mismatch(fake_cr, tmp_path: Path) -> None:
    fake_cr(
        pos_sources=("https://dead/custrev.pos", "https://bad/custrev.pos", "https://ok/p"),
    )
    net = FakeNet(
        {"https://bad/custrev.pos": b"wrong", "https://ok/p": POS, "https://x/custrev.neg": NEG}
    )
    download("CR", tmp_path, opener=net)
    assert (tmp_path / "CR" / "all.tsv").read_bytes() == CONVERTED


def test_converted_output_must_match_pin(fake_cr, tmp_path: Path) -> None:
    fake_cr(converted_sha="0" * 64)
    net = FakeNet({"https://x/custrev.pos": POS, "https://x/custrev.neg": NEG})
    with pytest.raises(ChecksumError, match="converted CR/all.tsv"):
        download("CR", tmp_path, opener=net)
    assert not (tmp_path / "CR" / "all.tsv").exists()


def test_optional_file_failure_is_a_warning(fake_cr, tmp_path: Path) -> None:
    fake_cr(extra=(RawFile("README.txt", "1" * 64, ("https://x/README",), required=False),))
    net = FakeNet({"https://x/custrev.pos": POS, "https://x/custrev.neg": NEG})
    report = download("CR", tmp_path, opener=net)
    assert report.warnings and "README.txt" in report.warnings[0]
    assert (tmp_path / "CR" / "all.tsv").is_file()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _targz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_archive_members_fetch_archive_once(fake_cr, tmp_path: Path) -> None:
    archive = _zip({"pkg/custrev.pos": POS, "pkg/custrev.neg": NEG})
    url = "https://x/pkg.zip"
    fake_cr(
        pos_sources=(Source(url, member="pkg/custrev.pos", sha256=sha(archive)),),
        neg_sources=(Source(url, member="custrev.neg"),),  # matched by base name
    )
    net = FakeNet({url: archive})
    download("CR", tmp_path, opener=net)
    assert [u for u, _ in net.calls] == [url]
    assert (tmp_path / "CR" / "all.tsv").read_bytes() == CONVERTED


def test_archive_pinned_sha_mismatch(fake_cr, tmp_path: Path) -> None:
    archive = _targz({"stsbenchmark/custrev.pos": POS})
    url = "https://x/a.tar.gz"
    fake_cr(pos_sources=(Source(url, member="custrev.pos", sha256="2" * 64),))
    net = FakeNet({url: archive, "https://x/custrev.neg": NEG})
    with pytest.raises(ChecksumError, match="archive sha256"):
        download("CR", tmp_path, opener=net)


def test_extract_member_zip_and_tar() -> None:
    assert extract_member(_targz({"stsbenchmark/sts-dev.csv": b"x"}), "sts-dev.csv") == b"x"
    both = _zip({"a/f.txt": b"1", "b/f.txt": b"2"})
    assert extract_member(both, "b/f.txt") == b"2"
    with pytest.raises(DataFormatError, match="several"):
        extract_member(both, "f.txt")
    with pytest.raises(DataFormatError, match="no member"):
        extract_member(both, "g.txt")
    with pytest.raises(DataFormatError, match="archive"):
        extract_member(b"plain text, not an archive", "f.txt")


def test_atomic_write_keeps_old_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = atomic_write(tmp_path / "f.tsv", b"old")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(dl.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.tsv"]


def test_urlopen_bytes_uses_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    class Response(io.BytesIO):
        def __enter__(self) -> Response:
            return self

        def __exit__(self, *exc: object) -> None:
            self.close()

    def fake_urlopen(request, timeout):  # type: ignore[no-untyped-def]
        seen["url"], seen["timeout"] = request.full_url, timeout
        seen["agent"] = request.get_header("User-agent")
        return Response(b"body" * 1000)

    monkeypatch.setattr(dl.urllib.request, "urlopen", fake_urlopen)
    assert urlopen_bytes("https://example.org/f", 12.0) == b"body" * 1000
    assert seen["timeout"] == 12.0 and seen["url"] == "https://example.org/f"
    assert seen["agent"].startswith("transferkit")
    with pytest.raises(OSError, match="only http"):
        urlopen_bytes("file:///etc/passwd", 1.0)


def test_unknown_folder() -> None:
    with pytest.raises(DataNotFoundError, match="no download recipe"):
        download_folder("QQP", "/tmp/unused", opener=FakeNet({}))


# ---------------------------------------------------------------- end to end, real raw bytes


def _serve_real_raw(root: Path) -> FakeNet:
    """Serve every first source URL with the real raw bytes (zipped for archive sources)."""
    bodies: dict[str, bytes] = {}
    archives: dict[str, dict[str, bytes]] = {}
    for folder, raws in RAW_FILES.items():
        for raw in raws:
            source = raw.resolved_sources()[0]
            data = (root / folder / "raw" / raw.name).read_bytes()
            if source.member is None:
                bodies[source.url] = data
            else:
                archives.setdefault(source.url, {})[source.member] = data
    for url, members in archives.items():
        bodies[url] = _zip(members)
    return FakeNet(bodies)


@pytest.mark.data
@pytest.mark.skipif(not DATA, reason="TRANSFERKIT_DATA is not set")
def test_end_to_end_every_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = _serve_real_raw(Path(DATA or ""))
    for folder in RAW_FILES:
        report = download_folder(folder, tmp_path, opener=net)
        assert not report.warnings, report.warnings
    for rel, pinned in FILES.items():
        assert sha((tmp_path / rel).read_bytes()) == pinned.sha256, rel
    monkeypatch.setenv("TRANSFERKIT_DATA", str(tmp_path))
    assert len(get_task("TREC-fine").load("test")) == 500
