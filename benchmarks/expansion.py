"""Vocabulary expansion of a trained Skip-Thought model: coverage and accuracy.

``python -m benchmarks.expansion --model DIR`` reports, for every SentEval task of
the data folder, the share of tokens that the model's trained vocabulary covers
and the share it covers with vocabulary expansion (the words of the expansion
source mapped into the encoder's word space; see
:mod:`embeddings.adapters.skip_thought`).  With ``--tasks MR TREC`` it also
benchmarks the model on those tasks with and without expansion (SentEval's
protocol, through :func:`benchmarks.runner.run_suite`) and prints both scores.

Example:
    $ python -m benchmarks.expansion --model models/skip-thought-uni --tasks MR TREC
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["coverage_table", "main"]

SENTEVAL_FOLDERS = (
    "MR", "CR", "SUBJ", "MPQA", "SST2", "SST5", "TREC", "MRPC", "SICK-E", "SICK-R", "STS-B",
    "STS12", "STS13", "STS14", "STS15", "STS16",
)  # fmt: skip


def _task_texts(folder: Path) -> list[str]:
    """Every text column (``text``, ``text_a``, ``text_b``) of every TSV of a task."""
    texts: list[str] = []
    csv.field_size_limit(sys.maxsize)
    for path in sorted(folder.glob("*.tsv")):
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, [])
            cols = [i for i, h in enumerate(header) if h.startswith("text")]
            for row in reader:
                texts.extend(row[i] for i in cols if i < len(row))
    return texts


def coverage_table(encoder: Any, data_dir: Path) -> list[dict[str, Any]]:
    """One row per task folder found: tokens, covered share before and after expansion."""
    rows = []
    for name in SENTEVAL_FOLDERS:
        folder = data_dir / name
        if not folder.is_dir():
            continue
        cov = encoder.vocabulary_coverage(_task_texts(folder))
        rows.append({"task": name, **cov})
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Print the coverage table and, with ``--tasks``, the scores with and without."""
    from benchmarks.perf.run import _data_dir

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="a saved Skip-Thought folder")
    p.add_argument("--tasks", nargs="*", default=[], help="benchmark these with and without")
    p.add_argument("--out", default=None, help="results folder (default: a temporary one)")
    p.add_argument("--json", default=None, help="also write everything as JSON")
    args = p.parse_args(argv)

    import embeddings

    enc = embeddings.load(args.model)
    if not hasattr(enc, "vocabulary_coverage") or not enc.expand_vocab:
        print(f"{args.model} is not a Skip-Thought model with expand_vocab set", file=sys.stderr)
        return 2
    data_dir = _data_dir()
    rows = coverage_table(enc, data_dir)
    print(f"vocabulary: {len(enc.get_vocabulary()):,} words; expansion source {enc.expand_vocab}")
    print("| task | tokens | in vocabulary | with expansion |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['task']} | {r['tokens']:,} | {100 * r['in_vocabulary_share']:.2f}% | "
              f"{100 * r['with_expansion_share']:.2f}% |")  # fmt: skip
    report: dict[str, Any] = {"coverage": rows}
    if args.tasks:
        from benchmarks.runner import run_suite

        with tempfile.TemporaryDirectory() as tmp:
            plain = Path(tmp) / f"{Path(args.model).name}-no-expansion"
            enc.set_params(expand_vocab=None)
            enc.save(plain)
            out = Path(args.out) if args.out else Path(tmp) / "results"
            run_suite("senteval", [args.model, str(plain)], out, tasks=args.tasks,
                      show_progress=False, log=None)  # fmt: skip
            scores: dict[str, dict[str, float]] = {}
            for f in sorted(out.rglob("*.json")):
                try:
                    r = json.loads(f.read_text(encoding="utf-8"))
                    label, task = r["encoder"]["label"], r["task"]["label"]
                    if task in args.tasks:
                        scores.setdefault(task, {})[label] = float(r["main_score"])
                except (KeyError, TypeError, ValueError):
                    continue
        print("\n| task | with expansion | without |")
        print("|---|---:|---:|")
        with_label = f"saved:{Path(args.model).resolve().name}"
        without_label = f"saved:{plain.name}"
        for task, s in sorted(scores.items()):
            w, wo = s.get(with_label), s.get(without_label)
            fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
            print(f"| {task} | {fmt(w)} | {fmt(wo)} |")
        report["scores"] = scores
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
