"""The service sits above everything but the CLI: no module below it imports `hpsearch.service`
(the package root only lazily, for `hp.connect`), and importing hpsearch loads none of it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_nothing_below_the_service_imports_it():
    allowed = {ROOT / "hpsearch" / "__init__.py"}
    offenders = []
    for path in sorted((ROOT / "hpsearch").rglob("*.py")):
        part = path.relative_to(ROOT / "hpsearch").parts[0]
        if part in ("service", "cli") or path in allowed:
            continue
        if any(name.startswith("hpsearch.service") for name in imported_modules(path)):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_importing_hpsearch_loads_no_service_and_no_tornado():
    code = ("import sys, hpsearch; print(any(m.startswith(('hpsearch.service', 'tornado')) "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
