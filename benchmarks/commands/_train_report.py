"""``transferkit train``'s summary: what a run did, printed and as JSON.

Example:
    >>> from embeddings.training.families import get_trainable
    >>> continue_command(get_trainable("quick-thought"), "c.txt", "out", 30.0)
    'transferkit train quick-thought --corpus c.txt --out out --resume --max-minutes 30'
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.commands._train_options import data_flag
from embeddings._progress import _duration

__all__ = ["continue_command", "print_summary", "summarize"]


_STATUS = {
    "completed": "finished",
    "early_stopping": "finished by early stopping",
    "time_budget": "stopped by the time budget",
    "max_steps": "stopped at the step limit",
}


def continue_command(family: Any, corpus: str, out: str, max_minutes: float | None) -> str:
    flag = data_flag(family)
    cmd = ["transferkit", "train", family.name, flag, corpus, "--out", out, "--resume"]
    if max_minutes is not None:
        cmd += ["--max-minutes", f"{max_minutes:g}"]
    return " ".join(shlex.quote(c) for c in cmd)


def summarize(
    family: Any,
    encoder: Any,
    params: Mapping[str, Any],
    ns: argparse.Namespace,
    corpus_shown: str,
    wall: float,
) -> dict[str, Any]:
    out = Path(ns.out)
    info = dict(encoder.__dict__.get("training_info_") or {})
    summary: dict[str, Any] = {
        "family": family.name,
        "class": family.target,
        "corpus": corpus_shown,
        "out": str(out),
        "params": dict(params),
        "wall_seconds": round(wall, 3),
        "dim": int(encoder.dim),
    }
    result = encoder.__dict__.get("training_result_")
    if result is not None:
        workdir = out / "training"
        history = list(result.history)
        summary.update(
            steps=int(result.steps),
            epochs_done=int(result.epochs_done),
            epochs=int(params["epochs"]),
            finished=bool(result.finished),
            stop_reason=str(result.stop_reason),
            resumed_from=result.resumed_from,
            training_seconds=round(float(result.seconds), 3),
            sentences_per_second=round(float(result.items_per_second), 1),
            final_epoch_loss=history[-1]["train_loss"] if history else None,
            log=str(workdir / "log.jsonl") if (workdir / "log.jsonl").is_file() else None,
            loss_curve=str(workdir / "loss.png") if (workdir / "loss.png").is_file() else None,
            corpus_stats={
                k: info[k] for k in ("sentences", "documents", "vocabulary") if k in info
            },
        )
    else:
        seconds = float(info.get("seconds") or wall)
        lines, epochs = int(info.get("corpus_lines", 0)), int(info.get("epochs", 0))
        summary.update(
            steps=None,
            epochs_done=epochs,
            epochs=epochs,
            finished=True,
            stop_reason="completed",
            resumed_from=None,
            training_seconds=round(seconds, 3),
            sentences_per_second=round(lines * epochs / max(seconds, 1e-9), 1),
            final_epoch_loss=None,
            log=None,
            loss_curve=None,
            corpus_stats={
                "sentences": lines,
                "words": info.get("corpus_words"),
                "vocabulary": info.get("vocabulary"),
            },
        )
    summary["continue_command"] = (
        None
        if summary["finished"]
        else continue_command(family, corpus_shown, str(ns.out), ns.max_minutes)
    )
    return summary


def print_summary(s: Mapping[str, Any]) -> None:
    def row(label: str, text: str) -> None:
        print(f"  {label:<14}{text}")

    print(f"trained {s['family']} -> {s['out']} (dim {s['dim']})")
    row("class", s["class"])
    stats = s["corpus_stats"]
    parts = [f"{stats[k]:,} {k}" for k in ("sentences", "documents", "words") if stats.get(k)]
    if stats.get("vocabulary"):
        parts.append(f"vocabulary {stats['vocabulary']:,}")
    row("corpus", s["corpus"] + (f" ({', '.join(parts)})" if parts else ""))
    wall = _duration(s["wall_seconds"])
    if s["steps"] is not None and s["training_seconds"] > s["wall_seconds"]:
        wall += f" (training time over all runs: {_duration(s['training_seconds'])})"
    row("wall time", wall)
    nothing_left = s["resumed_from"] is not None and s["resumed_from"] == s["steps"]
    rate = s["sentences_per_second"]
    row("speed", "- (nothing left to train)" if nothing_left else f"{rate:,.0f} sentences/s")
    progress = f"{s['epochs_done']} of {s['epochs']} epochs"
    if s["steps"] is not None:
        progress = f"{s['steps']:,} step{'' if s['steps'] == 1 else 's'}, {progress}"
    if s["resumed_from"] is not None:
        progress += f", resumed from step {s['resumed_from']:,}"
    row("progress", progress)
    if s["final_epoch_loss"] is not None:
        row("loss", f"{s['final_epoch_loss']:.4f} (mean of the last epoch)")
    status = _STATUS.get(s["stop_reason"], s["stop_reason"] or "stopped")
    if nothing_left and s["finished"]:
        status += " (already before this run)"
    row("status", status)
    if s["continue_command"]:
        row("continue with:", "")
        print(f"    {s['continue_command']}")
    if s["loss_curve"]:
        row("loss curve", s["loss_curve"])
    if s["log"]:
        row("log", s["log"])
    row("load with", f"embeddings.load({json.dumps(s['out'])})")
