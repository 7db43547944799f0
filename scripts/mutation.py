"""Mutation score of corscheck's pure core: a small AST mutator, no dependency beyond pytest.

    python scripts/mutation.py                      # every pure module
    python scripts/mutation.py evaluate headers     # some of them
    python scripts/mutation.py --jobs 4 --survivors # more workers; list every survivor

Each mutant changes one node of one module (a comparison, a boolean operator, a `not`, a constant,
an arithmetic operator, a `return` value, a `break`/`continue`, or a call statement dropped), and the
module's fast unit tests (never tests/e2e) run against it in a forked child, stopping at the first
failure. A mutant is killed when a test fails (or the module no longer imports, or the run exceeds
the timeout: a mutant that loops forever), and survives when every test passes.

Why self-written: mutmut 3 and cosmic-ray copy or rewrite the tree and start a fresh interpreter (or
pytest session) per mutant; on a two-core CI machine that is the difference between minutes and an
hour. Forking a parent that has pytest and the third-party libraries already imported, and importing
only corscheck afresh in the child, keeps a mutant at a fraction of a second.

Not mutated: docstrings, type annotations and `Literal[...]` (no run-time effect), prose (a string
with a space in it or an f-string: messages are pinned by the snapshot and message tests, and
mutating every word of them would measure typing, not testing), and `__all__`.

Survivors that no test can kill (equivalent mutants) are listed with a one-line reason in
tests/mutation-equivalent.txt; the score counts them as neither killed nor survived.
Exit status: 0 when every module reaches --target (default 85 %), 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import signal
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "corscheck"
EQUIVALENT = ROOT / "tests" / "mutation-equivalent.txt"

# Each pure module and the fast unit tests that exercise it, its own file first (-x stops at the
# first failure, so the most direct tests run first).
MODULES: dict[str, list[str]] = {
    "browser": [
        "tests/test_browser.py",
        "tests/test_browser_steps.py",
        "tests/test_verdict_rules.py",
        "tests/test_wpt_cases.py",
        "tests/test_browser_fuzz.py",
    ],
    "safelist": [
        "tests/test_browser.py",
        "tests/test_browser_steps.py",
        "tests/test_verdict_rules.py",
        "tests/test_wpt_cases.py",
        "tests/test_browser_fuzz.py",
    ],
    "headers": [
        "tests/test_headers.py",
        "tests/test_masking.py",
        "tests/test_browser.py",
        "tests/test_origins.py",
    ],
    "origins": ["tests/test_origins.py", "tests/test_plan.py"],
    "policy": ["tests/test_policy.py", "tests/test_plan.py", "tests/test_evaluate.py"],
    "plan": [
        "tests/test_plan.py",
        "tests/test_causes.py",
        "tests/test_verdict_rules.py",
        "tests/test_evaluate.py",
        "tests/test_evaluate_visitor.py",
    ],
    "runner.pacing": ["tests/test_pacing.py"],
    "stack": ["tests/test_stack.py", "tests/test_fixes.py"],
    "visitor": ["tests/test_visitor.py", "tests/test_evaluate_visitor.py", "tests/test_plan.py"],
    "evaluate.exposure": ["tests/test_evaluate_visitor.py", "tests/test_evaluate.py"],
    "addresses": ["tests/test_addresses.py", "tests/test_visitor.py", "tests/test_browser.py"],
    "evaluate.causes": ["tests/test_causes.py", "tests/test_evaluate.py"],
    "evaluate.cache": ["tests/test_causes.py", "tests/test_evaluate.py"],
    "report.scope": ["tests/test_scope.py"],
    "evaluate.proof": ["tests/test_prove.py"],
    "prove.replay": ["tests/test_prove.py"],
    "prove.pages": ["tests/test_prove.py"],
    "prove.poc": ["tests/test_prove.py"],
    **{
        module: [
            "tests/test_evaluate.py",
            "tests/test_evaluate_visitor.py",
            "tests/test_fingerprints.py",
            "tests/test_fixes.py",
        ]
        for module in (
            "evaluate",
            "evaluate.model",
            "evaluate.expectations",
            "evaluate.build",
            "evaluate.origin_findings",
            "evaluate.refused",
            "evaluate.hygiene",
        )
    },
    "config": ["tests/test_config.py", "tests/test_openapi.py"],
    # The allow-list where it is written (issue 33).
    "witness": ["tests/test_witness.py"],
    "written": ["tests/test_witness.py"],
    "nginxconf": ["tests/test_nginxconf.py"],
    "har": ["tests/test_har.py"],
    "evaluate.regex_findings": ["tests/test_regex_findings.py"],
}

_SWAP_COMPARE: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_SWAP_BINOP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Add,
    ast.FloorDiv: ast.Mult,
    ast.Mod: ast.Add,
}


@dataclass(frozen=True)
class Mutant:
    module: str
    index: int  # the index-th mutation point of the module, in AST walk order
    line: int
    function: str
    description: str

    @property
    def key(self) -> str:
        """Stable across line shifts: module, function and what changed (equivalents file)."""
        return f"{self.module}:{self.function}: {self.description}"


# --- finding mutation points -------------------------------------------------------------------------


def _skipped_nodes(tree: ast.Module) -> set[int]:
    """ids of nodes never mutated: docstrings, annotations, Literal[...], f-strings, __all__."""
    skipped: set[int] = set()

    def skip(node: ast.AST | None) -> None:
        if node is not None:
            skipped.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            skip(body[0])
        if isinstance(node, ast.arg):
            skip(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            skip(node.returns)
        elif isinstance(node, ast.AnnAssign):
            skip(node.annotation)
        elif (
            isinstance(node, ast.Subscript)
            and (isinstance(node.value, ast.Name) and node.value.id == "Literal")
        ) or isinstance(node, ast.JoinedStr):
            skip(node)
        elif isinstance(node, ast.ClassDef):
            # Decorators and the class body's own statements (dataclass fields) are declarations:
            # only the methods are mutated.
            for statement in node.body:
                if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                    skip(statement)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for decorator in node.decorator_list:
                skip(decorator)
        elif (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        ) or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("TypeVar", "cast")
        ):
            skip(node)
    return skipped


def _mutations(node: ast.AST) -> list[tuple[str, object]]:
    """(description, how) for every mutation of this one node."""
    out: list[tuple[str, object]] = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            swapped = _SWAP_COMPARE.get(type(op))
            if swapped is not None:
                out.append((f"{type(op).__name__} -> {swapped.__name__}", ("cmp", i, swapped)))
    elif isinstance(node, ast.BoolOp):
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        out.append((f"{type(node.op).__name__} -> {other.__name__}", ("boolop", other)))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append(("not removed", ("unnot",)))
    elif isinstance(node, ast.BinOp):
        swapped_op = _SWAP_BINOP.get(type(node.op))
        if swapped_op is not None and not _is_string_format(node):
            out.append(
                (f"{type(node.op).__name__} -> {swapped_op.__name__}", ("binop", swapped_op))
            )
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            out.append((f"{value} -> {not value}", ("const", not value)))
        elif isinstance(value, int):
            out.append((f"{value} -> {value + 1}", ("const", value + 1)))
        elif isinstance(value, str) and not any(c.isspace() for c in value) and len(value) <= 60:
            out.append((f"{value!r} -> {'XX' + value + 'XX'!r}", ("const", "XX" + value + "XX")))
    elif isinstance(node, ast.Return) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):
            out.append(("return None", ("return_none",)))
    elif isinstance(node, ast.Break):
        out.append(("break -> continue", ("swap_stmt", ast.Continue)))
    elif isinstance(node, ast.Continue):
        out.append(("continue -> break", ("swap_stmt", ast.Break)))
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        out.append(("call dropped", ("drop",)))
    return out


def _is_string_format(node: ast.BinOp) -> bool:
    """`"..." + x` or `"..." % x`: prose, like f-strings."""
    return any(
        isinstance(side, ast.Constant) and isinstance(side.value, str)
        for side in (node.left, node.right)
    )


def _walk(tree: ast.Module) -> list[tuple[ast.AST, str]]:
    """Every node with the name of its enclosing function ("<module>" at the top), in walk order."""
    found: list[tuple[ast.AST, str]] = []

    def visit(node: ast.AST, scope: str) -> None:
        found.append((node, scope))
        inner = scope
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            inner = node.name if scope == "<module>" else f"{scope}.{node.name}"
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, "<module>")
    return found


def _path(module: str) -> Path:
    """The source of a module named as MODULES names it: `evaluate.model`, or a package's __init__."""
    base = PACKAGE.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def mutants_of(module: str) -> list[Mutant]:
    source = _path(module).read_text("utf-8")
    tree = ast.parse(source)
    skipped = _skipped_nodes(tree)
    mutants: list[Mutant] = []
    seen: dict[str, int] = {}
    for node, scope in _walk(tree):
        if id(node) in skipped:
            continue
        for description, _ in _mutations(node):
            where = ast.unparse(node) if not isinstance(node, ast.Return | ast.Expr) else ""
            if isinstance(node, ast.Return | ast.Expr):
                where = ast.unparse(node).splitlines()[0]
            text = f"{description} in `{where[:70]}`"
            base = f"{scope}: {text}"
            seen[base] = seen.get(base, 0) + 1
            if seen[base] > 1:
                text += f" #{seen[base]}"
            mutants.append(Mutant(module, len(mutants), getattr(node, "lineno", 0), scope, text))
    return mutants


