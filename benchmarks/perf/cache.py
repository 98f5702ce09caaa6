"""Speed of the embedding cache: encode a 10,000-sentence task twice.

The first pass computes every vector and writes it to a fresh, temporary cache;
the second pass uses a *new* :class:`~embeddings.cache.CachedEncoder` (an empty
in-memory index, as in a later process) and reads everything back from disk.
The model is loaded before timing, so the first pass measures encoding, not
loading.  The acceptance bar is a second pass at least 20x faster than the first,
with bit-identical output.  ``--check-uncached`` also encodes the texts without
the cache and checks the cached output against it (this doubles the run time).

Example:
    $ python -m benchmarks.perf.cache
    $ python -m benchmarks.perf.cache --encoder glove-6b-50d --n 10000 --task MR
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence

import numpy as np

from benchmarks.perf.run import read_sentences

REQUIRED_SPEEDUP = 20.0
DEFAULT_ENCODERS = ("use-multilingual-v3", "glove-6b-50d")


def pick_encoder(name: str | None) -> str:
    """The requested encoder, else the first default whose weights are installed."""
    import embeddings

    if name is not None:
        return name
    available = {e["name"] for e in embeddings.list_encoders() if e["available"]}
    for candidate in DEFAULT_ENCODERS:
        if candidate in available:
            try:
                embeddings.load(candidate).encode(["warm up"])
            except Exception as err:  # adapter missing or broken: fall back
                print(f"note: {candidate} unusable ({type(err).__name__}: {err}); falling back")
                continue
            return candidate
    raise SystemExit(f"none of {DEFAULT_ENCODERS} is available; pass --encoder")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit code 1 if the speed-up or identity check fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default=None, help=f"preset (default: {DEFAULT_ENCODERS})")
    parser.add_argument("--task", default="MR", help="task folder with all.tsv (default MR)")
    parser.add_argument("--n", type=int, default=10_000, help="number of sentences")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--check-uncached", action="store_true", help="also compare with uncached encode"
    )
    args = parser.parse_args(argv)

    import embeddings
    from embeddings.cache import CachedEncoder, cache_info

    texts = read_sentences(args.n, args.task)
    name = pick_encoder(args.encoder)
    encoder = embeddings.load(name)
    encoder.encode(["warm up: load the model before timing"])
    print(
        f"encoder: {name} (dim {encoder.dim}); texts: {len(texts)} from {args.task} "
        f"({len(set(texts))} distinct); python {sys.version.split()[0]}"
    )

    with tempfile.TemporaryDirectory(prefix="tk-cache-perf-") as tmp:
        t0 = time.perf_counter()
        first = CachedEncoder(encoder, cache_dir=tmp).encode(texts, batch_size=args.batch_size)
        t_first = time.perf_counter() - t0

        t0 = time.perf_counter()
        second = CachedEncoder(encoder, cache_dir=tmp).encode(texts, batch_size=args.batch_size)
        t_second = time.perf_counter() - t0

        [info] = cache_info(tmp)

    print(f"first pass  (compute + write): {t_first:9.3f} s")
    print(f"second pass (read from disk):  {t_second:9.3f} s")
    ratio = t_first / t_second
    print(f"speed-up: {ratio:.1f}x (required >= {REQUIRED_SPEEDUP:.0f}x)")
    print(
        f"cache: {info['n_vectors']} vectors, {info['shards']} shard(s), "
        f"{info['bytes'] / 2**20:.1f} MiB"
    )
    same = first.dtype == second.dtype and np.array_equal(first, second)
    print(f"second pass identical to first (bit for bit): {same}")
    ok = same and ratio >= REQUIRED_SPEEDUP
    if args.check_uncached:
        t0 = time.perf_counter()
        plain = encoder.encode(texts, batch_size=args.batch_size)
        t_plain = time.perf_counter() - t0
        plain_same = np.array_equal(plain, first)
        print(f"uncached encode: {t_plain:.3f} s; identical to cached output: {plain_same}")
        ok = ok and bool(plain_same)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
