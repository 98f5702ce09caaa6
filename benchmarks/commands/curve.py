"""``transferkit curve``: the learning curve that shows when transfer pays off.

For a classification task and a list of labelled-set sizes, each method is trained
on a seeded, stratified subsample of the training split (one per seed) and scored
on the test split:

* ``tfidf``: TF-IDF (fitted on the subsample) + logistic regression, from scratch;
* ``frozen``: the pretrained encoder's frozen vectors + logistic regression (the
  train/dev/test vectors are encoded once, through the embedding cache, and
  subsampled as arrays);
* ``finetune``: :func:`embeddings.training.fine_tune` with ``--unfreeze`` top layers;
* ``scratch``: the same architecture from random init, trained fully (no transfer).

Model selection uses the dev split for every method: the logistic-regression C
(:func:`evaluators.evaluate_classification_split`) and early stopping.  Tasks without
a dev split get a seeded, stratified dev set carved from train (``--dev-size``);
cross-validation tasks (one ``"all"`` split) also get a carved test set.  ``--dev-max``
and ``--test-max`` cap dev/test with fixed stratified subsamples (the same rows for
every method); fine-tuning on 2 CPU cores is slow, so ``--finetune-max-size`` skips
the torch methods above that size.

Output: ``<out>/curve.json`` (config, every run, the mean/std/min/max per method and
size), rewritten after each run (``--resume`` skips runs already in it), and
``<out>/curve.png`` (accuracy vs labelled examples, log x, mean line with the
min-max band across seeds).

Example:
    $ transferkit curve --task SST2 --encoder minilm-l6 --sizes 50,100,300,1000 \\
          --seeds 3 --methods tfidf,frozen,finetune,scratch --unfreeze 2 \\
          --out results/curve_sst2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings.errors import InvalidParameterError

METHODS: tuple[str, ...] = ("tfidf", "frozen", "finetune", "scratch")
LABELS = {
    "tfidf": "TF-IDF + LR (scratch)",
    "frozen": "frozen {enc} + LR",
    "finetune": "fine-tune {enc} (top {k})",
    "scratch": "{enc} architecture, random init",
}
Split = tuple[list[str], np.ndarray]


# ------------------------------------------------------------------- parsing
def parse_sizes(value: str) -> list[int | None]:
    """``"50,100,all"`` -> ``[50, 100, None]`` (``None``: the whole training split).

    Example:
        >>> parse_sizes("100,50,all")
        [50, 100, None]
    """
    out: list[int | None] = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        if part == "all":
            out.append(None)
            continue
        if not part.isdigit() or int(part) < 2:
            raise InvalidParameterError(
                f"--sizes takes integers >= 2 or 'all', comma-separated; got {part!r}"
            )
        out.append(int(part))
    if not out:
        raise InvalidParameterError("--sizes is empty; e.g. --sizes 50,100,300,1000,all")
    ints = sorted({s for s in out if s is not None})
    return [*ints, *([None] if None in out else [])]


def parse_methods(value: str) -> list[str]:
    """Comma-separated methods, validated against :data:`METHODS`."""
    methods = [m.strip() for m in value.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise InvalidParameterError(
            f"--methods: unknown {bad or methods}; choose from {','.join(METHODS)}"
        )
    return methods


def parse_unfreeze(value: str) -> int | Literal["all"]:
    """``"all"`` or a non-negative int."""
    if value == "all":
        return "all"
    if not value.isdigit():
        raise InvalidParameterError(f"--unfreeze takes an int >= 0 or 'all', got {value!r}")
    return int(value)


# --------------------------------------------------------------------- data
def load_splits(
    task_name: str, *, dev_size: int = 500, dev_max: int | None = None,
    test_max: int | None = None, split_seed: int = 0,
) -> tuple[Split, Split, Split, dict[str, Any]]:  # fmt: skip
    """Train, dev and test ``(texts, labels)`` of a classification task.

    SST2 uses its 6920 full training sentences.  Missing dev (and test) splits are
    carved from train with a stratified, seeded subsample (``split_seed``).

    Returns:
        ``train, dev, test, info`` where ``info`` says how each split was made.

    Raises:
        InvalidParameterError: the task is not a single-text classification task.
    """
    from benchmarks.tasks import ClassificationTask, get_task
    from embeddings.training.finetune import stratified_subsample

    params = {"train_file": "sentences"} if task_name.strip().lower() == "sst2" else {}
    task = get_task(task_name, **params)
    if not isinstance(task, ClassificationTask):
        raise InvalidParameterError(
            f"{task.metadata.name} is a {task.metadata.family} task; the learning curve needs "
            "a single-text classification task (e.g. SST2, TREC, MR, SUBJ)"
        )
    splits = task.metadata.splits
    info: dict[str, Any] = {"task": task.metadata.name, "version": task.metadata.version}

    def as_split(data: Any) -> Split:
        return list(data.texts), np.asarray(data.labels)

    def carve(pool: Split, size: int, what: str) -> tuple[Split, Split]:
        idx = stratified_subsample(pool[1], size, split_seed)
        mask = np.ones(len(pool[0]), dtype=bool)
        mask[idx] = False
        rest = np.flatnonzero(mask)
        info[what] = f"carved {idx.size} from train (stratified, seed {split_seed})"
        return ([pool[0][i] for i in rest], pool[1][rest]), (
            [pool[0][i] for i in idx],
            pool[1][idx],
        )

    train = as_split(task.load("train" if "train" in splits else "all"))
    if "test" in splits:
        test = as_split(task.load("test"))
        info["test"] = "test split"
    else:
        train, test = carve(train, max(len(train[0]) // 5, 2), "test")
    if "dev" in splits:
        dev = as_split(task.load("dev"))
        info["dev"] = "dev split"
    else:
        train, dev = carve(train, dev_size, "dev")

    def cap(split: Split, limit: int | None, what: str) -> Split:
        if limit is None or limit >= len(split[0]):
            return split
        idx = stratified_subsample(split[1], limit, split_seed)
        info[what] += f", capped to {idx.size} (stratified, seed {split_seed})"
        return [split[0][i] for i in idx], split[1][idx]

    dev = cap(dev, dev_max, "dev")
    test = cap(test, test_max, "test")
    info.update(n_train=len(train[0]), n_dev=len(dev[0]), n_test=len(test[0]))
    return train, dev, test, info


def load_encoder(name: str, max_seq_length: int | None) -> Any:
    """A preset or saved encoder, truncating at ``max_seq_length`` when it has the knob."""
    import embeddings

    encoder = embeddings.load(name)
    if max_seq_length is not None and "max_seq_length" in encoder.get_params(deep=False):
        encoder.set_params(max_seq_length=max_seq_length)
    return encoder


# ------------------------------------------------------------------- output
def _write_json(path: Path, payload: dict[str, Any]) -> None:
    from embeddings._atomic import atomic_write_text

    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")


def plot_curve(
    summary: Sequence[Mapping[str, Any]], path: Path, *, title: str, labels: dict[str, str]
) -> Path:
    """Accuracy vs labelled examples (log x), mean and min-max band per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for method in METHODS:
        pts = sorted((p for p in summary if p["method"] == method), key=lambda p: p["size"])
        if not pts:
            continue
        x = [p["size"] for p in pts]
        mean = np.array([p["mean"] for p in pts])
        line = ax.plot(x, mean, marker="o", label=labels.get(method, method))[0]
        ax.fill_between(
            x, [p["min"] for p in pts], [p["max"] for p in pts], alpha=0.2,
            color=line.get_color(), linewidth=0,
        )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("labelled training examples (log scale)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def format_table(summary: Sequence[Mapping[str, Any]]) -> str:
    """A plain-text table: one row per size, ``mean ± std (n)`` per method."""
    methods = [m for m in METHODS if any(p["method"] == m for p in summary)]
    sizes = sorted({p["size"] for p in summary})
    cell = {(p["method"], p["size"]): p for p in summary}
    head = ["size", *methods]
    rows = [head]
    for size in sizes:
        row = [str(size)]
        for m in methods:
            p = cell.get((m, size))
            row.append("-" if p is None else f"{p['mean']:.4f} ± {p['std']:.4f} ({p['n_seeds']})")
        rows.append(row)
    widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in rows)


