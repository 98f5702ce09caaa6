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
* a tqdm bar with the loss and items/s, metrics appended to ``log.jsonl`` and a
  loss-curve ``loss.png``;
* a time budget (``max_minutes``), and atomic checkpoints every
  ``checkpoint_every`` steps (and at the end) of the model, optimizer, scheduler,
  the torch RNG state, the step and the data position.

Resume: :meth:`Trainer.fit` with ``resume=True`` restores the newest checkpoint and
continues from the exact batch after it, so a run killed at any moment loses at
most one checkpoint interval, and on the CPU a killed-and-resumed run ends with
weights bit-identical to an uninterrupted one (same ``random_state``, same threads).

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
import stat
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_int, check_optional_int
from embeddings.errors import InvalidParameterError, ModelFormatError

__all__ = ["Objective", "TrainConfig", "TrainResult", "Trainer", "plot_loss_curve"]


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


@dataclass
class TrainConfig:
    """Hyper-parameters of :class:`Trainer` (all validated by :meth:`check`).

    Attributes:
        epochs: passes over the data.
        lr: peak learning rate.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        weight_decay: L2 (Adam/SGD) or decoupled (AdamW) weight decay.
        momentum: SGD momentum.
        max_grad_norm: clip the gradient norm to this; ``None`` does not clip.
        schedule: ``"constant"``, ``"linear"`` or ``"cosine"`` decay to 0 over the run.
        warmup_steps: linear warm-up steps from 0 to ``lr``.
        epoch_decay: multiply the learning rate by this after every epoch.
        patience: stop after this many epochs without a better dev metric
            (needs :meth:`Objective.evaluate`); ``None`` never stops early.
        plateau_factor: multiply the learning rate by this (``0 < f <= 1``) after
            every epoch whose dev metric is not better than the best so far (SGD
            schedule of InferSent: 0.2); ``None`` never shrinks it.
        min_lr: stop (as early stopping) once a shrunk or decayed learning rate is
            below this at the end of an epoch; ``None`` never stops on it.
        max_steps: stop after this many optimizer steps in total.
        max_minutes: stop (after a checkpoint) once this invocation ran this long.
        checkpoint_every: steps between checkpoints (with a checkpoint folder).
        keep_checkpoints: how many checkpoints to keep.
        log_every: steps between ``log.jsonl`` records.
        random_state: the only seed.
        threads: torch intra-op threads (``1`` for bit-reproducible CPU runs).
        show_progress: show a tqdm bar.
    """

    epochs: int = 1
    lr: float = 1e-3
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    weight_decay: float = 0.0
    momentum: float = 0.0
    max_grad_norm: float | None = 5.0
    schedule: Literal["constant", "linear", "cosine"] = "constant"
    warmup_steps: int = 0
    epoch_decay: float = 1.0
    patience: int | None = None
    plateau_factor: float | None = None
    min_lr: float | None = None
    max_steps: int | None = None
    max_minutes: float | None = None
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    log_every: int = 20
    random_state: int = 0
    threads: int = 1
    show_progress: bool = True

    def check(self) -> TrainConfig:
        """Validate every field; returns ``self``.

        Raises:
            InvalidParameterError: naming the field, the value and what is allowed.
        """

        def integer(name: str, low: int, optional: bool = False) -> None:
            (check_optional_int if optional else check_int)(name, getattr(self, name), low)

        def number(name: str, low: float, *, strict: bool, optional: bool = False) -> None:
            v = getattr(self, name)
            if optional and v is None:
                return
            ok = not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating))
            ok = ok and math.isfinite(float(v)) and (v > low if strict else v >= low)
            if not ok:
                op = ">" if strict else ">="
                extra = "None or " if optional else ""
                raise InvalidParameterError(
                    f"{name} must be {extra}a finite number {op} {low:g}, got {v!r}"
                )

        integer("epochs", 1)
        number("lr", 0.0, strict=True)
        if self.optimizer not in ("adam", "adamw", "sgd"):
            raise InvalidParameterError(
                f"optimizer must be 'adam', 'adamw' or 'sgd', got {self.optimizer!r}"
            )
        number("weight_decay", 0.0, strict=False)
        number("momentum", 0.0, strict=False)
        number("max_grad_norm", 0.0, strict=True, optional=True)
        if self.schedule not in ("constant", "linear", "cosine"):
            raise InvalidParameterError(
                f"schedule must be 'constant', 'linear' or 'cosine', got {self.schedule!r}"
            )
        integer("warmup_steps", 0)
        number("epoch_decay", 0.0, strict=True)
        integer("patience", 1, optional=True)
        number("plateau_factor", 0.0, strict=True, optional=True)
        if self.plateau_factor is not None and self.plateau_factor > 1:
            raise InvalidParameterError(
                f"plateau_factor must be None or a number in (0, 1], got {self.plateau_factor!r}"
            )
        number("min_lr", 0.0, strict=True, optional=True)
        integer("max_steps", 1, optional=True)
        number("max_minutes", 0.0, strict=True, optional=True)
        integer("checkpoint_every", 1)
        integer("keep_checkpoints", 1)
        integer("log_every", 1)
        integer("random_state", 0)
        integer("threads", 1)
        return self

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`as_dict`; unknown keys raise :class:`InvalidParameterError`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidParameterError(
                f"unknown training option(s) {unknown}; allowed: {sorted(known)}"
            )
        return cls(**values).check()


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` did.

    Attributes:
        steps: optimizer steps taken in total (over every resumed invocation).
        epochs_done: completed epochs.
        finished: ``True`` when the run completed (all epochs, early stop or
            ``max_steps``); ``False`` when the time budget stopped it.
        stop_reason: ``"completed"``, ``"early_stopping"``, ``"max_steps"`` or
            ``"time_budget"``.
        best_epoch: the epoch whose weights were kept (early stopping), else ``None``.
        history: one record per finished epoch (``train_loss``, ``dev_metric``, ``lr``).
        seconds: training wall time over every invocation.
        items_per_second: items (e.g. sentences) per second of this invocation.
        resumed_from: the step this invocation resumed from, or ``None``.
    """

    steps: int
    epochs_done: int
    finished: bool
    stop_reason: str
    best_epoch: int | None
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    items_per_second: float = 0.0
    resumed_from: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        return asdict(self)


def _lr_factor(config: TrainConfig, step: int, total: int, epoch: int) -> float:
    """Learning-rate multiplier before optimizer step ``step`` (0-based)."""
    f = 1.0
    if config.warmup_steps and step < config.warmup_steps:
        f = (step + 1) / config.warmup_steps
    elif config.schedule != "constant" and total > config.warmup_steps:
        progress = (step - config.warmup_steps) / max(total - config.warmup_steps, 1)
        progress = min(max(progress, 0.0), 1.0)
        if config.schedule == "linear":
            f = 1.0 - progress
        else:
            f = 0.5 * (1.0 + math.cos(math.pi * progress))
    return f * float(config.epoch_decay) ** epoch


def _read_log(path: Path) -> list[str]:
    """The lines of a ``log.jsonl``; empty when it is missing, a link or not a regular file."""
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except OSError:
        return []
    with open(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return []
        return fh.read().decode("utf-8", "replace").splitlines()


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def plot_loss_curve(log_path: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path | None:
    """Plot the step losses (and epoch dev metrics) of a ``log.jsonl`` to a PNG.

    Records that are not JSON objects with finite numbers are skipped.  The PNG is
    written to a temporary file and renamed over ``out``, so a symbolic link at
    ``out`` is replaced, never written through.

    Returns:
        the PNG path, or ``None`` when the log has no step record.
    """
    steps, losses, epochs, metrics = [], [], [], []
    for line in _read_log(Path(log_path)):
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(rec, dict) or not _number(rec.get("step")):
            continue
        if rec.get("kind") == "step" and _number(rec.get("loss")):
            steps.append(rec["step"])
            losses.append(rec["loss"])
        elif rec.get("kind") == "epoch" and _number(rec.get("dev_metric")):
            epochs.append(rec["step"])
            metrics.append(rec["dev_metric"])
    if not steps:
        return None
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from embeddings._atomic import atomic_write_bytes

    fig, ax = plt.subplots(figsize=(7, 4))
    try:
        ax.plot(steps, losses, lw=1, label="training loss (mean since last record)")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        if metrics:
            ax2 = ax.twinx()
            ax2.plot(epochs, metrics, "o-", color="tab:orange", label="dev metric")
            ax2.set_ylabel("dev metric")
        ax.legend(loc="upper right")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
    finally:
        plt.close(fig)
    return atomic_write_bytes(Path(out), buffer.getvalue())


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
    ) -> None:
        self.model = model
        self.objective = objective
        self.config = config.check()
        self.workdir = None if workdir is None else Path(workdir)
        self.param_groups = param_groups

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
        if c.optimizer == "adam":
            return torch.optim.Adam(groups)
        if c.optimizer == "adamw":
            return torch.optim.AdamW(groups)
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
        for line in _read_log(path):  # a link or special file reads as an empty log
            try:
                rec = json.loads(line)
            except (ValueError, RecursionError):
                continue  # a line cut by a kill
            if isinstance(rec, dict) and _number(rec.get("step", 0)) and rec.get("step", 0) <= step:
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
            InvalidParameterError: ``resume`` without a ``workdir``, or a
                ``checkpoints`` entry of the workdir that is a symbolic link.
            ModelFormatError: a checkpoint that does not fit the model.
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
                return self._fit(resume)

    def _fit(self, resume: bool) -> TrainResult:
        import torch

        c = self.config
        opt = self._optimizer()
        params = self._trainable()
        plans: dict[int, Sequence[Any]] = {}

        def plan(epoch: int) -> Sequence[Any]:
            if epoch not in plans:
                plans.clear()
                rng = np.random.default_rng([int(c.random_state), int(epoch)])
                plans[epoch] = list(self.objective.plan(epoch, rng))
            return plans[epoch]

        steps_per_epoch = len(plan(0))
        total_steps = steps_per_epoch * int(c.epochs)
        if c.max_steps is not None:
            total_steps = min(total_steps, int(c.max_steps))
        st: dict[str, Any] = {
            "step": 0, "epoch": 0, "batch": 0, "epoch_loss": 0.0, "epoch_items": 0,
            "window_loss": 0.0, "window_items": 0, "best_metric": None, "best_epoch": None,
            "stale": 0, "history": [], "seconds": 0.0, "done": False, "stop_reason": "",
            "lr_scale": 1.0,
        }  # fmt: skip
        best_weights: dict[str, Any] | None = None
        resumed_from = None
        ckpt_dir = self.workdir / "checkpoints" if self.workdir else None
        if resume and ckpt_dir is not None:
            from embeddings.training.checkpoint import read_latest

            found = read_latest(ckpt_dir)
            if found is not None:
                tensors, torch_state, saved = found
                model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
                try:
                    self.model.load_state_dict(model_state, strict=True)
                    opt.load_state_dict(torch_state["optimizer"])
                except (RuntimeError, KeyError, ValueError) as err:
                    raise ModelFormatError(
                        f"checkpoint in {ckpt_dir} does not fit this model: {err}"
                    ) from err
                torch.set_rng_state(torch_state["torch_rng"])
                best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
                best_weights = best or None
                st.update(saved)
                if st["stop_reason"] not in ("completed", "early_stopping"):
                    st["done"], st["stop_reason"] = False, ""  # a budget stop continues
                resumed_from = int(st["step"])
                self._truncate_log(resumed_from)
        if resumed_from is None and self.workdir is not None:
            (self.workdir / "log.jsonl").unlink(missing_ok=True)

        def lr_at(step: int, epoch: int) -> None:
            f = _lr_factor(c, step, total_steps, epoch) * float(st["lr_scale"])
            for g in opt.param_groups:
                g["lr"] = g["initial_lr"] * f

        def checkpoint() -> None:
            if ckpt_dir is None:
                return
            from embeddings.training.checkpoint import write_checkpoint

            tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
            if best_weights is not None:
                tensors.update({f"best.{k}": v for k, v in best_weights.items()})
            torch_state = {"optimizer": opt.state_dict(), "torch_rng": torch.get_rng_state()}
            write_checkpoint(
                ckpt_dir, int(st["step"]), tensors, torch_state, dict(st),
                keep=int(c.keep_checkpoints),
            )  # fmt: skip

        from embeddings._progress import progress  # bars in a terminal, else one line

        started = time.perf_counter()
        base_seconds = float(st["seconds"])
        items_now = 0
        deadline = None if c.max_minutes is None else started + 60.0 * float(c.max_minutes)
        bar = progress(
            enabled=bool(c.show_progress), total=total_steps, initial=int(st["step"]),
            unit="step", desc="train",
        )  # fmt: skip
        self.model.train()
        last_ckpt = int(st["step"])
        try:
            while not st["done"]:
                epoch = int(st["epoch"])
                batches = plan(epoch)
                while int(st["batch"]) < len(batches):
                    if c.max_steps is not None and int(st["step"]) >= int(c.max_steps):
                        st["done"], st["stop_reason"] = True, "max_steps"
                        break
                    if deadline is not None and time.perf_counter() >= deadline:
                        st["stop_reason"] = "time_budget"
                        break
                    lr_at(int(st["step"]), epoch)
                    loss, n_items = self.objective.loss(self.model, batches[int(st["batch"])])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if c.max_grad_norm is not None and params:
                        torch.nn.utils.clip_grad_norm_(params, float(c.max_grad_norm))
                    opt.step()
                    value = float(loss.detach().item())
                    if not math.isfinite(value):
                        raise FloatingPointError(
                            f"training loss became {value} at step {st['step']} (epoch {epoch}); "
                            "lower the learning rate or clip gradients (max_grad_norm)"
                        )
                    st["step"] = int(st["step"]) + 1
                    st["batch"] = int(st["batch"]) + 1
                    st["epoch_loss"] += value * n_items
                    st["epoch_items"] += int(n_items)
                    st["window_loss"] += value * n_items
                    st["window_items"] += int(n_items)
                    items_now += int(n_items)
                    elapsed = time.perf_counter() - started
                    st["seconds"] = base_seconds + elapsed
                    bar.update(1)
                    if int(st["step"]) % int(c.log_every) == 0:
                        mean = st["window_loss"] / max(st["window_items"], 1)
                        rate = items_now / max(elapsed, 1e-9)
                        bar.set_postfix(
                            loss=f"{mean:.4f}", **{f"{self.objective.unit}/s": f"{rate:,.0f}"}
                        )
                        self._log(
                            {"kind": "step", "step": st["step"], "epoch": epoch, "loss": mean,
                             "lr": opt.param_groups[0]["lr"], "items_per_s": rate,
                             "seconds": st["seconds"]}
                        )  # fmt: skip
                        st["window_loss"], st["window_items"] = 0.0, 0
                    if int(st["step"]) - last_ckpt >= int(c.checkpoint_every):
                        checkpoint()
                        last_ckpt = int(st["step"])
                if st["stop_reason"] in ("time_budget", "max_steps"):
                    break
                # end of epoch
                metric = self.objective.evaluate(self.model)
                self.model.train()
                record = {
                    "kind": "epoch", "step": st["step"], "epoch": epoch,
                    "train_loss": st["epoch_loss"] / max(st["epoch_items"], 1),
                    "dev_metric": metric, "lr": opt.param_groups[0]["lr"],
                    "seconds": st["seconds"],
                }  # fmt: skip
                st["history"] = [*st["history"], record]
                self._log(record)
                if metric is not None and (st["best_metric"] is None or metric > st["best_metric"]):
                    st["best_metric"], st["best_epoch"], st["stale"] = float(metric), epoch, 0
                    best_weights = {
                        k: v.detach().clone() for k, v in self.model.state_dict().items()
                    }
                elif metric is not None:
                    st["stale"] = int(st["stale"]) + 1
                    if c.plateau_factor is not None:
                        st["lr_scale"] = float(st["lr_scale"]) * float(c.plateau_factor)
                lr_now = float(c.lr) * _lr_factor(c, max(int(st["step"]) - 1, 0), total_steps,
                                                  epoch) * float(st["lr_scale"])  # fmt: skip
                st["epoch"], st["batch"] = epoch + 1, 0
                st["epoch_loss"], st["epoch_items"] = 0.0, 0
                if c.patience is not None and metric is not None and st["stale"] >= c.patience:
                    st["done"], st["stop_reason"] = True, "early_stopping"
                elif c.min_lr is not None and lr_now < float(c.min_lr):
                    st["done"], st["stop_reason"] = True, "early_stopping"
                elif int(st["epoch"]) >= int(c.epochs):
                    st["done"], st["stop_reason"] = True, "completed"
                if st["done"] or int(st["step"]) - last_ckpt >= int(c.checkpoint_every):
                    checkpoint()
                    last_ckpt = int(st["step"])
            if st["stop_reason"] in ("time_budget", "max_steps") and last_ckpt != int(st["step"]):
                checkpoint()
        finally:
            bar.close()
        finished = bool(st["done"])
        if finished and best_weights is not None:
            self.model.load_state_dict(best_weights)
        self.model.eval()
        if self.workdir is not None and (self.workdir / "log.jsonl").is_file():
            plot_loss_curve(self.workdir / "log.jsonl", self.workdir / "loss.png")
        seconds = time.perf_counter() - started
        return TrainResult(
            steps=int(st["step"]),
            epochs_done=int(st["epoch"]),
            finished=finished,
            stop_reason=str(st["stop_reason"]),
            best_epoch=st["best_epoch"],
            history=list(st["history"]),
            seconds=float(st["seconds"]),
            items_per_second=items_now / max(seconds, 1e-9),
            resumed_from=resumed_from,
        )
