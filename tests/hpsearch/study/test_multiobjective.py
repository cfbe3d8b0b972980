"""Multi-objective studies: directions, the Pareto front, every strategy, tables, resume."""

from __future__ import annotations

import math

import pytest

import hpsearch as hp

SPACE = {"x": hp.Float(0, 1), "y": hp.Float(0, 1),
         "kind": hp.Categorical(["a", "b"]),
         "extra": hp.Float(0, 1, when={"kind": ["b"]})}


def two(params):
    """A convex front in (f1, f2), both minimised; kind b pays for extra."""
    f1 = params["x"]
    g = 1 + params["y"] + (params.get("extra", 0.0) if params["kind"] == "b" else 0.0)
    return f1, g * (1 - math.sqrt(f1 / g))


@pytest.mark.parametrize("strategy", ["random", "grid", "gp", "tpe", "nsga2"])
def test_every_strategy_proposes_valid_points_on_two_objectives(strategy):
    space = dict(SPACE)
    if strategy == "grid":
        space = {"x": hp.Float(0, 1, grid_points=3), "y": hp.Float(0, 1, grid_points=3),
                 "kind": hp.Categorical(["a", "b"]),
                 "extra": hp.Float(0, 1, grid_points=2, when={"kind": ["b"]})}
    options = {"gp": {"n_startup": 4}, "nsga2": {"population_size": 4}}.get(strategy, {})
    study = hp.Study(space, direction=["minimize", "minimize"], strategy=strategy, seed=1,
                     strategy_options=options)
    for _ in range(4):
        for trial in study.ask(3):
            study.space.validate(trial.params)
            study.tell(trial, two(trial.params))
    assert all(t.state == "complete" and len(t.values) == 2 for t in study.trials)
    front = study.pareto_front()
    assert front and all(t.value is None for t in front)


def test_pareto_front_and_refusals():
    study = hp.Study({"x": hp.Float(0, 1)}, direction=["maximize", "minimize"], seed=0)
    points = {0: (0.9, 10.0), 1: (0.8, 5.0), 2: (0.7, 7.0), 3: (0.9, 12.0)}
    for number in range(4):
        study.tell(study.ask(), points[number])
    assert [t.number for t in study.pareto_front()] == [0, 1]
    assert study.best_trials == study.pareto_front()
    assert study.trials[0].values == (0.9, 10.0)
    for name in ("best_value", "best_params", "best_trial"):
        with pytest.raises(hp.StudyError, match="pareto_front"):
            getattr(study, name)
    wrong = study.tell(study.ask(), 0.5)  # one value for two objectives
    assert wrong.state == "failed" and "2 objective" in wrong.error
    nan = study.tell(study.ask(), (math.nan, 1.0))
    assert nan.state == "failed"
    frame = study.results(best_first=True)
    assert list(frame.columns[:6]) == ["number", "state", "value", "values_0", "values_1",
                                       "pareto"]
    assert list(frame["number"][:2]) == [0, 1] and frame["pareto"].sum() == 2


def test_refused_combinations():
    with pytest.raises(hp.StudyError, match="no pruner"):
        hp.Study(SPACE, direction=["minimize", "minimize"], pruner=hp.MedianPruner())
    with pytest.raises(hp.StrategyError, match="one objective"):
        hp.Study(SPACE, direction=["minimize", "minimize"], strategy="skopt")
    with pytest.raises(hp.StudyError, match="one metric per direction"):
        hp.Study(SPACE, direction=["minimize", "minimize"], metric=["a"])


def test_optimize_resumes_and_keeps_values(tmp_path):
    first = hp.Study(SPACE, direction=["minimize", "minimize"], strategy="gp", seed=3,
                     storage=tmp_path, metric=["f1", "f2"],
                     strategy_options={"n_startup": 4})
    first.optimize(two, n_trials=6)
    del first
    again = hp.Study(SPACE, direction=["minimize", "minimize"], strategy="gp",
                     storage=tmp_path, metric=["f1", "f2"], strategy_options={"n_startup": 4})
    assert all(len(t.values) == 2 for t in again.trials)
    again.optimize(two, n_trials=9)
    loaded = hp.load_study(tmp_path)
    assert len(loaded.trials) == 9 and loaded.objective_names == ["f1", "f2"]
    frame = loaded.results()
    assert {"values_f1", "values_f2", "pareto"} <= set(frame.columns)
    assert frame["pareto"].sum() == len(loaded.pareto_front())


def test_result_values_and_sequences_from_objectives():
    study = hp.Study({"x": hp.Float(0, 1)}, direction=["minimize", "maximize"], seed=0)
    study.optimize(lambda p: hp.Result(values=[p["x"], 1 - p["x"]], metrics={"m": 1.0}),
                   n_trials=2)
    study.optimize(lambda p: [p["x"], p["x"]], n_trials=4)
    assert all(t.state == "complete" and t.metrics.get("m", 1.0) == 1.0
               for t in study.trials)


def test_the_front_kept_as_trials_are_told_is_the_front_of_all_of_them():
    import numpy as np

    from hpsearch.study.best import extend_front, pareto_front
    from hpsearch.trial import FrozenTrial, TrialState

    rng = np.random.default_rng(0)
    directions = ("maximize", "minimize")
    trials, front = [], []
    for number in range(200):
        values = tuple(rng.integers(0, 12, 2).astype(float))  # ties and duplicates too
        state = TrialState.COMPLETE if number % 7 else TrialState.FAILED
        trial = FrozenTrial(number, {}, state, 0, values=values if number % 7 else None)
        trials.append(trial)
        front = extend_front(front, trial, directions)
        assert front == pareto_front(trials, directions)
