"""Item 7 of issue 20: help screens without `<bool>` or `{arg}` artefacts, shell completion on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hpsearch.cli import app
from tests.hpsearch.cli.conftest import invoke

COMMANDS = sorted(c.name or c.callback.__name__.replace("_", "-")
                  for c in app.registered_commands)


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_has_no_placeholder_artefacts(command):
    result = invoke(*([command] if command else []), "--help", width=100)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output and "<int>]" not in result.output
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage
    if command in ("run", "validate"):
        assert "STUDY_FILE" in usage
    if command in ("results", "best", "status"):
        assert "RUN_DIR" in usage


def test_shell_completion_is_on():
    assert "--install-completion" in invoke("--help", width=100).output
    env = dict(os.environ, _HPSEARCH_COMPLETE="complete_bash", COMP_WORDS="hpsearch res",
               COMP_CWORD="1")
    done = subprocess.run([sys.executable, "-c", "from hpsearch.cli import main; main()"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert "results" in done.stdout.split(), done.stdout + done.stderr
