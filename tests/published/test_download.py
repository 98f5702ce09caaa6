"""Pulling published models from a local server: full, resumed, and every way it can go wrong."""

from __future__ import annotations

import hashlib
import json
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest

import embeddings
from embeddings.errors import (
    ChecksumError,
    DataNotFoundError,
    InvalidParameterError,
    ModelFormatError,
)
from embeddings.published import pull, resolve_model
from embeddings.published.download import published_root
from tests.published.conftest import GLOVE_TEXT, glove_catalog, glove_zip, write_catalog

TEXTS = ["the cat sat", "cat", "unknown words only", ""]


def _final(name: str = "glove.tiny") -> Path:
    return published_root() / name


def test_pull_then_load_equals_load_by_path(server, tmp_path, monkeypatch):
    data = glove_zip()
    server.files["/g.zip"] = data
    glove_catalog(tmp_path, monkeypatch, server.url + "/g.zip")
    enc = embeddings.load("glove-tiny", download=True)
    assert enc.name == "glove-tiny"
    local = tmp_path / "by_path" / "glove.tiny.3d.txt"
    local.parent.mkdir()
    local.write_text(GLOVE_TEXT)
    ref = embeddings.load("word-vectors", source=str(local))
    a, b = enc.encode(TEXTS), ref.encode(TEXTS)
    assert a.dtype == np.float32 and a.tobytes() == b.tobytes()
    # the lock file records the sha256 of the first download
    lock = json.loads((tmp_path / "models.lock.json").read_text())
    entry = lock["files"]["glove.tiny/glove.tiny.zip"]
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
    # nothing partial or temporary is left next to the artifact
    assert sorted(p.name for p in published_root().iterdir()) == [".glove.tiny.lock", "glove.tiny"]
    # a later load needs no download and no server
    server.files.clear()
    assert embeddings.load("glove-tiny").encode(TEXTS).tobytes() == a.tobytes()
    assert embeddings.load("glove-tiny:pooling=max").pooling == "max"  # a spec on the name
    with pytest.raises(InvalidParameterError, match="trust_pickle"):
        embeddings.load("glove-tiny:trust_pickle=true")  # never set by a spec string


def test_an_unwritable_model_folder_is_a_data_error_naming_the_path(server, tmp_path, monkeypatch):
    server.files["/g.zip"] = glove_zip()
    glove_catalog(tmp_path, monkeypatch, server.url + "/g.zip")
    root = published_root()
    root.parent.mkdir(parents=True, exist_ok=True)
    root.write_bytes(b"a file where the models folder goes")
    with pytest.raises(
        DataNotFoundError, match=f"{root}: cannot store glove.tiny .*TRANSFERKIT_CACHE"
    ):
        embeddings.load("glove-tiny", download=True)


def test_no_consent_names_the_pull_command(server, tmp_path, monkeypatch):
    server.files["/g.zip"] = glove_zip()
    glove_catalog(tmp_path, monkeypatch, server.url + "/g.zip")
    with pytest.raises(DataNotFoundError, match="transferkit models pull glove-tiny"):
        embeddings.load("glove-tiny")
    assert server.requests == []


def test_interrupted_download_resumes_with_range(server, tmp_path, monkeypatch):
    data = glove_zip({"padding.txt": "p" * 5000})
    server.files["/g.zip"] = data
    server.modes["/g.zip"] = "cut"
    glove_catalog(tmp_path, monkeypatch, server.url + "/g.zip", size=len(data))
    with pytest.raises(DataNotFoundError, match="resume"):
        pull("glove-tiny", show_progress=False)
    part = published_root() / ".glove.tiny.parts" / "glove.tiny.zip.part"
    assert 0 < part.stat().st_size < len(data)
    assert not _final().exists()  # nothing a load would pick up
    with pytest.raises(DataNotFoundError):
        embeddings.load("glove-tiny")
    pull("glove-tiny", show_progress=False)
    assert server.requests[-1] == ("/g.zip", f"bytes={len(data) // 2}-")
    assert (_final() / "glove.tiny.3d.txt").read_text() == GLOVE_TEXT
    assert not (_final() / "padding.txt").exists()  # only the expected members
    assert not part.parent.exists()


def test_wrong_size_is_refused_before_reading(server, tmp_path, monkeypatch):
    data = glove_zip()
    server.files["/g.zip"] = data
    glove_catalog(tmp_path, monkeypatch, server.url + "/g.zip", size=len(data) + 1)
    with pytest.raises(ModelFormatError, match=f"announces {len(data)} bytes"):
        pull("glove-tiny", show_progress=False)
    assert not _final().exists()


