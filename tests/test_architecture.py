"""The codebase's shape, checked statically with `ast` over every module of hpsearch and nn_core.

- Layers: hpsearch's packages form a DAG in the order of `LAYERS` (lowest first): a module may
  import its own package and packages of lower layers only. Every import counts, at module
  level, inside functions and under `if TYPE_CHECKING:`, because each is a dependency a reader
  must understand; a package missing from `LAYERS` fails until it is given a place.
- No import cycle between modules, counting every import the same way.
- No module reaches into another module's private names: neither `from a.b import _name` nor
  `b._name` where `b` is a module it imported.
- Functions fit on a screen (`MAX_FUNCTION_LINES`), but for the listed exceptions, each still
  needed; module size is guidance (`MODULE_GUIDE` lines), with a hard stop at `MAX_MODULE_LINES`.
Each check is a function over a `Tree` ({module name: source}); the tests below run each on the
project and on a small planted violation, so a check that stopped working would fail.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hpsearch", "nn_core")

#: hpsearch's packages (and top-level modules), lowest layer first. The vocabulary every package
#: shares, then storage / strategies / pruners, execution, the study, what builds on a study,
#: the web server both servers run on, the servers, and the command line; `__init__` is the
#: root package, which re-exports them.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("exceptions",),
    ("direction", "dimensions"),
    ("space", "pareto"),
    ("trial",),
    ("gp", "storage", "pruners"),
    ("strategies",),
    ("execution",),
    ("monitor",),
    ("study",),
    ("objectives",),
    ("studyfile",),
    ("export", "testing"),
    ("ensembles", "report", "sklearn", "integrations"),
    ("webserver",),
    ("dashboard",),
    ("service",),
    ("cli",),
    ("__init__",),
)
MODULE_GUIDE = 400  # "a few hundred lines at most": a longer module gets a warning
MAX_MODULE_LINES = 800  # past this a module holds more than one concept
MAX_FUNCTION_LINES = 60
#: Kept longer on purpose (path:function -> reason); each entry must still be needed (a test).
LONG_FUNCTIONS: dict[str, str] = {}

Tree = dict[str, str]  # module name -> source


@dataclass(frozen=True)
class Import:
    """One import statement's target, resolved to a module of the tree."""

    source: str  # the importing module
    target: str  # the imported module (the longest known prefix of what was named)
    names: tuple[str, ...]  # `from target import names`; () for `import target`
    line: int


