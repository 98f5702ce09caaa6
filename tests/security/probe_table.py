"""Run every hostile-input probe and print one markdown table of the outcomes.

Usage (from the repository root)::

    .venv/bin/python -m tests.security.probe_table            # every area
    .venv/bin/python -m tests.security.probe_table --area elmo
    .venv/bin/python -m tests.security.probe_table --list
    .venv/bin/python -m tests.security.probe_table --area cli -v   # one line per variant

Each area (a module of ``tests/security/probes``) runs in one child process that
imports what the area needs once, then runs its variants one after another, each in a
fresh folder under a temporary root, with its address space capped at 1 GiB above what
the child held before it, its CPU time at the variant's limit (5 s unless the variant
says otherwise) and its wall time at four times that (20 s at least).  A child that dies
(a kill, a hard limit, a hang in C code) is restarted at the next variant, and the one it
died on counts as a crash.  The outcome of each variant is classified as described in
``tests/security/probes/__init__.py``; the command exits 1 when any variant crashed, was
silently wrong, or ran code / read or changed a file outside its folder (details of those
variants go to stderr).  Everything is written under one temporary folder, removed at the
end (the children's ``HOME``, caches and vector store point into it); nothing is fetched.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import importlib
import json
import os
import resource
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

from tests.security.probes import SECRET, Ctx, Outside, SilentBad, Variant

REPO = Path(__file__).resolve().parents[2]
PROBES_DIR = Path(__file__).resolve().parent / "probes"
AREAS = [
    "elmo",
    "vector_files",
    "release_files",
    "checkpoints",
    "transformer",
    "cli",
    "writes",
    "input_length",
    "config_bounds",
    "pins",
    "aliases",
    "saved_folders",
]
MEMORY = 1 << 30
VERDICTS = ("clean", "crash", "silent", "outside")


# ------------------------------------------------------------------ variant list
def load_area(area: str) -> ModuleType:
    """Import the probe module of ``area``."""
    return importlib.import_module(f"tests.security.probes.{area}")


def as_variant(item: Variant | Callable[[Ctx], Any] | str) -> Variant:
    """A :class:`Variant` for a bare callable or statement string (which must be refused)."""
    if isinstance(item, Variant):
        return item
    if isinstance(item, str):
        first = next((ln.strip() for ln in item.splitlines() if ln.strip()), "")
        return Variant(first[:70], item)
    return Variant(getattr(item, "__name__", "variant").strip("_"), item)


def flat(module: ModuleType) -> list[tuple[str, Variant]]:
    """Every (row name, variant) of an area module, in order."""
    return [(row, as_variant(v)) for row, variants in module.PROBES for v in variants]


# ------------------------------------------------------------------- child side
class _TimeLimit(BaseException):
    """The variant ran past its CPU or wall-time limit."""


def _raise_time(signum: int, _frame: object) -> None:
    raise _TimeLimit("CPU time limit" if signum == signal.SIGXCPU else "wall time limit")


#: the hard limits, which the soft ones return to after each variant (never raised)
_HARD = {kind: resource.getrlimit(kind)[1] for kind in (resource.RLIMIT_AS, resource.RLIMIT_CPU)}


def _vm_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


class _Watch:
    """inotify watch of the outside folder: any open, read or change of a file there."""

    MASK = 0x1 | 0x2 | 0x4 | 0x8 | 0x20 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800

    def __init__(self, folder: Path) -> None:
        self.fd = -1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            for path in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
                libc.inotify_add_watch(self.fd, os.fsencode(path), self.MASK)
        except (OSError, AttributeError):
            self.fd = -1

    def events(self) -> list[str]:
        """The events since the last call, as "mask name" strings."""
        out: list[str] = []
        while self.fd >= 0:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            at = 0
            while at + 16 <= len(data):
                _wd, mask, _cookie, size = struct.unpack_from("iIII", data, at)
                name = data[at + 16 : at + 16 + size].rstrip(b"\0").decode("utf-8", "replace")
                out.append(f"{mask:#x} {name or '.'}")
                at += 16 + size
        return out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    out = {}
    for path in sorted(folder.rglob("*")):
        st = os.lstat(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        out[str(path.relative_to(folder))] = (digest, st.st_nlink)
    return out


def _make_outside(folder: Path) -> None:
    (folder / "sub").mkdir(parents=True)
    (folder / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")
    (folder / "sub" / "deep.txt").write_text(SECRET + "\n", encoding="utf-8")


def _from_probe_code(tb: TracebackType | None) -> bool:
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and (last.startswith("<probe") or last.startswith(str(PROBES_DIR)))


@contextlib.contextmanager
def _captured(path: Path) -> Iterator[None]:
    """Send fds 1 and 2 (Python's and C's output) to ``path`` for the duration."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "wb") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _run_variant(module: ModuleType, variant: Variant, ctx: Ctx, log: Path) -> dict[str, Any]:
    """Run one variant under the caps; return its verdict, detail and times."""
    verdict, detail, text = "clean", "", ""
    cap = _vm_bytes() + MEMORY
    cpu0, wall0 = _cpu(), time.perf_counter()
    limit = int(cpu0 + variant.seconds) + 1
    watch = _Watch(ctx.outside)
    baseline = [_snapshot(ctx.outside)]

    def arm() -> None:
        baseline[0] = _snapshot(ctx.outside)
        watch.events()

    ctx.arm = arm
    arm()
    try:
        with _captured(log):
            resource.setrlimit(resource.RLIMIT_AS, (cap, _HARD[resource.RLIMIT_AS]))
            resource.setrlimit(resource.RLIMIT_CPU, (limit, _HARD[resource.RLIMIT_CPU]))
            signal.alarm(max(20, int(4 * variant.seconds)))
            try:
                if isinstance(variant.run, str):
                    namespace = dict(vars(module), ctx=ctx)
                    exec(compile(variant.run, "<probe>", "exec"), namespace)
                    result = namespace.get("result")
                else:
                    result = variant.run(ctx)
            finally:
                signal.alarm(0)
                for kind in (resource.RLIMIT_CPU, resource.RLIMIT_AS):
                    resource.setrlimit(kind, (_HARD[kind], _HARD[kind]))
        text = repr(result)[:20000]
        if variant.expect == "error":
            verdict, detail = "silent", "returned without an error"
        else:
            detail = "correct output"
    except _TimeLimit as err:
        verdict, detail = "crash", f"{err} ({variant.seconds:g} s)"
    except Outside as err:
        verdict, detail = "outside", str(err)
    except AssertionError as err:
        own = isinstance(err, SilentBad) or _from_probe_code(err.__traceback__)
        verdict = "silent" if own else "crash"
        detail = f"{type(err).__name__}: {err}"
        text = str(err)
    except BaseException as err:
        from embeddings.errors import TransferkitError

        name = f"{type(err).__module__}.{type(err).__qualname__}"
        text = str(err)
        detail = f"{name}: {text}"
        if isinstance(err, TransferkitError):
            if variant.expect == "ok":
                verdict, detail = "silent", "a valid input was refused: " + detail
        else:
            verdict = "crash"
            frames = traceback.extract_tb(err.__traceback__)
            if frames:  # where it was raised
                detail += f" (at {frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name})"
    cpu, wall = _cpu() - cpu0, time.perf_counter() - wall0
    events = watch.events()
    watch.close()
    output = log.read_bytes().decode("utf-8", "replace") if log.exists() else ""
    secrets = [SECRET, *ctx.watched]
    leaked = [s for s in secrets if s in text or s in output or s in detail]
    markers = ctx.tmp / ".markers"
    ran = markers.is_dir() and any(markers.iterdir())
    if ran:
        verdict, detail = "outside", "code ran: " + ", ".join(p.name for p in markers.iterdir())
    elif leaked:
        verdict, detail = "outside", f"a secret appears in the output ({detail[:200]})"
    elif events:
        verdict = "outside"
        detail = f"a file outside the folder was opened ({', '.join(events[:4])}; {detail[:200]})"
    elif _snapshot(ctx.outside) != baseline[0]:
        verdict, detail = "outside", f"a file outside the folder changed ({detail[:200]})"
    if verdict == "clean" and cpu > variant.seconds:
        verdict, detail = "crash", f"took {cpu:.1f} s of CPU > {variant.seconds:g} s"
    return {"verdict": verdict, "detail": detail[:600], "cpu": round(cpu, 2),
            "wall": round(wall, 2)}  # fmt: skip


