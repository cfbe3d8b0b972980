"""A conditional study exported to Optuna: inactive params are absent, as Optuna allows."""

from __future__ import annotations

import optuna

import hpsearch as hp
from hpsearch.export.optuna import export_to_optuna


def test_conditional_params_are_absent_in_the_optuna_study(tmp_path):
    space = {"opt": hp.Categorical(["sgd", "momentum"]),
             "mu": hp.Float(0.5, 0.99, when={"opt": ["momentum"]})}
    study = hp.Study(space, seed=0, storage=tmp_path / "run")
    study.optimize(lambda p: p.get("mu", 0.0), n_trials=12)
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    export_to_optuna(tmp_path / "run", url, study_name="c")
    exported = optuna.load_study(study_name="c", storage=url).trials
    assert len(exported) == 12
    for ours, theirs in zip(study.trials, exported, strict=True):
        assert theirs.params == ours.params
        assert set(theirs.distributions) == set(ours.params)
    assert {frozenset(t.params) for t in exported} == {frozenset({"opt"}),
                                                        frozenset({"opt", "mu"})}
