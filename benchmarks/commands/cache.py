"""``transferkit cache``: inspect, clear and compact the embedding cache.

Example:
    $ transferkit cache info
    $ transferkit cache info --json
    $ transferkit cache clear --encoder glove-6b-50d
    $ transferkit cache clear
    $ transferkit cache compact --dir /tmp/tk-cache
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register"]


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _cache_dir(args: argparse.Namespace) -> Any:
    from embeddings.cache import default_cache_dir

    return args.dir if args.dir is not None else default_cache_dir()


def _info(args: argparse.Namespace) -> int:
    from embeddings.cache import cache_info

    root = _cache_dir(args)
    rows = [r for r in cache_info(root) if args.encoder is None or r["name"] == args.encoder]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"cache: {root}")
    if not rows:
        print("(empty)" if args.encoder is None else f"(no entries for {args.encoder!r})")
        return 0
    header = ("encoder", "fingerprint", "vectors", "dim", "shards", "size", "created")
    table = [
        (
            r["name"],
            r["fingerprint"][:12],
            str(r["n_vectors"]),
            "?" if r["dim"] is None else str(r["dim"]),
            str(r["shards"]),
            _size(r["bytes"]),
            r["created"],
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
    for row in (header, *table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    total = sum(r["bytes"] for r in rows)
    print(f"{len(rows)} encoder(s), {sum(r['n_vectors'] for r in rows)} vectors, {_size(total)}")
    return 0


def _clear(args: argparse.Namespace) -> int:
    from embeddings.cache import clear_cache

    root = _cache_dir(args)
    freed = clear_cache(root, fingerprint=args.fingerprint, name=args.encoder)
    print(f"cleared {_size(freed)} from {root}")
    return 0


def _compact(args: argparse.Namespace) -> int:
    from embeddings.cache import compact

    root = _cache_dir(args)
    for s in compact(root, fingerprint=args.fingerprint):
        print(
            f"{s['name']} {s['fingerprint'][:12]}: {s['shards_before']} -> {s['shards_after']} "
            f"shard(s), {s['n_vectors']} vectors, freed {_size(s['bytes_freed'])}"
        )
    return 0


def register(subparsers: Any) -> None:
    """Add ``cache info|clear|compact`` to the ``transferkit`` parser."""
    parser = subparsers.add_parser(
        "cache",
        help="inspect or clear the embedding cache",
        description="Inspect, clear or compact the on-disk embedding cache "
        "($TRANSFERKIT_CACHE/embeddings or ~/.cache/transferkit/embeddings).",
    )
    actions = parser.add_subparsers(dest="cache_action", metavar="ACTION")
    actions.required = True

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dir", default=None, help="cache folder (default: the user cache)")

    info = actions.add_parser("info", help="list cached encoders, vector counts and sizes")
    common(info)
    info.add_argument("--encoder", default=None, help="only this encoder name")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(func=_info)

    clear = actions.add_parser(
        "clear", help="delete cached vectors (all of them unless --encoder/--fingerprint)"
    )
    common(clear)
    clear.add_argument("--encoder", default=None, help="only entries of this encoder name")
    clear.add_argument("--fingerprint", default=None, help="only this fingerprint (or prefix)")
    clear.set_defaults(func=_clear)

    comp = actions.add_parser("compact", help="merge shards and drop duplicates")
    common(comp)
    comp.add_argument("--fingerprint", default=None, help="only this fingerprint (or prefix)")
    comp.set_defaults(func=_compact)
