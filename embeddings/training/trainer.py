"""The one training loop of every network transferkit trains.

A family supplies its network (an ``nn.Module``) and an :class:`Objective`: how an
epoch is cut into batches and the loss of one batch.  :class:`Trainer` does the
rest:

* seeding from ``random_state`` only: the epoch plans come from a numpy
  ``Generator`` seeded with ``(random_state, epoch)``; torch's random numbers
  (dropout, sampling) come from the torch RNG inside :func:`torch.random.fork_rng`,
  seeded with ``random_state``, so the caller's global RNG is neither used nor
  changed;
* an optimizer (Adam, AdamW or SGD), gradient-norm clipping, a learning-rate
  schedule (constant, linear or cosine decay after an optional warm-up, times a
  per-epoch decay factor, times ``plateau_factor`` for every epoch whose dev metric
  is not a new best), and early stopping on a dev metric with ``patience`` or once
  the learning rate falls below ``min_lr`` (the best epoch's weights are restored);
* progress through :mod:`embeddings._progress`: a tqdm bar with the loss and
  items/s in a terminal; elsewhere (pipes, logs) a line with the loss and items/s
  at the end of an epoch or a logged step, at most every ten seconds, and one at
  the end; metrics appended to ``log.jsonl`` and the loss curve ``loss.png``
  (:func:`~embeddings.training.loss_plot.plot_loss_curve`) written whenever a run
  stops: at the end, early stopping, ``max_steps``, the time budget, an error or an
  interrupt;
* a non-finite loss raises :class:`~embeddings.errors.NonFiniteLossError` naming
  the epoch and step;
* a time budget (``max_minutes``), and atomic checkpoints every
  ``checkpoint_every`` steps (and at the end) of the model, optimizer, scheduler,
  the torch RNG state and the loop state, a
  :class:`~embeddings.training.checkpoint.TrainState` (step, data position, ...).

Resume: :meth:`Trainer.fit` with ``resume=True`` restores the newest checkpoint and
continues from the exact batch after it, so a run killed at any moment loses at
most one checkpoint interval, and on the CPU a killed-and-resumed run ends with
weights bit-identical to an uninterrupted one (same ``random_state``, same threads).
A checkpoint of a run with other settings or data (the config's
:meth:`~embeddings.training.config.TrainConfig.run_settings` and the caller's
``run_key``) is refused, with what changed named.

Example:
    >>> import numpy as np, torch
    >>> class Fit(Objective):
    ...     def plan(self, epoch, rng):
    ...         return [rng.permutation(8)[:4] for _ in range(2)]
    ...     def loss(self, model, batch):
    ...         x = torch.arange(8.0)[torch.from_numpy(batch)][:, None]
    ...         return ((model(x) - 2 * x) ** 2).mean(), len(batch)
    >>> model = torch.nn.Linear(1, 1)
    >>> result = Trainer(model, Fit(), TrainConfig(epochs=3, lr=0.05, show_progress=False)).fit()
    >>> result.steps, result.finished
    (6, True)
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import (
    InvalidParameterError,
    MissingDependencyError,
    ModelFormatError,
    NonFiniteLossError,
)
from embeddings.training.checkpoint import TrainState
from embeddings.training.config import TrainConfig, TrainResult, _lr_factor
from embeddings.training.loss_plot import parse_record, plot_loss_curve, read_log

__all__ = ["Objective", "TrainConfig", "TrainResult", "Trainer", "plot_loss_curve"]

#: outside a terminal, the least seconds between two progress lines of a run
_LINE_SECONDS = 10.0


class Objective:
    """What a family trains: batches of an epoch, the loss of a batch, a dev metric.

    Subclasses implement :meth:`plan` and :meth:`loss`; :meth:`evaluate` is optional.
    Randomness belongs in :meth:`plan` (drawn from the ``rng`` it is given) or in
    torch's RNG (dropout), which the trainer seeds and checkpoints.
    """

    #: what one item of a batch is, for the items/s figure
    unit: str = "sentences"

    def plan(self, epoch: int, rng: np.random.Generator) -> Sequence[Any]:
        """The batches of ``epoch`` (cheap keys such as index arrays), in order."""
        raise NotImplementedError

    def loss(self, model: Any, batch: Any) -> tuple[Any, int]:
        """``(mean loss tensor, number of items)`` of one batch, with autograd."""
        raise NotImplementedError

    def evaluate(self, model: Any) -> float | None:
        """A dev metric (higher is better) after each epoch, or ``None``."""
        return None


def _plain(value: Any) -> Any:
    """A numpy scalar as its Python value and an array as its digest, for the run key's
    JSON; anything else that JSON cannot hold is refused."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        from embeddings.training.checkpoint import data_digest

        return f"sha256:{data_digest(value)}"
    raise InvalidParameterError(
        f"run_key values must be JSON-compatible (str, number, bool, None, list, dict) or "
        f"numpy arrays, got a {type(value).__name__}; pass e.g. data_digest(value)"
    )


