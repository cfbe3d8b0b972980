"""The codebase's shape, checked statically with `ast` over every module of hpsearch and nn_core:
no import cycle (module-level imports, parent packages included, as Python runs them), no module
importing another module's underscore name, and modules and functions of a readable size."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hpsearch", "nn_core")
MAX_MODULE_LINES = 400  # "a few hundred lines at most"
MAX_FUNCTION_LINES = 60
# Kept longer on purpose (path: reason); each entry must still be needed (a test checks).
LONG_FUNCTIONS: dict[str, str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob(
        "*.py"))}


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: module level, and inside module-level
    if/try blocks, but not under `if TYPE_CHECKING:` and not inside functions or classes."""
    found: list = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.append(node)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        edges: set[str] = set()
        for node in _top_level_imports(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif node.level == 0 and node.module:
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            for target in targets:
                resolved = _resolve(target, known)
                if resolved is None:
                    continue
                # importing a.b.c runs a/__init__ and a/b/__init__ first
                parts = resolved.split(".")
                for k in range(1, len(parts) + 1):
                    edges.add(".".join(parts[:k]))
        own_packages = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
        graph[name] = {e for e in edges if e != name and e not in own_packages}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()))


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_another_modules_underscore_name():
    offences = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                    node.module.split(".")[0] in PACKAGES:
                offences += [f"{name} imports {node.module}.{alias.name}" for alias in node.names
                             if alias.name.startswith("_") and alias.name != "__version__"]
    assert offences == []


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node.lineno, node.end_lineno - node.lineno + 1


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_and_functions_stay_readable(package):
    long_modules, long_functions = [], []
    for name, path in modules().items():
        if not name.startswith(package):
            continue
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            long_modules.append(f"{path.relative_to(ROOT)}: {lines} lines")
        for function, line, length in _functions(path):
            where = f"{path.relative_to(ROOT)}:{function}"
            if length > MAX_FUNCTION_LINES and where not in LONG_FUNCTIONS:
                long_functions.append(f"{where} (line {line}): {length} lines")
    assert long_modules == [] and long_functions == []


def test_every_allowed_long_function_is_still_long():
    lengths = {f"{p.relative_to(ROOT)}:{f}": n for p in modules().values()
               for f, _, n in _functions(p)}
    assert all(lengths.get(where, 0) > MAX_FUNCTION_LINES for where in LONG_FUNCTIONS)


OPTIONAL_IMPORTS = {"optuna": "hpsearch.integrations.optuna"}  # imported at module level only
# by that package; elsewhere inside functions, so that hpsearch runs without it


@pytest.mark.parametrize("dependency", sorted(OPTIONAL_IMPORTS))
def test_optional_dependencies_are_imported_at_module_level_only_by_their_integration(
        dependency):
    owner = OPTIONAL_IMPORTS[dependency]
    offences = []
    for name, path in modules().items():
        if name == owner or name.startswith(owner + "."):
            continue
        for node in _top_level_imports(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""])
            if any(n == dependency or n.startswith(dependency + ".") for n in names):
                offences.append(f"{name} imports {dependency} at module level")
    assert offences == []


def test_importing_hpsearch_and_its_integrations_package_does_not_import_optuna():
    import subprocess
    import sys

    code = ("import sys, hpsearch, hpsearch.integrations, hpsearch.strategies, hpsearch.export; "
            "print('optuna' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
