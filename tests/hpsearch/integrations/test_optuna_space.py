"""Optuna distributions <-> hpsearch dimensions, and the space a define-by-run study implies."""

from __future__ import annotations

import warnings

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.search_space import intersection_search_space

import hpsearch as hp
from hpsearch.integrations.optuna import dimension_for, distribution_for, infer_space

with warnings.catch_warnings():  # Optuna's note that it moves high onto the step grid
    warnings.simplefilter("ignore", UserWarning)
    DISTRIBUTIONS = [
        FloatDistribution(-1.0, 1.0),
        FloatDistribution(1e-7, 1.0, log=True),
        FloatDistribution(-10.2, 10.2, step=0.1),
        FloatDistribution(0.0, 1.0, step=0.3),  # Optuna moves high to 0.9
        IntDistribution(-10, 10),
        IntDistribution(1, 100, log=True),
        IntDistribution(0, 9, step=2),  # high 8
        CategoricalDistribution(("a", "b", "c")),
        CategoricalDistribution((1, "a", None, True, 2.5)),
    ]


@pytest.mark.parametrize("distribution", DISTRIBUTIONS, ids=str)
def test_round_trip_is_exact(distribution):
    dimension = dimension_for(distribution)
    assert distribution_for(dimension) == distribution
    if isinstance(distribution, CategoricalDistribution):
        assert dimension == hp.Categorical(distribution.choices)
    else:
        kind = hp.Float if isinstance(distribution, FloatDistribution) else hp.Int
        assert dimension == kind(distribution.low, distribution.high, log=distribution.log,
                                 step=distribution.step)


@pytest.mark.parametrize("dimension", [hp.Float(0.5, 2.0), hp.Float(1e-3, 1.0, log=True),
                                       hp.Float(0.0, 1.0, step=0.25), hp.Int(2, 64, log=True),
                                       hp.Int(1, 9, step=2), hp.Categorical([False, True])])
def test_round_trip_from_hpsearch(dimension):
    assert dimension_for(distribution_for(dimension)) == dimension


@pytest.mark.parametrize("distribution", [FloatDistribution(1.0, 1.0), IntDistribution(3, 3),
                                          CategoricalDistribution(["only"]),
                                          CategoricalDistribution(["a", "a"])])
def test_what_hpsearch_cannot_hold_is_refused(distribution):
    with pytest.raises(hp.SpaceError):
        dimension_for(distribution)


def _study(objective, n_trials=12, seed=0):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    return study


def _complete(study):
    return study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))


def test_an_unconditional_study_infers_optunas_intersection_space():
    def objective(trial):
        trial.suggest_float("x", 0, 1)
        trial.suggest_int("n", 1, 5)
        return trial.suggest_categorical("c", [0.0, 1.0])

    study = _study(objective)
    inferred = infer_space(_complete(study))
    assert dict(inferred.distributions) == intersection_search_space(_complete(study))
    assert not inferred.space.conditional


def test_define_by_run_branches_become_conditions():
    def objective(trial):
        kind = trial.suggest_categorical("kind", ["a", "b", "c"])
        if kind == "a":
            n = trial.suggest_int("n", 1, 3)
            if n == 3:
                trial.suggest_float("deep", 0, 1)
        elif kind == "b":
            trial.suggest_float("lr", 1e-4, 1, log=True)
        if trial.suggest_float("u", 0, 1) > 0.5:  # presence decided by a float: no parent
            trial.suggest_float("lucky", 0, 1)
        return 0.0

    study = _study(objective, n_trials=60)
    space = infer_space(_complete(study)).space
    assert space.parents("n") == {"kind": ("a",)}
    assert space.parents("deep") == {"n": (3,)}
    assert space.parents("lr") == {"kind": ("b",)}
    assert space.parents("u") == {} and space.parents("kind") == {}
    assert "lucky" not in space  # sampled independently
    for trial in _complete(study):  # every trial is a point of the inferred space
        space.validate({name: trial.params[name] for name in space if name in trial.params})


def test_a_changing_range_leaves_the_parameter_out():
    study = _study(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("y", 0, 3), 4)
    study.optimize(lambda t: t.suggest_float("x", 0, 2) + t.suggest_int("y", 0, 3), n_trials=4)
    inferred = infer_space(_complete(study))
    assert list(inferred.space) == ["y"]


def test_no_trials_no_space():
    assert infer_space([]).space is None
