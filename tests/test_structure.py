"""The house's rules, checked on the source (DESIGN.md "Architecture", docs/architecture.md): no import
circle in the package, between files or between wings (folders), counting every import (module
level, function level and TYPE_CHECKING ones alike); the wings' one-way rules; no module over 900
lines; no function body over 100 lines; the pure core imports nothing that does I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "corscheck"
MAX_MODULE_LINES = 900
MAX_FUNCTION_LINES = 100
# Plain data in, plain data out: no network, no process, no terminal, no file of their own choosing
# (report/json.py writes only to the stream it is handed; origins.py reads its packaged data).
PURE = [
    "corscheck", "addresses", "browser", "config", "deployment", "errors", "exchange", "fixes", "headers",
    "masking", "origins", "plan", "policy", "policyfile", "policywriter", "rules", "safelist",
    "shard", "stack", "target", "visitor", "websocket", "wording", "witness", "written", "nginxconf", "har",
    "evaluate", "evaluate.build", "evaluate.cache", "evaluate.causes", "evaluate.expectations",
    "evaluate.exposure", "evaluate.hygiene", "evaluate.model", "evaluate.origin_findings",
    "evaluate.proof", "evaluate.refused", "evaluate.regex_findings", "evaluate.websocket",
    "gate", "gate.suppression",
    "prove.closing", "prove.pages", "prove.poc", "prove.replay",
    "report", "report.codec", "report.console", "report.github", "report.html", "report.json",
    "report.junit", "report.markdown", "report.model", "report.sarif", "report.scope",
    "runner.pacing",
    "transport.options", "transport.proxy",
]  # fmt: skip
# The network, files, processes, the browser, the terminal.
DOES_IO = [
    "__main__", "appconfig", "audit", "cli", "deliver", "demo", "inputs", "learn", "merge", "openapi", "probe",
    "testing",
    "commands", "commands.audit", "commands.demo", "commands.edge", "commands.init",
    "commands.merge", "commands.options", "commands.probe", "commands.progress", "commands.prove",
    "commands.rules", "commands.usage",
    "prove", "prove.certs", "prove.chromium", "prove.relay", "prove.run", "prove.server",
    "report.outputs",
    "runner", "runner.order", "runner.workers",
    "transport", "transport.app", "transport.base", "transport.http11", "transport.httpx_adapter",
    "transport.inprocess", "transport.tls", "transport.websocket", "transport.asgi_websocket",
]  # fmt: skip
# One module per command (cli.py registers them); the other modules of commands/ are their shared
# wiring (options, the error ladder, progress, help), which a command may import.
COMMANDS = ["audit", "demo", "init", "merge", "probe", "prove", "rules"]
# Each wing (folder) and what it may never import, wherever the import stands.
WING_NEVER = {
    "evaluate": ["report", "prove", "transport", "runner", "commands", "audit", "config"],
    "transport": ["config", "browser", "runner", "evaluate", "report", "prove", "commands"],
    "report": ["prove", "commands", "audit", "runner", "transport"],
    "prove": ["commands", "audit", "runner"],
    "gate": ["commands", "audit", "inputs"],
}


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


def _full(name: str) -> str:
    return "corscheck" if name == "corscheck" else f"corscheck.{name}"


@pytest.mark.parametrize("name", PURE)
def test_the_pure_core_reaches_no_io(name: str) -> None:
    io = {_full(d) for d in DOES_IO}
    reached = sorted(m for m in _reaches(_full(name)) if m in io)
    assert not reached, f"corscheck.{name} reaches {reached}"


def test_every_module_is_pure_or_does_io() -> None:
    pure, io = {_full(m) for m in PURE}, {_full(m) for m in DOES_IO}
    assert not pure & io, f"listed as both: {sorted(pure & io)}"
    assert set(MODULES) == pure | io, (
        f"unlisted: {sorted(set(MODULES) - pure - io)}; gone: {sorted((pure | io) - set(MODULES))}"
    )


def _wing(module: str) -> str:
    """The folder a module stands in, or the module itself on the ground floor."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "corscheck"


def _wing_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    wings: dict[str, set[str]] = {}
    for name, imported in graph.items():
        wings.setdefault(_wing(name), set()).update(
            _wing(m) for m in imported if _wing(m) != _wing(name)
        )
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for following in sorted(wings.get(node, ())):
            if state.get(following) == 1:
                return [*path[path.index(following) :], following] if following in path else None
            if following not in state and (found := visit(following, [*path, following])):
                return found
        state[node] = 2
        return None

    for start in sorted(wings):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_circle_between_wings() -> None:
    """Folders count as one room each: no import runs back up from one wing to another."""
    cycle = _wing_cycle(GRAPH)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_wing_circle_finder_finds_one() -> None:
    graph = {name: set(imported) for name, imported in GRAPH.items()}
    graph["corscheck.evaluate.model"].add("corscheck.report.model")
    assert _wing_cycle(graph) is not None


@pytest.mark.parametrize("wing", sorted(WING_NEVER))
def test_a_wing_never_imports_what_it_must_not(wing: str) -> None:
    never = {_full(n) for n in WING_NEVER[wing]}
    crossing = sorted(
        f"{name} -> {imported}"
        for name in GRAPH
        if _wing(name) == wing
        for imported in GRAPH[name]
        if any(imported == n or imported.startswith(n + ".") for n in never)
    )
    assert not crossing, crossing


def test_no_command_imports_another() -> None:
    commands = {f"corscheck.commands.{c}" for c in COMMANDS}
    crossing = sorted(f"{c} -> {m}" for c in commands for m in GRAPH[c] if m in commands)
    assert not crossing, crossing


def test_rules_are_named_by_their_constants() -> None:
    """A rule id is written once, in rules.py; everywhere else `rules.X.id`, so mypy sees a typo."""
    from corscheck import rules

    ids = {v.id for v in vars(rules).values() if isinstance(v, rules.Rule)}
    assert len(ids) > 20
    literals = sorted(
        f"{name}:{node.lineno}: {node.value!r}"
        for name, path in MODULES.items()
        if name != "corscheck.rules"
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Constant) and node.value in ids
    )
    assert not literals, literals
