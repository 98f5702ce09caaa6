"""SetFit (Tunstall et al. 2022) on the few-shot cells of :mod:`benchmarks.fewshot`.

Runs in a virtualenv of its own that has ``setfit`` installed (its pins need not fit
transferkit's), so it imports nothing of transferkit:

    $ python3.11 -m venv .venv-setfit
    $ .venv-setfit/bin/pip install torch==2.13.0 "setfit==1.2.*"
    $ .venv-setfit/bin/python benchmarks/peers/setfit_peer.py JOBS.json RESULTS.jsonl

``JOBS.json`` is a list of cells: ``key``, ``model`` (a sentence-transformers folder),
``train_texts``/``train_labels``, ``test_texts``/``test_labels``, ``num_iterations``,
``batch_size``, ``body_learning_rate``, ``seed``, ``threads``, ``max_iter`` (of the
logistic-regression head).  Each finished cell appends one JSON line to
``RESULTS.jsonl``: ``key``, ``accuracy`` (points), ``seconds`` (model load, training
and test predictions), ``n_pairs``.

Example:
    >>> import json  # doctest: +SKIP
    >>> [json.loads(x)["accuracy"] for x in open("results.jsonl")]  # doctest: +SKIP
    [83.2]
"""

from __future__ import annotations

import json
import sys
import time


def run_cell(job: dict) -> dict:
    """Train SetFit on one cell and score it on the cell's test texts."""
    import numpy as np
    import torch
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    torch.set_num_threads(int(job["threads"]))
    started = time.perf_counter()
    model = SetFitModel.from_pretrained(
        job["model"], head_params={"max_iter": int(job["max_iter"])}
    )
    args = TrainingArguments(
        batch_size=int(job["batch_size"]),
        num_epochs=1,
        num_iterations=int(job["num_iterations"]),
        body_learning_rate=float(job["body_learning_rate"]),
        seed=int(job["seed"]),
        show_progress_bar=False,
        report_to="none",
        save_strategy="no",
    )
    train = Dataset.from_dict({"text": job["train_texts"], "label": job["train_labels"]})
    trainer = Trainer(model=model, args=args, train_dataset=train)
    trainer.train()
    predicted = np.asarray(model.predict(job["test_texts"], batch_size=64))
    seconds = time.perf_counter() - started
    accuracy = 100.0 * float(np.mean(predicted == np.asarray(job["test_labels"])))
    n_pairs = 2 * int(job["num_iterations"]) * len(job["train_texts"])
    return {"key": job["key"], "accuracy": accuracy, "seconds": seconds, "n_pairs": n_pairs}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: setfit_peer.py JOBS.json RESULTS.jsonl", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        jobs = json.load(fh)
    for job in jobs:
        result = run_cell(job)
        with open(argv[1], "a", encoding="utf-8") as out:
            out.write(json.dumps(result) + "\n")
        print(f"setfit {job['key']}: {result['accuracy']:.2f} in {result['seconds']:.1f}s",
              file=sys.stderr, flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
