"""The output folder of distributed encoding: its manifest, partition plan and result.

The manifest ``OUT/_transferkit.json`` records the encoder, the input's identity and
the partition plan (byte ranges with their first row and row count, parquet row
groups, or runs of texts), so an interrupted call resumes with the same partitions.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from embeddings._dask_workers import cluster_threads
from embeddings._partitions import (
    MIN_PARTITION_BYTES,
    byte_ranges,
    count_range,
    default_partition_bytes,
    row_group_plan,
)
from embeddings._text_sources import TextSource
from embeddings.errors import InvalidParameterError

__all__ = ["MANIFEST_NAME", "MANIFEST_FORMAT", "MANIFEST_VERSION"]

DEFAULT_PARTITION_SIZE = 50_000
MANIFEST_NAME = "_transferkit.json"
ENCODER_DIR_NAME = "_encoder"
MANIFEST_FORMAT = "transferkit-distributed-encode"
MANIFEST_VERSION = 2
_START_OVER = "pass resume=False to start over, or choose another output folder"


def _part_file(index: int, width: int) -> str:
    return f"part-{index:0{width}d}.parquet"


def _is_ours(name: str) -> bool:
    return (
        (name.startswith("part-") and name.endswith(".parquet"))
        or name in (MANIFEST_NAME, ENCODER_DIR_NAME)
        or (name.startswith(".part-") or name.startswith(f".{MANIFEST_NAME}."))
    )


def _prepare_folder(out: Path, resume: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InvalidParameterError(f"out must be a folder, and {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    foreign = sorted(n for n in os.listdir(out) if not _is_ours(n))
    if foreign:
        raise InvalidParameterError(
            f"{out} holds files that are not partitions of an encoding ({foreign[:5]}); "
            "choose an empty or new folder"
        )
    if not resume:
        for name in os.listdir(out):
            path = out / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _new_manifest(
    src: TextSource,
    mode: str,
    unit: int | None,
    connect: Any,
    source: dict[str, Any],
    name: str,
    fingerprint: str,
    dim: int,
) -> dict[str, Any]:
    """The manifest of a new run, with its partition plan (byte ranges counted by the
    workers, row groups from the parquet footer, or runs of texts counted here)."""
    if mode == "bytes":
        size = src.path.stat().st_size
        if unit is None:  # the thread count only matters above the smallest partition
            threads = cluster_threads(connect()) if size > MIN_PARTITION_BYTES else 1
            unit = default_partition_bytes(size, threads)
        ranges = byte_ranges(size, unit)
        plan: list[dict[str, Any]] = []
        if ranges:
            dask_client = connect()
            jsonl = src.kind == "jsonl"
            futures = [
                dask_client.submit(count_range, source["path"], a, b, jsonl, pure=False)
                for a, b in ranges
            ]
            row = 0
            for (a, b), rows in zip(ranges, dask_client.gather(futures), strict=True):
                if rows:  # a range where no line starts holds no partition
                    plan.append({"bytes": [a, b], "first_row": row, "rows": int(rows)})
                    row += int(rows)
    else:
        unit = DEFAULT_PARTITION_SIZE if unit is None else unit
        if mode == "row_groups":
            plan = row_group_plan(src._parquet_file().metadata, unit)
        else:
            total = src.count()
            plan = [{"first_row": r, "rows": min(unit, total - r)} for r in range(0, total, unit)]
    rows = sum(int(p["rows"]) for p in plan)
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "encoder": {"name": name, "fingerprint": fingerprint},
        "output": {
            "rows": rows,
            "dim": dim,
            "chunk_size": unit,
            "partitions": len(plan),
            "width": max(5, len(str(max(len(plan) - 1, 0)))),
        },
        "plan": plan,
        "complete": False,
    }
