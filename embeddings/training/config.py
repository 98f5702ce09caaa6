"""The hyper-parameters and the result of the shared :class:`~embeddings.training.trainer.Trainer`.

Example:
    >>> TrainConfig(epochs=2, lr=0.1).check().epochs
    2
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_int, check_optional_int
from embeddings.errors import InvalidParameterError

__all__ = ["TrainConfig", "TrainResult"]


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

    def run_settings(self) -> dict[str, Any]:
        """The fields a resumed run must share with the run it continues.

        Left out are the stops and the bookkeeping, which a resume may change:
        ``max_steps``, ``max_minutes``, ``checkpoint_every``, ``keep_checkpoints``,
        ``log_every``, ``threads`` and ``show_progress``.

        Example:
            >>> settings = TrainConfig().run_settings()
            >>> "epochs" in settings, "max_minutes" in settings
            (True, False)
        """
        return {k: v for k, v in asdict(self).items() if k not in _RESUMABLE}

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


#: fields of :class:`TrainConfig` that a resume may change
_RESUMABLE = frozenset({"max_steps", "max_minutes", "checkpoint_every", "keep_checkpoints",
                        "log_every", "threads", "show_progress"})  # fmt: skip


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
