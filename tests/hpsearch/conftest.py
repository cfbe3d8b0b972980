"""Shared fixtures: objectives written to a temp file and loaded by path, as users do."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

OBJECTIVES = '''
import math
import os
import time

import numpy as np

import hpsearch as hp


def quadratic(params):
    return sum(float(v) ** 2 for v in params.values() if isinstance(v, (int, float)))


def mixed(params, trial):
    value = 0.0
    for name, v in params.items():
        numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
        value += float(v) if numeric else len(str(v))
    return value + 0.0 * trial.rng.random()


def sleepy(params, trial):
    time.sleep(float(os.environ.get("HPSEARCH_TEST_SLEEP", "0.3")))
    return params["x"] ** 2


def dies_on_3(params, trial):
    if trial.number == 3:
        os._exit(3)
    time.sleep(0.2)
    return params["x"] ** 2


def raises_on_odd(params, trial):
    if trial.number % 2:
        raise ValueError(f"odd trial {trial.number}")
    return params["x"]


def nan_objective(params):
    return float("nan")


def always_raises(params):
    raise RuntimeError("broken objective")


def pruned_above_5(params, trial):
    for step in range(5):
        if trial.report(step, params["x"]):
            raise hp.TrialPruned()
    return params["x"]


def with_artifacts(params, trial):
    weights = trial.rng.normal(size=(3, 2))
    return hp.Result(params["x"], metrics={"twice": 2 * params["x"]},
                     artifacts={"weights": weights, "x": np.array([params["x"]])})


def seed_echo(params, trial):
    return float(trial.seed % 1000)
'''


@pytest.fixture(scope="session")
def objective_file(tmp_path_factory):
    """Return spec(name) -> 'path/to/objectives.py:name' for the objectives above."""
    folder = tmp_path_factory.mktemp("objectives")
    path = folder / "objectives.py"
    path.write_text(textwrap.dedent(OBJECTIVES))

    def spec(name: str) -> str:
        return f"{path}:{name}"

    return spec


def _toml(value) -> str:
    return json.dumps(value) if isinstance(value, str) else str(value).lower() \
        if isinstance(value, bool) else str(value)


@pytest.fixture
def python_study(tmp_path):
    """Return write(path, entry, low=0.0, high=1.0, **study) -> path: a study file with a
    Python objective `entry`, one Float `x` on [low, high], storage `<tmp_path>/runs` and the
    given `[study]` keys (strategy random unless given)."""

    def write(path, entry: str, low: float = 0.0, high: float = 1.0, **study) -> Path:
        keys = {"strategy": "random", "storage": str(tmp_path / "runs"), **study}
        lines = ["[study]", *(f"{k} = {_toml(v)}" for k, v in keys.items()),
                 "[objective]", 'kind = "python"', f"entry = {_toml(entry)}",
                 "[space]", f'x = {{ type = "float", low = {low}, high = {high} }}']
        Path(path).write_text("\n".join(lines) + "\n")
        return Path(path)

    return write