def child(area: str, root: Path, start: int) -> None:
    """Run the variants of ``area`` from index ``start``, one RESULT line each."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    module = load_area(area)
    variants = flat(module)
    shared = root / "shared"
    shared.mkdir(parents=True, exist_ok=True)
    if hasattr(module, "setup"):
        module.setup(shared)
    signal.signal(signal.SIGXCPU, _raise_time)
    signal.signal(signal.SIGALRM, _raise_time)
    print("READY", file=out)
    for i in range(start, len(variants)):
        base = root / f"v{i}"
        shutil.rmtree(base, ignore_errors=True)
        ctx = Ctx(tmp=base / "work", shared=shared, outside=base / "outside")
        ctx.tmp.mkdir(parents=True)
        _make_outside(ctx.outside)
        os.chdir(ctx.tmp)
        res = _run_variant(module, variants[i][1], ctx, base / "output.log")
        os.chdir(REPO)
        res["i"] = i
        print("RESULT " + json.dumps(res), file=out)
        shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------------ parent side
def _env(module: ModuleType, root: Path, shared: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HOME=str(root / "home"),  # libraries' own caches (ONNX Runtime's) stay in the root
        XDG_CACHE_HOME=str(root / "home" / ".cache"),
        HF_HOME=str(root / "hf-home"),
        TRANSFERKIT_CACHE=str(root / "cache"),
        TRANSFERKIT_VECTOR_STORE=str(root / "stores"),
        TRANSFERKIT_PROGRESS="0",
        MPLBACKEND="Agg",
        MPLCONFIGDIR=str(root / "mpl"),
    )
    for key, value in getattr(module, "ENV", {}).items():
        env[key] = value.format(shared=shared)
    return env


def _collect(proc: subprocess.Popen[bytes], start: int, variants: list[tuple[str, Variant]],
             results: dict[int, dict[str, Any]], on_result: Callable[[int], None],
             ) -> tuple[int, bool, str]:  # fmt: skip
    """Read a child's RESULT lines until it ends or overruns; ``(next index, ready, why)``."""
    pending, ready = start, False
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    deadline = time.monotonic() + 900  # imports and shared fixtures
    try:
        while True:
            if time.monotonic() > deadline:
                return pending, ready, "no result in time: killed"
            if not sel.select(timeout=1.0):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                return pending, ready, ""
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace")
                if text == "READY":
                    ready = True
                elif text.startswith("RESULT "):
                    res = json.loads(text[7:])
                    results[res["i"]] = res
                    pending = res["i"] + 1
                    on_result(res["i"])
                if ready and pending < len(variants):
                    seconds = variants[pending][1].seconds
                    deadline = time.monotonic() + max(60.0, 6 * seconds + 30)
    finally:
        sel.close()