def project_tree(root: Path = ROOT) -> Tree:
    tree: Tree = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            tree[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path.read_text()
    return tree


def _is_package(tree: Tree, name: str) -> bool:
    return any(other.startswith(name + ".") for other in tree)


def _resolve(name: str, tree: Tree) -> str | None:
    while name and name not in tree:
        name = name.rpartition(".")[0]
    return name or None


def imports(tree: Tree) -> list[Import]:
    """Every import of a tree module by a tree module, wherever the statement sits."""
    found = []
    for source, text in tree.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                named = [(alias.name, ()) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = source.split(".")
                    anchor = anchor if _is_package(tree, source) else anchor[:-1]
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                # `from pkg import module` names a module; `from module import name` does not
                named = [(f"{base}.{a.name}", ()) if f"{base}.{a.name}" in tree
                         else (base, (a.name,)) for a in node.names]
            else:
                continue
            for name, names in named:
                target = _resolve(name, tree)
                if target is not None and target != source:
                    found.append(Import(source, target, names, node.lineno))
    return found


def package_of(module: str) -> str | None:
    """hpsearch.study.loop -> 'study'; hpsearch.trial -> 'trial'; hpsearch -> '__init__';
    None outside hpsearch."""
    parts = module.split(".")
    if parts[0] != "hpsearch":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def layer_violations(tree: Tree, layers: tuple[tuple[str, ...], ...] = LAYERS) -> list[str]:
    """Imports that go up or sideways in `layers`, and packages `layers` does not place."""
    rank = {package: k for k, layer in enumerate(layers) for package in layer}
    offences = {f"{package_of(m)}: a package not in LAYERS (give it a place)"
                for m in tree if package_of(m) is not None and package_of(m) not in rank}
    for imp in imports(tree):
        source, target = package_of(imp.source), package_of(imp.target)
        if None in (source, target) or source == target or not {source, target} <= set(rank):
            continue
        if rank[target] >= rank[source]:
            offences.add(f"{imp.source} (line {imp.line}) imports {imp.target}: package "
                         f"{source!r} may not depend on {target!r}")
    return sorted(offences)


def module_cycle(tree: Tree) -> list[str] | None:
    """A cycle of module imports (every import counted), or None."""
    graph: dict[str, set[str]] = {name: set() for name in tree}
    for imp in imports(tree):
        if not imp.source.startswith(imp.target + "."):  # a package's own __init__ runs first
            graph[imp.source].add(imp.target)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def private_access(tree: Tree) -> list[str]:
    """`from a.b import _name`, and `alias._name` where alias is a module imported from the
    tree (dunder names such as __version__ are public)."""
    offences = []
    for imp in imports(tree):
        offences += [f"{imp.source} imports {imp.target}.{name}" for name in imp.names
                     if name.startswith("_") and not name.startswith("__")]
    for source, text in tree.items():
        module_aliases: dict[str, str] = {}
        parsed = ast.parse(text)
        for node in ast.walk(parsed):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in tree and alias.asname:
                        module_aliases[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in tree:
                        module_aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(parsed):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in module_aliases and node.attr.startswith("_") \
                    and not node.attr.startswith("__") \
                    and module_aliases[node.value.id] != source:
                offences.append(f"{source} (line {node.lineno}) reads "
                                f"{module_aliases[node.value.id]}.{node.attr}")
    return sorted(set(offences))


def function_lengths(tree: Tree) -> dict[str, int]:
    """{module:function -> lines} for every function and method."""
    return {f"{module}:{node.name}": node.end_lineno - node.lineno + 1
            for module, text in tree.items() for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def long_functions(tree: Tree, allowed: dict[str, str] = LONG_FUNCTIONS) -> list[str]:
    return sorted(f"{where}: {n} lines" for where, n in function_lengths(tree).items()
                  if n > MAX_FUNCTION_LINES and where not in allowed)


def stale_allowances(tree: Tree, allowed: dict[str, str] = LONG_FUNCTIONS) -> list[str]:
    lengths = function_lengths(tree)
    return sorted(w for w in allowed if lengths.get(w, 0) <= MAX_FUNCTION_LINES)


def long_modules(tree: Tree, limit: int) -> list[str]:
    return sorted(f"{m}: {len(t.splitlines())} lines" for m, t in tree.items()
                  if len(t.splitlines()) > limit)


# ----------------------------------------------------------------------------- the project
@pytest.fixture(scope="module")
def tree() -> Tree:
    return project_tree()


def test_packages_depend_only_on_lower_layers(tree):
    assert layer_violations(tree) == []


def test_no_import_cycle_counting_every_import(tree):
    cycle = module_cycle(tree)
    assert cycle is None, " -> ".join(cycle)


def test_no_module_reaches_into_another_modules_private_names(tree):
    assert private_access(tree) == []


def test_functions_fit_on_a_screen(tree):
    assert long_functions(tree) == []
    assert stale_allowances(tree) == []


def test_modules_hold_one_concept(tree):
    assert long_modules(tree, MAX_MODULE_LINES) == []
    for line in long_modules(tree, MODULE_GUIDE):
        warnings.warn(f"{line} (guide: {MODULE_GUIDE}); look for a concept that wants its "
                      "own module", stacklevel=1)


def test_the_architecture_page_lists_the_layers_in_this_order():
    page = (ROOT / "docs" / "explanations" / "architecture.md").read_text()
    block = page.split("## The layers", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    listed = [tuple(p.strip() for p in line.split("  ")[0].split(","))
              for line in block.splitlines() if line.strip()]
    assert listed == [layer for layer in LAYERS if layer != ("__init__",)]


# ----------------------------------------------------------------------------- each check bites
PLANTED: Tree = {
    "hpsearch": "",
    "hpsearch.exceptions": "class HpsearchError(Exception):\n    _hidden = 1\n",
    "hpsearch.trial": "from hpsearch.exceptions import HpsearchError\n",
    "hpsearch.study": "",
    "hpsearch.study.study": "from hpsearch.trial import HpsearchError\n",
}


def test_the_layer_check_catches_an_upward_import_even_inside_a_function():
    planted = {**PLANTED, "hpsearch.trial": "def f():\n    from hpsearch.study import study\n"}
    assert layer_violations(PLANTED) == []
    found = layer_violations(planted)
    assert len(found) == 1 and "package 'trial' may not depend on 'study'" in found[0]


def test_the_layer_check_catches_a_type_checking_import_and_an_unplaced_package():
    planted = {**PLANTED, "hpsearch.exceptions": "from typing import TYPE_CHECKING\n"
               "if TYPE_CHECKING:\n    from hpsearch.trial import X\n",
               "hpsearch.newthing": "x = 1\n"}
    found = layer_violations(planted)
    assert any("'exceptions' may not depend on 'trial'" in f for f in found)
    assert any("newthing: a package not in LAYERS" in f for f in found)


def test_the_layer_check_refuses_sideways_imports_between_packages_of_one_layer():
    layers = (("exceptions",), ("trial", "study"), ("__init__",))
    assert layer_violations(PLANTED, layers) != []  # study -> trial, both in one layer


def test_the_cycle_check_counts_function_level_and_relative_imports():
    planted = {**PLANTED, "hpsearch.study.loop": "from . import study\n",
               "hpsearch.study.study": "def f():\n    from hpsearch.study.loop import g\n"}
    assert module_cycle(PLANTED) is None
    assert module_cycle(planted) in (
        ["hpsearch.study.loop", "hpsearch.study.study", "hpsearch.study.loop"],
        ["hpsearch.study.study", "hpsearch.study.loop", "hpsearch.study.study"])


def test_the_private_check_catches_imported_names_and_attribute_access():
    assert private_access(PLANTED) == []
    by_name = {**PLANTED, "hpsearch.trial": "from hpsearch.exceptions import _hidden\n"}
    by_attribute = {**PLANTED, "hpsearch.trial": "from hpsearch import exceptions\n"
                    "x = exceptions._hidden\n"}
    by_alias = {**PLANTED, "hpsearch.trial": "import hpsearch.exceptions as errors\n"
                "x = errors._hidden\n"}
    assert private_access(by_name) == ["hpsearch.trial imports hpsearch.exceptions._hidden"]
    for planted in (by_attribute, by_alias):
        assert private_access(planted) == [
            "hpsearch.trial (line 2) reads hpsearch.exceptions._hidden"]


def test_the_length_checks_catch_long_functions_modules_and_stale_allowances():
    body = "".join(f"    x{k} = {k}\n" for k in range(MAX_FUNCTION_LINES))
    planted = {**PLANTED, "hpsearch.trial": f"def long():\n{body}"}
    assert long_functions(PLANTED) == []
    assert long_functions(planted) == [f"hpsearch.trial:long: {MAX_FUNCTION_LINES + 1} lines"]
    assert long_functions(planted, {"hpsearch.trial:long": "planted"}) == []
    assert stale_allowances(PLANTED, {"hpsearch.trial:long": "planted"}) == [
        "hpsearch.trial:long"]
    assert long_modules(planted, MAX_FUNCTION_LINES) == [
        f"hpsearch.trial: {MAX_FUNCTION_LINES + 1} lines"]


# ----------------------------------------------------------------------------- optional imports
#: an optional dependency -> the package that alone imports it when imported; everything else
#: imports it inside functions, so that hpsearch runs without it
OPTIONAL_IMPORTS = {"optuna": "hpsearch.integrations.optuna"}


def module_level_imports(text: str) -> list[str]:
    """The modules a source imports when it is imported: at module level and inside module-level
    if/try blocks, but not under `if TYPE_CHECKING:` and not inside functions or classes."""
    found: list[str] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level:
                found.append(node.module or "")
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

    visit(ast.parse(text).body)
    return found


def optional_import_offences(tree: Tree, optional: dict[str, str] = OPTIONAL_IMPORTS
                             ) -> list[str]:
    offences = []
    for dependency, owner in optional.items():
        for name, text in tree.items():
            if name == owner or name.startswith(owner + "."):
                continue
            if any(n == dependency or n.startswith(dependency + ".")
                   for n in module_level_imports(text)):
                offences.append(f"{name} imports {dependency} at module level")
    return sorted(offences)


def test_optional_dependencies_are_imported_at_module_level_only_by_their_integration(tree):
    assert optional_import_offences(tree) == []


def test_the_optional_import_check_catches_a_module_level_import_only():
    inside = {**PLANTED, "hpsearch.trial": "def f():\n    import optuna\n"}
    guarded = {**PLANTED, "hpsearch.trial": "try:\n    import optuna.samplers\nexcept "
               "ImportError:\n    pass\n"}
    assert optional_import_offences(inside) == []
    assert optional_import_offences(guarded) == ["hpsearch.trial imports optuna at module level"]


def test_importing_hpsearch_and_its_integrations_package_does_not_import_optuna():
    import subprocess
    import sys

    code = ("import sys, hpsearch, hpsearch.integrations, hpsearch.strategies, hpsearch.export; "
            "print('optuna' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
