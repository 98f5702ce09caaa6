"""``transferkit data``: list, download and verify benchmark data.

Example:
    $ transferkit data list --family sts
    $ transferkit data download SST2 TREC --dir ~/tk-data
    $ TRANSFERKIT_DATA=~/tk-data transferkit data verify
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.tasks.metadata import TaskMetadata


def _tasks(names: list[str]) -> list[str]:
    from benchmarks.tasks import get_task_class, list_tasks

    if not names or [n.lower() for n in names] == ["all"]:
        return list_tasks()
    return [get_task_class(n).metadata.name for n in names]  # raises UnknownTaskError


def _split_rows(meta: TaskMetadata) -> dict[str, int]:
    """Rows per split (STS: summed over subsets; SST2: the default train file)."""
    out = {}
    for split in meta.splits:
        keys = [meta.file_key(split, s) for s in meta.subsets] if meta.subsets else [split]
        out[split] = sum(meta.files[k].rows for k in keys)
    return out


def run_list(args: argparse.Namespace) -> int:
    """Print the tasks: family, protocol, main score, splits with row counts."""
    from benchmarks.tasks import get_task_class, list_tasks

    names = list_tasks(args.family)
    metas = [get_task_class(n).metadata for n in names]
    if args.json:
        out = [
            {
                "name": m.name,
                "version": m.version,
                "family": m.family,
                "eval_protocol": m.eval_protocol,
                "main_score": m.main_score,
                "dataset": m.dataset,
                "splits": _split_rows(m),
                "subsets": list(m.subsets),
                "labels": list(m.labels) if m.labels else None,
                "homepage": m.homepage,
            }
            for m in metas
        ]
        print(json.dumps(out, indent=2))
        return 0
    header = ("name", "family", "protocol", "score", "splits (rows)")
    rows = [
        (
            m.name,
            m.family,
            m.eval_protocol,
            m.main_score,
            ", ".join(f"{split} {n}" for split, n in _split_rows(m).items()),
        )
        for m in metas
    ]
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return 0


def run_download(args: argparse.Namespace) -> int:
    """Download and convert the data folders of the given tasks."""
    from benchmarks.tasks import get_task_class
    from benchmarks.tasks.download import download_folder
    from benchmarks.tasks.paths import data_dir

    dest = args.dir if args.dir is not None else data_dir()
    folders: list[str] = []
    for name in _tasks(args.tasks):
        folder = get_task_class(name).metadata.dataset
        if folder not in folders:
            folders.append(folder)
    for folder in folders:
        try:
            report = download_folder(folder, dest, timeout=args.timeout, force=args.force)
        except OSError as err:  # e.g. a read-only data folder
            print(f"transferkit data download: error: {folder}: {err}", file=sys.stderr)
            return 2
        for warning in report.warnings:
            print(f"warning: {folder}: {warning}", file=sys.stderr)
        fetched = len(report.raw_fetched)
        print(
            f"{folder}: wrote {len(report.written)} file(s) to {report.root / folder} "
            f"({fetched} raw file(s) fetched, {len(report.raw_kept)} already present)"
        )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Check presence and sha256 of every file of the given tasks; exit 1 on problems."""
    from benchmarks.tasks import get_task
    from benchmarks.tasks.paths import describe_data_dir

    seen: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name in _tasks(args.tasks):
        for path, status in get_task(name, data_dir=args.dir).verify().items():
            seen.setdefault(path, status)
            owner.setdefault(path, name)
    bad = {p: s for p, s in seen.items() if s != "ok"}
    for path, status in seen.items():
        if args.verbose or status != "ok":
            print(f"{status:16} {path}")
    where = describe_data_dir(None if args.dir is None else args.dir)
    print(f"{len(seen) - len(bad)}/{len(seen)} files ok in {where}")
    if bad:
        missing = sorted({owner[p] for p, s in bad.items() if s == "missing"})
        if missing:
            print(f"fix: transferkit data download {' '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``data`` subcommand with ``list``, ``download`` and ``verify``."""
    p = sub.add_parser(
        "data",
        help="list, download and verify benchmark data",
        description="List the benchmark tasks, download and convert their data (into "
        "--dir, $TRANSFERKIT_DATA or the user cache), and verify every file against its "
        "pinned sha256.",
    )
    actions = p.add_subparsers(dest="data_command", metavar="ACTION")
    actions.required = True

    p_list = actions.add_parser("list", help="list benchmark tasks")
    p_list.add_argument(
        "--family",
        default=None,
        choices=["classification", "pair_classification", "similarity", "sts", "clustering"],
        help="only this family",
    )
    p_list.add_argument("--json", action="store_true", help="machine-readable output")
    p_list.set_defaults(func=run_list)

    p_dl = actions.add_parser("download", help="download, verify and convert task data")
    p_dl.add_argument("tasks", nargs="+", metavar="TASK", help="task names, or 'all'")
    p_dl.add_argument(
        "--dir", default=None, help="data folder to write (default: TRANSFERKIT_DATA or cache)"
    )
    p_dl.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    p_dl.add_argument("--force", action="store_true", help="fetch raw files again")
    p_dl.set_defaults(func=run_download)

    p_ver = actions.add_parser("verify", help="check that task files exist and match sha256")
    p_ver.add_argument("tasks", nargs="*", metavar="TASK", help="task names (default: all)")
    p_ver.add_argument("--dir", default=None, help="data folder (default: TRANSFERKIT_DATA)")
    p_ver.add_argument("-v", "--verbose", action="store_true", help="list ok files too")
    p_ver.set_defaults(func=run_verify)
