"""The `gp` strategy with a scheduler: points of configuration x resource, the final value at
s = 1, a pruned trial's early report never read as final, and the evidence margin."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.exceptions import StrategyError
from hpsearch.gp.model import predict
from hpsearch.space import Float, Space
from hpsearch.strategies.gp import GPStrategy
from hpsearch.strategies.gp_fidelity import FidelityPoints, rung_steps
from hpsearch.trial import FrozenTrial, TrialState

LINE = Space({"x": Float(0.0, 1.0)})
R = 27


def test_rung_steps_are_powers_of_three_below_the_last_and_the_last():
    assert rung_steps(1) == [1]
    assert rung_steps(3) == [1, 3]
    assert rung_steps(10) == [1, 3, 9, 10]
    assert rung_steps(52) == [1, 3, 9, 27, 52]


def test_points_of_a_paused_trial_stay_below_a_full_training_and_a_retell_adds_only_new():
    points = FidelityPoints(max_step=27)
    curve = {step: -0.1 * step for step in range(1, 28)}
    points.add(0, np.array([0.5]), None, {s: v for s, v in curve.items() if s <= 3})
    X, y = points.design()
    assert list(X[:, -1]) == [0.0, pytest.approx(math.log(3) / math.log(27))]
    assert list(y) == [curve[1], curve[3]] and points.finals == []
    version = points.version
    points.add(0, np.array([0.5]), -5.0, curve)  # promoted and finished
    X, y = points.design()
    assert len(X) == 4 and list(y[X[:, -1] == 1.0]) == [-5.0]  # steps 1, 3, 9 and the final
    assert points.finals == [-5.0] and points.version == version  # nothing replaced


def test_a_failed_trial_and_a_pruned_one_without_reports_sit_at_a_full_training_as_nan():
    points = FidelityPoints(max_step=None)
    points.add(0, np.array([0.1]), math.nan, {})
    points.add(1, np.array([0.2]), None, {})
    X, y = points.design()
    assert list(X[:, -1]) == [1.0, 1.0] and np.isnan(y).all()


def test_without_a_known_max_step_the_resource_is_the_largest_step_a_trial_reached():
    points = FidelityPoints(max_step=None)
    points.add(0, np.array([0.1]), None, {1: 0.5, 2: 0.4, 3: 0.3, 4: 0.2, 5: 0.1, 6: 0.0,
                                          7: 0.0, 8: 0.0, 9: 0.0})
    assert points.resource == 9
    X, _ = points.design()
    assert X[-1, -1] == 1.0
    # A complete trial's last step is a full training's length: an epoch-9 value of a
    # stopped trial is then no longer read as a final one (MedianPruner knows no max step).
    points.add(1, np.array([0.2]), -0.3, {step: -0.01 * step for step in range(1, 28)})
    assert points.resource == 27
    X, y = points.design()
    assert X[0, -1] == 0.0 and X[2, -1] == pytest.approx(2 / 3)  # trial 0 at steps 1, 3, 9
    assert list(y[X[:, -1] == 1.0]) == [-0.3]


def test_the_study_tells_gp_the_full_training_step_its_pruner_knows():
    space = {"x": hp.Float(0.0, 1.0)}
    for pruner, expected in ((hp.ASHAPruner(max_resource=27), 27),
                             (hp.Hyperband(max_resource=9), 9),
                             (hp.PopulationBasedTraining(interval=2, max_step=12), 12),
                             (hp.MedianPruner(), None)):
        study = hp.Study(space, strategy="gp", pruner=pruner)
        assert study._proposals.strategy._fidelity.max_step == expected


def _crossing(strategy: GPStrategy, n: int = 14) -> None:
    """Curves that cross: at step 1 a large x looks best, after a full training a small x is
    best (values to minimise: final x, step-1 value 1 - x)."""
    for number, x in enumerate(np.linspace(0.02, 0.98, n)):
        curve = {step: (1 - x) + (x - (1 - x)) * math.log(step) / math.log(R)
                 for step in range(1, R + 1)}
        strategy.tell(FrozenTrial(number, {"x": float(x)}, TrialState.COMPLETE, 0,
                                  value=float(x), intermediate=curve))
    # an early-stopped trial at x = 0.9 whose epoch-1 value is the best value of all
    strategy.tell(FrozenTrial(n, {"x": 0.9}, TrialState.PRUNED, 0, value=0.05,
                              intermediate={1: 0.05}))


def test_the_model_ranks_configurations_by_their_predicted_final_value():
    strategy = GPStrategy(LINE, np.random.default_rng(0), n_startup=5)
    strategy.use_steps(R)
    _crossing(strategy)
    strategy._sync_steps()
    gp, _ = strategy._fit()
    center, _ = strategy._incumbent(gp)
    assert center[0] < 0.1  # the best final value, not the pruned trial's epoch-1 value
    mean, _ = predict(gp, strategy._lift(np.array([[0.05], [0.9]])))
    assert mean[0] < mean[1]
    point = strategy.ask(1)[0]
    assert point["x"] < 0.5


def test_steps_whose_ranking_does_not_predict_the_final_one_are_left_out():
    strategy = GPStrategy(LINE, np.random.default_rng(0), n_startup=5)
    strategy.use_steps(R)
    _crossing(strategy)
    tau = strategy._fidelity.correlations()
    assert tau[1] == (pytest.approx(-1.0), 14) and tau[3] == (pytest.approx(-1.0), 14)
    assert tau[9] == (pytest.approx(1.0), 14)
    assert strategy._fidelity.untrusted() == {1, 3}
    strategy._sync_steps()
    s = np.array(strategy._rows)[:, -1]
    assert set(np.round(s, 6)) == {round(2 / 3, 6), 1.0}  # step 9 and the finals


def test_without_a_scheduler_a_pruned_trial_counts_with_its_last_value_as_before():
    strategy = GPStrategy(LINE, np.random.default_rng(0), n_startup=5)
    _crossing(strategy)
    assert strategy._fidelity is None
    assert strategy._values[-1] == 0.05  # read as final: the behaviour without a scheduler
    gp, _ = strategy._fit()
    assert gp.X.shape[1] == 1


def test_evidence_margin_bounds_the_gradient_step_to_the_best_trials_span():
    space = Space({"a": Float(0.0, 1.0), "b": Float(0.0, 1.0)})
    strategy = GPStrategy(space, np.random.default_rng(0), n_startup=5, evidence_margin=0.1,
                          trust_region=False)
    rng = np.random.default_rng(1)
    for number in range(20):
        a, b = 0.4 + 0.2 * rng.random(), rng.random()
        value = (a - 0.5) ** 2 + (b - 0.5) ** 2
        strategy.tell(FrozenTrial(number, {"a": a, "b": b}, TrialState.COMPLETE, 0,
                                  value=value))
    gp, _ = strategy._fit()
    low, high = strategy._local_box(gp, None)
    best = strategy._ranked(gp)[:5]
    assert low[0] == pytest.approx(max(best[:, 0].min() - 0.1, 0.0))
    assert high[0] == pytest.approx(min(best[:, 0].max() + 0.1, 1.0))
    assert 0.25 <= low[0] and high[0] <= 0.75  # every trial has 0.4 <= a <= 0.6
    off = GPStrategy(space, np.random.default_rng(0), evidence_margin="off")
    assert off._local_box(gp, None) is None


@pytest.mark.parametrize("bad", [-0.1, 2, "wide", True])
def test_a_bad_evidence_margin_is_refused(bad):
    with pytest.raises(StrategyError, match="evidence_margin"):
        GPStrategy(LINE, np.random.default_rng(0), evidence_margin=bad)


def test_the_evidence_margin_is_on_with_a_scheduler_and_off_without():
    assert GPStrategy(LINE, np.random.default_rng(0)).options["evidence_margin"] == "auto"
    study = hp.Study(LINE, strategy="gp", pruner=hp.Hyperband(1, R), seed=0)
    assert study._proposals.strategy.options["evidence_margin"] == 0.1
    assert study._proposals.strategy._fidelity is not None
    plain = hp.Study(LINE, strategy="gp", seed=0)
    assert plain._proposals.strategy._fidelity is None


def _curve_objective(params, trial):
    x = params["x"]
    value = None
    for step in range(trial.last_step + 1, R + 1):
        value = (x - 0.3) ** 2 + (1 - x) / step  # a small x is slow to learn
        if trial.report(step, value):
            trial.save_checkpoint({"step": np.array([step])})
            raise hp.TrialPruned()
    return value


def test_gp_with_hyperband_runs_through_optimize_and_learns_from_paused_trials():
    study = hp.Study(LINE, strategy="gp", pruner=hp.Hyperband(1, R), seed=0,
                     strategy_options={"n_startup": 5})
    told = []
    strategy = study._proposals.strategy
    original = strategy.tell
    strategy.tell = lambda trial: (told.append(trial.state), original(trial))[1]
    study.optimize(_curve_objective, n_trials=25)
    assert TrialState.PAUSED in told  # paused trials reach the model
    assert study.best_value < 0.03 and abs(study.best_params["x"] - 0.32) < 0.1  # min 0.0256
    assert len(strategy._fidelity.values) > len(study.trials)  # several points per trial


def test_gp_with_hyperband_through_ask_and_tell():
    study = hp.Study(LINE, strategy="gp", pruner=hp.Hyperband(1, R), seed=1,
                     strategy_options={"n_startup": 5})
    finished = 0
    while finished < 20:
        trial = study.ask()
        try:
            value = _curve_objective(trial.params, trial)
        except hp.TrialPruned:
            done = study.tell(trial, state="pruned")
        else:
            done = study.tell(trial, value)
        finished += done.state is not TrialState.PAUSED
    points = study._proposals.strategy._fidelity
    assert points.n_trials() == len(study.trials)
    assert min(points.finals) == pytest.approx(study.best_value)


def test_a_reopened_study_tells_gp_its_paused_trials_again(tmp_path):
    def drive(study, n):
        for _ in range(n):
            trial = study.ask()
            try:
                value = _curve_objective(trial.params, trial)
            except hp.TrialPruned:
                study.tell(trial, state="pruned")
            else:
                study.tell(trial, value)

    first = hp.Study(LINE, strategy="gp", pruner=hp.Hyperband(1, R), seed=2,
                     storage=tmp_path / "run", strategy_options={"n_startup": 5})
    drive(first, 15)
    paused = [t for t in first.trials if t.state is TrialState.PAUSED]
    assert paused
    before = first._proposals.strategy._fidelity
    first.close()
    again = hp.Study(LINE, strategy="gp", pruner=hp.Hyperband(1, R), seed=2,
                     storage=tmp_path / "run", strategy_options={"n_startup": 5})
    after = again._proposals.strategy._fidelity
    assert after.n_trials() == before.n_trials() == len(first.trials)
    assert sorted(after.values) == sorted(before.values)
    drive(again, 5)  # and goes on
