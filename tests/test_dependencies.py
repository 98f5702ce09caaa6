"""The package metadata says what the library imports: the core imports without the
optional packages, and each optional import names the extra that provides it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EXTRAS = PROJECT["optional-dependencies"]
OPTIONAL = ("matplotlib", "h5py", "nltk", "sentence_transformers", "mteb", "regex")


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_core_holds_only_what_the_library_imports():
    core = _names(PROJECT["dependencies"])
    assert not core & {"sentence-transformers", "h5py", "matplotlib", "regex", "nltk", "mteb"}
    torch = next(r for r in PROJECT["dependencies"] if r.startswith("torch"))
    assert "==" not in torch and "<" in torch and ">=" in torch  # a range, not a pin


def test_extras_hold_the_optional_packages():
    assert {"nltk", "h5py"} <= _names(EXTRAS["published"])
    assert "matplotlib" in _names(EXTRAS["plots"])
    assert "mteb" in _names(EXTRAS["mteb"])
    assert "sentence-transformers" in _names(EXTRAS["dev"])
    (everything,) = EXTRAS["all"]
    included = set(everything.split("[", 1)[1].rstrip("]").split(","))
    assert included == {"models", "published", "plots", "mteb", "dask", "onnx"}
    tools = {"pytest", "ruff", "mypy", "hypothesis"}
    assert tools <= _names(EXTRAS["dev"])
    assert not tools & set().union(*(_names(EXTRAS[e]) for e in included))


def test_regex_is_never_imported():
    pattern = re.compile(r"^\s*(import|from) regex\b", re.M)
    for folder in ("embeddings", "evaluators", "benchmarks", "transferkit"):
        for path in (REPO / folder).rglob("*.py"):
            assert not pattern.search(path.read_text(encoding="utf-8")), path


_WITHOUT_OPTIONAL = """
import importlib, pkgutil, sys
BLOCKED = {blocked!r}

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"No module named {{name!r}} (blocked)")
        return None

sys.meta_path.insert(0, Block())
failed = []
for top in ("embeddings", "evaluators", "benchmarks", "transferkit"):
    pkg = importlib.import_module(top)
    for info in pkgutil.walk_packages(pkg.__path__, top + "."):
        if info.name.startswith("benchmarks.perf"):
            continue  # measurement scripts, run by hand with the dev extra
        try:
            importlib.import_module(info.name)
        except ImportError as err:
            failed.append(f"{{info.name}}: {{err}}")
print("FAILED", failed)

from embeddings.errors import MissingDependencyError
from embeddings.formats import elmo
from embeddings import tokenize
from benchmarks import plots
for what, call in (("published", elmo._h5py), ("plots", plots._pyplot),
                   ("published", lambda: tokenize.nltk_word_tokenize("a b"))):
    try:
        call()
    except MissingDependencyError as err:
        print("EXTRA", what, f"transferkit[{{what}}]" in str(err))
"""


def test_the_core_imports_without_optional_packages_and_names_extras():
    code = _WITHOUT_OPTIONAL.format(blocked=set(OPTIONAL))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "FAILED []" in out.stdout, out.stdout
    extras = [line for line in out.stdout.splitlines() if line.startswith("EXTRA")]
    assert extras == ["EXTRA published True", "EXTRA plots True", "EXTRA published True"]


def test_make_venv_installs_the_cpu_torch_first_then_all_and_dev():
    recipe = (REPO / "Makefile").read_text(encoding="utf-8").split("$(STAMP): pyproject.toml", 1)
    lines = [line.strip() for line in recipe[1].split("\n\n", 1)[0].splitlines()]
    torch_at = next(
        i for i, line in enumerate(lines) if line.endswith('install --quiet "torch==2.13.0"')
    )
    extras_at = next(i for i, line in enumerate(lines) if '-e ".[all,dev]"' in line)
    assert torch_at < extras_at
    assert '"torch==2.13.0"' in lines[extras_at]  # held at its build while the extras resolve


def test_pinning_process_threads_covers_torch_and_onnx_and_can_be_lifted():
    """A Dask worker pins its numerical threads; ONNX Runtime's default follows the pin,
    and lifting it gives torch back its former setting."""
    import torch

    from embeddings._deps import pin_process_threads, process_threads
    from embeddings.adapters.onnx_backend import default_threads

    before, cpus = torch.get_num_threads(), process_threads()
    try:
        pin_process_threads(1)
        assert (torch.get_num_threads(), process_threads(), default_threads()) == (1, 1, 1)
    finally:
        pin_process_threads(None)
    assert (torch.get_num_threads(), process_threads()) == (before, cpus)
