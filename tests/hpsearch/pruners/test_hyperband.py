"""hp.Hyperband: rungs, brackets, pausing and promotion order, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.pruners import make_pruner
from hpsearch.pruners.hyperband import MIN_PAIRS, Hyperband
from hpsearch.pruners.scheduler import Fresh, Resume
from hpsearch.trial import FrozenTrial, TrialState


def asha(direction="minimize", trials=6):
    """brackets=1 (ASHA with promotion), rungs at 1, 3, 9 below 27."""
    state = Hyperband(min_resource=1, max_resource=27, reduction_factor=3,
                      brackets=1).new_state(direction)
    for number in range(trials):
        state.started(FrozenTrial(number, {}, TrialState.RUNNING, seed=number))
    return state


def told(state, number, intermediate):
    """Tell the state trial `number` stopped (as study.tell(state="pruned") does)."""
    record = FrozenTrial(number, {}, TrialState.PRUNED, seed=number, intermediate=intermediate)
    return state.stopped(record)


def test_levels_brackets_and_their_probabilities():
    config = Hyperband(min_resource=1, max_resource=27, reduction_factor=3)
    assert config.levels == [1, 3, 9] and config.n_brackets == 4
    # synchronous Hyperband with s_max = 3 starts 27, 12, 6 and 4 configurations
    np.testing.assert_allclose(config.bracket_probabilities(), np.array([27, 12, 6, 4]) / 49)
    assert Hyperband(min_resource=2, max_resource=9, reduction_factor=2).levels == [2, 4, 8]
    assert Hyperband(max_resource=27, brackets=2).n_brackets == 2
    drawn = np.bincount([config.bracket(seed) for seed in range(4000)], minlength=4) / 4000
    np.testing.assert_allclose(drawn, np.array([27, 12, 6, 4]) / 49, atol=0.03)
    assert [config.bracket(s) for s in range(50)] == [config.bracket(s) for s in range(50)]
    assert {Hyperband(max_resource=27, brackets=1).bracket(s) for s in range(50)} == {0}


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="max_resource"):
        Hyperband()
    with pytest.raises(ValueError, match="above min_resource"):
        Hyperband(min_resource=3, max_resource=3)
    with pytest.raises(ValueError, match="reduction_factor"):
        Hyperband(max_resource=9, reduction_factor=1)
    with pytest.raises(ValueError, match="brackets"):
        Hyperband(max_resource=9, brackets=0)
    assert make_pruner({"kind": "hyperband", "max_resource": 9, "brackets": 1}) == Hyperband(
        max_resource=9, brackets=1)
    assert hp.Hyperband is Hyperband


def test_trials_pause_at_a_rung_until_they_are_in_its_top_third():
    state = asha()
    assert state.report(0, 1, 5.0) is False  # alone at rung 1: the best so far goes on
    assert state.report(1, 1, 3.0) is False  # the best again
    assert state.report(2, 1, 4.0) is True and told(state, 2, {1: 4.0})  # 3.0 is ahead
    assert state.report(3, 1, 6.0) is True and told(state, 3, {1: 6.0})
    assert state.report(4, 1, 4.5) is True and told(state, 4, {1: 4.5})
    assert state.paused() == {2: (0, 0), 3: (0, 0), 4: (0, 0)}
    assert state.next(2, new_allowed=False) == []  # five values, top 1: trial 1's
    assert state.report(5, 1, 7.0) is True and told(state, 5, {1: 7.0})
    # six values at rung 1, top 2: 3.0 (gone on) and 4.0 (trial 2, promoted first)
    assert state.next(2, new_allowed=False) == [Resume(2)]
    assert state.next(2, new_allowed=True) == [Fresh(), Fresh()]
    state.started(FrozenTrial(2, {}, TrialState.RUNNING, seed=2))
    assert state.report(2, 2, 3.9) is False  # between the rungs
    assert state.report(2, 3, 2.0) is False  # first at rung 3: goes on
    assert state.report(1, 3, 2.5) is True and told(state, 1, {1: 3.0, 3: 2.5})
    assert state.paused() == {1: (0, 1), 3: (0, 0), 4: (0, 0), 5: (0, 0)}


def test_promotions_go_highest_rung_first_then_best_value_first():
    state = asha("maximize", trials=21)
    values = {0: 0.1, 1: 0.2, 2: 0.3, 3: 0.0, 4: 0.05, 5: 0.4,
              **{6 + k: 0.001 * (k + 1) for k in range(9)}}
    on_at_once = {0, 1, 2, 5}  # the best so far at rung 1 each time
    for number, value in values.items():
        assert state.report(number, 1, value) is (number not in on_at_once)
        if number not in on_at_once:
            told(state, number, {1: value})
    assert state.report(5, 3, 0.9) is False  # first at rung 3
    for number, value in [(2, 0.8), (1, 0.7), (0, 0.6)]:
        assert state.report(number, 3, value) is True
        told(state, number, {1: values[number], 3: value})
    # rung 1: 15 values, top 5 = trials 5, 2, 1, 0 (gone on) and 4 (paused: promoted);
    # rung 3: 4 values, top 1 = trial 5 (gone on)
    assert state.next(4, new_allowed=False) == [Resume(4)]
    state.started(FrozenTrial(4, {}, TrialState.RUNNING, seed=4))
    assert state.report(4, 3, 0.55) is True and told(state, 4, {1: 0.05, 3: 0.55})
    assert state.report(15, 1, 0.35) is False  # in rung 1's top 5 of 16
    assert state.report(15, 3, 0.5) is True and told(state, 15, {1: 0.35, 3: 0.5})
    paused_at_rung_one(state, {n: 0.0 for n in range(16, 21)})
    # rung 3: 6 values, top 2 = 0.9, 0.8 (trial 2); rung 1: 21 values, top 7 = ... 0.05,
    # 0.009 (trial 14): the higher rung first, then the best value
    assert state.next(4, new_allowed=False) == [Resume(2), Resume(14)]
    assert state.next(4, new_allowed=False) == []


def test_a_non_finite_value_is_pruned_for_good():
    state = asha()
    assert state.report(0, 1, float("nan")) is True
    assert told(state, 0, {1: float("nan")}) is False
    assert state.paused() == {}


def test_a_trial_that_stops_on_its_own_is_pruned():
    state = asha()
    assert state.report(0, 2, 1.0) is False  # rung 1 passed at step 2, the best so far
    assert state.report(1, 2, 2.0) is True  # beaten there: paused
    assert told(state, 1, {2: 2.0}) is True
    assert state.report(2, 0, 1.0) is False  # below the first rung
    assert told(state, 2, {0: 1.0}) is False  # stopped without being told to: pruned


def paused_at_rung_one(state, values):
    """Report `values` ({number: value}) at rung 1 in order; tell the paused ones."""
    for number, value in values.items():
        if state.report(number, 1, value):
            told(state, number, {1: value})


def test_hopeless_trials_with_no_new_trials_to_come():
    state = asha(trials=4)
    paused_at_rung_one(state, {0: 3.0, 1: 5.0, 2: 4.0, 3: 6.0})  # 0 goes on; 1, 2, 3 wait
    assert state.paused() == {1: (0, 0), 2: (0, 0), 3: (0, 0)}
    # four values, top 1; nothing else can arrive: all three are beaten for good
    assert state.hopeless(0) == [1, 2, 3]
    assert state.hopeless(None) == []
    assert state.hopeless(10) == []  # (4 + 10) // 3 = 4 > 3 ahead
    # (4 + 2) // 3 = 2 could go on: trial 2 (1 ahead) may, trials 1 (2 ahead) and 3 cannot
    assert state.hopeless(2) == [1, 3]
    state.started(FrozenTrial(4, {}, TrialState.RUNNING, seed=4))  # one more below rung 1
    assert state.hopeless(1) == [1, 3]  # (4 + 1 + 1) // 3 = 2 again
    assert state.hopeless(5) == [3]  # (4 + 5 + 1) // 3 = 3


def test_restore_rebuilds_the_same_state_from_the_records():
    state = asha(trials=7)
    paused_at_rung_one(state, {0: 3.0, 1: 5.0, 2: 4.0, 3: 6.0, 4: 7.0, 5: 8.0})
    assert state.next(1, new_allowed=False) == [Resume(2)]  # six values, top 2
    records = [FrozenTrial(0, {}, TrialState.COMPLETE, seed=0, value=1.0,
                           intermediate={1: 3.0, 3: 2.0, 9: 1.5, 27: 1.0}),
               FrozenTrial(1, {}, TrialState.PAUSED, seed=1, intermediate={1: 5.0}),
               FrozenTrial(2, {}, TrialState.INTERRUPTED, seed=2, intermediate={1: 4.0}),
               *[FrozenTrial(n, {}, TrialState.PAUSED, seed=n, intermediate={1: v})
                 for n, v in [(3, 6.0), (4, 7.0), (5, 8.0)]]]
    state.report(0, 3, 2.0), state.report(0, 9, 1.5)
    state.finished(records[0])
    rebuilt = Hyperband(min_resource=1, max_resource=27, brackets=1).new_state("minimize")
    rebuilt.restore(records)
    assert rebuilt.paused() == state.paused() == {1: (0, 0), 3: (0, 0), 4: (0, 0),
                                                  5: (0, 0)}
    for s in (state, rebuilt):
        s.started(records[2])
        assert s.report(2, 2, 3.1) is False and s.report(2, 3, 3.0) is True  # 2.0 is ahead
        assert s._rungs.final == {0: 1.0}
    assert rebuilt.hopeless(0) == state.hopeless(0) == [1, 3, 4, 5]


def test_a_later_bracket_starts_at_a_later_rung():
    config = Hyperband(min_resource=1, max_resource=27, reduction_factor=3)
    seeds = [s for s in range(300) if config.bracket(s) == 2][:2]  # rungs at 9 only
    state = config.new_state("minimize")
    for number, (seed, value) in enumerate(zip(seeds, (1.0, 2.0), strict=True)):
        state.started(FrozenTrial(number, {}, TrialState.RUNNING, seed=seed))
        assert [state.report(number, step, 5.0) for step in (1, 3, 8)] == [False] * 3
        assert state.report(number, 9, value) is bool(number)  # the second is beaten
    last = next(s for s in range(100) if config.bracket(s) == 3)  # no rung: trains to 27
    state.started(FrozenTrial(2, {}, TrialState.RUNNING, seed=last))
    assert not any(state.report(2, step, 9.0) for step in range(1, 28))


def agreeing(state, reverse: bool, n: int = 12):
    """n trials with values at rung 1 and rung 3 (by hand: every one reaches both); the rung-3
    order equals the rung-1 order, or is its reverse."""
    for number in range(n):
        state._rungs.add(0, 0, number, float(number))
        state._rungs.add(0, 1, number, float(n - number if reverse else number))


def test_a_rung_whose_ranking_does_not_carry_over_stops_judging():
    state = asha(trials=20)
    agreeing(state, reverse=True)  # rung 1 ranks the trials against rung 3's order
    assert not state.judges(0) and state.judges(1)  # rung 3: no pairs with rung 9 yet
    assert state.report(13, 1, 99.0) is False  # the worst at rung 1 goes on all the same
    ordered = asha(trials=20)
    agreeing(ordered, reverse=False)
    assert ordered.judges(0)
    assert ordered.report(13, 1, 99.0) is True  # the same value is paused where rung 1 agrees
    told(ordered, 13, {1: 99.0})
    assert Hyperband(max_resource=27, brackets=1, min_rank_correlation=None).new_state(
        "minimize").judges(0)


def test_trials_paused_at_a_rung_that_stops_judging_are_promoted():
    state = asha(trials=30)
    paused_at_rung_one(state, {20: 0.0, 21: 50.0, 22: 60.0})  # 20 goes on, 21 and 22 wait
    assert state.next(2, new_allowed=False) == []
    agreeing(state, reverse=True, n=12)  # trials 0-11: rung 1 disagrees with rung 3
    assert state.next(3, new_allowed=False) == [Resume(21), Resume(22)]
    assert state.hopeless(0) == []


def test_few_pairs_leave_a_rung_judging():
    state = asha(trials=30)
    agreeing(state, reverse=True, n=9)  # 9 < MIN_PAIRS pairs
    assert state.judges(0)
    assert MIN_PAIRS == 10


def test_bad_rank_correlation_is_refused():
    for bad in (1.5, -2, "0.5", True):
        with pytest.raises(ValueError, match="min_rank_correlation"):
            Hyperband(max_resource=9, min_rank_correlation=bad)
    assert make_pruner({"kind": "hyperband", "max_resource": 9,
                        "min_rank_correlation": 0.3}).min_rank_correlation == 0.3


def test_brackets_none_is_settled_by_the_strategy():
    config = Hyperband(max_resource=27)
    assert config.for_strategy(learns_from_steps=True).brackets == 4  # levels 1, 3, 9
    assert config.for_strategy(learns_from_steps=False).brackets == 1
    two = Hyperband(max_resource=27, brackets=2)
    assert two.for_strategy(True) is two and two.for_strategy(False) is two
    space = {"x": hp.Float(0.0, 1.0)}
    assert hp.Study(space, strategy="random", pruner=config).pruner.brackets == 1
    assert hp.Study(space, strategy="gp", pruner=config).pruner.brackets == 4
    assert hp.Study(space, strategy="tpe", pruner=config).pruner.brackets == 4
    assert hp.Study(space, strategy="random", pruner=two).pruner.brackets == 2
