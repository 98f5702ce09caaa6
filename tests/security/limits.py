"""Run a hostile-input probe in a subprocess under a memory and time cap.

The child imports what the probe needs first, then caps its address space at what
it uses after the imports plus ``memory_mb`` (``resource.setrlimit(RLIMIT_AS)``) and
its CPU time at ``seconds`` (``RLIMIT_CPU``), runs the probe and prints one JSON
line: the exception class (or ``null``), the message's first 300 characters and
the probe's wall time.  A probe that allocates past the cap fails with
``MemoryError`` in the child; one that runs past the cap is killed, and the parent
also stops waiting after ``seconds`` + the import time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_CHILD = """
import json, resource, sys, time, traceback
{imports}
def _vm_bytes():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0
_limit = _vm_bytes() + {memory_mb} * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (_limit, _limit))
_cpu = int(resource.getrusage(resource.RUSAGE_SELF).ru_utime) + {seconds} + 1
resource.setrlimit(resource.RLIMIT_CPU, (_cpu, _cpu))
_start = time.perf_counter()
_error = None
_message = ""
try:
{body}
except BaseException as _exc:
    _error = type(_exc).__module__ + "." + type(_exc).__qualname__
    _message = str(_exc)[:300]
print("PROBE-RESULT " + json.dumps({{"error": _error, "message": _message,
      "seconds": time.perf_counter() - _start}}), flush=True)
"""


@dataclass
class ProbeResult:
    """What a capped probe did: its exception (``None`` when it returned), message, time."""

    error: str | None
    message: str
    seconds: float
    returncode: int
    output: str

    @property
    def error_name(self) -> str | None:
        """The exception's class name without its module, or ``None``."""
        return None if self.error is None else self.error.rsplit(".", 1)[-1]


def run_limited(
    body: str,
    *,
    imports: str = "import embeddings",
    seconds: float = 5,
    memory_mb: int = 1024,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> ProbeResult:
    """Run ``body`` (Python statements) in a capped child; see the module docstring.

    Example:
        >>> run_limited("x = 1").error is None
        True
    """
    code = _CHILD.format(
        imports=textwrap.dedent(imports),
        memory_mb=int(memory_mb),
        seconds=int(seconds),
        body=textwrap.indent(textwrap.dedent(body), "    "),
    )
    child_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    child_env.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=child_env,
        timeout=seconds + 60,
    )
    out = proc.stdout + proc.stderr
    for line in proc.stdout.splitlines():
        if line.startswith("PROBE-RESULT "):
            data = json.loads(line[len("PROBE-RESULT ") :])
            return ProbeResult(
                data["error"], data["message"], data["seconds"], proc.returncode, out
            )
    return ProbeResult("killed", out[-300:], float("inf"), proc.returncode, out)


def assert_bounded(result: ProbeResult, *, seconds: float = 5, allowed: tuple[str, ...]) -> None:
    """Fail unless the probe ended within ``seconds`` with one of the ``allowed`` errors
    (class names; ``"None"`` allows a normal return) and never ran out of memory."""
    name = str(result.error_name)
    assert name != "MemoryError", f"probe hit the memory cap: {result.message}"
    assert result.error != "killed", f"probe was killed (time or memory): {result.output[-500:]}"
    assert result.seconds <= seconds, f"probe took {result.seconds:.1f}s > {seconds}s"
    assert name in allowed, f"probe raised {result.error}: {result.message}"
