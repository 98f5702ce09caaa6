"""The trainer's loop state, its stops and what it shows and writes at each of them."""

from __future__ import annotations

import doctest
import importlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from embeddings.errors import ModelFormatError, NonFiniteLossError, TransferkitError  # noqa: E402
from embeddings.training import trainer as trainer_module  # noqa: E402
from embeddings.training.checkpoint import TrainState, list_checkpoints  # noqa: E402
from embeddings.training.loss_plot import read_loss_log  # noqa: E402
from embeddings.training.trainer import Objective, TrainConfig, Trainer  # noqa: E402
from tests.training.test_trainer import Regression, cfg, mlp  # noqa: E402


class Doubling(Objective):
    """Fit y = 2x with one linear unit; a learning rate far too high makes it diverge."""

    unit = "points"

    def plan(self, epoch, rng):
        return [rng.permutation(8) for _ in range(4)]

    def loss(self, model, batch):
        x = torch.arange(8.0)[torch.from_numpy(batch)][:, None]
        return ((model(x) - 2 * x) ** 2).mean(), len(batch)


class Interrupted(Regression):
    """Raises KeyboardInterrupt (as Ctrl-C would) at the ``at``-th loss."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.calls = at, 0

    def loss(self, model, idx):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return super().loss(model, idx)


class Slow(Regression):
    def loss(self, model, idx):
        time.sleep(0.01)
        return super().loss(model, idx)


def _blue_pixels(png: Path) -> int:
    """Pixels of matplotlib's first line colour (tab:blue) in a PNG."""
    import matplotlib.image

    rgb = matplotlib.image.imread(png)[..., :3]
    tab_blue = np.array([31, 119, 180]) / 255
    return int((np.abs(rgb - tab_blue).max(axis=-1) < 0.08).sum())


# ------------------------------------------------------------------- state
def test_train_state_round_trips_and_is_the_checkpoint_json(tmp_path):
    Trainer(mlp(), Regression(dev=True), cfg(max_steps=9), tmp_path).fit()
    saved = json.loads((list_checkpoints(tmp_path / "checkpoints")[-1] / "state.json").read_text())
    state = TrainState.from_dict(saved)
    assert state.as_dict() == saved
    assert (state.step, state.epoch, state.batch, state.done) == (9, 1, 1, False)
    assert len(state.history) == 1 and state.history[0]["kind"] == "epoch"


@pytest.mark.parametrize(
    ("field", "value"),
    [("step", -1), ("step", "9"), ("best_metric", float("inf")), ("done", 1),
     ("stop_reason", "tired"), ("history", [1])],
)  # fmt: skip
def test_a_bad_state_field_is_named_on_resume(tmp_path, field, value):
    Trainer(mlp(), Regression(), cfg(max_steps=3), tmp_path).fit()
    path = list_checkpoints(tmp_path / "checkpoints")[-1] / "state.json"
    state = json.loads(path.read_text())
    state[field] = value
    path.write_text(json.dumps(state))
    with pytest.raises(ModelFormatError, match=f"field '{field}' must be"):
        Trainer(mlp(), Regression(), cfg(), tmp_path).fit(resume=True)


def test_a_state_with_missing_or_unknown_fields_is_refused():
    values = TrainState().as_dict()
    del values["lr_scale"]
    values["extra"] = 1
    with pytest.raises(ModelFormatError, match=r"missing field\(s\) \['lr_scale'\].*'extra'"):
        TrainState.from_dict(values)


# ---------------------------------------------------------- non-finite loss
def test_a_diverging_loss_raises_a_transferkit_error_naming_the_step(tmp_path):
    config = TrainConfig(epochs=50, lr=1e3, optimizer="sgd", max_grad_norm=None, log_every=1,
                         show_progress=False)  # fmt: skip
    with pytest.raises(NonFiniteLossError) as caught:
        Trainer(torch.nn.Linear(1, 1), Doubling(), config, tmp_path).fit()
    err = caught.value
    assert isinstance(err, TransferkitError) and isinstance(err, FloatingPointError)
    message = str(err)
    assert "became inf" in message or "became nan" in message
    assert "at step " in message and "(epoch " in message
    assert "lower the learning rate (lr=1000)" in message and "max_grad_norm" in message
    assert (tmp_path / "loss.png").is_file()  # the curve up to the failure is still drawn


