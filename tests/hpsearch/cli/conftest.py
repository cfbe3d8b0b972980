"""Fixtures of the command-line tests: a wide Python-objective study run through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hpsearch.cli import app

OBJECTIVE = '''
import hpsearch as hp


def wide(params, trial):
    if params["optimizer"] == "broken":
        raise ValueError("the broken optimizer diverged")
    value = (params["learning_rate"] - 0.01) ** 2 + params["hidden_size"] * 1e-6
    for epoch in range(3):
        trial.report(epoch, value + 1.0 / (epoch + 1))
    return hp.Result(value, metrics={"val_loss_with_a_long_name": value * 2,
                                     "epochs": 3.0, "test_error": value / 2})


def always_fails(params):
    raise RuntimeError("kaput: the objective is broken")
'''

STUDY = '''
[study]
name = "{name}"
strategy = "random"
n_trials = {n_trials}
n_jobs = 1
seed = 0
storage = "{storage}"
{extra}
[objective]
kind = "python"
entry = "objective.py:{entry}"

[space]
learning_rate = {{ type = "float", low = 1e-4, high = 1e-1, log = true }}
hidden_size = {{ type = "int", low = 16, high = 512, log = true }}
optimizer = {{ type = "categorical", choices = [{choices}] }}
dropout_probability = {{ type = "float", low = 0.0, high = 0.5 }}
"a key with spaces" = {{ type = "categorical", choices = ["yes", "no"] }}
'''

runner = CliRunner()


def invoke(*args, width: int = 80):
    """Run the CLI in-process with a terminal COLUMNS wide (stderr is not a terminal)."""
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": str(width)})


@pytest.fixture
def study_file(tmp_path):
    """write(name="wide", n_trials=6, entry="wide", failing=False, extra="") -> study file."""
    (tmp_path / "objective.py").write_text(OBJECTIVE)

    def write(name: str = "wide", n_trials: int = 6, entry: str = "wide", failing: bool = False,
              extra: str = "") -> Path:
        choices = '"adam", "sgd"' + (', "broken"' if failing else "")
        path = tmp_path / f"{name}.toml"
        path.write_text(STUDY.format(name=name, n_trials=n_trials, storage=tmp_path / "runs",
                                     entry=entry, choices=choices, extra=extra))
        return path

    return write


@pytest.fixture
def wide_run(study_file, tmp_path):
    """A finished 6-trial run folder of the wide study."""
    result = invoke("run", study_file())
    assert result.exit_code == 0, result.output
    return tmp_path / "runs" / "wide"
