from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _store_root(tmp_path, monkeypatch):
    """Keep converted vector stores inside the test's temporary folder."""
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))
