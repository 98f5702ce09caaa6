"""Fixtures shared by the benchmark tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.tasks import clear_checksum_cache


@pytest.fixture
def isolated_data_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No data folder, cache or home of the user's: every path starts under ``tmp_path``."""
    for var in ("TRANSFERKIT_DATA", "TRANSFERKIT_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    clear_checksum_cache()
