"""``transferkit store``: check converted word-vector stores.

A vector file given as ``source=`` is converted once into a native store (see
:mod:`embeddings.formats.native`); the sha256 recorded in the store's
``config.json`` is part of the fingerprint of every encoder that uses it.
``store verify`` checks a store's structure and hashes its content against that
record.

Example:
    $ transferkit store verify ~/.cache/transferkit/vector-stores/glove-0123abcd4567ef89
    $ transferkit store verify --all
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _verify(args: argparse.Namespace) -> int:
    from embeddings.errors import InvalidParameterError, ModelFormatError
    from embeddings.formats import is_store, store_config, store_root, verify_store

    paths = [Path(p) for p in args.paths]
    if args.all:
        root = store_root()
        paths += sorted(p for p in root.iterdir() if is_store(p)) if root.is_dir() else []
        if not paths:
            print(f"no vector stores under {root}")
            return 0
    if not paths:
        raise InvalidParameterError(
            "store verify needs a store folder (PATH ...) or --all (every store under the "
            "store root, $TRANSFERKIT_VECTOR_STORE or ~/.cache/transferkit/vector-stores)"
        )
    failed = 0
    for path in paths:
        try:
            digest = verify_store(path)
        except ModelFormatError as err:
            failed += 1
            print(f"FAILED {path}: {err}", file=sys.stderr)
            continue
        config = store_config(path)
        subwords = ", subwords" if config.get("subwords") else ""
        print(f"ok {path}: {config['count']} words x {config['dim']}{subwords}, sha256 {digest}")
    if failed:
        print(f"{failed} of {len(paths)} store(s) failed verification", file=sys.stderr)
        return 2
    return 0


def register(subparsers: Any) -> None:
    """Add ``store verify`` to the ``transferkit`` parser."""
    parser = subparsers.add_parser(
        "store",
        help="check converted word-vector stores",
        description="Check the native vector stores that word-vector files are converted to.",
    )
    actions = parser.add_subparsers(dest="store_action", metavar="ACTION")
    actions.required = True
    verify = actions.add_parser(
        "verify",
        help="check a store's files and its content hash (exit 2 if any fails)",
        description="Check each store's config.json, the sizes of its files and the sha256 "
        "of its content against the one recorded at conversion. Exit code 2 if any fails.",
    )
    verify.add_argument("paths", nargs="*", metavar="PATH", help="a store folder")
    verify.add_argument("--all", action="store_true", help="also every store under the store root")
    verify.set_defaults(func=_verify)
