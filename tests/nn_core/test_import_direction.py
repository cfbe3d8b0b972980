"""The dependency direction: nn_core knows nothing about hpsearch, and hpsearch uses nn_core in
one place only (the built-in MLP objective); inside nn_core only the estimator module imports
scikit-learn (and the digits loader, inside its function), and only nn_core/fused.py imports
numba, inside a function (the optional `fast` extra). Checked statically with `ast` over
every file."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NN_CORE_ALLOWED = set(sys.stdlib_module_names) | {"numpy", "scipy", "nn_core", "__future__"}
SKLEARN_ALLOWED_IN = "nn_core/data.py"  # only inside a function: the digits loader
# The estimator module's classes are scikit-learn estimators: its import is at module level.
# Everything else (the network, layers, trainer, nn_core.fitted) stays NumPy-only.
SKLEARN_MODULE = "nn_core/estimator.py"
NUMBA_ALLOWED_IN = "nn_core/fused.py"  # only inside a function: numba is optional
NN_CORE_ALLOWED_IN = "hpsearch/objectives/mlp.py"
# The MLP objective as a package (hpsearch/objectives/mlp/...) is the same one importer.
NN_CORE_ALLOWED_UNDER = "hpsearch/objectives/mlp/"


def imports(source: str):
    """(top-level module name, inside a function?) for every absolute import in source."""
    tree = ast.parse(source)
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name.split(".")[0], in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.module.split(".")[0], in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def nn_core_offences(relative_path: str, source: str):
    offences = []
    for name, in_function in imports(source):
        if name in NN_CORE_ALLOWED:
            continue
        if name == "sklearn" and relative_path == SKLEARN_ALLOWED_IN and in_function:
            continue
        if name == "sklearn" and relative_path == SKLEARN_MODULE:
            continue
        if name == "numba" and relative_path == NUMBA_ALLOWED_IN and in_function:
            continue
        offences.append(
            f"{relative_path} imports {name}" + ("" if in_function else " at module level")
        )
    return offences


def hpsearch_offences(relative_path: str, source: str):
    if relative_path == NN_CORE_ALLOWED_IN or relative_path.startswith(NN_CORE_ALLOWED_UNDER):
        return []
    return [f"{relative_path} imports nn_core" for name, _ in imports(source) if name == "nn_core"]


def python_files(package: str):
    return sorted((ROOT / package).rglob("*.py"))


def test_nn_core_imports_only_stdlib_numpy_scipy_and_itself():
    files = python_files("nn_core")
    assert files, "nn_core not found"
    offences = []
    for path in files:
        offences += nn_core_offences(path.relative_to(ROOT).as_posix(), path.read_text())
    assert offences == []


def test_only_the_mlp_objective_imports_nn_core():
    offences = []
    for path in python_files("hpsearch"):
        offences += hpsearch_offences(path.relative_to(ROOT).as_posix(), path.read_text())
    assert offences == []


# The checker itself must catch offenders, or the two tests above prove nothing.


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("nn_core/layers.py", "import hpsearch\n"),
        ("nn_core/layers.py", "from hpsearch.space import Float\n"),
        ("nn_core/network.py", "def f():\n    import torch\n"),
        ("nn_core/data.py", "import sklearn.datasets\n"),  # module level: not allowed
        ("nn_core/data.py", "from sklearn import datasets\n"),
        ("nn_core/trainer.py", "def load():\n    from sklearn.datasets import load_digits\n"),
        ("nn_core/optim.py", "import pandas as pd\n"),
        ("nn_core/trainer.py", "from sklearn.base import BaseEstimator\n"),
        ("nn_core/fitted.py", "from sklearn.utils.validation import check_array\n"),
        ("nn_core/estimator.py", "import pandas as pd\n"),  # scikit-learn only
        ("nn_core/fused.py", "import numba\n"),  # module level: numba is optional
        ("nn_core/optim.py", "def f():\n    import numba\n"),
    ],
)
def test_checker_catches_nn_core_offenders(path, source):
    assert nn_core_offences(path, source)


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("nn_core/data.py", "def load():\n    from sklearn.datasets import load_digits\n"),
        ("nn_core/layers.py", "import math\nimport numpy as np\nfrom scipy import optimize\n"),
        ("nn_core/network.py", "from nn_core.layers import relu_forward\nfrom . import init\n"),
        ("nn_core/estimator.py", "from sklearn.base import BaseEstimator, ClassifierMixin\n"),
        ("nn_core/fused.py", "def compile():\n    import numba\n"),
    ],
)
def test_checker_allows_permitted_imports(path, source):
    assert nn_core_offences(path, source) == []


def test_checker_catches_hpsearch_offenders():
    assert hpsearch_offences("hpsearch/study.py", "from nn_core import Network\n")
    assert hpsearch_offences("hpsearch/cli.py", "def f():\n    import nn_core.network\n")
    assert hpsearch_offences(NN_CORE_ALLOWED_IN, "from nn_core import Network\n") == []
    assert hpsearch_offences(NN_CORE_ALLOWED_UNDER + "data.py", "import nn_core.data\n") == []
    assert hpsearch_offences("hpsearch/objectives/mlp_helpers.py", "import nn_core\n")