def mutated_code(module: str, index: int) -> object:
    path = _path(module)
    tree = ast.parse(path.read_text("utf-8"))
    skipped = _skipped_nodes(tree)
    count = 0
    for node, _ in _walk(tree):
        if id(node) in skipped:
            continue
        for _, how in _mutations(node):
            if count == index:
                _apply(tree, node, how)
                ast.fix_missing_locations(tree)
                return compile(tree, str(path), "exec")
            count += 1
    raise IndexError(index)


def _apply(tree: ast.Module, node: ast.AST, how: object) -> None:
    assert isinstance(how, tuple)
    kind = how[0]
    if kind == "cmp":
        assert isinstance(node, ast.Compare)
        node.ops[how[1]] = how[2]()
    elif kind == "boolop":
        assert isinstance(node, ast.BoolOp)
        node.op = how[1]()
    elif kind == "binop":
        assert isinstance(node, ast.BinOp)
        node.op = how[1]()
    elif kind == "const":
        assert isinstance(node, ast.Constant)
        node.value = how[1]
    elif kind == "return_none":
        assert isinstance(node, ast.Return)
        node.value = ast.Constant(None)
    elif kind in ("unnot", "swap_stmt", "drop"):
        parent, field, position = _parent_of(tree, node)
        if kind == "unnot":
            assert isinstance(node, ast.UnaryOp)
            replacement: ast.AST = node.operand
        elif kind == "swap_stmt":
            replacement = how[1]()
        else:
            replacement = ast.Pass()
        ast.copy_location(replacement, node)
        if position is None:
            setattr(parent, field, replacement)
        else:
            getattr(parent, field)[position] = replacement
    else:
        raise ValueError(kind)


