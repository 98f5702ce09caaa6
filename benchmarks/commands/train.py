"""``transferkit train``: train word2vec, fastText or Doc2Vec on a corpus and save the encoder.

The corpus (a text file, or a folder of ``*.txt`` files; ``raw/`` sub-folders are
skipped) is streamed line by line, one line per sentence/document.  The result is a
saved encoder folder that ``embeddings.load(DIR)`` and ``transferkit encode`` read.

Example:
    $ transferkit train word2vec --corpus data/unlabeled --out models/w2v --epochs 5
    $ transferkit train doc2vec --mode dbow --corpus data/unlabeled --out models/d2v
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``train`` subcommand."""
    p = subparsers.add_parser(
        "train",
        help="train word2vec / fastText / Doc2Vec on a text corpus",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("algorithm", choices=["word2vec", "fasttext", "doc2vec"])
    p.add_argument("--corpus", required=True, help="text file or folder of *.txt files")
    p.add_argument("--out", required=True, help="folder to save the trained encoder to")
    p.add_argument("--vector-size", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--epochs", type=int, default=None, help="default: 5 (10 for doc2vec)")
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--seed", type=int, default=0, help="random_state")
    p.add_argument(
        "--workers", type=int, default=1, help="training threads (only 1 is bit-reproducible)"
    )
    p.add_argument(
        "--cbow", action="store_true", help="word2vec/fastText: CBOW instead of skip-gram"
    )
    p.add_argument("--bucket", type=int, default=200_000, help="fastText n-gram buckets")
    p.add_argument(
        "--mode", choices=["dbow", "dm"], default="dbow", help="doc2vec: PV-DBOW or PV-DM"
    )
    p.add_argument(
        "--pooling",
        default="mean",
        choices=["mean", "tfidf", "sif", "usif", "max", "pmean"],
        help="word2vec/fastText: how word vectors are pooled",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train, save, and print a JSON summary line."""
    from embeddings.training.corpus import TextCorpus

    progress = not args.no_progress
    corpus = TextCorpus(args.corpus)
    encoder: Any
    if args.algorithm == "doc2vec":
        from embeddings.adapters.doc2vec import Doc2VecEncoder

        encoder = Doc2VecEncoder(
            args.mode,
            vector_size=args.vector_size,
            window=args.window,
            min_count=args.min_count,
            epochs=args.epochs if args.epochs is not None else 10,
            negative=args.negative,
            random_state=args.seed,
            workers=args.workers,
        )
        encoder._preset_name = f"doc2vec-{args.mode}"
    else:
        from embeddings.adapters.word_vectors import TrainedWordVectorEncoder

        encoder = TrainedWordVectorEncoder(
            args.algorithm,
            sg=not args.cbow,
            vector_size=args.vector_size,
            window=args.window,
            min_count=args.min_count,
            epochs=args.epochs if args.epochs is not None else 5,
            negative=args.negative,
            bucket=args.bucket,
            random_state=args.seed,
            workers=args.workers,
            pooling=args.pooling,
        )
        encoder._preset_name = f"{args.algorithm}-corpus"
    files = corpus.files or []
    print(
        f"training {args.algorithm} on {len(files)} file(s) from {args.corpus}",
        file=sys.stderr,
    )
    start = time.perf_counter()
    encoder.fit_corpus(args.corpus, progress=progress)
    seconds = time.perf_counter() - start
    out = encoder.save(Path(args.out))
    info = dict(getattr(encoder, "training_info_", None) or {})
    summary = {
        "algorithm": args.algorithm,
        "out": str(out),
        "wall_seconds": round(seconds, 2),
        "corpus_bytes": sum(f.stat().st_size for f in files),
        **{k: v for k, v in info.items() if k != "algorithm"},
    }
    print(json.dumps(summary))
    return 0