class Trainer:
    """Train ``model`` on ``objective`` with ``config``; optional checkpoints in ``workdir``.

    Args:
        model: the network; its parameters with ``requires_grad`` are trained.
        objective: batches and loss.
        config: hyper-parameters.
        workdir: folder for ``checkpoints/``, ``log.jsonl`` and ``loss.png``;
            ``None`` trains in memory only (no checkpoint, no resume).
        param_groups: optional optimizer parameter groups (dicts with ``params``
            and per-group ``lr``/``weight_decay``); by default one group of every
            trainable parameter.
        run_key: JSON-compatible description of what is trained besides ``config``
            (the caller's settings and a :func:`~embeddings.training.checkpoint.data_digest`
            of the data). Every checkpoint records it with ``config``'s
            :meth:`~embeddings.training.config.TrainConfig.run_settings`, and a resume
            whose description differs is refused, naming what changed.

    Example:
        >>> import torch
        >>> Trainer(torch.nn.Linear(2, 2), Objective(), TrainConfig()).workdir is None
        True
    """

    def __init__(
        self,
        model: Any,
        objective: Objective,
        config: TrainConfig,
        workdir: str | os.PathLike[str] | None = None,
        *,
        param_groups: list[dict[str, Any]] | None = None,
        run_key: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.objective = objective
        self.config = config.check()
        self.workdir = None if workdir is None else Path(workdir)
        self.param_groups = param_groups
        # a JSON round trip: what is compared on resume is what the checkpoint holds
        record = {"config": self.config.run_settings(), "setup": run_key or {}}
        self.run_key = json.loads(json.dumps(record, sort_keys=True, default=_plain))

    # ------------------------------------------------------------------ setup
    def _optimizer(self) -> Any:
        import torch

        c = self.config
        groups = self.param_groups
        if groups is None:
            groups = [{"params": [p for p in self.model.parameters() if p.requires_grad]}]
        groups = [dict(g) for g in groups]
        for g in groups:
            g.setdefault("lr", float(c.lr))
            g.setdefault("weight_decay", float(c.weight_decay))
            g["initial_lr"] = g["lr"]
        if c.optimizer in ("adam", "adamw"):
            cls = torch.optim.Adam if c.optimizer == "adam" else torch.optim.AdamW
            # the fused kernel (CPU and CUDA, float tensors) updates all parameters in one
            # pass: several times faster than the per-tensor loop, and as deterministic
            params = [p for g in groups for p in g["params"]]
            fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda")
                        for p in params)  # fmt: skip
            return cls(groups, fused=fused or None)
        return torch.optim.SGD(groups, momentum=float(c.momentum))

    def _trainable(self) -> list[Any]:
        seen: set[int] = set()
        out = []
        for g in self.param_groups or [{"params": self.model.parameters()}]:
            for p in g["params"]:
                if p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
        return out

    def _log(self, record: dict[str, Any]) -> None:
        if self.workdir is None:
            return
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.workdir / "log.jsonl", flags, 0o644)  # never through a link
        with open(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def _truncate_log(self, step: int) -> None:
        """Drop log records written after the checkpoint a resumed run starts from."""
        path = self.workdir / "log.jsonl" if self.workdir else None
        if path is None or not os.path.lexists(path):
            return
        kept = []
        for line in read_log(path):  # a link or special file reads as an empty log
            rec = parse_record(line)  # None: a line cut by a kill
            if rec is not None and rec.get("step", 0) <= step and not rec.get("partial"):
                kept.append(line)
        from embeddings._atomic import atomic_write_text

        atomic_write_text(path, "".join(k + "\n" for k in kept))

    # -------------------------------------------------------------------- fit
    def fit(self, *, resume: bool = False) -> TrainResult:
        """Run (or continue) training.

        Args:
            resume: continue from the newest checkpoint in ``workdir`` (a fresh
                start when there is none).

        Returns:
            a :class:`TrainResult`; the model holds the final (or best) weights.

        Raises:
            InvalidParameterError: ``resume`` without a ``workdir``, a
                ``checkpoints`` entry of the workdir that is a symbolic link, or a
                checkpoint of a run with other settings or data (named in the message).
            ModelFormatError: a checkpoint that does not fit the model, records no
                run settings, or whose state has a malformed field (named in the message).
            NonFiniteLossError: the loss became NaN or infinite.
        """
        import torch

        if resume and self.workdir is None:
            raise InvalidParameterError("resume=True needs a workdir with checkpoints")
        c = self.config
        if self.workdir is not None:
            self.workdir.mkdir(parents=True, exist_ok=True)
            if (self.workdir / "checkpoints").is_symlink():
                raise InvalidParameterError(
                    f"{self.workdir / 'checkpoints'} is a symbolic link; the trainer writes "
                    "only inside its workdir: remove the link or choose another workdir"
                )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(c.random_state))
            from embeddings._deps import torch_threads

            with torch_threads(int(c.threads)):
                return _Run(self).run(resume)


