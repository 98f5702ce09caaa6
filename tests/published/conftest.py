"""A local HTTP server on 127.0.0.1 that serves published-model layouts, and can misbehave.

``server.files[path] = bytes`` serves a file (with ``Range`` support);
``server.modes[path]`` makes it misbehave: ``"cut"`` (send half, then drop the
connection, once), ``"more"`` (no Content-Length, 100 extra bytes), ``"redirect:/x"``,
``"404"``.  ``server.requests`` records ``(path, Range header)``.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        mode = srv.modes.get(self.path, "")
        if mode.startswith("redirect:"):
            self.send_response(302)
            self.send_header("Location", mode.split(":", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = srv.files.get(self.path)
        if data is None or mode == "404":
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and mode != "norange":
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        if mode == "more":
            self.end_headers()
            self.wfile.write(body + b"x" * 100)
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "cut":
            srv.modes[self.path] = ""  # only once
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.modes, srv.requests = {}, {}, []
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model cache and lock file of the test's own; no proxy between us and 127.0.0.1."""
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TRANSFERKIT_MODELS_LOCK", str(tmp_path / "models.lock.json"))
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "off")
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")


GLOVE_TEXT = "the 0.1 0.2 0.3\ncat 0.5 -0.25 1.0\nsat -1.0 0.0 0.75\n"


def glove_zip(extra: dict[str, str] | None = None) -> bytes:
    """A tiny GloVe text zip in the published layout (``glove.6B.3d.txt`` inside)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("glove.tiny.3d.txt", GLOVE_TEXT)
        for name, text in (extra or {}).items():
            zf.writestr(name, text)
    return buf.getvalue()


def write_catalog(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    artifacts: dict[str, Any],
    models: dict[str, Any],
) -> Path:
    """Write a catalogue and point ``TRANSFERKIT_CATALOG`` at it."""
    path = tmp_path / "catalog.json"
    body = {"format": "transferkit-catalog", "version": 1, "artifacts": artifacts, "models": models}
    path.write_text(json.dumps(body))
    monkeypatch.setenv("TRANSFERKIT_CATALOG", str(path))
    return path


def glove_catalog(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    size: int | None = None,
    sha256: str | None = None,
) -> Path:
    """A catalogue with one GloVe zip artifact at ``url`` and the model ``glove-tiny``."""
    art = {
        "source": "test",
        "licence": "PDDL-1.0",
        "files": [
            {
                "name": "glove.tiny.zip",
                "urls": [url],
                "size": size,
                "sha256": sha256,
                "archive": "zip",
                "members": ["glove.tiny.3d.txt"],
            }
        ],
    }
    model = {
        "family": "word_vectors",
        "description": "tiny GloVe",
        "artifacts": ["glove.tiny"],
        "preset": "word-vectors",
        "params": {"source": "{glove.tiny/glove.tiny.3d.txt}"},
    }
    return write_catalog(tmp_path, monkeypatch, {"glove.tiny": art}, {"glove-tiny": model})