# ------------------------------------------------------------------ the runs
def _lr_scores(Xtr: Any, ytr: Any, Xdv: Any, ydv: Any, Xte: Any, yte: Any, seed: int) -> dict:
    from evaluators import evaluate_classification_split

    s = evaluate_classification_split(Xtr, ytr, Xdv, ydv, Xte, yte, seed=seed)
    return {"accuracy": s["accuracy"], "dev_accuracy": s["dev_accuracy"], "C": s["C"]}


def run_curve(
    train: Split,
    dev: Split,
    test: Split,
    *,
    encoder: str,
    sizes: Sequence[int | None],
    seeds: int,
    methods: Sequence[str],
    unfreeze: int | Literal["all"] = 2,
    finetune_seeds: int | None = None,
    finetune_max_size: int | None = 1000,
    max_seq_length: int | None = 64,
    ft_options: dict[str, Any] | None = None,
    scratch_lr: float | None = None,
    cache_dir: str | None = None,
    done: Sequence[dict[str, Any]] = (),
    on_record: Any = None,
    log: Any = None,
) -> list[dict[str, Any]]:
    """Run every (method, size, seed) not in ``done``; returns all records.

    Args:
        train, dev, test: ``(texts, labels)``.
        encoder: preset name or saved folder of the pretrained encoder.
        sizes: labelled-set sizes (``None``: all of train).
        seeds: seeds ``0..seeds-1`` (subsample, LR, fine-tuning).
        methods: subset of :data:`METHODS`.
        unfreeze: top layers trained by ``finetune``.
        finetune_seeds: seeds for the torch methods (default ``seeds``).
        finetune_max_size: skip torch methods above this size (``None``: no limit).
        max_seq_length: truncation for the pretrained encoder (all its methods).
        ft_options: extra :func:`~embeddings.training.finetune.fine_tune` keywords.
        scratch_lr: encoder learning rate of ``scratch`` (default: ``ft_options["lr"]``).
        cache_dir: embedding cache folder for ``frozen`` (``None``: the default).
        done: records from an earlier run (skipped).
        on_record: called with the record list after each new run.
        log: a ``print``-like function for progress lines.

    Example:
        >>> recs = run_curve(train, dev, test, encoder="minilm-l6", sizes=[50],
        ...                  seeds=1, methods=["tfidf"])   # doctest: +SKIP
    """
    from embeddings.adapters.baselines import TfidfEncoder
    from embeddings.cache import CachedEncoder
    from embeddings.training.finetune import fine_tune, stratified_subsample

    log = log or (lambda *a: None)
    records = list(done)
    have = {(r["method"], r["size"], r["seed"]) for r in records}
    ytr, ydv, yte = train[1], dev[1], test[1]
    n_total = len(train[0])
    frozen_X: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    ft = dict(ft_options or {})
    n_ft_seeds = seeds if finetune_seeds is None else finetune_seeds

    for size in sizes:
        n = n_total if size is None or size >= n_total else int(size)
        for method in methods:
            torch_method = method in ("finetune", "scratch")
            if torch_method and finetune_max_size is not None and n > finetune_max_size:
                continue
            for seed in range(n_ft_seeds if torch_method else seeds):
                if (method, n, seed) in have:
                    continue
                idx = stratified_subsample(ytr, n, seed)
                sub_texts = [train[0][i] for i in idx]
                t0 = time.perf_counter()
                rec: dict[str, Any] = {"method": method, "size": n, "seed": seed}
                if method == "tfidf":
                    enc = TfidfEncoder().fit(sub_texts)
                    rec.update(
                        _lr_scores(
                            enc.encode(sub_texts), ytr[idx], enc.encode(dev[0]), ydv,
                            enc.encode(test[0]), yte, seed,
                        )
                    )  # fmt: skip
                elif method == "frozen":
                    if frozen_X is None:
                        cached = CachedEncoder(load_encoder(encoder, max_seq_length), cache_dir)
                        log(f"encoding {n_total + len(dev[0]) + len(test[0])} texts once")
                        frozen_X = tuple(  # type: ignore[assignment]
                            cached.encode(s[0], show_progress=True) for s in (train, dev, test)
                        )
                    Xtr, Xdv, Xte = frozen_X  # type: ignore[misc]
                    rec.update(_lr_scores(Xtr[idx], ytr[idx], Xdv, ydv, Xte, yte, seed))
                else:
                    kw = dict(ft)
                    if method == "scratch":
                        kw.update(unfreeze="all", init="random")
                        if scratch_lr is not None:
                            kw["lr"] = scratch_lr
                    else:
                        kw.update(unfreeze=unfreeze)
                    clf = fine_tune(
                        load_encoder(encoder, max_seq_length), sub_texts, ytr[idx],
                        dev_texts=dev[0], dev_labels=ydv, random_state=seed, **kw,
                    )  # fmt: skip
                    rec.update(
                        accuracy=clf.score(test[0], yte),
                        dev_accuracy=clf.history_[clf.best_epoch_]["val_accuracy"],
                        best_epoch=clf.best_epoch_,
                        epochs=len(clf.history_) - 1,
                        train_seconds=round(clf.train_seconds_, 2),
                    )
                rec["seconds"] = round(time.perf_counter() - t0, 2)
                records.append(rec)
                have.add((method, n, seed))
                log(
                    f"{method:>8} n={n:<5} seed={seed} acc={rec['accuracy']:.4f} "
                    f"dev={rec['dev_accuracy']:.4f} ({rec['seconds']:.1f}s)"
                )
                if on_record is not None:
                    on_record(records)
    return records


