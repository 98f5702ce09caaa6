"""Shared fixtures: data folder discovery and real sentences for tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


#: eight short sentences of different topics that trainable encoders are fitted on
FIT_SENTENCES = [
    "the movie was wonderful and moving",
    "a dull , lifeless film with no story",
    "stocks fell sharply on monday",
    "the cat sat on the mat",
    "what is the capital of france ?",
    "i loved the acting but hated the plot",
    "rain is expected over the weekend",
    "the committee approved the new budget",
]


def data_dir() -> Path | None:
    """The benchmark data folder from TRANSFERKIT_DATA, or ../shared/data, or None."""
    env = os.environ.get("TRANSFERKIT_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if (c / "SST2" / "test.tsv").is_file():
            return c
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if data_dir() is not None:
        return
    skip = pytest.mark.skip(reason="benchmark data not found: set TRANSFERKIT_DATA")
    for item in items:
        if "data" in item.keywords:
            item.add_marker(skip)


def read_tsv_texts(path: Path, limit: int, column: int = 1) -> list[str]:
    """First ``limit`` texts of a normalised TSV (header skipped)."""
    out = []
    with path.open(encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            out.append(line.rstrip("\n").split("\t")[column])
            if len(out) >= limit:
                break
    return out


def modules_imported_by(code: str, modules: Iterable[str]) -> list[str]:
    """Which of ``modules`` a fresh Python process has imported after running ``code``."""
    names = sorted(modules)
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {names!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def sst2_sentences() -> list[str]:
    """100 real SST2 test sentences (skips without data)."""
    d = data_dir()
    if d is None:
        pytest.skip("benchmark data not found: set TRANSFERKIT_DATA")
    return read_tsv_texts(d / "SST2" / "test.tsv", 100)
