"""Few-shot table: k labelled examples a class, several seeds, frozen vs contrastive vs SetFit.

For each task, ``k`` and seed, one stratified sample of ``k`` training texts a class
(seeded) is drawn, and every row learns from exactly that sample:

* ``tfidf``: TF-IDF vectors + logistic regression;
* ``frozen``: the encoder's vectors + logistic regression;
* ``contrastive``: ``fine_tune(objective="contrastive", unfreeze="all")`` for
  ``--iterations`` epochs (each pairs every text with one positive and one negative),
  then logistic regression on the new vectors;
* ``setfit``: SetFit itself, run in its own virtualenv (``--setfit-python``) by
  :mod:`benchmarks.peers.setfit_peer`, with the same base folder, the same sample, the
  same number of pairs (``num_iterations``), batch, learning rate and head.

The head is scikit-learn's ``LogisticRegression(max_iter=1000)`` in every row (SetFit's
default head).  Test sets are capped at ``--test-max`` texts (a seeded stratified
subsample, the same for every row).  Wall time covers loading the model, training and
predicting the test texts; both libraries use ``--threads`` torch threads.  Results go
to ``--out`` after every cell, and a rerun skips the cells already there, except a
contrastive or SetFit cell whose partner on the same sample is missing: both are then
measured again, so that each wall-time ratio compares runs under the same load.

Example:
    $ python -m benchmarks.fewshot --tasks SST2 CR --shots 8 --seeds 5 \\
        --setfit-python .venv-setfit/bin/python --out results/fewshot.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._atomic import atomic_write_json

ROWS = ("tfidf", "frozen", "contrastive", "setfit")
PEER = Path(__file__).resolve().parent / "peers" / "setfit_peer.py"


def sample(labels: np.ndarray, shots: int, random_state: int) -> np.ndarray:
    """``shots`` indices a class, drawn with ``random_state`` (all of a smaller class),
    shuffled.

    Example:
        >>> sample(np.array([0, 0, 0, 1, 1, 1]), 2, 0).size
        4
    """
    rng = np.random.default_rng(random_state)
    picked = [
        rng.choice(np.flatnonzero(labels == c), min(shots, int((labels == c).sum())), replace=False)
        for c in np.unique(labels)
    ]
    out = np.concatenate(picked)
    return out[rng.permutation(out.size)]


def _lr_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: Any, test_y: Any) -> float:
    from sklearn.linear_model import LogisticRegression

    head = LogisticRegression(max_iter=1000).fit(train_x, train_y)
    return 100.0 * float(np.mean(head.predict(test_x) == test_y))


class Cells:
    """The results file: one record per (task, shots, seed, row, model) cell."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}
        if path.is_file():
            self.records = {r["key"]: r for r in json.loads(path.read_text())["cells"]}

    def add(self, record: dict[str, Any]) -> None:
        self.records[record["key"]] = record
        self._write()

    def drop(self, key: str) -> None:
        """Forget one cell (it is then measured again)."""
        if self.records.pop(key, None) is not None:
            self._write()

    def _write(self) -> None:
        cells = sorted(self.records.values(), key=lambda r: r["key"])
        atomic_write_json(self.path, {"cells": cells})

    def unpaired(self, task: str, shots: int, random_state: int, model: str) -> str | None:
        """The key of a contrastive or SetFit cell whose partner on the same sample is
        missing (a run stopped between the two), or ``None``."""
        keys = [key(task, shots, random_state, row, model) for row in ("contrastive", "setfit")]
        have = [k for k in keys if k in self.records]
        return have[0] if len(have) == 1 else None


def key(task: str, shots: int, random_state: int, row: str, model: str) -> str:
    """The cell's name in the results file: ``task/shots/seed/row/model``."""
    return f"{task}/{shots}/{random_state}/{row}/{model}"


