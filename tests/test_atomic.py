"""Crash-safe writes (embeddings/_atomic.py): files, saved folders and vector stores.

The kill test saves encoders over existing folders in forked processes and kills
them with SIGKILL at random moments; every target must load afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import embeddings
import embeddings._atomic as atomic
import embeddings._temporaries as temporaries
from embeddings._atomic import (
    atomic_open,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    recover_folder,
    remove_dead_temporaries,
    remove_dead_temporaries_in,
    temporary_name,
    write_folder_atomically,
)
from embeddings.errors import InvalidParameterError

REPO = Path(__file__).resolve().parents[1]
TRIALS = 12  # per replace method


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _temp(target: Path, kind: str = "tmp", *, pid: int, host: str | None = None) -> Path:
    host = host or temporaries._host_tag()
    return target.with_name(f".{target.name}.{kind}-{host}-{pid}-abcd")


def _fill(text: str):
    def fill(tmp: Path) -> None:
        (tmp / "config.json").write_text(text, encoding="utf-8")

    return fill


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------------- files


def test_atomic_write_bytes_and_text(tmp_path: Path) -> None:
    target = atomic_write_bytes(tmp_path / "a" / "b.bin", b"one")
    assert target.read_bytes() == b"one"
    atomic_write_text(target, "twö")
    assert target.read_text(encoding="utf-8") == "twö"
    assert _hidden(target.parent) == []


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = atomic_write_bytes(tmp_path / "f", b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_open(target) as fh:
        fh.write(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_temporary_names_carry_host_and_pid() -> None:
    name = temporary_name("model")
    assert name.startswith(f".model.tmp-{temporaries._host_tag()}-{os.getpid()}-")
    assert temporaries._TEMP_RE.match(name[len(".model.") :])


# ----------------------------------------------------------------- folders


def test_replace_an_existing_folder(tmp_path: Path) -> None:
    target = tmp_path / "m"
    write_folder_atomically(target, _fill("1"), kind="saved encoder")
    write_folder_atomically(target, _fill("2"), kind="saved encoder")
    assert (target / "config.json").read_text() == "2"
    assert _hidden(tmp_path) == []


def test_replace_without_rename_exchange(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    target = tmp_path / "m"
    write_folder_atomically(target, _fill("1"), kind="saved encoder")
    write_folder_atomically(target, _fill("2"), kind="saved encoder")
    assert (target / "config.json").read_text() == "2"
    assert _hidden(tmp_path) == []


def test_rename_exchange_swaps_two_folders(tmp_path: Path) -> None:
    if atomic._RENAMEAT2 is None:
        pytest.skip("renameat2 is not available on this platform")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "from_a").touch()
    (tmp_path / "b").mkdir()
    if not atomic._exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("this file system does not support RENAME_EXCHANGE")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["from_a"]
    assert list((tmp_path / "a").iterdir()) == []


def test_refuses_to_replace_what_is_not_a_save(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("x")
    with pytest.raises(InvalidParameterError, match="refusing to overwrite"):
        write_folder_atomically(tmp_path / "data", _fill("1"), kind="saved encoder")
    assert (tmp_path / "data" / "keep.txt").read_text() == "x"
    assert _hidden(tmp_path) == []


def test_replace_false_keeps_the_existing_folder(tmp_path: Path) -> None:
    write_folder_atomically(tmp_path / "s", _fill("first"), kind="store", replace=False)
    write_folder_atomically(tmp_path / "s", _fill("second"), kind="store", replace=False)
    assert (tmp_path / "s" / "config.json").read_text() == "first"
    assert _hidden(tmp_path) == []


def test_a_failing_fill_leaves_the_old_folder(tmp_path: Path) -> None:
    target = write_folder_atomically(tmp_path / "m", _fill("1"), kind="saved encoder")

    def fail(tmp: Path) -> None:
        (tmp / "config.json").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_folder_atomically(target, fail, kind="saved encoder")
    assert (target / "config.json").read_text() == "1"
    assert _hidden(tmp_path) == []


def test_dead_writers_temporaries_are_removed_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "m"
    dead, alive = _dead_pid(), os.getpid()
    leftovers = {
        "dead": _temp(target, pid=dead),
        "dead old": _temp(target, "old", pid=dead),
        "alive": _temp(target, pid=alive),
        "other host": _temp(target, pid=dead, host="00000000"),
    }
    for path in leftovers.values():
        path.mkdir()
        (path / "config.json").write_text("{}")
    legacy = tmp_path / ".m.tmp-abcd_123"  # an earlier version's store temporary
    legacy.mkdir()
    os.utime(legacy, (time.time() - 7200, time.time() - 7200))
    unrelated = tmp_path / ".m.notes"
    unrelated.write_text("mine")
    write_folder_atomically(target, _fill("new"), kind="saved encoder")
    assert not leftovers["dead"].exists() and not leftovers["dead old"].exists()
    assert not legacy.exists()
    assert leftovers["alive"].exists() and leftovers["other host"].exists()
    assert unrelated.read_text() == "mine"


def test_an_old_folder_is_recovered_only_from_a_dead_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(temporaries, "_WAIT_FOR_WRITER_SECONDS", 0.05)
    target = tmp_path / "m"
    live_old = _temp(target, "old", pid=os.getpid())
    live_old.mkdir()
    (live_old / "config.json").write_text("live")
    assert remove_dead_temporaries(target) == []
    assert recover_folder(target) is False  # its writer may still rename the new one in
    dead_old = _temp(target, "old", pid=_dead_pid())
    dead_old.mkdir()
    (dead_old / "config.json").write_text("dead")
    assert remove_dead_temporaries(target) == []  # the only copy while target is missing
    assert recover_folder(target) is True
    assert (target / "config.json").read_text() == "dead" and not dead_old.exists()


def test_remove_dead_temporaries_in_a_folder(tmp_path: Path) -> None:
    shard = tmp_path / "x.safetensors"
    dead = tmp_path / f".{shard.name}.tmp-{temporaries._host_tag()}-{_dead_pid()}-ab"
    alive = tmp_path / f".{shard.name}.tmp-{temporaries._host_tag()}-{os.getpid()}-ab"
    dead.write_bytes(b"half")
    alive.write_bytes(b"half")
    assert remove_dead_temporaries_in(tmp_path) == [dead]
    assert alive.exists()


def test_vector_store_temporaries_of_dead_converters_are_removed(tmp_path: Path) -> None:
    from embeddings.formats.native import read_store, write_store
    from embeddings.formats.table import VectorTable

    target = tmp_path / "store"
    dead_pid = _dead_pid()
    for dead in (_temp(target, pid=dead_pid), _temp(tmp_path / "other-store", pid=dead_pid)):
        dead.mkdir()
        (dead / "vectors.npy").write_bytes(b"half")
    write_store(target, VectorTable(["a", "b"], np.eye(2, dtype=np.float32)))
    assert read_store(target).vocab == ["a", "b"]
    assert _hidden(tmp_path) == []


# --------------------------------------------------------------- kill -9

_KILLER = textwrap.dedent(
    """
    import os, random, signal, sys, time
    import embeddings
    import embeddings._atomic as atomic

    root, trials = sys.argv[1], int(sys.argv[2])
    texts_a = ["the cat sat", "a dog ran", "the cat ran"]
    texts_b = ["stocks fell", "markets sank today", "bonds rose", "a quiet day"]
    a = embeddings.load("tfidf").fit(texts_a)
    b = embeddings.load("tfidf").fit(texts_b)
    rng = random.Random(1234)
    real_replace = os.replace

    def slow_replace(src, dst):
        # widen the window between the two renames of the fallback method
        real_replace(src, dst)
        if ".old-" in os.fspath(dst):
            time.sleep(0.003)

    def save_forever(target, method):
        if method == "two renames":
            atomic._exchange = lambda x, y: False
            os.replace = slow_replace
        i = 0
        while True:
            (a if i % 2 else b).save(target)
            i += 1

    def crash_between_renames(target):
        atomic._exchange = lambda x, y: False

        def die_after_moving_aside(src, dst):
            real_replace(src, dst)
            if ".old-" in os.fspath(dst):
                os.kill(os.getpid(), signal.SIGKILL)

        os.replace = die_after_moving_aside
        b.save(target)

    jobs = [(f"{root}/exchange-{i}", "exchange") for i in range(trials)]
    jobs += [(f"{root}/renames-{i}", "two renames") for i in range(trials)]
    for target, method in jobs:
        a.save(target)
        pid = os.fork()
        if pid == 0:
            try:
                save_forever(target, method)
            finally:
                os._exit(1)  # a save failed: the parent sees an exit, not a kill
        time.sleep(rng.uniform(0.0, 0.08))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    target = f"{root}/crash"
    a.save(target)
    pid = os.fork()
    if pid == 0:
        crash_between_renames(target)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status), status
    print("crash target missing:", not os.path.exists(target))
    print("done", flush=True)
    """
)


@pytest.fixture(scope="module")
def killer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Run the killing script once: (its folder, its output)."""
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    root = tmp_path_factory.mktemp("killed")
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, str(root), str(TRIALS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "done" in proc.stdout, proc.stderr[-3000:]
    return root, proc.stdout


@pytest.fixture
def killed(killer: tuple[Path, str], tmp_path: Path) -> Path:
    """A copy of the killed writers' folders, temporaries included."""
    copy = tmp_path / "killed"
    shutil.copytree(killer[0], copy, symlinks=True)
    return copy


VOCABS = (
    sorted({"the", "cat", "sat", "a", "dog", "ran"}),
    sorted({"stocks", "fell", "markets", "sank", "today", "bonds", "rose", "a", "quiet", "day"}),
)


def _assert_loads(target: Path) -> None:
    enc = embeddings.load(str(target))
    assert sorted(enc.vocabulary_) in VOCABS
    assert enc.encode(["the cat fell"]).shape == (1, enc.dim)


@pytest.mark.parametrize("method", ["exchange", "renames"])
def test_a_killed_writer_always_leaves_a_loadable_folder(killed: Path, method: str) -> None:
    for i in range(TRIALS):  # a target may be missing now: moved aside by a dead writer
        _assert_loads(killed / f"{method}-{i}")


def test_a_writer_killed_between_two_renames_is_recovered_on_load(
    killer: tuple[Path, str], killed: Path
) -> None:
    # the folder was moved aside and the writer died before renaming the new one in
    assert "crash target missing: True" in killer[1]
    target = killed / "crash"
    assert not target.exists()
    _assert_loads(target)
    assert not [p for p in killed.iterdir() if p.name.startswith(".crash.old-")]


def test_the_next_save_removes_the_leftovers_of_killed_writers(killed: Path) -> None:
    enc = embeddings.load("tfidf").fit(["x y", "y z"])
    names = [f"{m}-{i}" for m in ("exchange", "renames") for i in range(TRIALS)]
    for target in [killed / name for name in (*names, "crash")]:
        embeddings.load(str(target))
        enc.save(target)
    leftovers = [p.name for p in killed.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_embeddings_load_recovers_a_folder_by_path_string(tmp_path: Path) -> None:
    enc = embeddings.load("tfidf").fit(["a b", "b c"])
    target = enc.save(tmp_path / "m")
    aside = _temp(target, "old", pid=_dead_pid())
    os.rename(target, aside)
    assert embeddings.load(str(target)).vocabulary_ == ["a", "b", "c"]
    assert json.loads((target / "config.json").read_text())["class"].endswith("TfidfEncoder")


def test_atomic_write_json_writes_utf8_json_in_one_piece(tmp_path: Path) -> None:
    path = atomic_write_json(tmp_path / "sub" / "m.json", {"é": [1, 0.5], "b": None})
    assert path.read_bytes() == '{\n  "é": [\n    1,\n    0.5\n  ],\n  "b": null\n}\n'.encode()
    assert json.loads(path.read_text(encoding="utf-8")) == {"é": [1, 0.5], "b": None}
    atomic_write_json(path, {"b": 2, "a": 1}, indent=None, sort_keys=True)
    assert path.read_text() == '{"a": 1, "b": 2}\n'
    assert [p.name for p in path.parent.iterdir()] == ["m.json"]  # no temporary left


def test_atomic_write_json_refuses_nan_and_non_json_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with pytest.raises(InvalidParameterError, match="r.json: cannot write the value as JSON"):
        atomic_write_json(path, {"score": float("nan")})
    with pytest.raises(InvalidParameterError, match="not JSON serializable"):
        atomic_write_json(path, {"x": object()})
    assert not path.exists() and list(tmp_path.iterdir()) == []
    atomic_write_json(path, {"score": float("nan")}, allow_nan=True)
    assert path.read_text() == '{\n  "score": NaN\n}\n'
