"""``transferkit models``: list the encoder presets.

The ``dim`` column is the output dimension; for encoders whose dimension is set by
``fit`` (TF-IDF's vocabulary, LSA's components on tiny data) it shows the cap, as
``≤5000``, and ``-`` when there is none (``word-vectors``: the dimension of your vectors).

Example:
    $ transferkit models
    $ transferkit models --family word_vectors --json
"""

from __future__ import annotations

import argparse
import difflib
import json
from typing import Any

from embeddings.errors import InvalidParameterError


def _dim(info: Any) -> str:
    if info["dim"] is not None:
        return str(info["dim"])
    cap = info.get("max_dim")
    return "-" if cap is None else f"≤{cap}"


def run(args: argparse.Namespace) -> int:
    """Print the presets as a table (or JSON)."""
    import embeddings

    if args.family is not None:
        known = sorted({i["family"] for i in embeddings.list_encoders()})
        if args.family not in known:
            close = difflib.get_close_matches(args.family, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise InvalidParameterError(
                f"unknown family {args.family!r}{hint} Known families: {', '.join(known)}"
            )
    infos = embeddings.list_encoders(family=args.family)
    if args.json:
        print(json.dumps(infos, indent=2))
        return 0
    header = ("name", "family", "dim", "offline", "fit", "description")
    rows = [
        (
            i["name"],
            i["family"],
            _dim(i),
            "yes" if i["available"] else "no",
            "yes" if i["trainable"] else "",
            i["description"],
        )
        for i in infos
    ]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header) - 1)]
    for row in [header, *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) + "  " + row[-1])
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``models`` subcommand."""
    p = sub.add_parser(
        "models",
        help="list encoder presets",
        description="List the encoder presets: family, output dimension (≤N: a cap reached "
        "after fit), whether the weights are available offline, whether the preset is fitted "
        "on training texts, and what it is.",
    )
    p.add_argument(
        "--family",
        default=None,
        help="only this family (word_vectors, doc2vec, use, transformer, baseline, "
        "quick_thought, ...)",
    )
    p.add_argument(
        "--json", action="store_true", help="machine-readable output (dim, max_dim, ...)"
    )
    p.set_defaults(func=run)
