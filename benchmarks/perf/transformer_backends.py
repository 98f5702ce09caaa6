"""Transformer backends: torch, ONNX Runtime float32 and int8, against sentence-transformers.

``python -m benchmarks.perf.transformer_backends`` encodes the same ``--n`` real
sentences (default: the first 10,000 of MR) with

* ``sentence-transformers``: ``SentenceTransformer(folder).encode`` (the reference);
* ``torch``: the transformer adapter with ``backend="torch"``;
* ``onnx``: ``backend="onnx"``, the exported float32 graph on ONNX Runtime;
* ``int8``: ``backend="onnx", quantize="int8"`` (dynamic int8 weights, per-channel
  scales; ``--per-tensor`` for one scale per tensor),
* ``onnx-fused`` (only when named in ``--variants``): the float32 graph after
  ONNX Runtime's transformer optimizer (``onnxruntime.transformers.optimizer``,
  ``model_type="bert"``: fused attention, skip-layer-norm and GELU kernels), for
  comparison with the graph optimisations every session already applies,

each in a fresh subprocess with ``--threads`` threads (torch intra-op threads, or
ONNX Runtime's), after loading and a warm-up on 100 other sentences (the ONNX export
and quantization, done once into the model cache, are not timed), one timed
``encode(batch_size=64)``.  It prints sentences per second of wall time and per
second of CPU time of the process (with one thread, the second hardly depends on
what else the machine runs), the ratio of each to sentence-transformers,
the largest absolute difference and the mean cosine of each to sentence-transformers'
vectors, and the peak resident memory of each child.

Example:
    $ python -m benchmarks.perf.transformer_backends
    $ python -m benchmarks.perf.transformer_backends --model mpnet-base --n 2000 --json p.json
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.perf.run import run_child, timed_encode, write_json

__all__ = ["main", "measure", "VARIANTS", "EXTRA_VARIANTS"]

VARIANTS = ("sentence-transformers", "torch", "onnx", "int8")
#: measured only when named in ``--variants``
EXTRA_VARIANTS = ("onnx-fused",)


def _fused(enc: Any, threads: int, folder: str) -> Any:
    """``enc`` (loaded, ``backend="onnx"``) running its graph after the transformer optimizer."""
    from onnxruntime.transformers.optimizer import optimize_model

    from embeddings.adapters.onnx_backend import OnnxRunner

    runner = enc._runner
    optimized = optimize_model(str(runner.path), model_type="bert", num_heads=0, hidden_size=0)
    print(f"fused operators: {optimized.get_fused_operator_statistics()}", file=sys.stderr)
    path = Path(folder) / "fused.onnx"
    optimized.save_model_to_file(str(path))
    enc._runner = OnnxRunner(path, runner.inputs, threads)
    return enc


def _encoder(variant: str, model: str, threads: int, per_channel: bool, folder: str) -> Any:
    from embeddings.adapters.transformer import TransformerEncoder, resolve_model_dir

    if variant == "sentence-transformers":
        from embeddings._deps import require

        SentenceTransformer = require(
            "sentence_transformers", extra="dev", package="sentence-transformers"
        ).SentenceTransformer

        st = SentenceTransformer(str(resolve_model_dir(model)), device="cpu")

        class _St:
            def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
                return np.asarray(st.encode(texts, batch_size=batch_size), np.float32)

        return _St()
    if variant == "torch":
        return TransformerEncoder(model=model, threads=threads)
    if variant == "onnx-fused":
        enc = TransformerEncoder(model=model, backend="onnx", threads=threads)
        enc._ensure_loaded()
        return _fused(enc, threads, folder)
    quantize = "int8" if variant == "int8" else None
    return TransformerEncoder(model=model, backend="onnx", quantize=quantize,
                              per_channel=per_channel, threads=threads)  # fmt: skip


def measure(
    variant: str, n: int, model: str, threads: int, out: str, per_channel: bool = True
) -> dict[str, Any]:
    """Load one variant, warm it up, time one ``encode`` of ``n`` MR sentences.

    The vectors are written to ``out`` (``.npy``) for the comparison.  Run it in a
    fresh process (``main`` does): the peak memory is the process's.
    """
    import torch

    torch.set_num_threads(int(threads))
    make = functools.partial(_encoder, variant, model, threads, per_channel, str(Path(out).parent))
    vectors, row = timed_encode(make, n)
    np.save(out, vectors)
    return {"variant": variant, **row, "threads": threads}


def _child(variant: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.perf.transformer_backends", "--child", variant,
           "--n", str(args.n), "--model", args.model, "--threads", str(args.threads),
           "--out", str(out)]  # fmt: skip
    if args.per_tensor:
        cmd.append("--per-tensor")
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": str(args.threads)}
    return run_child(cmd, variant, env=env)


def _load_avg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every variant in a fresh process and print the table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10_000, help="sentences of MR to encode")
    p.add_argument("--model", default="minilm-l6", help="minilm-l6, mpnet-base or a folder")
    p.add_argument("--threads", type=int, default=1, help="torch / ONNX Runtime threads")
    p.add_argument("--per-tensor", action="store_true", help="int8 with one scale per tensor")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variants")
    p.add_argument("--json", default=None, help="also write the rows as JSON")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        row = measure(args.child, args.n, args.model, args.threads, args.out,
                      per_channel=not args.per_tensor)  # fmt: skip
        print(json.dumps(row))
        return 0
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS) - set(EXTRA_VARIANTS))
    if unknown or "sentence-transformers" not in variants:
        p.error(
            f"--variants takes {list(VARIANTS + EXTRA_VARIANTS)} and must include "
            "sentence-transformers"
        )
    rows = []
    loads = [_load_avg()]
    with tempfile.TemporaryDirectory(prefix="transferkit-perf-") as tmp:
        for variant in variants:
            out = Path(tmp) / f"{variant}.npy"
            rows.append(_child(variant, args, out))
            rows[-1]["vectors"] = np.load(out)
            loads.append(_load_avg())
    ref = next(r for r in rows if r["variant"] == "sentence-transformers")
    ref_vecs = ref["vectors"]
    ref_unit = ref_vecs / np.linalg.norm(ref_vecs, axis=1, keepdims=True).clip(1e-12)
    for r in rows:
        vecs = r.pop("vectors")
        unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True).clip(1e-12)
        r["ratio_to_st"] = round(r["sentences_per_s"] / ref["sentences_per_s"], 2)
        r["cpu_ratio_to_st"] = round(r["sentences_per_cpu_s"] / ref["sentences_per_cpu_s"], 2)
        r["max_abs_diff"] = float(np.abs(vecs - ref_vecs).max())
        r["mean_cosine"] = round(float((unit * ref_unit).sum(axis=1).mean()), 5)
    print(f"model {args.model}, {args.n} MR sentences, {args.threads} thread(s), "
          f"int8 scales per {'tensor' if args.per_tensor else 'channel'}; load average "
          f"{' -> '.join(loads)}")  # fmt: skip
    print("| variant | dim | sentences/s | x ST | sentences/CPU-s | x ST (CPU) | max abs diff "
          "| mean cosine | load s | peak RSS MiB |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['variant']} | {r['dim']} | {r['sentences_per_s']:,.0f} | "
              f"{r['ratio_to_st']:.2f} | {r['sentences_per_cpu_s']:,.0f} | "
              f"{r['cpu_ratio_to_st']:.2f} | {r['max_abs_diff']:.1e} | {r['mean_cosine']:.5f} | "
              f"{r['load_s']} | {r['peak_rss_mib']:,.0f} |")  # fmt: skip
    write_json(args.json, {"model": args.model, "load_average": loads, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
