"""The documentation site: the tutorials' code runs, and the site builds in strict mode.

Each page under docs/tutorials/ (and each how-to guide with runnable blocks: the custom strategy
and storage pass the contract suites) runs as a reader would follow it, in a fresh temporary folder
(with a copy of studies/) and a fresh interpreter: its fenced blocks in order, where
- a block with a `title="NAME"` is written to the file NAME (a study file, an objective module);
- an untitled ```python block runs, all of a page's blocks in one namespace (a notebook);
- an untitled ```bash block runs in bash with `set -euo pipefail`, `hpsearch` being this
  checkout's command line and `python` this interpreter;
- any other block (```py, ```console, ```toml without a title) is shown only: examples that name
  the reader's own data or start servers.
A page with `<!-- docs-test: slow -->` trains networks or starts a cluster and is marked slow.
Budgets in the tutorials are small on purpose so the quick path stays quick.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
HOW_TO = sorted((ROOT / "docs" / "how-to").glob("*.md"))
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
TITLE = re.compile(r'title="([^"]+)"')
SLOW_MARK = "<!-- docs-test: slow -->"

# Runs in the child interpreter: the blocks (JSON on stdin) in order, in the current folder.
DRIVER = r"""
import json, os, subprocess, sys
blocks = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
shell = ("set -euo pipefail\npython() { %s \"$@\"; }\n"
         "hpsearch() { python -c 'import sys; from hpsearch.cli import main; "
         "sys.argv[0] = \"hpsearch\"; main()' \"$@\"; }\n" % sys.executable)
for index, (language, title, code) in enumerate(blocks):
    if title:
        with open(title, "w") as handle:
            handle.write(code)
    elif language == "python":
        exec(compile(code, f"<block {index}>", "exec"), namespace)
    elif language == "bash":
        done = subprocess.run(["bash", "-c", shell + code])
        if done.returncode:
            sys.exit(f"block {index} (bash) exited {done.returncode}:\n{code}")
"""


def blocks(page: Path) -> list[tuple[str, str | None, str]]:
    """The page's fenced blocks: (language, title or None, code)."""
    found = []
    for language, info, code in FENCE.findall(page.read_text()):
        title = TITLE.search(info)
        found.append((language, title.group(1) if title else None, code))
    return found


def runnable(page: Path) -> list[tuple[str, str | None, str]]:
    return [b for b in blocks(page) if b[1] is not None or b[0] in ("python", "bash")]


def _pages() -> list:
    pages = TUTORIALS + [page for page in HOW_TO if runnable(page)]
    return [pytest.param(page, id=f"{page.parent.name}/{page.stem}",
                         marks=[pytest.mark.slow] if SLOW_MARK in page.read_text() else [])
            for page in pages]


def test_every_tutorial_has_code_that_runs() -> None:
    assert TUTORIALS, "no tutorial pages found under docs/tutorials"
    empty = [page.name for page in TUTORIALS
             if not any(b[1] is None for b in runnable(page))]
    assert not empty, f"tutorials without a runnable ```python or ```bash block: {empty}"


def test_block_parser_reads_titles_and_languages(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text('Text.\n\n```toml title="a.toml"\nx = 1\n```\n\n```py\nshown()\n```\n\n'
                    '```python\nprint(1)\n```\n')
    assert blocks(page) == [("toml", "a.toml", "x = 1\n"), ("py", None, "shown()\n"),
                            ("python", None, "print(1)\n")]
    assert [b[0] for b in runnable(page)] == ["toml", "python"]


@pytest.mark.parametrize("page", _pages())
def test_tutorial_code_runs(page: Path, tmp_path: Path) -> None:
    shutil.copytree(ROOT / "studies", tmp_path / "studies")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(runnable(page)),
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (f"{page.name} failed:\n--- stdout\n{done.stdout[-4000:]}\n"
                                  f"--- stderr\n{done.stderr[-6000:]}")


def test_driver_fails_on_a_failing_block(tmp_path: Path) -> None:
    """The runner above must not pass a page whose code fails (a test of the test)."""
    for bad in (("python", None, "raise SystemExit('boom')\n"), ("bash", None, "false\n")):
        done = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps([bad]),
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode != 0


def test_generated_reference_pages_name_everything() -> None:
    """docs/gen_reference.py reads the code: every strategy, pruner kind, estimator keyword and
    command appears on the pages it generates."""
    pytest.importorskip("mkdocs_gen_files")
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import gen_reference  # noqa: PLC0415 - the build script, imported only here
    finally:
        sys.path.remove(str(ROOT / "docs"))
    from hpsearch.pruners import PRUNER_OPTIONS
    from hpsearch.strategies import STRATEGY_NAMES
    from nn_core import KEYWORDS

    keys = gen_reference.study_file_page()
    for name in [*STRATEGY_NAMES, *PRUNER_OPTIONS, *(k.name for k in KEYWORDS)]:
        assert f"`{name}`" in keys
    cli = gen_reference.cli_page()
    for command in ("run", "results", "best", "validate", "list", "status", "dashboard",
                    "ensemble", "predict", "report", "export-optuna"):
        assert f"## `hpsearch {command}`" in cli
    assert "`--n-trials &lt;int&gt;`" in cli or "`--n-trials <int>`" in cli


@pytest.mark.slow
def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    """`mkdocs build --strict`: a broken link, anchor or reference fails (as in CI)."""
    pytest.importorskip("mkdocs")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1",
           "DISABLE_MKDOCS_2_WARNING": "true"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d",
                           str(tmp_path / "site")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-6000:]
    assert (tmp_path / "site" / "reference" / "cli" / "index.html").exists()


LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


@pytest.mark.parametrize("name", ["README.md", "CONTRIBUTING.md", "CHANGELOG.md"])
def test_top_level_files_link_to_files_that_exist(name: str) -> None:
    """README and friends are not in the site's strict build; their relative links are
    checked here (a moved or renamed page fails)."""
    text = (ROOT / name).read_text()
    targets = [target for target, _ in LINK.findall(text) if "://" not in target]
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert not missing, f"{name} links to missing files: {missing}"
    if name == "README.md":
        assert targets, "README.md should link to the docs"
        assert len(text.splitlines()) < 250


def _documented_command_lines() -> list[tuple[str, str]]:
    """(file, line) for every `hpsearch ...` line of a shell block in README and the docs."""
    files = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]
    found = []
    for path in files:
        for language, _info, code in FENCE.findall(path.read_text()):
            if language not in ("bash", "console"):
                continue
            for line in code.splitlines():
                line = line.split("#", 1)[0].strip()
                if line.startswith("hpsearch "):
                    found.append((path.relative_to(ROOT).as_posix(), line))
    return found


def test_documented_commands_and_options_exist() -> None:
    """Every `hpsearch COMMAND --option` shown in README and the docs is one the CLI has."""
    import click
    import typer

    from hpsearch.cli import app

    root = typer.main.get_command(app)
    ctx = click.Context(root, info_name="hpsearch")
    options = {name: {o for p in root.get_command(ctx, name).params
                      for o in [*p.opts, *p.secondary_opts]}
               for name in root.list_commands(ctx)}
    root_options = {o for p in root.params for o in [*p.opts, *p.secondary_opts]}
    lines = _documented_command_lines()
    assert len(lines) > 20
    wrong = []
    for where, line in lines:
        words = [w for w in line.split()[1:] if w not in root_options]
        if not words or words[0].startswith("-"):
            continue  # `hpsearch --version` and the like
        command, rest = words[0], words[1:]
        if command not in options:
            wrong.append(f"{where}: unknown command in {line!r}")
            continue
        for word in rest:
            flag = word.split("=", 1)[0]
            if flag.startswith("-") and flag not in options[command] | {"--help"}:
                wrong.append(f"{where}: {command} has no option {flag} ({line!r})")
    assert not wrong, "\n".join(wrong)


def test_documented_hp_names_exist() -> None:
    """Every `hp.NAME` in README and the docs is a name `import hpsearch as hp` gives."""
    import hpsearch

    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    used = {(path.relative_to(ROOT).as_posix(), name) for path in files
            for name in re.findall(r"\bhp\.([A-Za-z_]\w*)", path.read_text())}
    assert len({name for _, name in used}) > 15
    missing = sorted(f"{where}: hp.{name}" for where, name in used if not hasattr(hpsearch, name))
    assert not missing, "\n".join(missing)


def test_schedulers_page_lists_the_network_shape_hyperparameters() -> None:
    """The tutorial's list of what the built-in network's PBT leaves alone is the code's."""
    from hpsearch.objectives.mlp import HYPERPARAMETERS, SHAPE_HYPERPARAMETERS

    text = (ROOT / "docs" / "tutorials" / "schedulers.md").read_text()
    paragraph = text.split("searched\nhyperparameters that leave the network's arrays")[1]
    paragraph = paragraph.split("SHAPE_HYPERPARAMETERS")[0]
    listed = set(re.findall(r"`(\w+)`", paragraph))
    assert listed & set(HYPERPARAMETERS) == set(SHAPE_HYPERPARAMETERS)
