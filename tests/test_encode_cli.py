"""``transferkit encode``: piped progress, --device, --workers/--cluster, the progress policy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import embeddings
from benchmarks.cli import main
from embeddings.errors import InvalidParameterError
from embeddings.streaming import encode_corpus, read_vectors

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [f"row{i} the cat sat on the mat" for i in range(40)]


@pytest.fixture()
def source(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("".join(t + "\n" for t in TEXTS), encoding="utf-8")
    return path


def test_piped_encode_prints_one_line_per_step_without_carriage_returns(source, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TRANSFERKIT_PROGRESS"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "encode", "--model", "glove-6b-50d",
         "--input", str(source), "--output", str(tmp_path / "v.npy"), "--chunk-size", "15"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "\r" not in proc.stderr and "\r" not in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.startswith("encode glove")]
    assert len(lines) == 1 and lines[0].startswith("encode glove-6b-50d: 40 texts in ")


def test_a_wrong_progress_variable_is_refused_with_the_allowed_values(source, tmp_path, capsys):
    os.environ["TRANSFERKIT_PROGRESS"] = "fancy"
    try:
        with pytest.raises(InvalidParameterError, match=r"one of \['auto', 'bars', 'lines'"):
            encode_corpus(embeddings.load("glove-6b-50d"), source, tmp_path / "v.npy")
        assert not (tmp_path / "v.npy.progress.json").exists()  # refused before any work
        args = ["encode", "--model", "glove-6b-50d", "--input", str(source)]
        assert main([*args, "--output", str(tmp_path / "w.npy")]) == 2
        assert "TRANSFERKIT_PROGRESS must be one of" in capsys.readouterr().err
    finally:
        del os.environ["TRANSFERKIT_PROGRESS"]


def test_device_is_checked_like_the_library(source, tmp_path, capsys):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("checks the message of a machine without a GPU")
    base = ["encode", "--input", str(source), "--output", str(tmp_path / "v.npy")]
    assert main([*base, "--model", "minilm-l6", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "this machine has ['cpu']" in err
    assert main([*base, "--model", "glove-6b-50d", "--device", "cuda:0"]) == 2
    err = capsys.readouterr().err
    assert "glove-6b-50d runs on the CPU only" in err and "--device cpu" in err
    assert main([*base, "--model", "glove-6b-50d", "--device", "cpu", "--no-progress"]) == 0
    expected = embeddings.load("glove-6b-50d").encode(TEXTS)
    assert np.load(tmp_path / "v.npy").tobytes() == expected.tobytes()


def test_workers_and_cluster_options_are_checked_before_any_cluster(source, tmp_path, capsys):
    base = ["encode", "--model", "glove-6b-50d", "--input", str(source)]
    assert main([*base, "--output", str(tmp_path / "v.npy"), "--workers", "2"]) == 2
    assert "--output is a folder of parquet partitions" in capsys.readouterr().err
    both = ["--workers", "1", "--cluster", "tcp://127.0.0.1:1"]
    assert main([*base, "--output", str(tmp_path / "o"), *both]) == 2
    assert "pass one of them" in capsys.readouterr().err
    assert main([*base, "--output", str(tmp_path / "o"), "--workers", "1", "--chunk-size", "5"])
    assert "pass --partition-bytes" in capsys.readouterr().err


@pytest.mark.slow
def test_workers_encode_into_parquet_partitions(source, tmp_path, capsys):
    pytest.importorskip("distributed")
    out = tmp_path / "vectors"
    args = ["encode", "--model", "glove-6b-50d", "--input", str(source), "--output", str(out)]
    assert main([*args, "--workers", "1", "--partition-bytes", "400", "--no-progress"]) == 0
    assert "parquet partitions) with glove-6b-50d on 1 workers" in capsys.readouterr().err
    expected = embeddings.load("glove-6b-50d").encode(TEXTS)
    assert read_vectors(out).tobytes() == expected.tobytes()
    assert len(list(out.glob("part-*.parquet"))) == -(-source.stat().st_size // 400)