def run_area(area: str, root: Path, verbose: bool) -> list[tuple[str, str, dict[str, Any]]]:
    """Run one area in (restarted) children; return (row, variant name, result) per variant."""
    module = load_area(area)
    variants = flat(module)
    results: dict[int, dict[str, Any]] = {}
    area_root = root / area
    area_root.mkdir(parents=True)

    def show(i: int) -> None:
        if verbose:
            res, (row, var) = results[i], variants[i]
            print(f"  [{res['verdict']:7}] {area} | {row} | {var.name}: "
                  f"{res['detail'][:200]} ({res['cpu']} s)", file=sys.stderr)  # fmt: skip

    start = 0
    while start < len(variants):
        errlog = area_root / f"child-{start}.err"
        with open(errlog, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.security.probe_table", "--child", area,
                 "--root", str(area_root), "--start", str(start)],
                stdout=subprocess.PIPE, stderr=err, cwd=REPO,
                env=_env(module, root, area_root / "shared"), start_new_session=True,
            )  # fmt: skip
            try:
                pending, ready, reason = _collect(proc, start, variants, results, show)
            finally:  # also on Ctrl-C: the child runs in its own session
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if pending >= len(variants):
            break
        tail = errlog.read_bytes().decode("utf-8", "replace")[-300:].replace("\n", " ")
        if not ready:
            print(f"{area}: the child failed before its first variant: {tail}", file=sys.stderr)
            for i in range(pending, len(variants)):
                results[i] = {"verdict": "crash", "detail": "setup failed: " + tail, "cpu": 0}
            break
        why = reason or f"exit {proc.returncode}"
        results[pending] = {"verdict": "crash", "detail": f"child died ({why}): {tail}", "cpu": 0}
        show(pending)
        start = pending + 1
    return [(row, var.name, results[i]) for i, (row, var) in enumerate(variants)]


