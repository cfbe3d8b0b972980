"""`tpe` with a scheduler: BOHB's rule, the density model on the highest step with d + 2 trials."""

from __future__ import annotations

import numpy as np

import hpsearch as hp
from hpsearch.space import Float, Space
from hpsearch.strategies.tpe import TPEStrategy
from hpsearch.strategies.tpe_budget import BudgetValues, min_trials_for
from hpsearch.trial import FrozenTrial, TrialState

SPACE = Space({"a": Float(0.0, 1.0), "b": Float(0.0, 1.0)})  # d = 2: 4 trials a step


def test_the_budget_is_the_highest_step_min_trials_reached():
    values = BudgetValues(max_step=9)
    for number in range(6):  # six trials at steps 1..3, four of them also at 4..9
        last = 9 if number < 4 else 3
        values.add(number, {"a": 0.1 * number}, {s: float(s + number) for s in range(1, last + 1)},
                   None)
    assert values.budget(4) == 9
    assert values.budget(5) == 3
    assert values.budget(7) == 1  # nowhere enough: the step most trials reached (the lowest)
    assert sorted(values.at(9)) == [0, 1, 2, 3]


def test_a_complete_trial_s_final_value_sits_at_the_max_step_and_a_retell_replaces():
    values = BudgetValues(max_step=27)
    values.add(0, {"a": 0.5}, {1: 0.9, 3: 0.8}, None)  # paused at 3
    assert values.budget(1) == 3
    values.add(0, {"a": 0.5}, {1: 0.9, 3: 0.8, 9: 0.7}, 0.6)  # promoted, then complete
    assert values.at(27) == {0: ({"a": 0.5}, 0.6)}
    assert values.budget(1) == 27 and values.budget(2) == 1
    assert min_trials_for(7) == 9


def _trial(number, a, b, last, state):
    curve = {step: (a - 0.5) ** 2 + b / step for step in range(1, last + 1)}
    value = curve[last] if state is TrialState.COMPLETE else None
    return FrozenTrial(number, {"a": a, "b": b}, state, 0, value=value, intermediate=curve)


def test_the_optuna_study_holds_values_of_one_step_only():
    strategy = TPEStrategy(SPACE, np.random.default_rng(0), n_startup_trials=2)
    strategy.use_steps(9)
    rng = np.random.default_rng(1)
    for number in range(10):  # ten trials stopped at step 3, then five complete at 9
        strategy.tell(_trial(number, *rng.random(2), 3, TrialState.PRUNED))
    strategy.ask(1)
    first = [t.values[0] for t in strategy._study.trials if t.state.name == "COMPLETE"]
    assert strategy._budget == 3 and len(first) == 10
    finals = []
    for number in range(10, 15):
        trial = _trial(number, *rng.random(2), 9, TrialState.COMPLETE)
        finals.append(trial.value)
        strategy.tell(trial)
    strategy.ask(1)
    assert strategy._budget == 9
    complete = [t.values[0] for t in strategy._study.trials if t.state.name == "COMPLETE"]
    assert sorted(complete) == sorted(finals)  # the step-3 values are no longer mixed in


def test_without_a_scheduler_tpe_sees_finished_trials_as_before():
    study = hp.Study(SPACE, strategy="tpe", seed=0)
    assert study._proposals.strategy._budgets is None
    scheduled = hp.Study(SPACE, strategy="tpe", seed=0, pruner=hp.Hyperband(1, 9))
    assert scheduled._proposals.strategy._budgets is not None


def test_tpe_with_hyperband_through_optimize():
    def objective(params, trial):
        value = None
        for step in range(trial.last_step + 1, 10):
            value = (params["a"] - 0.5) ** 2 + params["b"] / step
            if trial.report(step, value):
                trial.save_checkpoint({"step": np.array([step])})
                raise hp.TrialPruned()
        return value

    study = hp.Study(SPACE, strategy="tpe", seed=0, pruner=hp.Hyperband(1, 9))
    study.optimize(objective, n_trials=40)
    strategy = study._proposals.strategy
    assert strategy._budget is not None
    assert study.best_value < 0.1


def test_with_several_objectives_a_paused_trial_is_not_told_to_optuna():
    strategy = TPEStrategy(SPACE, np.random.default_rng(0), ["minimize", "minimize"])
    strategy.use_steps(9)
    assert strategy._budgets is None  # BOHB's rule is for one objective
    strategy.tell(FrozenTrial(0, {"a": 0.1, "b": 0.2}, TrialState.PAUSED, 0,
                              intermediate={1: 0.5}))
    assert strategy._study.trials == []
