"""Loading a file of `examples/` as a module, for the tests that run the contract suites on it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(filename: str) -> ModuleType:
    """`examples/<filename>` imported afresh under a private module name."""
    spec = importlib.util.spec_from_file_location(f"example_{Path(filename).stem}",
                                                  EXAMPLES / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
