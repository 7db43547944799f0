"""The house's rules, checked on the source (DESIGN.md "Architecture"): no import circle in the
package, counting every import (module level, function level and TYPE_CHECKING ones alike); no module
over 900 lines; no function body over 100 lines; the pure core imports nothing that does I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "corscheck"
MAX_MODULE_LINES = 900
MAX_FUNCTION_LINES = 100
# Modules that must stay pure: none of them may import one that does I/O.
PURE = [
    "browser", "headers", "policy", "origins", "plan", "rules", "fixes", "config", "masking",
    "target", "suppression", "shard", "proxy", "evaluate", "evaluate.model", "evaluate.build",
    "evaluate.expectations", "evaluate.origin_findings", "evaluate.refused", "evaluate.hygiene",
]  # fmt: skip
DOES_IO = ["runner", "transport", "audit", "app", "commands", "cli", "demo", "testing", "learn"]


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(("corscheck", *parts))] = path
    return found


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """The corscheck modules `name` imports, wherever the import statement stands."""
    tree = ast.parse(MODULES[name].read_text("utf-8"))
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return {m for m in found if m in MODULES and m != name and m != "corscheck"}


GRAPH = {name: _imports(name) for name in MODULES}


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for following in sorted(GRAPH[node]):
            if state.get(following) == 1:
                return [*path[path.index(following) :], following]
            if following not in state and (found := visit(following)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(GRAPH):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_circle() -> None:
    cycle = _cycle()
    assert cycle is None, " -> ".join(cycle or [])


def test_the_circle_finder_finds_one() -> None:
    """The check above can fail: a graph with a circle is caught."""
    saved = dict(GRAPH)
    try:
        GRAPH["corscheck.browser"] = {*GRAPH["corscheck.browser"], "corscheck.audit"}
        assert _cycle() is not None
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name: str) -> None:
    lines = len(MODULES[name].read_text("utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_function_size(name: str) -> None:
    tree = ast.parse(MODULES[name].read_text("utf-8"))
    long = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                first = node.body[1] if len(node.body) > 1 else first  # the docstring is not body
            size = (node.end_lineno or 0) - first.lineno + 1
            if size > MAX_FUNCTION_LINES:
                long.append(f"{node.name} ({size} lines)")
    assert not long, f"{name}: {', '.join(long)}"


def _reaches(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for following in GRAPH[todo.pop()]:
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


@pytest.mark.parametrize("name", PURE)
def test_the_pure_core_reaches_no_io(name: str) -> None:
    reached = _reaches(f"corscheck.{name}")
    io = sorted(
        m
        for m in reached
        if any(m == f"corscheck.{d}" or m.startswith(f"corscheck.{d}.") for d in DOES_IO)
    )
    assert not io, f"corscheck.{name} reaches {io}"