def _rate(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


class _Run:
    """One invocation of :meth:`Trainer.fit`: restore, steps, epoch ends, checkpoints, result."""

    def __init__(self, trainer: Trainer) -> None:
        c = trainer.config
        self.trainer, self.config, self.model = trainer, c, trainer.model
        self.objective = trainer.objective
        self.opt = trainer._optimizer()
        self.params = trainer._trainable()
        self._plans: dict[int, Sequence[Any]] = {}
        total = len(self.plan(0)) * int(c.epochs)
        self.total_steps = total if c.max_steps is None else min(total, int(c.max_steps))
        self.state = TrainState()
        self.best_weights: dict[str, Any] | None = None
        self.resumed_from: int | None = None
        self.ckpt_dir = trainer.workdir / "checkpoints" if trainer.workdir else None
        self.items_now = 0
        self.started = self.last_line = time.perf_counter()
        self.last_ckpt = self.logged_step = 0
        self.bar: Any = None
        self.lines, self.base_seconds = False, 0.0  # set by run()
        self.deadline: float | None = None

    def plan(self, epoch: int) -> Sequence[Any]:
        """The batches of ``epoch`` (the plan of the latest epoch asked is kept)."""
        if epoch not in self._plans:
            self._plans.clear()
            rng = np.random.default_rng([int(self.config.random_state), int(epoch)])
            self._plans[epoch] = list(self.objective.plan(epoch, rng))
        return self._plans[epoch]

    # ---------------------------------------------------------------- restore
    def restore(self, resume: bool) -> None:
        """Load the newest checkpoint (``resume``), else start a fresh log."""
        found = None
        if resume and self.ckpt_dir is not None:
            from embeddings.training.checkpoint import list_checkpoints, read_latest

            found = read_latest(self.ckpt_dir)
            if found is None and list_checkpoints(self.ckpt_dir):
                raise ModelFormatError(
                    f"resume=True, but no checkpoint in {self.ckpt_dir} could be read (each "
                    "is damaged: a missing, malformed or linked file); start without resume "
                    "to train afresh (they are then replaced)"
                )
        if found is None:
            if self.trainer.workdir is not None:
                (self.trainer.workdir / "log.jsonl").unlink(missing_ok=True)
            return
        import torch

        tensors, torch_state, saved, run_key = found
        self._check_same_run(run_key)
        state = TrainState.from_dict(saved, where=f"checkpoint state in {self.ckpt_dir}")
        model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        try:
            self.model.load_state_dict(model_state, strict=True)
            self.opt.load_state_dict(torch_state["optimizer"])
        except (RuntimeError, KeyError, ValueError) as err:
            raise ModelFormatError(
                f"checkpoint in {self.ckpt_dir} does not fit this model: {err}"
            ) from err
        torch.set_rng_state(torch_state["torch_rng"])
        self.best_weights = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")} or None
        if state.stop_reason not in ("completed", "early_stopping"):
            state.done, state.stop_reason = False, ""  # a budget stop continues
        self.state = state
        self.resumed_from = self.last_ckpt = self.logged_step = state.step
        self.trainer._truncate_log(state.step)

    def _check_same_run(self, saved: dict[str, Any] | None) -> None:
        """Refuse to continue a checkpoint of another run (other settings or data)."""
        from embeddings.training.checkpoint import run_changes

        if saved is None:
            raise ModelFormatError(
                f"the checkpoint in {self.ckpt_dir} records no run settings (it was written "
                "by an older version), so it cannot be checked to belong to this run: start "
                "without resume"
            )
        changes = run_changes(saved, self.trainer.run_key)
        if changes:
            shown = "; ".join(changes[:6]) + ("; ..." if len(changes) > 6 else "")
            raise InvalidParameterError(
                f"the checkpoints in {self.ckpt_dir} are of a run with other settings or "
                f"data ({shown}); resume with what that run was started with, or start "
                "afresh without resume (its checkpoints are then replaced), or use "
                "another workdir"
            )

    # -------------------------------------------------------------------- run
    def run(self, resume: bool) -> TrainResult:
        """Train until done or stopped; the loss curve is written at every stop."""
        from embeddings._progress import progress, progress_mode  # bars in a terminal

        self.restore(resume)
        c, st = self.config, self.state
        self.lines = bool(c.show_progress) and progress_mode() == "lines"
        self.started = self.last_line = time.perf_counter()
        self.base_seconds = st.seconds
        if c.max_minutes is not None:
            self.deadline = self.started + 60.0 * float(c.max_minutes)
        self.bar = progress(
            enabled=bool(c.show_progress), total=self.total_steps, initial=st.step,
            unit="step", desc="train",
        )  # fmt: skip
        self.model.train()
        try:
            while not st.done and self.train_epoch(st.epoch):
                self.end_epoch(st.epoch)
            if st.stop_reason in ("time_budget", "max_steps") and self.last_ckpt != st.step:
                self.checkpoint()
        except BaseException:
            self.close(quiet=True)
            raise
        self.close()
        return self.result()

    def stop_now(self) -> str:
        """``"max_steps"`` or ``"time_budget"`` when the next step must not run, else ``""``."""
        c = self.config
        if c.max_steps is not None and self.state.step >= int(c.max_steps):
            return "max_steps"
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            return "time_budget"
        return ""

    def train_epoch(self, epoch: int) -> bool:
        """The remaining batches of ``epoch``; ``False`` when a stop cut it short."""
        batches = self.plan(epoch)
        st = self.state
        while st.batch < len(batches):
            reason = self.stop_now()
            if reason:
                st.stop_reason, st.done = reason, reason == "max_steps"
                return False
            self.step(epoch, batches[st.batch])
        return True

    # ------------------------------------------------------------------- step
    def step(self, epoch: int, batch: Any) -> None:
        """One optimizer step on ``batch``, its bookkeeping, log and checkpoint."""
        import torch

        c, st = self.config, self.state
        f = _lr_factor(c, st.step, self.total_steps, epoch) * float(st.lr_scale)
        for g in self.opt.param_groups:
            g["lr"] = g["initial_lr"] * f
        loss, n_items = self.objective.loss(self.model, batch)
        value = float(loss.detach().item())
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"training loss became {value} at step {st.step + 1} (epoch {epoch + 1}, batch "
                f"{st.batch + 1}); lower the learning rate (lr={c.lr:g}) or clip gradients "
                f"(max_grad_norm={c.max_grad_norm})"
            )
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if c.max_grad_norm is not None and self.params:
            torch.nn.utils.clip_grad_norm_(self.params, float(c.max_grad_norm))
        self.opt.step()
        st.step, st.batch = st.step + 1, st.batch + 1
        st.epoch_loss += value * n_items
        st.epoch_items += int(n_items)
        st.window_loss += value * n_items
        st.window_items += int(n_items)
        self.items_now += int(n_items)
        st.seconds = self.base_seconds + time.perf_counter() - self.started
        self.bar.update(1)
        if st.step % int(c.log_every) == 0:
            self.log_window(epoch)
        if st.step - self.last_ckpt >= int(c.checkpoint_every):
            self.checkpoint()

    def rate(self) -> float:
        """Items per second of this invocation."""
        return self.items_now / max(time.perf_counter() - self.started, 1e-9)

    def log_window(self, epoch: int, *, partial: bool = False) -> None:
        """Log the mean loss since the last step record (``partial``: at a stop, kept
        in the window so that a resumed run logs the same records)."""
        st = self.state
        mean, rate = st.window_loss / max(st.window_items, 1), self.rate()
        record = {
            "kind": "step", "step": st.step, "epoch": epoch, "loss": mean,
            "lr": self.opt.param_groups[0]["lr"], "items_per_s": rate, "seconds": st.seconds,
        }  # fmt: skip
        if partial:
            record["partial"] = True
        else:
            self.bar.set_postfix(loss=f"{mean:.4f}", **{f"{self.objective.unit}/s": _rate(rate)})
            st.window_loss, st.window_items = 0.0, 0
            self.line(f"step {st.step}/{self.total_steps}", mean)
        self.trainer._log(record)
        self.logged_step = st.step

    def line(self, where: str, loss: float, *, force: bool = False) -> None:
        """A progress line outside a terminal, at most every ``_LINE_SECONDS``."""
        now = time.perf_counter()
        if not self.lines or (not force and now - self.last_line < _LINE_SECONDS):
            return
        self.last_line = now
        unit = self.objective.unit
        print(
            f"train: {where}, loss {loss:.4f}, {_rate(self.rate())} {unit}/s",
            file=sys.stderr,
            flush=True,
        )

    # ------------------------------------------------------------ end of epoch
    def end_epoch(self, epoch: int) -> None:
        """Evaluate, log the epoch, track the best weights and decide whether to stop."""
        c, st = self.config, self.state
        metric = self.objective.evaluate(self.model)
        self.model.train()
        record = {
            "kind": "epoch", "step": st.step, "epoch": epoch,
            "train_loss": st.epoch_loss / max(st.epoch_items, 1),
            "dev_metric": metric, "lr": self.opt.param_groups[0]["lr"], "seconds": st.seconds,
        }  # fmt: skip
        st.history = [*st.history, record]
        self.trainer._log(record)
        self.line(f"epoch {epoch + 1}/{c.epochs}", record["train_loss"])
        self.track_best(metric, epoch)
        factor = _lr_factor(c, max(st.step - 1, 0), self.total_steps, epoch)
        lr_now = float(c.lr) * factor * float(st.lr_scale)
        st.epoch, st.batch = epoch + 1, 0
        st.epoch_loss, st.epoch_items = 0.0, 0
        if c.patience is not None and metric is not None and st.stale >= c.patience:
            st.done, st.stop_reason = True, "early_stopping"
        elif c.min_lr is not None and lr_now < float(c.min_lr):
            st.done, st.stop_reason = True, "early_stopping"
        elif st.epoch >= int(c.epochs):
            st.done, st.stop_reason = True, "completed"
        if st.done or st.step - self.last_ckpt >= int(c.checkpoint_every):
            self.checkpoint()

    def track_best(self, metric: float | None, epoch: int) -> None:
        """Keep the weights of a new best dev metric; count and shrink on a plateau."""
        st = self.state
        if metric is None:
            return
        if st.best_metric is None or metric > st.best_metric:
            st.best_metric, st.best_epoch, st.stale = float(metric), epoch, 0
            self.best_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            return
        st.stale += 1
        if self.config.plateau_factor is not None:
            st.lr_scale = float(st.lr_scale) * float(self.config.plateau_factor)

    # ------------------------------------------------------------- checkpoint
    def checkpoint(self) -> None:
        """Write a checkpoint of the weights, the optimizer, the RNG and the state."""
        self.last_ckpt = self.state.step
        if self.ckpt_dir is None:
            return
        import torch

        from embeddings.training.checkpoint import write_checkpoint

        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        if self.best_weights is not None:
            tensors.update({f"best.{k}": v for k, v in self.best_weights.items()})
        torch_state = {"optimizer": self.opt.state_dict(), "torch_rng": torch.get_rng_state()}
        write_checkpoint(
            self.ckpt_dir, self.state.step, tensors, torch_state, self.state.as_dict(),
            keep=int(self.config.keep_checkpoints), run_key=self.trainer.run_key,
        )  # fmt: skip

    # ------------------------------------------------------------------ close
    def close(self, *, quiet: bool = False) -> None:
        """Close the progress display, log the last partial window and draw ``loss.png``.

        ``quiet`` (a run ended by an error or an interrupt): a failure here is not
        raised over the error in flight.
        """
        try:
            if self.bar is not None:
                self.bar.close()
            st, workdir = self.state, self.trainer.workdir
            if st.window_items and st.step > self.logged_step:
                self.log_window(st.epoch, partial=True)
            if workdir is not None and (workdir / "log.jsonl").is_file():
                try:
                    plot_loss_curve(workdir / "log.jsonl", workdir / "loss.png")
                except MissingDependencyError as err:  # no plots extra: the run still ends
                    warnings.warn(
                        f"loss.png skipped ({err}); the losses are in log.jsonl",
                        RuntimeWarning,
                        stacklevel=2,
                    )
        except Exception:
            if not quiet:
                raise

    # ----------------------------------------------------------------- result
    def result(self) -> TrainResult:
        """The :class:`TrainResult`; a finished run keeps the best epoch's weights."""
        st = self.state
        if st.done and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        self.model.eval()
        return TrainResult(
            steps=st.step, epochs_done=st.epoch, finished=st.done,
            stop_reason=st.stop_reason, best_epoch=st.best_epoch, history=list(st.history),
            seconds=float(st.seconds), items_per_second=self.rate(),
            resumed_from=self.resumed_from,
        )  # fmt: skip
