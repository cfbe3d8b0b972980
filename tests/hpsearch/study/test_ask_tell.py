"""The public ask/tell seam: the same trials as optimize, pending trials, telling rules."""

from __future__ import annotations

import gc
import math

import pytest

import hpsearch as hp
from hpsearch.testing.benchmarks import branin, branin_space

GRID = {"x": hp.Float(-5, 10, grid_points=4), "y": hp.Float(0, 15, grid_points=4)}


@pytest.mark.parametrize("strategy", ["random", "grid", "gp", "tpe",
                                      pytest.param("skopt", marks=pytest.mark.slow)])
def test_hand_driven_ask_tell_gives_the_trials_of_optimize(strategy):
    space = GRID if strategy == "grid" else branin_space()
    options = {"n_startup": 5} if strategy == "gp" else {}
    by_loop = hp.Study(space, strategy=strategy, seed=7, strategy_options=options)
    by_loop.optimize(branin, n_trials=12)
    by_hand = hp.Study(space, strategy=strategy, seed=7, strategy_options=options)
    for _ in range(12):
        trial = by_hand.ask()
        by_hand.tell(trial, branin(trial.params))
    assert ([(t.params, t.seed, t.value) for t in by_hand.trials]
            == [(t.params, t.seed, t.value) for t in by_loop.trials])


def test_ask_n_gives_distinct_running_trials_known_as_pending():
    study = hp.Study(branin_space(), strategy="gp", seed=0,
                     strategy_options={"n_startup": 3})
    for _ in range(3):
        trial = study.ask()
        study.tell(trial, branin(trial.params))
    batch = study.ask(4)
    assert [t.number for t in batch] == [3, 4, 5, 6]
    assert len({tuple(sorted(t.params.items())) for t in batch}) == 4
    assert [t.state for t in study.trials[3:]] == ["running"] * 4
    assert [t.number for t in study.running] == [3, 4, 5, 6]
    assert all(isinstance(t, hp.Trial) and t.rng is not None for t in batch)


def test_tell_forms_and_refusals():
    study = hp.Study(branin_space(), seed=1, pruner=hp.ThresholdPruner(threshold=5.0))
    a, b, c, d, e = study.ask(5)
    assert study.tell(a, hp.Result(2.5, metrics={"m": 1.0})).metrics == {"m": 1.0}
    assert b.report(1, 9.0) is True and b.should_prune()  # minimising: above 5 prunes
    pruned = study.tell(b, state="pruned")
    assert pruned.state == "pruned" and pruned.value == 9.0 and pruned.intermediate == {1: 9.0}
    failed = study.tell(c.number, state="failed", error="ValueError: bad")
    assert failed.state == "failed" and failed.error == "ValueError: bad"
    nan = study.tell(d, math.nan)
    assert nan.state == "failed" and "not a finite number" in nan.error and nan.value is None
    with pytest.raises(hp.StudyError, match="trial 0 is already finished"):
        study.tell(a, 1.0)
    with pytest.raises(hp.StudyError, match="no trial 42"):
        study.tell(42, 1.0)
    other = hp.Study(branin_space(), seed=2).ask()
    with pytest.raises(hp.StudyError, match="asked by another study"):
        study.tell(other, 1.0)
    with pytest.raises(hp.StudyError, match="state must be"):
        study.tell(e, 1.0, state="running")
    with pytest.raises(hp.StudyError, match="needs a value"):
        study.tell(e, state="complete")
    assert study.tell(e, 3.0).state == "complete"
    assert study.n_finished == 5 and study.best_value == 2.5


def test_asked_never_told_stay_running_and_come_back_first(tmp_path):
    first = hp.Study(branin_space(), seed=3, storage=tmp_path)
    done, left = first.ask(2)
    first.tell(done, 1.0)
    assert hp.load_study(tmp_path).trials[1].state == "running"
    asked = (1, left.params, left.seed)
    # A driver that goes away without telling (or closing, which would interrupt it): the
    # study and its trial handles hold the folder until they are collected.
    del first, done, left
    gc.collect()
    again = hp.Study(branin_space(), storage=tmp_path)
    assert again.trials[1].state == "interrupted"
    back = again.ask()
    assert (back.number, back.params, back.seed) == asked
    assert again.ask().number == 2


def test_exhausted_grid():
    study = hp.Study({"k": hp.Categorical(["a", "b"])}, strategy="grid", seed=0)
    assert len(study.ask(5)) == 2 and study.exhausted
    with pytest.raises(hp.StudyError, match="exhausted"):
        study.ask()
