"""``transferkit models``: list the encoder presets, the published-model catalogue,
and download published models (``transferkit models pull NAME``).

The ``dim`` column is the output dimension; for encoders whose dimension is set by
``fit`` (TF-IDF's vocabulary, LSA's components on tiny data) it shows the cap, as
``≤5000``, and ``-`` when there is none (``word-vectors``: the dimension of your vectors).

Example:
    $ transferkit models
    $ transferkit models --family word_vectors --json
    $ transferkit models --catalog
    $ transferkit models pull glove-wiki-gigaword-100
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


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header) - 1)]
    for row in [header, *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) + "  " + row[-1])


def _catalog(args: argparse.Namespace) -> int:
    from embeddings.published import catalog_rows

    rows = catalog_rows()
    if args.family is not None:
        rows = [r for r in rows if r["family"] == args.family]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = ("name", "family", "size", "licence", "verified by", "source")
    _table(
        header,
        [
            (r["name"], r["family"], r["size"], r["licence"], r["verified"], r["source"])
            for r in rows
        ],
    )
    return 0


def _pull(args: argparse.Namespace) -> int:
    from embeddings.published import get_model, lock_path, pull

    if not args.names:
        raise InvalidParameterError(
            "transferkit models pull needs a published model name, e.g. "
            "`transferkit models pull glove-wiki-gigaword-100`; see `transferkit models --catalog`"
        )
    for name in args.names:
        get_model(name)  # every name is checked before anything is downloaded
    for name in args.names:
        folders = pull(name, show_progress=not args.quiet)
        for artifact, folder in folders.items():
            print(f"{name}: {artifact} -> {folder}")
    print(f"sha256 of files without a published hash: {lock_path()}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Print the presets as a table (or JSON), the catalogue, or pull models."""
    import embeddings

    action = getattr(args, "action", None)
    if action == "pull":
        return _pull(args)
    if action is not None:
        names = " ".join([action, *args.names][:3])[:200]
        raise InvalidParameterError(
            f"unknown action {action[:60]!r}; the only one is pull, e.g. "
            f"`transferkit models pull {names}`"
        )
    if getattr(args, "catalog", False):
        return _catalog(args)

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
    header = ("name", "family", "dim", "weights", "fit", "description")
    rows = [
        (
            i["name"],
            i["family"],
            _dim(i),
            i["weights"] or "-",
            "yes" if i["trainable"] else "",
            i["description"],
        )
        for i in infos
    ]
    _table(header, rows)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``models`` subcommand."""
    p = sub.add_parser(
        "models",
        help="list encoder presets",
        description="List the encoder presets: family, output dimension (≤N: a cap reached "
        "after fit), where the weights come from (embedded in a package, downloaded, trained "
        "with `transferkit train`, fitted on your texts, or your files), whether the encoder "
        "is fitted on your texts (fit), and what it is; --json adds whether the weights are "
        "installed (available). A preset is used by its name, in `embeddings.load(NAME)` or as "
        "the model of `transferkit encode`; `NAME:key=value` sets a parameter (e.g. "
        "word-vectors:source=FILE).",
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
    p.add_argument(
        "action",
        nargs="?",
        metavar="pull",
        help="pull NAME...: download published models into the model cache (resumable, "
        "checked against the published sha256 or transferkit-models.lock.json)",
    )
    p.add_argument("names", nargs="*", help=argparse.SUPPRESS)
    p.add_argument(
        "--catalog",
        action="store_true",
        help="list the published models: size, source, licence, how each is verified",
    )
    p.add_argument("--quiet", action="store_true", help="pull without a progress display")
    p.set_defaults(func=run)
