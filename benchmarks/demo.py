"""``make demo``: the quick suite on the embedded defaults, then the results table.

Runs :mod:`benchmarks.runner` on the ``quick`` suite (SST2, TREC, SICK-E, STS12 and
TREC clustering, subsampled; see :mod:`benchmarks.suites`) for GloVe 6B 50d (mean
and SIF pooling), USE multilingual v3, MiniLM-L6 and the TF-IDF baseline, and
prints the tasks x encoders table with the average.  Results go to
``results/demo/`` and vectors to the embedding cache ``.transferkit_cache/``, both
under the repository root and git-ignored, so a second run only re-reads them
(``--fresh`` starts from empty folders).  A cosine-similarity table of a few
sentence pairs follows.

Without benchmark data (no ``TRANSFERKIT_DATA`` and no download possible) it says
so in one line, shows the frozen encoders embedding a few sentences and comparing
them by cosine similarity, and exits 0.

Example:
    $ make demo
    $ python -m benchmarks.demo --encoders glove-6b-50d,minilm-l6 --fresh
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DEFAULT_ENCODERS = (
    "glove-6b-50d",
    "glove-6b-50d:pooling=sif",
    "use-multilingual-v3",
    "minilm-l6",
    "tfidf",
)
REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "results" / "demo"
CACHE_DIR = REPO / ".transferkit_cache"

PAIRS = [
    ("A man is playing a guitar.", "Someone plays an instrument."),
    ("A man is playing a guitar.", "Stocks fell sharply on Monday."),
    ("The film was a delight from start to finish.", "I loved every minute of this movie."),
    ("The film was a delight from start to finish.", "The movie was boring and far too long."),
]


def missing_data(suite: str = "quick") -> str:
    """Why the suite's data cannot be read ("" when every file is there).

    Missing files are downloaded (15 s timeout); the first failed download ends
    the attempt, so an offline machine answers quickly.
    """
    from benchmarks.suites import get_suite
    from benchmarks.tasks import get_task
    from embeddings.errors import TransferkitError

    for entry in get_suite(suite).tasks:
        task = get_task(entry.task, **dict(entry.task_params))
        try:
            for split in task.metadata.splits:
                for subset in task.metadata.subsets or (None,):
                    task.path(split, subset)
        except TransferkitError as first:
            try:
                from benchmarks.tasks.download import download

                download(task.name, timeout=15)
            except Exception as err:  # no network, blocked host, ...
                return f"{first} (download failed too: {type(err).__name__})"
    return ""


def _frozen(encoders: Sequence[str]) -> list[str]:
    import embeddings

    out = []
    for spec in encoders:
        enc = embeddings.load(spec)
        if not (getattr(enc, "requires_fit", False) or getattr(enc, "trainable", False)):
            out.append(spec)
    return out


def show_similarities(encoders: Sequence[str]) -> None:
    """Embed a few sentence pairs with each frozen encoder and print their cosine."""
    import embeddings

    names = _frozen(encoders)
    print("\nCosine similarity of sentence pairs:")
    print("| sentence A | sentence B | " + " | ".join(names) + " |")
    print("|---|---|" + "---:|" * len(names))
    sims = []
    for spec in names:
        enc = embeddings.load(spec)
        a = enc.encode([p[0] for p in PAIRS])
        b = enc.encode([p[1] for p in PAIRS])
        num = (a * b).sum(axis=1)
        den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        sims.append(np.divide(num, den, out=np.zeros_like(num), where=den > 0))
    for i, (sa, sb) in enumerate(PAIRS):
        print(f"| {sa} | {sb} | " + " | ".join(f"{s[i]:.3f}" for s in sims) + " |")


def run_quick(
    encoders: Sequence[str], results_dir: Path, cache_dir: Path, *, progress: bool = True
) -> int:
    """Run the quick suite and print its table; returns the number of failed pairs."""
    from benchmarks.report import build_table, load_results, to_markdown
    from benchmarks.runner import run_suite
    from benchmarks.suites import get_suite

    summary = run_suite(
        "quick", list(encoders), results_dir, cache_dir=cache_dir, show_progress=progress
    )
    labels = [e.label for e in get_suite("quick").tasks]
    records = [
        r
        for r in load_results(results_dir)
        if r["task"]["label"] in labels and r["encoder"]["label"] in encoders
    ]
    present = [e for e in encoders if any(r["encoder"]["label"] == e for r in records)]
    print()
    if present:
        table = build_table(records, encoders=present)
        print(to_markdown(table, title="quick suite (subsampled; see `transferkit bench --list`)"))
    for fail in summary["failed"]:
        print(f"FAILED {fail['task']} x {fail['encoder']}: {fail['error_type']}: {fail['error']}")
    print(
        f"{len(summary['computed'])} results computed, {len(summary['skipped'])} reused from "
        f"{results_dir} (cache: {cache_dir})"
    )
    return len(summary["failed"])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the exit code."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--encoders", default=",".join(DEFAULT_ENCODERS), help="comma-separated encoder specs"
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    parser.add_argument(
        "--fresh", action="store_true", help="delete the demo results and the cache folder first"
    )
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    encoders = [e.strip() for e in args.encoders.split(",") if e.strip()]
    import embeddings
    from benchmarks.runner import parse_encoder_spec

    for spec in encoders:
        embeddings.get_preset(parse_encoder_spec(spec)[0])  # fail fast on a typo
    reason = missing_data("quick")
    if reason:
        print(f"No benchmark data: {reason}", file=sys.stderr)
        show_similarities(encoders)
        return 0
    if args.fresh:
        shutil.rmtree(args.results_dir, ignore_errors=True)
        shutil.rmtree(args.cache_dir, ignore_errors=True)
    start = time.perf_counter()
    failed = run_quick(encoders, args.results_dir, args.cache_dir, progress=not args.no_progress)
    show_similarities(encoders)
    print(f"\ndemo finished in {time.perf_counter() - start:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
