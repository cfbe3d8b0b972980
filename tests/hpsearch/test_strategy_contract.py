"""The contract every registered strategy passes (grid gets a space with grid points)."""

from __future__ import annotations

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.strategies import STRATEGY_NAMES, make_strategy
from hpsearch.trial import FrozenTrial, TrialState

# Small model warm-ups so the model-based paths run within a few trials.
FAST_OPTIONS = {
    "tpe": {"n_startup_trials": 3},
    "skopt": {"n_initial_points": 3, "acq_optimizer": "sampling", "acq_func": "EI"},
    "gp": {"n_startup": 3},
}

SLOW_STRATEGIES = {"skopt"}  # a scikit-learn GP fit per tell: seconds per trial


def strategies(slow: set[str] = SLOW_STRATEGIES) -> list:
    return [pytest.param(n, marks=pytest.mark.slow) if n in slow else n for n in STRATEGY_NAMES]


def every_kind() -> hp.Space:
    return hp.Space({
        "float": hp.Float(-2.0, 3.0),
        "float_log": hp.Float(1e-4, 1e-1, log=True),
        "float_step": hp.Float(0.0, 1.0, step=0.25),
        "int": hp.Int(-3, 7),
        "int_log": hp.Int(1, 256, log=True),
        "cat": hp.Categorical(["relu", "tanh", None, 3]),
    })


def every_kind_grid() -> hp.Space:
    return hp.Space({
        "float": hp.Float(-2.0, 3.0, grid_points=2),
        "float_log": hp.Float(1e-4, 1e-1, log=True, grid_points=2),
        "float_step": hp.Float(0.0, 1.0, step=0.5),
        "int": hp.Int(-3, 7, grid_points=2),
        "int_log": hp.Int(1, 256, log=True, grid_points=2),
        "cat": hp.Categorical(["relu", None]),
    })


def space_for(name: str) -> hp.Space:
    return every_kind_grid() if name == "grid" else every_kind()


def build(name: str, seed: int = 0, direction: str = "minimize"):
    return make_strategy(name, space_for(name), np.random.default_rng(seed), direction,
                         **FAST_OPTIONS.get(name, {}))


def score(params) -> float:
    return float(params["float"] ** 2 + np.log10(params["float_log"]) + params["int"])


def test_gp_is_registered():
    assert set(STRATEGY_NAMES) >= {"grid", "random", "gp", "skopt", "tpe"}


@pytest.mark.parametrize("name", strategies())
def test_values_inside_bounds_for_every_dimension_kind(name):
    strategy = build(name)
    space = space_for(name)
    number = 0
    seen_kinds = set()
    for _ in range(4):
        pending = strategy.ask(1)
        points = pending + strategy.ask(2, pending=pending)
        assert 0 < len(points) <= 3
        for params in points:
            space.validate(params)
            assert isinstance(params["int"], int) and isinstance(params["int_log"], int)
            assert params["float_step"] in {0.0, 0.25, 0.5, 0.75, 1.0}
            seen_kinds.add(params["cat"])
            strategy.tell(FrozenTrial(number, params, TrialState.COMPLETE, seed=number,
                                      value=score(params)))
            number += 1
    assert len(seen_kinds) >= 1


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_failed_and_pruned_trials_in_history_do_not_break_ask(name):
    strategy = build(name)
    space = space_for(name)
    for number in range(7):
        (params,) = strategy.ask(1)
        space.validate(params)
        if number % 3 == 0:
            trial = FrozenTrial(number, params, TrialState.FAILED, seed=number, error="boom")
        elif number % 3 == 1:
            trial = FrozenTrial(number, params, TrialState.PRUNED, seed=number, value=1.0,
                                intermediate={0: 2.0, 1: 1.0})
        else:
            trial = FrozenTrial(number, params, TrialState.COMPLETE, seed=number,
                                value=score(params))
        strategy.tell(trial)
    for params in strategy.ask(2):
        space.validate(params)


@pytest.mark.parametrize("name", strategies())
def test_resume_replays_finished_trials_through_tell(name):
    first = build(name, seed=1)
    history = []
    for number in range(6):
        (params,) = first.ask(1)
        trial = FrozenTrial(number, params, TrialState.COMPLETE, seed=number, value=score(params))
        first.tell(trial)
        history.append(trial)
    resumed = build(name, seed=1)
    for trial in history:
        resumed.tell(trial)
    points = resumed.ask(2)
    assert points
    for params in points:
        space_for(name).validate(params)
    if name == "grid":  # a resumed grid skips the points already done
        done = {tuple(sorted(t.params.items(), key=str)) for t in history}
        assert not done & {tuple(sorted(p.items(), key=str)) for p in points}


def run_study(name: str, objective: str, n_jobs: int) -> list[dict]:
    study = hp.Study(space_for(name), strategy=name, seed=7,
                     strategy_options=FAST_OPTIONS.get(name, {}))
    study.optimize(objective, n_trials=6, n_jobs=n_jobs)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    return [dict(t.params) for t in study.trials]


@pytest.mark.parametrize("name", strategies())
def test_same_study_twice_gives_same_trials(name, objective_file):
    first = run_study(name, objective_file("mixed"), n_jobs=1)
    second = run_study(name, objective_file("mixed"), n_jobs=1)
    assert first == second


@pytest.mark.slow
@pytest.mark.parametrize("name", ["grid", "random"])
def test_grid_and_random_do_not_depend_on_n_jobs(name, objective_file):
    objective = objective_file("mixed")
    assert run_study(name, objective, n_jobs=1) == run_study(name, objective, n_jobs=2)
