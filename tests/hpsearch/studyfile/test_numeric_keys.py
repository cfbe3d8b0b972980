"""Every numeric key of a study file refuses what is not a number (a string, even one that reads
as a number, or a bool) with one line naming the file, the key and what was expected: exit code
2 from `hpsearch validate`, no traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hpsearch.cli import app

# One file with every numeric key set to a good value; `{...}` marks the key under test.
TEMPLATE = """
[study]
strategy = "gp"
n_trials = {n_trials}
n_jobs = {n_jobs}
seed = {seed}
timeout = {timeout}
trial_timeout = {trial_timeout}
max_memory_mb = {max_memory_mb}
max_consecutive_failures = {max_consecutive_failures}
stop_after_no_improvement = {stop_after_no_improvement}

[strategy_options]
xi = {xi}
n_startup = {n_startup}

[pruner]
kind = "median"
n_startup_trials = {n_startup_trials}
n_warmup_steps = {n_warmup_steps}

[objective]
kind = "python"
entry = "objective.py:objective"
val_fraction = {val_fraction}
test_fraction = {test_fraction}
repeats = {repeats}
checkpoint_epochs = {checkpoint_epochs}

[space]
learning_rate = {{ type = "float", low = {float_low}, high = {float_high}, step = {float_step} }}
width = {{ type = "int", low = {int_low}, high = {int_high}, step = {int_step} }}
rate = {{ type = "float", low = 0.0, high = 1.0, grid_points = {grid_points} }}
picks = {{ type = "float", values = {values} }}
"""

GOOD = {
    "n_trials": "3", "n_jobs": "1", "seed": "0", "timeout": "60.0", "trial_timeout": "10.0",
    "max_memory_mb": "512", "max_consecutive_failures": "3", "stop_after_no_improvement": "5",
    "xi": "0.01", "n_startup": "2", "n_startup_trials": "1", "n_warmup_steps": "0",
    "val_fraction": "0.2", "test_fraction": "0.2", "repeats": "1", "checkpoint_epochs": "[2]",
    "float_low": "0.0001", "float_high": "0.1", "float_step": "0.0001", "int_low": "8",
    "int_high": "64", "int_step": "8", "grid_points": "3", "values": "[0.1, 0.2]",
}
# how the error names each key
KEY_PATHS = {
    "float_low": "[space].learning_rate.low", "float_high": "[space].learning_rate.high",
    "float_step": "[space].learning_rate.step", "int_low": "[space].width.low",
    "int_high": "[space].width.high", "int_step": "[space].width.step",
    "grid_points": "[space].rate.grid_points", "values": "[space].picks.values",
    "xi": "[strategy_options]", "n_startup": "[strategy_options]",
    "n_startup_trials": "[pruner].n_startup_trials", "n_warmup_steps": "[pruner].n_warmup_steps",
    "val_fraction": "[objective].val_fraction", "test_fraction": "[objective].test_fraction",
    "repeats": "[objective].repeats", "checkpoint_epochs": "[objective].checkpoint_epochs",
}


def write_study(tmp_path, **values: str):
    (tmp_path / "objective.py").write_text("def objective(params):\n    return 0.0\n")
    path = tmp_path / "study.toml"
    path.write_text(TEMPLATE.format(**{**GOOD, **values}))
    return path


def validate(path):
    return CliRunner().invoke(app, ["validate", str(path)])


def test_the_template_is_a_good_study_file(tmp_path):
    result = validate(write_study(tmp_path))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("bad", ['"abc"', '"1e-4"', '"3"', "true"])
@pytest.mark.parametrize("key", sorted(GOOD))
def test_every_numeric_key_refuses_strings_and_bools(tmp_path, key, bad):
    if key in ("checkpoint_epochs", "values"):
        bad = f"[{bad}]"
    path = write_study(tmp_path, **{key: bad})
    result = validate(path)
    assert result.exit_code == 2, (key, bad, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    where = KEY_PATHS.get(key, f"[study].{key}")
    assert lines[0].startswith(f"hpsearch: error: {path}: {where}"), lines[0]
    if key in ("xi", "n_startup"):
        assert key in lines[0]
    expected = ("an integer" if key in ("int_low", "int_high", "int_step", "grid_points")
                else "")
    assert expected in lines[0], lines[0]


def test_float_bound_names_what_was_expected(tmp_path):
    path = write_study(tmp_path, float_low='"abc"')
    line = validate(path).stderr.strip()
    assert line == (f"hpsearch: error: {path}: [space].learning_rate.low: expected a number, "
                    "got str 'abc'")
