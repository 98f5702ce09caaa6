"""Speed, load-time and accuracy benchmarks for the word-vector family.

Three parts, each printed as a table (and written as JSON with ``--json``):

* ``speed``: sentences/s of ``glove-6b-50d`` (mean) and ``glove-6b-50d-sif`` on real
  sentences from the unlabeled corpus, against a per-sentence loop over gensim's
  ``KeyedVectors.get_mean_vector`` on the same vectors; tokenization is inside
  every measured time (both sides use the same tokenizer).
* ``load``: the memory-mapped native store against gensim's ``load_word2vec_format``
  of the same vectors written as GloVe text.
* ``accuracy``: logistic-regression accuracy (10-fold CV for MR/CR/SUBJ/MPQA, the
  given splits for SST2/TREC) of the GloVe poolings and of models trained on the
  unlabeled corpus with ``transferkit train`` (``--models DIR``).

Example:
    $ python -m benchmarks.perf.word_vectors speed --n 100000
    $ python -m benchmarks.perf.word_vectors load
    $ python -m benchmarks.perf.word_vectors accuracy --models /tmp/models
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.perf.run import write_json

__all__ = ["main", "speed", "load_time", "accuracy", "corpus_sentences"]

_REPO = Path(__file__).resolve().parents[2]


def data_root() -> Path:
    """``$TRANSFERKIT_DATA`` or ``../shared/data`` next to the repository."""
    return Path(os.environ.get("TRANSFERKIT_DATA") or _REPO.parent / "shared" / "data")


def corpus_sentences(n: int, *, skip: int = 0) -> list[str]:
    """The first ``n`` non-blank lines (after ``skip``) of the unlabeled corpus, in file order."""
    from embeddings.training.corpus import TextCorpus

    out: list[str] = []
    for i, line in enumerate(TextCorpus(data_root() / "unlabeled").lines()):
        if i < skip:
            continue
        out.append(line.strip())
        if len(out) == n:
            break
    return out


def _best(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def speed(n: int = 100_000, *, batch_size: int = 64, repeats: int = 3) -> dict[str, Any]:
    """Encode ``n`` corpus sentences with ours and with a gensim loop; return timings.

    ``batch_size`` is what ``encode`` receives (64 is its default); word-vector
    encoders raise it to their ``min_batch_size``.
    """
    import embeddings
    from embeddings.tokenize import tokenize

    sentences = corpus_sentences(n)
    train = corpus_sentences(20_000, skip=n)  # SIF is fitted on other sentences
    mean = embeddings.load("glove-6b-50d")
    dim = mean.dim  # loads the vectors: load time is measured separately
    kv = mean.to_keyed_vectors()

    def gensim_loop() -> np.ndarray:
        out = np.zeros((len(sentences), dim), dtype=np.float32)
        for i, s in enumerate(sentences):
            tokens = tokenize(s)
            if tokens:
                out[i] = kv.get_mean_vector(tokens, pre_normalize=False)
        return out

    results: dict[str, Any] = {
        "sentences": len(sentences),
        "tokens (regex tokenizer)": sum(map(len, map(tokenize, sentences))),
        "batch_size passed to encode": batch_size,
        "batch size used": max(batch_size, mean.min_batch_size),
        "cpu cores": os.cpu_count(),
    }
    runs: dict[str, tuple[float, float, np.ndarray]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name in ("glove-6b-50d", "glove-6b-50d-sif"):
            for n_jobs in (1, 2):
                enc = embeddings.load(name, n_jobs=n_jobs)
                if enc.requires_fit:
                    enc.fit(train)
                enc.dim  # noqa: B018  (loading is measured by the load benchmark)
                start = time.perf_counter()
                vecs = enc.encode(sentences, batch_size=batch_size)  # fresh token cache
                first = time.perf_counter() - start
                best, _ = _best(lambda e=enc: e.encode(sentences, batch_size=batch_size), repeats)
                runs[f"{name} n_jobs={n_jobs}"] = (first, min(first, best), vecs)
        g_time, g_vecs = _best(gensim_loop, repeats)
    results[f"gensim get_mean_vector loop s (best of {repeats})"] = g_time
    results["gensim sentences/s"] = len(sentences) / g_time
    for key, (first, best, _) in runs.items():
        results[f"{key} first call s"] = first
        results[f"{key} best s"] = best
        results[f"{key} sentences/s (first call)"] = len(sentences) / first
        results[f"{key} speedup vs gensim (first call)"] = g_time / first
        results[f"{key} speedup vs gensim (best)"] = g_time / best
    m1, m2 = runs["glove-6b-50d n_jobs=1"][2], runs["glove-6b-50d n_jobs=2"][2]
    s1, s2 = runs["glove-6b-50d-sif n_jobs=1"][2], runs["glove-6b-50d-sif n_jobs=2"][2]
    results["n_jobs=2 identical to n_jobs=1"] = bool(
        np.array_equal(m1, m2) and np.array_equal(s1, s2)
    )
    results["max |ours mean - gensim mean|"] = float(np.abs(m1 - g_vecs).max())
    return results


def load_time(repeats: int = 5) -> dict[str, Any]:
    """Native store load vs gensim ``load_word2vec_format`` of the same GloVe text."""
    from gensim.models import KeyedVectors

    from embeddings.adapters.word_vectors import WordVectorEncoder
    from embeddings.formats import load_vectors, read_store, write_glove_text
    from embeddings.formats.embedded import load_embedded

    vocab, vectors = load_embedded("glove-6b-50d")
    results: dict[str, Any] = {"words": len(vocab), "dim": int(vectors.shape[1])}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TRANSFERKIT_VECTOR_STORE"] = os.path.join(tmp, "stores")
        path = Path(tmp) / "glove.6B.50d.txt"
        start = time.perf_counter()
        write_glove_text(path, vocab, vectors)
        results["write GloVe text s"] = time.perf_counter() - start
        results["GloVe text MB"] = path.stat().st_size / 1e6
        start = time.perf_counter()
        kv = KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True)
        results["gensim load_word2vec_format s"] = time.perf_counter() - start
        start = time.perf_counter()
        table = load_vectors(path)
        results["first load (parse + convert to store) s"] = time.perf_counter() - start
        store = table.source
        native, loaded = _best(lambda: read_store(store), repeats)
        results["native store load (mmap) s"] = native
        results["same vectors as gensim"] = bool(
            loaded.vocab == list(kv.index_to_key) and np.array_equal(loaded.vectors, kv.vectors)
        )

        def ready() -> None:
            WordVectorEncoder(str(path)).encode(["warm up"])

        results["encoder ready from file (store exists) s"] = _best(ready, 3)[0]
    results["speedup native vs gensim"] = results["gensim load_word2vec_format s"] / native
    return results


def _read_tsv(path: Path) -> tuple[list[str], list[str]]:
    labels, texts = [], []
    with open(path, encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            label, text = line.rstrip("\n").split("\t", 1)
            labels.append(label)
            texts.append(text)
    return texts, labels


def _classifier() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=1.0))


def _score(encoder: Any, task: str) -> float:
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    root = data_root() / task
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if task in ("SST2", "TREC"):
            x_train, y_train = _read_tsv(root / "train.tsv")
            x_test, y_test = _read_tsv(root / "test.tsv")
            enc = clone(encoder).fit(x_train) if encoder.requires_fit else encoder
            clf = _classifier().fit(enc.encode(x_train), y_train)
            return float((clf.predict(enc.encode(x_test)) == np.asarray(y_test)).mean())
        texts, labels = _read_tsv(root / "all.tsv")
        y = np.asarray(labels)
        folds = StratifiedKFold(n_splits=10, shuffle=True, random_state=0)
        shared = None if encoder.requires_fit else encoder.encode(texts)
        scores = []
        for train_idx, test_idx in folds.split(np.zeros(len(y)), y):
            if shared is None:
                enc = clone(encoder).fit([texts[i] for i in train_idx])
                x = enc.encode(texts)
            else:
                x = shared
            clf = _classifier().fit(x[train_idx], y[train_idx])
            scores.append(float((clf.predict(x[test_idx]) == y[test_idx]).mean()))
        return float(np.mean(scores))


def accuracy(
    models: Path | None = None,
    tasks: tuple[str, ...] = ("MR", "CR", "SUBJ", "MPQA", "SST2", "TREC"),
    *,
    glove: bool = True,
) -> dict[str, dict[str, float]]:
    """Accuracy per encoder and task (the GloVe poolings, plus trained models in ``models``)."""
    import embeddings

    encoders: dict[str, Any] = {
        name: embeddings.load(name)
        for name in (
            "glove-6b-50d",
            "glove-6b-50d-sif",
            "glove-6b-50d-usif",
            "glove-6b-50d-tfidf",
            "glove-6b-50d-max",
            "glove-6b-50d-pmean",
        )
        if glove
    }
    if models is not None:
        for folder in sorted(Path(models).iterdir()):
            if (folder / "config.json").is_file():
                enc = embeddings.load(str(folder))
                encoders[f"{folder.name} (trained on unlabeled)"] = _Frozen(enc)
    table: dict[str, dict[str, float]] = {}
    for name, enc in encoders.items():
        row = {}
        for task in tasks:
            start = time.perf_counter()
            row[task] = _score(enc, task)
            print(
                f"{name:40s} {task:5s} {row[task]:.4f} ({time.perf_counter() - start:.0f}s)",
                file=sys.stderr,
            )
        table[name] = row
    return table


class _Frozen:
    """An already-trained encoder used as is (no per-fold refit: it never saw task data)."""

    requires_fit = False

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts, batch_size=512)


def _print(title: str, results: dict[str, Any]) -> None:
    if title:
        print(f"\n## {title}")
    for key, value in results.items():
        if isinstance(value, dict):
            cells = " | ".join(f"{v * 100:.1f}" for v in value.values())
            print(f"| {key} | {cells} |")
        elif isinstance(value, float):
            print(f"{key:55s} {value:,.4f}")
        else:
            print(f"{key:55s} {value}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=["speed", "load", "accuracy", "all"])
    parser.add_argument("--n", type=int, default=100_000, help="sentences for the speed test")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", type=Path, default=None, help="folder of trained encoders")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--no-glove", action="store_true", help="accuracy: trained models only")
    args = parser.parse_args(argv)
    out: dict[str, Any] = {}
    if args.part in ("speed", "all"):
        out["speed"] = speed(args.n, batch_size=args.batch_size, repeats=args.repeats)
        _print("encode speed (one run, same machine)", out["speed"])
    if args.part in ("load", "all"):
        out["load"] = load_time(args.repeats)
        _print("load time", out["load"])
    if args.part in ("accuracy", "all"):
        out["accuracy"] = accuracy(args.models, glove=not args.no_glove)
        print("\n## accuracy (%)\n| encoder | MR | CR | SUBJ | MPQA | SST2 | TREC |")
        print("|---|---|---|---|---|---|---|")
        _print("", out["accuracy"])
    write_json(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
