"""The import graph of the product's packages: floors, not circles.

The graph is read from the source with :mod:`ast` (every ``import`` in a module,
including those inside functions and those under ``if TYPE_CHECKING:``: a type-only
import is still a dependency between floors).  ``from package import submodule`` is an edge to the
submodule only.  A circle is a strongly connected component of more than one module.

The circles that remain are listed in ``KNOWN_CIRCLES``: the test fails when a new one
appears, and also when a listed one is gone (so that the list only shrinks).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("embeddings", "evaluators", "benchmarks")

#: circles still to be broken up (each a set of modules)
KNOWN_CIRCLES: list[frozenset[str]] = []


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The product modules that ``module`` imports."""

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    found: set[str] = set()
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = owner(alias.name)
                if target:
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                target = sub if sub in modules else owner(source)
                if target:
                    found.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(module)
    return {m for m in found if m.split(".")[0] in PACKAGES}


def _circles() -> list[frozenset[str]]:
    modules = _modules()
    graph = {m: _imports(m, p, modules) for m, p in modules.items()}
    # Tarjan's strongly connected components, iterative
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[frozenset[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = set()
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        comp.add(top)
                        if top == node:
                            break
                    if len(comp) > 1:
                        out.append(frozenset(comp))
                continue
            if child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return out


def test_the_graph_reader_finds_a_circle(tmp_path: Path) -> None:
    names = ("embeddings.a", "embeddings.b", "embeddings.c")
    modules = {m: tmp_path / f"{m[-1]}.py" for m in names}
    modules["embeddings.a"].write_text("def f():\n    from embeddings import b\n")
    modules["embeddings.c"].write_text("")
    modules["embeddings.b"].write_text(
        "from typing import TYPE_CHECKING\nimport embeddings.a\n"
        "if TYPE_CHECKING:\n    from embeddings import c\n"
    )
    assert _imports("embeddings.a", modules["embeddings.a"], modules) == {"embeddings.b"}
    # a type-only import is a dependency too
    assert _imports("embeddings.b", modules["embeddings.b"], modules) == {
        "embeddings.a",
        "embeddings.c",
    }


def test_no_new_import_circles() -> None:
    circles = set(_circles())
    new = [sorted(c) for c in circles if c not in KNOWN_CIRCLES]
    assert not new, f"new import circle(s): {new}"
    gone = [sorted(c) for c in KNOWN_CIRCLES if c not in circles]
    assert not gone, f"circle(s) broken up: remove them from KNOWN_CIRCLES: {gone}"


def test_evaluators_import_only_errors_from_embeddings() -> None:
    modules = _modules()
    for name, path in modules.items():
        if name.split(".")[0] != "evaluators":
            continue
        bad = {m for m in _imports(name, path, modules) if m.split(".")[0] != "evaluators"}
        assert bad <= {"embeddings.errors"}, f"{name} imports {sorted(bad)}"
