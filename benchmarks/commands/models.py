"""``transferkit models``: list the encoder presets.

Example:
    $ transferkit models
    $ transferkit models --family word_vectors --json
"""

from __future__ import annotations

import argparse
import json


def run(args: argparse.Namespace) -> int:
    """Print the presets as a table (or JSON)."""
    import embeddings

    infos = embeddings.list_encoders(family=args.family)
    if args.json:
        print(json.dumps(infos, indent=2))
        return 0
    header = ("name", "family", "dim", "offline", "fit", "description")
    rows = [
        (
            i["name"],
            i["family"],
            "-" if i["dim"] is None else str(i["dim"]),
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
    p = sub.add_parser("models", help="list encoder presets")
    p.add_argument("--family", default=None, help="only this family")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)