def _parent_of(tree: ast.Module, target: ast.AST) -> tuple[ast.AST, str, int | None]:
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is target:
                return parent, field, None
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is target:
                        return parent, field, i
    raise LookupError("no parent")


# --- running --------------------------------------------------------------------------------------------


def _target_of(module: object, scope: str) -> tuple[object, str] | None:
    """(owner, attribute) of the top-level function or method whose code holds `scope`."""
    owner: object = module
    for part in scope.split("."):
        value = inspect.getattr_static(owner, part, None)
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if isinstance(value, property):
            value = value.fget
        if isinstance(value, type):
            owner = value
            continue
        return (owner, part) if value is not None else None
    return None


def _function(value: object) -> types.FunctionType | None:
    if isinstance(value, staticmethod | classmethod):
        value = value.__func__
    if isinstance(value, property):
        value = value.fget
    value = inspect.unwrap(value) if callable(value) else value  # type: ignore[arg-type]
    return value if isinstance(value, types.FunctionType) else None


def apply_mutant(mutant: Mutant) -> None:
    """Puts the mutant in place in the already imported module: a function's code is swapped (every
    `from ... import` binding sees it); a module-level mutant replaces the changed globals in every
    module that holds them."""
    name = f"corscheck.{mutant.module}"
    module = sys.modules[name]
    namespace: dict[str, object] = {"__name__": name, "__file__": module.__file__}
    exec(mutated_code(mutant.module, mutant.index), namespace)
    if mutant.function == "<module>":
        for key, value in namespace.items():
            old = module.__dict__.get(key)
            if key.startswith("__") or callable(old) or isinstance(old, type):
                continue
            if old is not value and old != value:
                for holder in list(sys.modules.values()):
                    if (getattr(holder, "__name__", "") or "").split(".")[0] in (
                        "corscheck",
                        "tests",
                    ):
                        for attr, held in list(vars(holder).items()):
                            if held is old:
                                setattr(holder, attr, value)
        _clear_caches()
        return
    where = _target_of(module, mutant.function)
    fresh = _target_of(types.SimpleNamespace(**namespace), mutant.function)
    assert where is not None and fresh is not None, mutant.function
    original = _function(inspect.getattr_static(*where))
    replacement = _function(inspect.getattr_static(*fresh))
    assert original is not None and replacement is not None, mutant.function
    original.__code__ = replacement.__code__
    original.__defaults__ = replacement.__defaults__
    original.__kwdefaults__ = replacement.__kwdefaults__
    _clear_caches()


