"""``make demo``: the embedded encoders on a real task (SST2), end to end.

For each embedded default (GloVe 6B 50d mean, USE multilingual v3, MiniLM-L6) the
demo encodes the SST2 train and test sentences, fits a logistic regression on the
train vectors and prints the test accuracy and the encoding time.

Without benchmark data (no ``TRANSFERKIT_DATA`` and no download possible) it says
so in one line, then shows the three encoders embedding a few sentences and
comparing them by cosine similarity, and exits 0.

Example:
    $ make demo
    $ python -m benchmarks.demo --max-train 2000
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence

import numpy as np

DEFAULT_ENCODERS = ("glove-6b-50d", "use-multilingual-v3", "minilm-l6")

PAIRS = [
    ("A man is playing a guitar.", "Someone plays an instrument."),
    ("A man is playing a guitar.", "Stocks fell sharply on Monday."),
    ("The film was a delight from start to finish.", "I loved every minute of this movie."),
    ("The film was a delight from start to finish.", "The movie was boring and far too long."),
]


def _load_sst2(max_train: int | None) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    from benchmarks.tasks import get_task

    task = get_task("SST2", train_file="sentences")
    train = task.load("train", max_samples=max_train, random_state=0)
    test = task.load("test")
    return list(train.texts), np.asarray(train.labels), list(test.texts), np.asarray(test.labels)


def _data_or_reason(max_train: int | None) -> tuple[tuple | None, str]:
    """SST2 splits, or why they are unavailable (after trying a download)."""
    from embeddings.errors import TransferkitError

    try:
        return _load_sst2(max_train), ""
    except TransferkitError as first:
        try:
            from benchmarks.tasks.download import download

            download("SST2", timeout=15)
            return _load_sst2(max_train), ""
        except Exception as err:  # no network, blocked host, ...
            return None, f"{first} (download failed too: {type(err).__name__})"


def run_sst2(encoders: Sequence[str], data: tuple) -> list[dict[str, object]]:
    """Encode SST2 with each encoder, fit LR on train, score on test."""
    from sklearn.linear_model import LogisticRegression

    import embeddings

    train_x, train_y, test_x, test_y = data
    rows = []
    for name in encoders:
        enc = embeddings.load(name)
        t0 = time.perf_counter()
        _ = enc.dim  # load weights (timed separately)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            Xtr = enc.encode(train_x, show_progress=True)
            Xte = enc.encode(test_x, show_progress=True)
        t_enc = time.perf_counter() - t0
        clf = LogisticRegression(max_iter=2000, C=1.0).fit(Xtr, train_y)
        acc = float((clf.predict(Xte) == test_y).mean())
        n = len(train_x) + len(test_x)
        rows.append(
            {
                "encoder": name,
                "dim": enc.dim,
                "accuracy": acc,
                "load_s": t_load,
                "encode_s": t_enc,
                "texts_per_s": n / t_enc,
            }
        )
    return rows


def print_table(rows: list[dict[str, object]], n_train: int, n_test: int) -> None:
    print(
        f"\nSST2 (binary sentiment): logistic regression on {n_train} train sentences, "
        f"accuracy on {n_test} test sentences"
    )
    print("| encoder | dim | test accuracy | load (s) | encode train+test (s) | texts/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['encoder']} | {r['dim']} | {100 * float(r['accuracy']):.2f} | "  # type: ignore[arg-type]
            f"{r['load_s']:.1f} | {r['encode_s']:.1f} | {r['texts_per_s']:.0f} |"
        )


def show_similarities(encoders: Sequence[str]) -> None:
    """Embed a few sentence pairs with each encoder and print their cosine similarity."""
    import embeddings

    print("\nCosine similarity of sentence pairs:")
    header = "| sentence A | sentence B | " + " | ".join(encoders) + " |"
    print(header)
    print("|---|---|" + "---:|" * len(encoders))
    sims = []
    for name in encoders:
        enc = embeddings.load(name)
        a = enc.encode([p[0] for p in PAIRS])
        b = enc.encode([p[1] for p in PAIRS])
        num = (a * b).sum(axis=1)
        den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        sims.append(np.divide(num, den, out=np.zeros_like(num), where=den > 0))
    for i, (sa, sb) in enumerate(PAIRS):
        print(f"| {sa} | {sb} | " + " | ".join(f"{s[i]:.3f}" for s in sims) + " |")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default=",".join(DEFAULT_ENCODERS))
    parser.add_argument("--max-train", type=int, default=None, help="subsample SST2 train")
    args = parser.parse_args(argv)
    encoders = [e.strip() for e in args.encoders.split(",") if e.strip()]
    import embeddings

    for name in encoders:
        embeddings.get_preset(name)  # fail fast on a typo
    data, reason = _data_or_reason(args.max_train)
    if data is None:
        print(f"No benchmark data: {reason}", file=sys.stderr)
        show_similarities(encoders)
        return 0
    start = time.perf_counter()
    rows = run_sst2(encoders, data)
    print_table(rows, len(data[0]), len(data[2]))
    show_similarities(encoders)
    print(f"\ndemo finished in {time.perf_counter() - start:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
