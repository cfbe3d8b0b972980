"""Every strategy on a conditional space: only active params, all of them, chains respected."""

from __future__ import annotations

import math

import pytest

import hpsearch as hp

SPACE = {
    "optimizer": hp.Categorical(["sgd", "momentum", "adam"]),
    "learning_rate": hp.Float(1e-4, 1e-1, log=True, grid_points=3),
    "mu": hp.Float(0.5, 0.99, when={"optimizer": ["momentum"]}, grid_points=2),
    "beta2": hp.Float(0.9, 0.9999, when={"optimizer": ["adam"]}, grid_points=2),
    "num_layers": hp.Int(1, 3),
    "hidden_size_2": hp.Int(16, 256, log=True, when={"num_layers": [2, 3]}, values=[16, 64]),
    "hidden_size_3": hp.Int(16, 256, log=True, when={"num_layers": [3]}, values=[32]),
    "dropout_3": hp.Categorical([0.0, 0.5], when={"hidden_size_3": [32],
                                                   "optimizer": ["adam"]}),
}


def objective(params):
    value = (math.log10(params["learning_rate"]) + 2.5) ** 2
    value += {"sgd": 1.0, "momentum": 0.5, "adam": 0.2}[params["optimizer"]]
    value += (params.get("mu", 0.9) - 0.9) ** 2 + 10 * (params.get("beta2", 0.999) - 0.999) ** 2
    return value + 0.1 * params["num_layers"] + 0.01 * params.get("dropout_3", 0.0)


@pytest.mark.parametrize("strategy", ["random", "grid", "gp", "tpe"])
def test_only_active_params_and_every_active_one(strategy):
    study = hp.Study(SPACE, strategy=strategy, seed=3)
    for _ in range(6):  # batches, so pending trials are in play too
        for trial in study.ask(4):
            assert set(trial.params) == set(study.space.active(
                {**{n: None for n in SPACE}, **trial.params})), trial.params
            study.space.validate(trial.params)  # active ones present, inactive ones absent
            if "dropout_3" in trial.params:  # the chain: both parents hold
                assert trial.params["optimizer"] == "adam" and trial.params["num_layers"] == 3
            study.tell(trial, objective(trial.params))
    seen = {frozenset(t.params) for t in study.trials}
    assert len(seen) >= 3  # several branches explored


def test_skopt_refuses_a_conditional_space():
    with pytest.raises(hp.StrategyError, match="cannot search a conditional space"):
        hp.Study(SPACE, strategy="skopt")