def _clear_caches() -> None:
    """Empties every memo of corscheck: a result cached before the fork (a test module computes
    some at collection time, through any module) was made by the unmutated code."""
    for name, loaded in list(sys.modules.items()):
        if name.split(".")[0] == "corscheck":
            for value in list(vars(loaded).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear):
                    clear()


class _Plugin:
    """Collects once in this process; each job runs in a forked child on the collected items."""

    def __init__(self, jobs: list[tuple[Mutant | None, list[str]]], workers: int) -> None:
        self.jobs = jobs
        self.workers = workers
        self.timeout = 600.0
        self.status: dict[int, str] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        from _pytest.runner import runtestprotocol

        items = session.items

        def child(mutant: Mutant | None, files: list[str]) -> None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            try:
                if mutant is not None:
                    apply_mutant(mutant)
                chosen = [
                    item for file in files for item in items if item.nodeid.split("::")[0] == file
                ]
                for i, item in enumerate(chosen):
                    following = chosen[i + 1] if i + 1 < len(chosen) else None
                    reports = runtestprotocol(item, nextitem=following, log=False)
                    if any(report.failed for report in reports):
                        os._exit(1)
                os._exit(0)
            except BaseException:
                os._exit(99)  # the mutant does not even load: killed

        started = time.monotonic()
        first = self._run([(None, sorted({f for _, fs in self.jobs for f in fs}))], child)
        if first[0] != "survived":
            self.status = {-1: "baseline-failed"}
            return True
        self.timeout = max(30.0, 10 * (time.monotonic() - started))
        self.status = self._run(self.jobs, child)
        return True

    def _run(self, jobs: list[tuple[Mutant | None, list[str]]], child: object) -> dict[int, str]:
        status: dict[int, str] = {}
        running: dict[int, tuple[int, float]] = {}  # pid -> (job index, started)
        pending = list(range(len(jobs)))
        while pending or running:  # bounded: each child ends or is killed at the timeout
            while pending and len(running) < self.workers:
                job = pending.pop(0)
                pid = os.fork()
                if pid == 0:
                    child(*jobs[job])  # type: ignore[operator]
                running[pid] = (job, time.monotonic())
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                now = time.monotonic()
                for other, (job, started) in list(running.items()):
                    if now - started > self.timeout:
                        os.kill(other, signal.SIGKILL)
                        os.waitpid(other, 0)
                        del running[other]
                        status[job] = "timeout"
                time.sleep(0.005)
                continue
            job, _ = running.pop(pid)
            code = os.waitstatus_to_exitcode(wait_status)
            status[job] = "survived" if code == 0 else "killed"
            if len(jobs) > 1 and len(status) % 50 == 0:
                print(f"  {len(status)}/{len(jobs)}", file=sys.stderr, flush=True)
        return status