# ----------------------------------------------------------------------- CLI
def run(args: argparse.Namespace) -> int:
    """Run the curve, write curve.json and curve.png, print the table."""
    from benchmarks.curves import curve_summary

    sizes = parse_sizes(args.sizes)
    methods = parse_methods(args.methods)
    unfreeze = parse_unfreeze(args.unfreeze)
    if args.seeds < 1:
        raise InvalidParameterError(f"--seeds must be >= 1, got {args.seeds}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    out = Path(args.out)
    train, dev, test, info = load_splits(
        args.task, dev_size=args.dev_size, dev_max=args.dev_max, test_max=args.test_max
    )
    ft_options = {
        "max_epochs": args.max_epochs, "patience": args.patience,
        "batch_size": args.batch_size, "lr": args.lr, "head_lr": args.head_lr,
    }  # fmt: skip
    config = {
        "task": info, "encoder": args.encoder, "sizes": args.sizes, "seeds": args.seeds,
        "finetune_seeds": args.finetune_seeds, "methods": methods, "unfreeze": unfreeze,
        "finetune_max_size": args.finetune_max_size, "max_seq_length": args.max_seq_length,
        "fine_tune": ft_options, "scratch_lr": args.scratch_lr,
    }  # fmt: skip
    done: list[dict[str, Any]] = []
    json_path = out / "curve.json"
    if args.resume and json_path.is_file():
        done = list(json.loads(json_path.read_text(encoding="utf-8")).get("runs", []))
    enc_label = Path(args.encoder).name
    labels = {m: LABELS[m].format(enc=enc_label, k=unfreeze) for m in METHODS}
    started = time.time()

    def save(records: list[dict[str, Any]]) -> None:
        import torch

        payload = {
            "config": config,
            "environment": {
                "python": platform.python_version(), "torch": torch.__version__,
                "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                "load_average_1m": os.getloadavg()[0], "wall_seconds": time.time() - started,
            },
            "labels": labels,
            "summary": curve_summary(records),
            "runs": records,
        }  # fmt: skip
        _write_json(json_path, payload)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    records = run_curve(
        train, dev, test, encoder=args.encoder, sizes=sizes, seeds=args.seeds,
        methods=methods, unfreeze=unfreeze, finetune_seeds=args.finetune_seeds,
        finetune_max_size=args.finetune_max_size, max_seq_length=args.max_seq_length,
        ft_options=ft_options, scratch_lr=args.scratch_lr, cache_dir=args.cache_dir,
        done=done, on_record=save, log=log,
    )  # fmt: skip
    save(records)
    summary = curve_summary(records)
    plot = plot_curve(
        summary, out / "curve.png", labels=labels,
        title=f"{info['task']}: test accuracy vs labelled examples ({enc_label})",
    )  # fmt: skip
    print(format_table(summary))
    print(f"wrote {json_path} and {plot}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``curve`` subcommand."""
    p = sub.add_parser(
        "curve",
        help="learning curve: TF-IDF vs frozen vs fine-tuned vs random-init encoder",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--task", required=True, help="classification task, e.g. SST2, TREC")
    p.add_argument("--encoder", default="minilm-l6", help="pretrained torch encoder preset")
    p.add_argument("--sizes", default="50,100,300,1000,3000,all", help="labelled-set sizes")
    p.add_argument("--seeds", type=int, default=3, help="seeds per size")
    p.add_argument("--finetune-seeds", type=int, default=None, help="seeds for torch methods")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    p.add_argument("--unfreeze", default="2", help="top layers fine-tuned (int or 'all')")
    p.add_argument(
        "--finetune-max-size", type=int, default=1000, help="skip torch methods above this size"
    )
    p.add_argument("--max-seq-length", type=int, default=64, help="truncation (tokens)")
    p.add_argument("--max-epochs", type=int, default=10)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-5, help="encoder learning rate")
    p.add_argument("--head-lr", type=float, default=1e-3, help="softmax head learning rate")
    p.add_argument("--scratch-lr", type=float, default=None, help="lr of the random-init run")
    p.add_argument("--dev-size", type=int, default=500, help="dev carved from train if none")
    p.add_argument("--dev-max", type=int, default=None, help="cap the dev set")
    p.add_argument("--test-max", type=int, default=None, help="cap the test set")
    p.add_argument("--cache-dir", default=None, help="embedding cache folder")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--resume", action="store_true", help="skip runs already in curve.json")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=run)