def run(args: argparse.Namespace) -> Cells:
    """Run every missing cell of the grid the options name."""
    import torch

    import embeddings
    from benchmarks.curves import load_splits
    from embeddings.adapters.transformer import resolve_model_dir
    from embeddings.training.finetune import fine_tune

    torch.set_num_threads(args.threads)
    cells = Cells(Path(args.out))
    setfit_jobs: list[dict[str, Any]] = []
    for task in args.tasks:
        train, _dev, test, _info = load_splits(task, test_max=args.test_max)
        test_texts, test_y = test
        frozen_test: dict[str, np.ndarray] = {}
        for shots in args.shots:
            for seed in range(args.seeds):
                idx = sample(train[1], shots, seed)
                texts = [train[0][i] for i in idx]
                y = train[1][idx]
                if {"contrastive", "setfit"} <= set(args.rows):
                    for model in args.models:  # the wall-time ratio needs both, same load
                        lone = cells.unpaired(task, shots, seed, model)
                        if lone is not None:
                            print(f"{lone}: measured again with its partner", file=sys.stderr)
                            cells.drop(lone)
                for row in args.rows:
                    for model in args.models if row != "tfidf" else ["-"]:
                        k = key(task, shots, seed, row, model)
                        if k in cells.records:
                            continue
                        base = {"key": k, "task": task, "shots": shots, "seed": seed,
                                "row": row, "model": model, "n_train": len(texts),
                                "n_test": len(test_texts), "iterations": args.iterations,
                                "load_1m": round(os.getloadavg()[0], 2)}  # fmt: skip
                        t0 = time.perf_counter()
                        if row == "tfidf":
                            enc = embeddings.load("tfidf").fit(texts)
                            acc = _lr_accuracy(enc.encode(texts), y, enc.encode(test_texts), test_y)
                        elif row == "frozen":
                            enc = embeddings.load(model)
                            if model not in frozen_test:
                                frozen_test[model] = enc.encode(test_texts, batch_size=64)
                            acc = _lr_accuracy(enc.encode(texts), y, frozen_test[model], test_y)
                        elif row == "contrastive":
                            clf = fine_tune(
                                embeddings.load(model), texts, y, objective="contrastive",
                                unfreeze="all", epochs=args.iterations, validation_fraction=0.0,
                                batch_size=2 * args.batch_pairs, learning_rate=args.lr,
                                random_state=seed, threads=args.threads,
                            )  # fmt: skip
                            acc = _lr_accuracy(
                                clf.encode(texts), y, clf.encode(test_texts, batch_size=64), test_y
                            )
                        else:
                            setfit_jobs.append({
                                **base, "model": str(resolve_model_dir(model)),
                                "model_name": model, "train_texts": texts,
                                "train_labels": y.tolist(), "test_texts": list(test_texts),
                                "test_labels": np.asarray(test_y).tolist(),
                                "num_iterations": args.iterations,
                                "batch_size": args.batch_pairs, "body_learning_rate": args.lr,
                                "seed": seed, "threads": args.threads, "max_iter": 1000,
                            })  # fmt: skip
                            continue
                        seconds = time.perf_counter() - t0
                        cells.add({**base, "accuracy": acc, "seconds": seconds})
                        print(f"{k}: {acc:.2f} in {seconds:.1f}s", file=sys.stderr, flush=True)
                if setfit_jobs and args.interleave:  # right after our cells of this sample
                    _run_setfit(args, setfit_jobs, cells)
                    setfit_jobs = []
        if setfit_jobs:  # after each task, so both libraries run under the same load
            _run_setfit(args, setfit_jobs, cells)
            setfit_jobs = []
    return cells


