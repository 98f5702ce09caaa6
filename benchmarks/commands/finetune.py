"""``transferkit finetune``: fine-tune a torch encoder on a task; dev/test accuracy and time.

Trains :func:`embeddings.training.fine_tune` on the task's training split (optionally
a stratified subsample, ``--max-train``), stops early on the dev split (carved from
train when the task has none, as in ``transferkit curve``), and prints dev and test
accuracy and the training time.  Dev and test are capped by default with fixed
stratified subsamples (``--dev-max 500``, ``--test-max 1000``; ``all`` lifts a cap),
since every epoch scores the dev set.  Training and every evaluation pass show
their progress (``--no-progress`` hides it).  ``--save`` keeps the model as a standard encoder
folder (``embeddings.load`` opens it), ``--json`` writes the numbers, ``--workdir``
keeps checkpoints and ``log.jsonl`` (``--resume`` continues a killed run there).

Example:
    $ transferkit finetune --task SST2 --encoder minilm-l6 --unfreeze 2 --epochs 3
    $ transferkit finetune --task TREC --unfreeze all --max-train 2000 --json ft.json
    $ transferkit finetune --task SST2 --unfreeze all --workdir runs/ft --max-minutes 30
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from benchmarks.commands._options import (
    add_finetune_options,
    load_task_splits,
    parse_unfreeze,
    write_json,
)
from benchmarks.curves import load_encoder
from embeddings.errors import InvalidParameterError
from evaluators.metrics import SCORE_SCALE, points


def run(args: argparse.Namespace) -> int:
    """Fine-tune, evaluate, print (and optionally save) the result."""
    from embeddings.training.finetune import fine_tune, stratified_subsample

    unfreeze = parse_unfreeze(args.unfreeze)
    if args.init == "random" and unfreeze != "all":
        raise InvalidParameterError("--init random trains the whole network: use --unfreeze all")
    train, dev, test, info = load_task_splits(args, pairs=True)
    progress = not args.no_progress
    idx = stratified_subsample(train[1], args.max_train, args.random_state)
    texts = [train[0][i] for i in idx]
    encoder = load_encoder(args.encoder, args.max_seq_length)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    clf = fine_tune(
        encoder, texts, train[1][idx], unfreeze=unfreeze, init=args.init,
        dev_texts=dev[0], dev_labels=dev[1], epochs=args.epochs,
        patience=args.patience, batch_size=args.batch_size, learning_rate=args.learning_rate,
        head_learning_rate=args.head_learning_rate, random_state=args.random_state,
        threads=args.threads, objective=args.objective,
        show_progress=progress, workdir=args.workdir, resume=args.resume,
        max_minutes=args.max_minutes,
    )  # fmt: skip
    train_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    # score() keeps scikit-learn's 0-1 contract; results are points (0-100)
    dev_acc = points(clf.score(dev[0], dev[1], show_progress=progress))
    test_acc = points(clf.score(test[0], test[1], show_progress=progress))
    result = {
        "task": info, "encoder": args.encoder, "unfreeze": clf.unfreeze, "init": args.init,
        "n_train": len(texts), "dev_accuracy": dev_acc, "test_accuracy": test_acc,
        "score_scale": SCORE_SCALE,
        "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(time.perf_counter() - t1, 1),
        "best_epoch": clf.best_epoch_, "epochs_run": len(clf.history_) - 1,
        "stop_reason": clf.training_result_.stop_reason,
        "n_trainable_params": clf.n_trainable_params_, "history": clf.history_,
        "params": clf.params_, "max_seq_length": args.max_seq_length,
        "load_average_1m": [load_before, os.getloadavg()[0]], "cpus": os.cpu_count(),
    }  # fmt: skip
    print(
        f"{info['task']} {args.encoder} unfreeze={clf.unfreeze} init={args.init} "
        f"n_train={len(texts)}: dev={dev_acc:.2f} test={test_acc:.2f} "
        f"train={train_seconds:.0f}s (best epoch {clf.best_epoch_}/{len(clf.history_) - 1}, "
        f"{clf.n_trainable_params_} trainable params)"
    )
    if args.json:
        write_json(Path(args.json), result)
    if args.save:
        clf.save(args.save)
        print(f"saved to {args.save}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``finetune`` subcommand."""
    p = sub.add_parser(
        "finetune",
        help="fine-tune a torch encoder with a softmax head",
        description=(
            "Fine-tune a torch encoder (a transformer, or a network transferkit trained) with\n"
            "a new softmax head on a classification task: the top --unfreeze layers train,\n"
            "early stopping on the dev split (carved from train when the task has none).\n"
            "A pair-classification task (MRPC, SICK-E) trains on its (text_a, text_b) pairs.\n"
            "Prints dev and test accuracy; dev and test are capped by default (--dev-max,\n"
            "--test-max; 'all' lifts a cap)."
        ),
        epilog=(
            "examples:\n"
            "  transferkit finetune --task SST2 --encoder minilm-l6 --unfreeze 2 --epochs 3\n"
            "  transferkit finetune --task TREC --unfreeze all --max-train 2000 --json ft.json\n"
            "  transferkit finetune --task MRPC --objective contrastive --unfreeze all"
        ),
    )
    add_finetune_options(
        p, encoder_help="torch encoder: preset ('name:key=value' sets a parameter) or saved folder",
        unfreeze_help="top layers to train: an int >= 0 or 'all'", patience=2, epochs=3,
        random_state_help="seed of the subsample, the head and the batches",
    )  # fmt: skip
    p.add_argument(
        "--init",
        choices=("pretrained", "random"),
        default="pretrained",
        help="start from the pretrained weights, or the same architecture at random",
    )
    p.add_argument(
        "--max-train",
        type=int,
        default=None,
        help="train on a stratified subsample of this size (unset: the whole split)",
    )
    p.add_argument(
        "--objective",
        choices=("classification", "contrastive"),
        default="classification",
        help="what the encoder learns: the head's cross-entropy, or a cosine-similarity "
        "loss on pairs of texts sampled from the labels, or on a pair task's own pairs (the "
        "head trained on the new vectors)",
    )
    p.add_argument("--workdir", default=None, help="checkpoints and log.jsonl go here")
    p.add_argument("--resume", action="store_true", help="continue from --workdir's checkpoint")
    p.add_argument(
        "--max-minutes", type=float, default=None, help="training time budget (unset: none)"
    )
    p.add_argument("--json", default=None, help="write the result to this JSON file")
    p.add_argument("--save", default=None, help="save the fine-tuned model to this folder")
    p.set_defaults(func=run)
