"""Objectives that try to end the process they run in: sys.exit is a failed trial; a trial that
takes the driver down (os._exit with n_jobs=1) is failed on the next resume, not rerun forever;
SIGTERM is handled like Ctrl-C; loky workers do not outlive a killed driver."""

from __future__ import annotations

import sys

import pytest

import hpsearch as hp

SPACE = {"x": hp.Float(0.0, 1.0)}


@pytest.mark.parametrize("code", [0, 3, None, "bye"])
def test_sys_exit_in_an_objective_is_a_failed_trial_and_the_study_goes_on(code):
    def objective(params, trial):
        if trial.number == 1:
            sys.exit(code)
        return params["x"]

    study = hp.Study(SPACE, seed=0)
    study.optimize(objective, n_trials=3)
    states = [str(t.state) for t in study.trials]
    assert states == ["complete", "failed", "complete"]
    shown = "" if code is None else repr(code)
    assert study.trials[1].error.startswith(f"the objective called sys.exit({shown})")


def test_sys_exit_in_a_worker_is_a_failed_trial_too():
    def objective(params, trial):
        if trial.number == 1:
            sys.exit(0)
        return params["x"]

    study = hp.Study(SPACE, seed=0)
    study.optimize(objective, n_trials=3, n_jobs=2)
    assert [str(t.state) for t in study.trials] == ["complete", "failed", "complete"]
    assert study.trials[1].error.startswith("the objective called sys.exit(0)")