def test_server_sending_more_than_declared_is_cut_off(server, tmp_path, monkeypatch):
    data = glove_zip()
    server.files["/g.zip"] = data
    server.modes["/g.zip"] = "more"
    glove_catalog(tmp_path, monkeypatch, server.url + "/g.zip", size=len(data))
    with pytest.raises(ModelFormatError, match="more than the expected"):
        pull("glove-tiny", show_progress=False)
    assert not _final().exists()


def test_published_sha256_mismatch(server, tmp_path, monkeypatch):
    server.files["/g.zip"] = glove_zip()
    glove_catalog(tmp_path, monkeypatch, server.url + "/g.zip", sha256="0" * 64)
    with pytest.raises(ChecksumError, match="the catalogue pins"):
        pull("glove-tiny", show_progress=False)
    assert not _final().exists()
    assert not (tmp_path / "models.lock.json").exists()


def _write_lock(path: Path, entry: dict[str, object]) -> None:
    """A ``models.lock.json`` pinning the one file of glove.tiny to ``entry``."""
    lock = {
        "format": "transferkit-models-lock",
        "version": 1,
        "files": {"glove.tiny/glove.tiny.zip": entry},
    }
    path.write_text(json.dumps(lock))


def test_sha256_differing_from_the_lock(server, tmp_path, monkeypatch):
    data = glove_zip()
    server.files["/g.zip"] = data
    glove_catalog(tmp_path, monkeypatch, server.url + "/g.zip")
    lock = tmp_path / "models.lock.json"
    entry = {"sha256": "a" * 64, "size": len(data), "url": "x"}
    _write_lock(lock, entry)
    with pytest.raises(ChecksumError, match="models.lock.json pins a{64}"):
        pull("glove-tiny", show_progress=False)
    assert not _final().exists()
    # with a correct lock the pull succeeds; a lock changed afterwards fails every load
    entry["sha256"] = hashlib.sha256(data).hexdigest()
    _write_lock(lock, entry)
    pull("glove-tiny", show_progress=False)
    entry["sha256"] = "b" * 64
    _write_lock(lock, entry)
    with pytest.raises(ChecksumError, match="pins b{64}"):
        embeddings.load("glove-tiny")


def test_changed_extracted_file_is_detected(server, tmp_path, monkeypatch):
    server.files["/g.zip"] = glove_zip()
    glove_catalog(tmp_path, monkeypatch, server.url + "/g.zip")
    pull("glove-tiny", show_progress=False)
    (_final() / "glove.tiny.3d.txt").write_text("the 9 9 9\n")
    with pytest.raises(ModelFormatError, match="changed since it was downloaded"):
        embeddings.load("glove-tiny")


def test_404_names_url_and_pull_command(server, tmp_path, monkeypatch):
    glove_catalog(tmp_path, monkeypatch, server.url + "/missing.zip")
    with pytest.raises(DataNotFoundError) as err:
        embeddings.load("glove-tiny", download=True)
    msg = str(err.value)
    assert (
        "HTTP 404" in msg and "/missing.zip" in msg and "transferkit models pull glove-tiny" in msg
    )
    assert "\n" not in msg


def test_redirect_is_followed(server, tmp_path, monkeypatch):
    server.files["/real.zip"] = glove_zip()
    server.modes["/old.zip"] = "redirect:/real.zip"
    glove_catalog(tmp_path, monkeypatch, server.url + "/old.zip")
    pull("glove-tiny", show_progress=False)
    assert [p for p, _ in server.requests] == ["/old.zip", "/real.zip"]
    lock = json.loads((tmp_path / "models.lock.json").read_text())
    assert lock["files"]["glove.tiny/glove.tiny.zip"]["url"].endswith("/old.zip")


def test_redirect_loop_and_file_scheme_are_refused(server, tmp_path, monkeypatch):
    server.modes["/a.zip"] = "redirect:/a.zip"
    glove_catalog(tmp_path, monkeypatch, server.url + "/a.zip")
    with pytest.raises(DataNotFoundError, match="/a.zip: HTTP 302 .redirect refused"):
        pull("glove-tiny", show_progress=False)
    server.modes["/a.zip"] = "redirect:file:///etc/passwd"
    with pytest.raises(DataNotFoundError, match="redirect refused"):
        pull("glove-tiny", show_progress=False)
    assert not _final().exists()


