"""nn_core's shape, checked statically with `ast`: no import cycle between its modules, no
module importing another module's underscore name, no module over 400 lines and no function
over 60 (DESIGN.md: one concept per module, functions that fit on a screen)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "nn_core"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def internal_imports(module: str, source: str, modules: set[str]) -> list[tuple[str, str]]:
    """(imported nn_core module, imported name or "") for every import of the package."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name in modules]
        elif isinstance(node, ast.ImportFrom):
            base = node.module
            if node.level:  # relative: resolve against the importing module's package
                package = module.rsplit(".", node.level)[0]
                base = f"{package}.{node.module}" if node.module else package
            if base not in modules:
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.append((child, "") if child in modules else (base, alias.name))
    return found


def graph(sources: dict[str, str]) -> dict[str, set[str]]:
    modules = set(sources)
    return {name: {target for target, _ in internal_imports(name, source, modules)} - {name}
            for name, source in sources.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle found by a depth-first walk, each as the modules along it."""
    found, state, path = [], {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                found.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def long_functions(source: str) -> list[tuple[str, int]]:
    return [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


SOURCES = {module_name(path): path.read_text() for path in sorted(PACKAGE.rglob("*.py"))}


def test_no_import_cycle():
    assert SOURCES, "nn_core not found"
    assert cycles(graph(SOURCES)) == []


def test_no_module_imports_an_underscore_name():
    modules = set(SOURCES)
    offences = [f"{name} imports {target}.{imported}"
                for name, source in SOURCES.items()
                for target, imported in internal_imports(name, source, modules)
                if imported.startswith("_")]
    assert offences == []


def test_modules_and_functions_fit_on_a_screen():
    too_long = {name: len(source.splitlines()) for name, source in SOURCES.items()
                if len(source.splitlines()) > MAX_MODULE_LINES}
    assert too_long == {}
    functions = {name: long_functions(source) for name, source in SOURCES.items()}
    assert {name: found for name, found in functions.items() if found} == {}


# The checkers must catch offenders, or the tests above prove nothing.


def test_cycle_checker_catches_a_cycle_through_the_package():
    sources = {
        "nn_core": "from nn_core.a import f\n",
        "nn_core.a": "def f():\n    from nn_core import b\n",
        "nn_core.b": "from nn_core import Network\n",  # a name of the package: nn_core itself
    }
    assert cycles(graph(sources)) == [["nn_core", "nn_core.a", "nn_core.b", "nn_core"]]
    assert cycles(graph({"nn_core.a": "from . import b\n", "nn_core.b": "import nn_core.a\n",
                         "nn_core": ""})) == [["nn_core.a", "nn_core.b", "nn_core.a"]]


def test_cycle_checker_allows_a_tree():
    sources = {"nn_core": "from nn_core import a, b\n", "nn_core.a": "from nn_core.b import g\n",
               "nn_core.b": "import numpy\n"}
    assert cycles(graph(sources)) == []


@pytest.mark.parametrize(("source", "caught"), [
    ("from nn_core.b import _helper\n", True),
    ("from nn_core.b import helper, _Cache as Cache\n", True),
    ("from nn_core.b import helper\n", False),
    ("from nn_core import _b\n", False),  # a private module, not a private name
])
def test_underscore_checker(source, caught):
    modules = {"nn_core", "nn_core.a", "nn_core.b", "nn_core._b"}
    names = [imported for _, imported in internal_imports("nn_core.a", source, modules)]
    assert any(name.startswith("_") for name in names) is caught


def test_function_length_checker():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def f():\n{body}\n") == [("f", MAX_FUNCTION_LINES + 1)]
    assert long_functions("def g():\n    return 1\n") == []