# -------------------------------------------------------------- loss curve
def test_a_one_step_run_draws_a_visible_point(tmp_path):
    pytest.importorskip("matplotlib")
    result = Trainer(mlp(), Regression(), cfg(max_steps=1, log_every=20), tmp_path).fit()
    assert result.steps == 1
    curves = read_loss_log(tmp_path / "log.jsonl")
    assert len(curves.step_loss) == 1 and curves.step_loss[0][0] == 1
    assert _blue_pixels(tmp_path / "loss.png") > 20


def test_the_curve_has_every_logged_step_and_the_epoch_means(tmp_path):
    pytest.importorskip("matplotlib")
    Trainer(mlp(), Regression(), cfg(log_every=3), tmp_path).fit()
    curves = read_loss_log(tmp_path / "log.jsonl")
    # 4 epochs of 8 steps: a record every 3 steps, then one for the last 2 steps
    assert [s for s, _ in curves.step_loss] == [*range(3, 31, 3), 32]
    assert [s for s, _ in curves.epoch_loss] == [8, 16, 24, 32]
    assert _blue_pixels(tmp_path / "loss.png") > 100


@pytest.mark.parametrize("stop", ["time_budget", "early_stopping", "max_steps", "interrupt"])
def test_the_curve_is_written_at_every_stop(tmp_path, stop):
    pytest.importorskip("matplotlib")
    objective, config = Regression(), cfg(log_every=50)
    if stop == "time_budget":
        objective, config = Slow(), cfg(log_every=50, max_minutes=0.05 / 60)
    elif stop == "early_stopping":
        objective, config = Regression(dev=True), cfg(log_every=50, min_lr=1.0)
    elif stop == "max_steps":
        config = cfg(log_every=50, max_steps=2)
    else:
        objective = Interrupted(at=3)
    trainer = Trainer(mlp(), objective, config, tmp_path)
    if stop == "interrupt":
        with pytest.raises(KeyboardInterrupt):
            trainer.fit()
    else:
        assert trainer.fit().stop_reason == stop
    assert _blue_pixels(tmp_path / "loss.png") > 20  # no record was due: the stop wrote one


def test_a_partial_record_is_dropped_on_resume(tmp_path):
    Trainer(mlp(), Regression(), cfg(max_steps=5), tmp_path).fit()
    before = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in before if r.get("partial")] == [5]
    Trainer(mlp(), Regression(), cfg(), tmp_path).fit(resume=True)
    after = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert not any(r.get("partial") for r in after)


# ---------------------------------------------------------------- progress
def test_piped_training_prints_loss_and_rate_lines(capsys, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "lines")
    monkeypatch.setattr(trainer_module, "_LINE_SECONDS", 0.0)
    Trainer(mlp(), Regression(), cfg(show_progress=True, log_every=4)).fit()
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("train")]
    epochs = [x for x in lines if x.startswith("train: epoch ")]
    steps = [x for x in lines if x.startswith("train: step ")]
    assert [x.split(",")[0] for x in epochs] == [f"train: epoch {i}/4" for i in range(1, 5)]
    assert len(steps) == 8 and steps[0].startswith("train: step 4/32, loss ")
    assert all(" points/s" in x and " 0.0 " not in x for x in epochs + steps)
    assert lines[-1].startswith("train: 32 steps in ") and "loss=" in lines[-1]


def test_piped_training_lines_are_spaced_in_time(capsys, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "lines")
    Trainer(mlp(), Regression(), cfg(show_progress=True, log_every=1)).fit()
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("train")]
    assert len(lines) == 1  # a run of well under ten seconds: the closing line only


# ----------------------------------------------------------------- modules
@pytest.mark.parametrize(
    "name",
    ["trainer", "config", "checkpoint", "loss_plot", "finetune_data", "finetune_model",
     "finetune_objectives", "finetune_state"],
)  # fmt: skip
def test_module_doctests_pass(name):
    module = importlib.import_module(f"embeddings.training.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_run_without_matplotlib_writes_log_and_skips_plot(tmp_path, monkeypatch):
    """Without the ``plots`` extra a run still finishes: log.jsonl, no loss.png, one warning."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # importing it now fails
    with pytest.warns(RuntimeWarning, match=r"transferkit\[plots\]"):
        Trainer(mlp(), Regression(), cfg(max_steps=3), tmp_path).fit()
    assert (tmp_path / "log.jsonl").is_file()
    assert not (tmp_path / "loss.png").exists()