def table(rows: list[tuple[str, str, list[dict[str, Any]]]]) -> tuple[str, int]:
    """The markdown table of (area, row, results) and the number of bad variants."""
    lines = [
        "| area | probe | tried | clean | crash | silent bad | code executed / read outside |",
        "|---|---|---|---|---|---|---|",
    ]
    total = dict.fromkeys(VERDICTS, 0)
    for area, row, results in rows:
        counts = dict.fromkeys(VERDICTS, 0)
        for res in results:
            counts[res["verdict"]] += 1
            total[res["verdict"]] += 1
        cells = [area, row.replace("|", "\\|"), len(results), *(counts[v] for v in VERDICTS)]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    cells = ["**total**", f"{len(rows)} probes", sum(total.values()), *total.values()]
    lines.append("| " + " | ".join(f"**{c}**" if i else str(c) for i, c in enumerate(cells)) + " |")
    return "\n".join(lines), total["crash"] + total["silent"] + total["outside"]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m tests.security.probe_table",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--area", action="append", choices=AREAS,
                        help="run only this area (repeatable)")  # fmt: skip
    parser.add_argument("--list", action="store_true", help="list the areas and exit")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every variant")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, Path(args.root), args.start)
        return 0
    if args.list:
        for area in AREAS:
            module = load_area(area)
            doc = (module.__doc__ or "").strip().splitlines()[0]
            print(f"{area:16} {len(module.PROBES):3} probes {len(flat(module)):4} variants  {doc}")
        return 0
    root = Path(tempfile.mkdtemp(prefix="transferkit-probes-"))
    rows: list[tuple[str, str, list[dict[str, Any]]]] = []
    bad_details: list[str] = []
    start = time.perf_counter()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a kill prints what ran
    interrupted = ""
    try:
        for area in args.area or AREAS:
            interrupted = area
            t0 = time.perf_counter()
            results = run_area(area, root, args.verbose)
            grouped: dict[str, list[dict[str, Any]]] = {}
            for row, name, res in results:
                grouped.setdefault(row, []).append(res)
                if res["verdict"] != "clean":
                    bad_details.append(f"{res['verdict']}: {area} | {row} | {name}: "
                                       f"{res['detail'][:300]}")  # fmt: skip
            rows.extend((area, row, res) for row, res in grouped.items())
            print(f"{area}: {len(results)} variants in {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
        interrupted = ""
    except KeyboardInterrupt:
        print(f"interrupted in area {interrupted}: the table holds the areas before it",
              file=sys.stderr)  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
    text, bad = table(rows)
    print(text)
    for line in bad_details:
        print(line, file=sys.stderr)
    print(f"wall time {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 1 if bad or interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