def load_equivalent() -> dict[str, str]:
    """key -> reason, from tests/mutation-equivalent.txt (`key  # reason` per line)."""
    equivalent: dict[str, str] = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text("utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                key, _, reason = line.partition("  # ")
                equivalent[key.strip()] = reason.strip()
    return equivalent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"default: {' '.join(MODULES)}")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--target", type=float, default=85.0, help="percent killed (default 85)")
    parser.add_argument("--survivors", action="store_true", help="list every survivor")
    args = parser.parse_args(argv)
    args.modules = args.modules or list(MODULES)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"not a pure module: {', '.join(unknown)}")
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    equivalent = load_equivalent()

    mutants = [m for module in args.modules for m in mutants_of(module)]
    print(f"{len(mutants)} mutants in {', '.join(args.modules)}", file=sys.stderr)
    plugin = _Plugin([(m, MODULES[m.module]) for m in mutants], args.jobs)
    files = sorted({f for module in args.modules for f in MODULES[module]})
    pytest.main([*files, "-q", "-p", "no:cacheprovider", "-o", "addopts="], plugins=[plugin])
    if plugin.status.get(-1) == "baseline-failed" or len(plugin.status) != len(mutants):
        print("the unmutated tests fail: fix them first", file=sys.stderr)
        return 2
    status = plugin.status

    ok = True
    print(f"{'module':<10} {'mutants':>7} {'killed':>7} {'equiv':>6} {'survived':>8} {'score':>7}")
    survivors: list[Mutant] = []
    used_equivalent: set[str] = set()
    for module in args.modules:
        own = [(i, m) for i, m in enumerate(mutants) if m.module == module]
        killed = sum(1 for i, _ in own if status[i] in ("killed", "timeout"))
        lived = [m for i, m in own if status[i] == "survived"]
        equiv = [m for m in lived if m.key in equivalent]
        used_equivalent.update(m.key for m in equiv)
        real = [m for m in lived if m.key not in equivalent]
        survivors += real
        judged = len(own) - len(equiv)
        score = 100.0 * killed / judged if judged else 100.0
        ok = ok and score >= args.target
        print(
            f"{module:<10} {len(own):>7} {killed:>7} {len(equiv):>6} {len(real):>8} {score:>6.1f}%"
        )
    if survivors:
        shown = survivors if args.survivors else survivors[:40]
        print(f"\nsurviving mutants ({len(survivors)}; equivalents in {EQUIVALENT.name}):")
        for mutant in shown:
            print(f"  {mutant.key}  (line {mutant.line})")
        if len(shown) < len(survivors):
            print(f"  ... {len(survivors) - len(shown)} more (--survivors lists them all)")
    stale = sorted(
        k for k in equivalent if k.split(":")[0] in args.modules and k not in used_equivalent
    )
    if stale:
        print(f"\n{len(stale)} listed equivalents no longer survive or exist (remove them):")
        for key in stale:
            print(f"  {key}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
