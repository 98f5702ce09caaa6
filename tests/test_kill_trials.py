"""kill -9 at random moments during cache writes and vector-store conversion.

A child process loops: encode a new batch of texts through a ``CachedEncoder`` (which
writes a shard), or convert a new GloVe text file into a native store; after each
success it appends a line to a journal (fsynced).  The parent kills it with SIGKILL
at a random moment, then checks that everything the journal says was committed
reads back exactly (cache entries equal direct encoding; stores load with the right
vectors), and that the next writer works.  Save-over-folder kills are in
tests/test_atomic.py, training-checkpoint kills in tests/training/test_trainer.py and
out-of-core encoding kills in tests/test_streaming.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

CHILD = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    root, mode = sys.argv[1], sys.argv[2]
    os.environ["TRANSFERKIT_VECTOR_STORE"] = root + "/stores"
    import embeddings
    from embeddings.cache import CachedEncoder
    from embeddings.formats import load_vectors, write_glove_text
    journal = open(root + "/journal.txt", "a")
    enc = embeddings.load("tfidf", max_features=50).fit(["a b c", "b c d", "c d e"])
    i = 0
    while True:
        if mode == "cache":
            texts = [f"a b {i} {k}" for k in range(50)]
            CachedEncoder(enc, cache_dir=root + "/cache").encode(texts)
        else:
            words = [f"w{i}_{k}" for k in range(300)]
            vecs = np.arange(300 * 8, dtype=np.float32).reshape(300, 8) + i
            path = f"{root}/vec{i}.txt"
            write_glove_text(path, words, vecs)
            load_vectors(path)
        journal.write(f"{i}\\n")
        journal.flush()
        os.fsync(journal.fileno())
        i += 1
    """
)


def _kill_after(root: Path, mode: str, seconds: float) -> int:
    root.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), mode],
        cwd=Path(__file__).resolve().parents[1],
        stderr=subprocess.PIPE,
    )
    journal = root / "journal.txt"
    deadline = time.time() + 120
    while time.time() < deadline and child.poll() is None:  # wait for the first commit
        if journal.is_file() and journal.read_text().strip():
            break
        time.sleep(0.01)
    time.sleep(seconds)
    if child.poll() is not None:
        raise AssertionError(child.stderr.read().decode())
    child.send_signal(signal.SIGKILL)
    child.wait()
    return len(journal.read_text().split())


@pytest.mark.parametrize("trial", range(4))
def test_killed_cache_writer_loses_nothing_committed(tmp_path, trial):
    import embeddings
    from embeddings.cache import CachedEncoder

    rng = np.random.default_rng(trial)
    done = _kill_after(tmp_path, "cache", float(rng.uniform(0.05, 0.6)))
    assert done >= 1
    enc = embeddings.load("tfidf", max_features=50).fit(["a b c", "b c d", "c d e"])
    cached = CachedEncoder(enc, cache_dir=tmp_path / "cache")
    for i in range(done + 1):  # every committed batch, and the one in flight
        texts = [f"a b {i} {k}" for k in range(50)]
        assert np.array_equal(cached.encode(texts), enc.encode(texts))


@pytest.mark.parametrize("trial", range(4))
def test_killed_store_conversion_loses_nothing_committed(tmp_path, trial, monkeypatch):
    from embeddings.formats import load_vectors

    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))
    rng = np.random.default_rng(100 + trial)
    done = _kill_after(tmp_path, "store", float(rng.uniform(0.05, 0.6)))
    assert done >= 1
    for i in range(done + 1):
        path = tmp_path / f"vec{i}.txt"
        if not path.exists():
            continue
        table = load_vectors(path)  # a complete store, or a fresh conversion
        expected = np.arange(300 * 8, dtype=np.float32).reshape(300, 8) + i
        assert table.vocab[:2] == [f"w{i}_0", f"w{i}_1"]
        assert np.array_equal(np.asarray(table.vectors), expected)
