"""One name per concept in public signatures: a census of the parameters of every public
function and method of ``embeddings``, ``evaluators`` and ``benchmarks``.

The old names (``seed``, ``workers``, ``max_epochs``, ``lr`` ...) may only live on as
deprecated aliases (``renamed_parameters`` / ``renamed_params``), never as a parameter of
a public signature; a private module or function (leading underscore) is not public.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("embeddings", "evaluators", "benchmarks")

#: the one name of each concept, and the names it replaced
CONCEPTS = {
    "random_state": {"seed", "rng_seed"},
    "show_progress": {"progress_bar", "verbose_progress"},
    "threads": {"workers", "num_threads", "n_threads"},
    "epochs": {"max_epochs", "n_epochs", "num_epochs"},
    "learning_rate": {"lr"},
    "head_learning_rate": {"head_lr"},
}
OLD = {old: new for new, olds in CONCEPTS.items() for old in olds}


def _public_signatures() -> list[tuple[str, str, list[str]]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if any(part.startswith("_") and part != "__init__.py" for part in rel.parts):
                continue
            if "perf" in rel.parts:  # measurement scripts, not an API
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name.startswith("_"):
                    continue  # its methods are walked too, but belong to no public class
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                if node.name.startswith("_") and node.name != "__init__":
                    continue
                a = node.args
                names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
                found.append((str(rel), node.name, names))
    return found


def test_public_signatures_use_one_name_per_concept() -> None:
    offenders = [
        f"{rel}: {func}({name}=) should be {OLD[name]}="
        for rel, func, names in _public_signatures()
        for name in names
        if name in OLD
    ]
    assert offenders == []


def test_the_census_sees_the_api() -> None:
    """The census reads the real API: each concept's one name is used many times."""
    counts = Counter(n for _, _, names in _public_signatures() for n in names)
    assert counts["random_state"] >= 20 and counts["show_progress"] >= 15
    assert counts["threads"] >= 10 and counts["epochs"] >= 5