def test_zip_member_escaping_the_folder_is_refused(server, tmp_path, monkeypatch):
    server.files["/g.zip"] = glove_zip({"../evil.txt": "x", "/abs.txt": "y"})
    glove_catalog(tmp_path, monkeypatch, server.url + "/g.zip")
    with pytest.raises(ModelFormatError, match="outside the target folder"):
        pull("glove-tiny", show_progress=False)
    assert not _final().exists()
    assert not (published_root().parent / "evil.txt").exists()
    assert not list(tmp_path.rglob("evil.txt"))


def test_missing_member_and_non_zip(server, tmp_path, monkeypatch):
    buf = zipfile.ZipFile(tmp_path / "other.zip", "w")
    buf.writestr("something-else.txt", "x")
    buf.close()
    server.files["/g.zip"] = (tmp_path / "other.zip").read_bytes()
    glove_catalog(tmp_path, monkeypatch, server.url + "/g.zip")
    with pytest.raises(ModelFormatError, match="expected member"):
        pull("glove-tiny", show_progress=False)
    server.files["/g.zip"] = b"<html>not a zip</html>"
    with pytest.raises(ModelFormatError, match="not a readable zip"):
        pull("glove-tiny", show_progress=False)
    assert not _final().exists()


def test_connection_refused_is_one_clear_line(tmp_path, monkeypatch):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    glove_catalog(tmp_path, monkeypatch, f"http://127.0.0.1:{port}/g.zip")
    with pytest.raises(DataNotFoundError) as err:
        embeddings.load("glove-tiny", download=True)
    msg = str(err.value)
    assert f"http://127.0.0.1:{port}/g.zip" in msg and "transferkit models pull glove-tiny" in msg
    assert "refused" in msg.lower() and "\n" not in msg


def test_multi_file_artifacts_fill_preset_paths(server, tmp_path, monkeypatch):
    """InferSent / Skip-Thought / ELMo names map to their base preset plus downloaded paths."""
    for name in ("infersent1.pkl", "opts.json", "w.hdf5", "dictionary.txt", "utable.npy"):
        server.files[f"/{name}"] = name.encode()
    one = lambda n: {"name": n, "urls": [f"{server.url}/{n}"], "size": None, "sha256": None}  # noqa: E731
    arts = {
        "inf": {"source": "t", "licence": "x", "files": [one("infersent1.pkl")]},
        "glove.tiny": {
            "source": "t",
            "licence": "x",
            "files": [{**one("g.zip"), "archive": "zip", "members": ["glove.tiny.3d.txt"]}],
        },
        "st": {"source": "t", "licence": "x", "files": [one("dictionary.txt"), one("utable.npy")]},
        "el": {"source": "t", "licence": "x", "files": [one("opts.json"), one("w.hdf5")]},
    }
    server.files["/g.zip"] = glove_zip()
    models = {
        "inf-v1": {
            "family": "infersent",
            "description": "d",
            "artifacts": ["inf", "glove.tiny"],
            "preset": "infersent",
            "params": {
                "checkpoint": "{inf/infersent1.pkl}",
                "word_vectors": "{glove.tiny/glove.tiny.3d.txt}",
                "version": 1,
            },
        },
        "st-rel": {
            "family": "skip_thought",
            "description": "d",
            "artifacts": ["st"],
            "preset": "skip-thought",
            "params": {"path": "{st}", "mode": "combine"},
        },
        "el-s": {
            "family": "elmo",
            "description": "d",
            "artifacts": ["el"],
            "preset": "elmo",
            "params": {"options_file": "{el/opts.json}", "weight_file": "{el/w.hdf5}"},
        },
    }
    write_catalog(tmp_path, monkeypatch, arts, models)
    root = published_root()
    enc = embeddings.load("inf-v1", download=True)
    assert type(enc).__name__ == "InferSentCheckpointEncoder" and enc.name == "inf-v1"
    assert enc.checkpoint == str(root / "inf" / "infersent1.pkl")
    assert enc.word_vectors == str(root / "glove.tiny" / "glove.tiny.3d.txt")
    enc = embeddings.load("st-rel", download=True, mode="uni")  # a caller's override wins
    assert enc.path == str(root / "st") and enc.mode == "uni"
    assert (root / "st" / "utable.npy").read_bytes() == b"utable.npy"
    enc = embeddings.load("st-rel:mode=uni")  # a published name takes a spec's overrides too
    assert enc.path == str(root / "st") and enc.mode == "uni" and enc.name == "st-rel:mode=uni"
    enc = embeddings.load("el-s", download=True)
    assert (enc.options_file, enc.weight_file) == (
        str(root / "el" / "opts.json"),
        str(root / "el" / "w.hdf5"),
    )
    assert resolve_model("no-such-model", download=False) is None
