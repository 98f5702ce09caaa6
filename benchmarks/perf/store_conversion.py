"""First conversion of a text vector file into the native store, against gensim's parse.

``python -m benchmarks.perf.store_conversion`` writes the embedded GloVe 6B 50d vectors
(400,000 words) as a GloVe text file (or word2vec text with ``--word2vec``), then times,
interleaved and ``--repeats`` times each, on one core:

* gensim ``KeyedVectors.load_word2vec_format`` of the file (its parse, nothing written);
* transferkit ``load_vectors`` of the file into a fresh store folder: the parse, the
  store written and flushed, the store read back and its sha256 verified, then
  memory-mapped (everything a first load does);
* transferkit ``read_glove_text``/``read_word2vec_text`` alone (the parse).

The process is pinned to one core (``os.sched_setaffinity``) and Arrow to one thread,
so the ratio compares one core with one core; the best time of each is used, since
other work on the machine only ever adds time.  It also checks that both sides read
the same words and the same float32 values.

Example:
    $ python -m benchmarks.perf.store_conversion --repeats 3
    $ python -m benchmarks.perf.store_conversion --word2vec --json conversion.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.perf.run import write_json

__all__ = ["main", "measure"]


def _pin_one_core() -> str:
    """Pin this process to one allowed core and Arrow to one thread; describe it."""
    import pyarrow as pa

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"core {core}"
    return "not pinned (no sched_setaffinity)"


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(repeats: int = 3, *, word2vec: bool = False) -> dict[str, Any]:
    """Interleaved timings of gensim's parse and of transferkit's first conversion.

    Example:
        >>> measure(1)["speedup first conversion vs gensim"] > 1  # doctest: +SKIP
        True
    """
    from gensim.models import KeyedVectors

    from embeddings.formats import load_vectors, write_glove_text, write_word2vec_text
    from embeddings.formats.embedded import load_embedded
    from embeddings.formats.text import read_glove_text, read_word2vec_text

    vocab, vectors = load_embedded("glove-6b-50d")
    results: dict[str, Any] = {"words": len(vocab), "dim": int(vectors.shape[1])}
    times: dict[str, list[float]] = {"gensim": [], "convert": [], "parse": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("glove.6B.50d.w2v.txt" if word2vec else "glove.6B.50d.txt")
        (write_word2vec_text if word2vec else write_glove_text)(path, vocab, vectors)
        results["file"] = (
            f"{'word2vec' if word2vec else 'GloVe'} text, {path.stat().st_size / 1e6:.1f} MB"
        )
        read = read_word2vec_text if word2vec else read_glove_text
        kv = None
        table = None
        for r in range(repeats):

            def gensim() -> None:
                nonlocal kv
                kv = KeyedVectors.load_word2vec_format(
                    str(path), binary=False, no_header=not word2vec
                )

            def convert(r: int = r) -> None:
                nonlocal table
                os.environ["TRANSFERKIT_VECTOR_STORE"] = os.path.join(tmp, f"stores-{r}")
                table = load_vectors(path)

            times["gensim"].append(_timed(gensim))
            times["convert"].append(_timed(convert))
            times["parse"].append(_timed(lambda: read(path)))
        assert kv is not None and table is not None
        results["same words and vectors as gensim"] = bool(
            table.vocab == list(kv.index_to_key) and np.array_equal(table.vectors, kv.vectors)
        )
    best = {k: min(v) for k, v in times.items()}
    results["repeats (interleaved)"] = repeats
    results["gensim load_word2vec_format s (best)"] = best["gensim"]
    results["transferkit first conversion to the store s (best)"] = best["convert"]
    results["transferkit parse only s (best)"] = best["parse"]
    results["speedup first conversion vs gensim"] = best["gensim"] / best["convert"]
    results["speedup parse only vs gensim"] = best["gensim"] / best["parse"]
    results["all times s"] = {k: [round(t, 3) for t in v] for k, v in times.items()}
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: print (and optionally save) the measurement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of each")
    parser.add_argument("--word2vec", action="store_true", help="a word2vec text file (header)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    pinned = _pin_one_core()
    results = {"one core": pinned, **measure(args.repeats, word2vec=args.word2vec)}
    for key, value in results.items():
        shown = f"{value:,.3f}" if isinstance(value, float) else value
        print(f"{key:55s} {shown}")
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
