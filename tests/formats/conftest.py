from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _store_root(tmp_path, monkeypatch):
    """Keep converted stores inside the test's temporary folder."""
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))


@pytest.fixture
def small_table():
    vocab = ["the", "cat", "sat", "naïve", "日本"]
    rng = np.random.default_rng(0)
    return vocab, rng.standard_normal((5, 4)).astype(np.float32)
