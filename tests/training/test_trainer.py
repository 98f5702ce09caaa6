"""The shared Trainer: seeding, schedules, early stopping, logs, checkpoints and resume.

The resume tests compare weights *bit for bit* (``torch.equal``): on the CPU with one
thread, the same ``random_state`` and the restored optimizer/RNG state and data
position, a resumed run repeats exactly the arithmetic of an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from embeddings.errors import InvalidParameterError  # noqa: E402
from embeddings.training.checkpoint import list_checkpoints, read_latest  # noqa: E402
from embeddings.training.trainer import (  # noqa: E402
    Objective,
    TrainConfig,
    Trainer,
    _lr_factor,
)

X = torch.linspace(-1, 1, 64)[:, None]
Y = torch.sin(3 * X)


class Regression(Objective):
    """Fit sin(3x) with a small MLP; batches are seeded permutations; dropout uses torch RNG."""

    unit = "points"

    def __init__(self, batch: int = 8, dev: bool = False) -> None:
        self.batch = batch
        self.dev = dev

    def plan(self, epoch, rng):
        order = rng.permutation(len(X))
        return [order[i : i + self.batch] for i in range(0, len(X), self.batch)]

    def loss(self, model, idx):
        idx = torch.from_numpy(idx)
        return torch.nn.functional.mse_loss(model(X[idx]), Y[idx]), len(idx)

    def evaluate(self, model):
        if not self.dev:
            return None
        with torch.no_grad():
            return -float(torch.nn.functional.mse_loss(model(X), Y))


def mlp(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Dropout(0.1), torch.nn.Linear(16, 1)
    )
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return net


def cfg(**kw):
    base = {"epochs": 4, "lr": 0.01, "show_progress": False, "checkpoint_every": 3,
            "log_every": 2}  # fmt: skip
    return TrainConfig(**{**base, **kw})


def same(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_config_is_validated_with_clear_messages():
    with pytest.raises(InvalidParameterError, match="epochs must be an int >= 1, got 0"):
        TrainConfig(epochs=0).check()
    with pytest.raises(InvalidParameterError, match="lr must be a finite number > 0, got nan"):
        TrainConfig(lr=float("nan")).check()
    with pytest.raises(InvalidParameterError, match="optimizer must be 'adam'"):
        TrainConfig(optimizer="lbfgs").check()
    with pytest.raises(InvalidParameterError, match="unknown training option"):
        TrainConfig.from_dict({"epochs": 1, "learning_rate": 1.0})
    with pytest.raises(InvalidParameterError, match="resume=True needs a workdir"):
        Trainer(mlp(), Regression(), cfg()).fit(resume=True)


def test_training_learns_is_seeded_and_leaves_the_global_rng_alone():
    a, b, c = mlp(), mlp(), mlp()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    with torch.no_grad():
        loss0 = float(torch.nn.functional.mse_loss(a.eval()(X), Y))
    ra = Trainer(a, Regression(), cfg(epochs=30)).fit()
    Trainer(b, Regression(), cfg(epochs=30)).fit()
    Trainer(c, Regression(), cfg(epochs=30, random_state=1)).fit()
    assert torch.equal(torch.get_rng_state(), before)
    assert same(a, b) and not same(a, c)
    with torch.no_grad():
        assert float(torch.nn.functional.mse_loss(a(X), Y)) < 0.5 * loss0
    assert ra.finished and ra.stop_reason == "completed" and ra.steps == 30 * 8
    assert len(ra.history) == 30 and ra.items_per_second > 0


def test_learning_rate_schedules():
    c = TrainConfig(schedule="linear", warmup_steps=2)
    assert [_lr_factor(c, s, 10, 0) for s in (0, 1)] == [0.5, 1.0]
    assert _lr_factor(c, 6, 10, 0) == pytest.approx(0.5)
    cos = TrainConfig(schedule="cosine")
    assert _lr_factor(cos, 5, 10, 0) == pytest.approx(0.5)
    assert _lr_factor(TrainConfig(epoch_decay=0.5), 3, 10, 2) == 0.25


def test_early_stopping_restores_the_best_epoch():
    class Flat(Regression):
        scores = iter([0.1, 0.5, 0.2, 0.3, 0.1, 0.9])

        def evaluate(self, model):
            return next(self.scores)

    net = mlp()
    snapshots = []

    class Recording(Flat):
        def evaluate(self, model):
            snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
            return super().evaluate(model)

    result = Trainer(net, Recording(), cfg(epochs=6, patience=3)).fit()
    assert result.stop_reason == "early_stopping" and result.best_epoch == 1
    assert result.epochs_done == 5
    assert all(torch.equal(net.state_dict()[k], snapshots[1][k]) for k in snapshots[1])


def test_log_loss_curve_and_checkpoints(tmp_path):
    Trainer(mlp(), Regression(dev=True), cfg(), tmp_path).fit()
    records = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["step"] for r in steps] == list(range(2, 33, 2))
    assert len(epochs) == 4 and all(r["dev_metric"] < 0 for r in epochs)
    assert all(np.isfinite(r["loss"]) and r["items_per_s"] > 0 for r in steps)
    png = (tmp_path / "loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    ckpts = list_checkpoints(tmp_path / "checkpoints")
    assert [p.name for p in ckpts] == ["ckpt-000000030", "ckpt-000000032"]  # keep 2
    assert read_latest(tmp_path / "checkpoints").state["step"] == 32


@pytest.mark.parametrize("stop", [1, 5, 8, 13, 31])
def test_stopped_and_resumed_equals_uninterrupted(tmp_path, stop):
    ref = mlp()
    Trainer(ref, Regression(dev=True), cfg(patience=10)).fit()
    net = mlp()
    first = Trainer(net, Regression(dev=True), cfg(patience=10, max_steps=stop), tmp_path).fit()
    assert not first.finished or first.stop_reason == "max_steps"
    resumed_net = mlp(seed=99)  # different weights: everything must come from the checkpoint
    result = Trainer(resumed_net, Regression(dev=True), cfg(patience=10), tmp_path).fit(resume=True)
    assert result.resumed_from == stop and result.steps == 32
    assert same(resumed_net, ref)
    log = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["kind"] == "step"] == list(range(2, 33, 2))


def test_time_budget_stops_with_a_checkpoint_and_resume_finishes(tmp_path):
    class Slow(Regression):
        def loss(self, model, idx):
            time.sleep(0.01)
            return super().loss(model, idx)

    ref = mlp()
    Trainer(ref, Regression(), cfg()).fit()
    net = mlp()
    first = Trainer(net, Slow(), cfg(max_minutes=0.1 / 60), tmp_path).fit()
    assert not first.finished and first.stop_reason == "time_budget" and 0 < first.steps < 32
    assert read_latest(tmp_path / "checkpoints").state["step"] == first.steps
    again = mlp()
    done = Trainer(again, Regression(), cfg(), tmp_path).fit(resume=True)
    assert done.finished and same(again, ref)


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous(tmp_path):
    Trainer(mlp(), Regression(), cfg(max_steps=7), tmp_path).fit()
    ckpts = list_checkpoints(tmp_path / "checkpoints")
    (ckpts[-1] / "tensors.safetensors").write_bytes(b"garbage")
    assert read_latest(tmp_path / "checkpoints").state["step"] == int(ckpts[-2].name[5:])


def test_resume_with_every_checkpoint_damaged_is_refused_not_restarted(tmp_path):
    from embeddings.errors import ModelFormatError

    Trainer(mlp(), Regression(), cfg(max_steps=7), tmp_path).fit()
    log = (tmp_path / "log.jsonl").read_text()
    # a run_key.json that is not an object (a list, or null) is damage, not an old version
    for bad in ("[]", "null"):
        for folder in list_checkpoints(tmp_path / "checkpoints"):
            (folder / "run_key.json").write_text(bad)
        with pytest.raises(ModelFormatError, match="no checkpoint in .* could be read"):
            Trainer(mlp(), Regression(), cfg(), tmp_path).fit(resume=True)
    assert (tmp_path / "log.jsonl").read_text() == log  # nothing was lost
    assert len(list_checkpoints(tmp_path / "checkpoints")) == 2


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    from embeddings.errors import ModelFormatError

    Trainer(mlp(), Regression(), cfg(max_steps=3), tmp_path).fit()
    other = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    with pytest.raises(ModelFormatError, match="does not fit this model"):
        Trainer(other, Regression(), cfg(), tmp_path).fit(resume=True)


def test_a_resume_with_other_settings_or_data_is_refused_naming_them(tmp_path):
    from embeddings.errors import ModelFormatError

    Trainer(mlp(), Regression(), cfg(max_steps=3), tmp_path, run_key={"data": "a"}).fit()
    with pytest.raises(InvalidParameterError, match=r"config\.lr: 0\.01 there, 0\.1 here"):
        Trainer(mlp(), Regression(), cfg(lr=0.1), tmp_path, run_key={"data": "a"}).fit(resume=True)
    with pytest.raises(InvalidParameterError, match=r"setup\.data: the training data differ"):
        Trainer(mlp(), Regression(), cfg(), tmp_path, run_key={"data": "b"}).fit(resume=True)
    assert read_latest(tmp_path / "checkpoints").state["step"] == 3  # nothing was overwritten
    # the stops and the bookkeeping may change on resume
    done = Trainer(mlp(), Regression(), cfg(max_minutes=5.0, checkpoint_every=7, threads=2),
                   tmp_path, run_key={"data": "a"}).fit(resume=True)  # fmt: skip
    assert done.resumed_from == 3 and done.finished
    # a checkpoint that records no run (an older version) cannot be checked: refused
    for folder in list_checkpoints(tmp_path / "checkpoints"):
        (folder / "run_key.json").unlink()
    with pytest.raises(ModelFormatError, match="records no run settings"):
        Trainer(mlp(), Regression(), cfg(), tmp_path, run_key={"data": "a"}).fit(resume=True)
    # a set has no stable JSON form: refused (arrays are kept as their digest)
    with pytest.raises(InvalidParameterError, match="got a set"):
        Trainer(mlp(), Regression(), cfg(), run_key={"tags": {"a", "b"}})
    a = np.arange(5000)
    b = a.copy()
    b[2500] = -1
    key_a = Trainer(mlp(), Regression(), cfg(), run_key={"w": a}).run_key
    assert key_a != Trainer(mlp(), Regression(), cfg(), run_key={"w": b}).run_key
    # numpy scalars in the settings are recorded as their values
    t = Trainer(mlp(), Regression(), cfg(epochs=np.int64(4)), run_key={"n": np.int64(1)})
    assert t.run_key["setup"] == {"n": 1} and t.run_key["config"]["epochs"] == 4


def test_a_corpus_path_is_digested_by_its_corpus_files_only(tmp_path):
    from embeddings.training.checkpoint import data_digest

    (tmp_path / "a.txt").write_text("one line\n")
    (tmp_path / "b.txt").write_text("another line\n")
    before = data_digest(tmp_path)
    assert data_digest(str(tmp_path)) != before  # a str is a text, not a path
    # files that are not read (a run's own outputs, notes, raw/) do not change it
    (tmp_path / "runs" / "qt").mkdir(parents=True)
    (tmp_path / "runs" / "qt" / "log.jsonl").write_text("{}\n")
    (tmp_path / "README.md").write_text("notes\n")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "dump.txt").write_text("not read\n")
    assert data_digest(tmp_path) == before
    (tmp_path / "b.txt").write_text("another line, edited\n")
    assert data_digest(tmp_path) != before
    # a numpy string is hashed like the Python string
    assert data_digest(np.array(["x", "y"])) == data_digest(["x", "y"])


def test_non_finite_loss_raises_with_advice():
    class Bad(Regression):
        def loss(self, model, idx):
            loss, n = super().loss(model, idx)
            return loss * float("nan"), n

    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        Trainer(mlp(), Bad(), cfg()).fit()


# ------------------------------------------------------------ kill -9, resume
CHILD = textwrap.dedent(
    """
    import sys, time
    import torch
    torch.set_num_threads(1)
    from embeddings.adapters import quick_thought as qt

    slow = qt._Objective.loss
    def loss(self, model, span):
        time.sleep(0.02)  # widen the window between steps; the arithmetic is unchanged
        return slow(self, model, span)
    if sys.argv[3] == "slow":
        qt._Objective.loss = loss
    texts = [f"w{i % 7} w{(i * 3) % 11} w{(i * 5) % 13} x{i % 4}" if i % 9 else ""
             for i in range(240)]
    enc = qt.QuickThoughtEncoder(hidden_size=6, embedding_dim=5, epochs=3, batch_size=12,
                                 min_count=1, learning_rate=5e-3, random_state=3)
    enc.fit(texts, workdir=sys.argv[1], resume=sys.argv[2] == "resume",
            checkpoint_every=2, log_every=1)
    enc.save(sys.argv[1] + "/model")
    """
)


def _run_child(workdir: Path, mode: str, speed: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(workdir), mode, speed],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _weights(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "model" / "weights.safetensors"))


def test_kill_9_at_random_steps_then_resume_is_bit_identical(tmp_path):
    """Five SIGKILLs, each after a different step (and at a random moment inside it)."""
    ref = _run_child(tmp_path / "ref", "fresh", "fast")
    assert ref.wait(timeout=120) == 0, ref.stderr.read().decode()
    expected = _weights(tmp_path / "ref")
    total = json.loads((tmp_path / "ref" / "model" / "config.json").read_text())["state"][
        "training"
    ]["steps"]
    rng = np.random.default_rng(0)
    targets = sorted(rng.choice(np.arange(2, total - 1), size=5, replace=False).tolist())
    for trial, target in enumerate(targets):
        work = tmp_path / f"trial{trial}"
        child = _run_child(work, "fresh", "slow")
        log = work / "log.jsonl"
        deadline = time.time() + 120
        while time.time() < deadline:
            if log.is_file():
                steps = [json.loads(x) for x in log.read_text().splitlines() if x.endswith("}")]
                if steps and max(r["step"] for r in steps) >= target:
                    break
            if child.poll() is not None:
                break
            time.sleep(0.002)
        time.sleep(float(rng.uniform(0, 0.02)))  # somewhere inside the next step
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL, f"trial {trial}: the child ended first"
        assert not (work / "model").exists()
        resumed = _run_child(work, "resume", "fast")
        assert resumed.wait(timeout=120) == 0, resumed.stderr.read().decode()
        got = _weights(work)
        assert got.keys() == expected.keys()
        for key in expected:
            assert np.array_equal(got[key], expected[key]), f"trial {trial} (step {target}): {key}"
