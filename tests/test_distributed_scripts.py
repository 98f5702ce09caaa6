"""Scripts that start a LocalCluster: the README example as written, and a missing guard."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]


def _run(script: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRANSFERKIT_PROGRESS": "lines"}
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_a_script_without_main_guard_gets_one_line_naming_the_guard(tmp_path):
    (tmp_path / "t.txt").write_text("a cat\nstocks fell\n")
    script = tmp_path / "noguard.py"
    script.write_text(
        "from embeddings import distributed\n"
        "distributed.encode('glove-6b-50d', 't.txt', 'out', n_workers=1, show_progress=False)\n"
    )
    proc = _run(script, tmp_path)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("embeddings.errors.InvalidParameterError: a LocalCluster starts")
    assert "'if __name__ == \"__main__\":'" in last and str(script) in last
    assert "Nanny failed" not in proc.stderr and len(proc.stderr.splitlines()) < 40


@pytest.mark.slow
def test_the_readme_distributed_example_runs_as_written(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    block = next(b for b in blocks if "distributed.encode(" in b and "n_workers=2" in b)
    script = tmp_path / "example.py"
    script.write_text(block)
    proc = _run(script, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    partitions, loads = proc.stdout.split(" ", 1)
    assert partitions == "5" and loads.count(": 1") == 2  # one encoder load per worker