def _run_setfit(args: argparse.Namespace, jobs: list[dict[str, Any]], cells: Cells) -> None:
    """The SetFit cells, in ``--setfit-python``'s virtualenv, one process for all."""
    if not args.setfit_python:
        print(f"setfit: {len(jobs)} cells skipped (no --setfit-python)", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        jobs_file, results_file = Path(tmp) / "jobs.json", Path(tmp) / "results.jsonl"
        jobs_file.write_text(json.dumps(jobs), encoding="utf-8")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        proc = subprocess.run(
            [args.setfit_python, str(PEER), str(jobs_file), str(results_file)],
            env=env, check=False,
        )  # fmt: skip
        done = {}
        if results_file.is_file():
            done = {r["key"]: r for r in map(json.loads, results_file.read_text().splitlines())}
        for job in jobs:
            if job["key"] in done:
                r = done[job["key"]]
                meta = {k: job[k] for k in ("key", "task", "shots", "seed", "row", "n_train",
                                            "n_test", "iterations", "load_1m")}  # fmt: skip
                cells.add({**meta, "model": job["model_name"], "accuracy": r["accuracy"],
                           "seconds": r["seconds"]})  # fmt: skip
        if proc.returncode != 0:
            print(f"setfit peer exited with {proc.returncode}", file=sys.stderr)


def time_ratios(cells: Cells) -> dict[str, dict[str, float]]:
    """Contrastive wall time / SetFit wall time over the samples both ran (median, min,
    max, count), and the mean accuracy difference (points): per model (key ``model``),
    and per model and shots when the cells hold more than one ``k`` (``model@k``)."""
    by: dict[tuple[str, int, int, str], dict[str, dict[str, Any]]] = {}
    for r in cells.records.values():
        if r["row"] in ("contrastive", "setfit"):
            by.setdefault((r["task"], r["shots"], r["seed"], r["model"]), {})[r["row"]] = r
    both = {k: v for k, v in by.items() if len(v) == 2}
    groups: dict[str, list[dict[str, dict[str, Any]]]] = {}
    for (_task, _shots, _seed, model), v in sorted(both.items()):
        groups.setdefault(model, []).append(v)
    if len({k[1] for k in both}) > 1:
        for (_task, shots, _seed, model), v in sorted(both.items()):
            groups.setdefault(f"{model}@{shots}", []).append(v)
    out: dict[str, dict[str, float]] = {}
    for name, pairs in groups.items():
        ratios = np.array([v["contrastive"]["seconds"] / v["setfit"]["seconds"] for v in pairs])
        diff = np.array([v["contrastive"]["accuracy"] - v["setfit"]["accuracy"] for v in pairs])
        out[name] = {"median": float(np.median(ratios)), "min": float(ratios.min()),
                     "max": float(ratios.max()), "n": float(ratios.size),
                     "accuracy_diff": float(diff.mean())}  # fmt: skip
    return out


def table(cells: Cells, tasks: list[str], shots: list[int]) -> str:
    """Markdown table: accuracy mean ± sd over seeds (and the seed count), per row and
    column ``task@shots``, with the mean over tasks and the mean wall time a cell."""
    rows: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
    for r in cells.records.values():
        rows.setdefault((r["row"], r["model"]), {}).setdefault(
            f"{r['task']}@{r['shots']}", []
        ).append(r)
    cols = [f"{t}@{s}" for s in shots for t in tasks]
    head = "| row | model | " + " | ".join(cols) + " | mean@" + "/".join(map(str, shots)) + " |"
    lines = [head, "|" + "---|" * (len(cols) + 3)]
    order = {name: i for i, name in enumerate(ROWS)}
    for (row, model), by_col in sorted(rows.items(), key=lambda x: (order[x[0][0]], x[0][1])):
        out = []
        for col in cols:
            rs = by_col.get(col, [])
            if not rs:
                out.append("–")
                continue
            acc = np.array([r["accuracy"] for r in rs])
            secs = np.mean([r["seconds"] for r in rs])
            out.append(f"{acc.mean():.1f} ± {acc.std(ddof=1) if acc.size > 1 else 0:.1f} "
                       f"(n={acc.size}, {secs:.0f}s)")  # fmt: skip
        means = []
        for s in shots:
            per = [np.mean([r["accuracy"] for r in by_col[f"{t}@{s}"]])
                   for t in tasks if by_col.get(f"{t}@{s}")]  # fmt: skip
            full = len(per) == len(tasks)
            means.append(f"{np.mean(per):.1f}" if full else "–")
        lines.append(f"| {row} | {model} | " + " | ".join(out) + " | " + " / ".join(means) + " |")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.fewshot",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--tasks", nargs="+", default=["SST2", "CR", "SST5", "TREC", "AGNews"])
    p.add_argument("--shots", nargs="+", type=int, default=[8, 64])
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    p.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS))
    p.add_argument("--models", nargs="+", default=["minilm-l6", "mpnet-base"])
    p.add_argument(
        "--iterations",
        type=int,
        default=5,
        help="contrastive epochs = SetFit num_iterations (2 pairs a text each)",
    )
    p.add_argument("--batch-pairs", type=int, default=16, help="pairs per step")
    p.add_argument("--lr", type=float, default=2e-5, help="encoder learning rate")
    p.add_argument("--test-max", type=int, default=500)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--setfit-python", default=None, help="python of a virtualenv with setfit installed"
    )
    p.add_argument("--out", default="results/fewshot.json")
    p.add_argument("--table-only", action="store_true", help="print the table of --out")
    p.add_argument("--interleave", action="store_true",
                   help="run SetFit right after each sample's own cells (fair wall times on "
                   "a busy machine) instead of once per task")  # fmt: skip
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cells = Cells(Path(args.out)) if args.table_only else run(args)
    print(table(cells, args.tasks, args.shots))
    for model, r in time_ratios(cells).items():
        print(f"contrastive / SetFit wall time, {model}: median {r['median']:.2f}x "
              f"(min {r['min']:.2f}, max {r['max']:.2f}, {int(r['n'])} samples); accuracy "
              f"{r['accuracy_diff']:+.2f} points on average")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
