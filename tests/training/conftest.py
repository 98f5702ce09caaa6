from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _store_root(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))
