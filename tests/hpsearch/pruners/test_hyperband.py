"""hp.Hyperband: rungs, brackets, pausing and promotion order, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.pruners import make_pruner
from hpsearch.pruners.hyperband import Hyperband
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
    assert state.report(0, 1, 5.0) is True  # alone at rung 1: floor(1/3) = 0 go on
    assert told(state, 0, {1: 5.0}) is True  # paused
    assert state.report(1, 1, 3.0) is True and told(state, 1, {1: 3.0})
    assert state.report(2, 1, 4.0) is True and told(state, 2, {1: 4.0})  # 3.0 is ahead
    assert state.paused() == {0: (0, 0), 1: (0, 0), 2: (0, 0)}
    # three values at rung 1: the best (trial 1) may go on, and is promoted first
    assert state.next(2, new_allowed=False) == [Resume(1)]
    assert state.next(2, new_allowed=True) == [Fresh(), Fresh()]
    # trial 3 reaches rung 1 as the best of four: it goes on at once, then pauses at rung 3
    assert state.report(3, 1, 1.0) is False
    assert state.report(3, 2, 1.5) is False
    assert state.report(3, 3, 2.0) is True and told(state, 3, {1: 1.0, 2: 1.5, 3: 2.0})
    state.started(FrozenTrial(1, {}, TrialState.RUNNING, seed=1))  # the promoted trial 1
    assert state.report(1, 2, 2.8) is False  # between the rungs
    assert state.report(1, 3, 2.5) is True and told(state, 1, {1: 3.0, 2: 2.8, 3: 2.5})
    assert state.paused() == {0: (0, 0), 1: (0, 1), 2: (0, 0), 3: (0, 1)}
    assert state.next(3, new_allowed=False) == []  # 2 values at rung 3, 4 at rung 1: none


def test_promotions_go_highest_rung_first_then_best_value_first():
    state = asha("maximize", trials=15)
    values = {0: 0.1, 1: 0.2, 2: 0.3, 3: 0.0, 4: 0.05, 5: 0.4,
              **{6 + k: 0.001 * (k + 1) for k in range(9)}}
    on_at_once = {2, 5}  # the best of 3, then of 6 values at rung 1
    for number, value in values.items():
        assert state.report(number, 1, value) is (number not in on_at_once)
        if number not in on_at_once:
            told(state, number, {1: value})
    assert state.report(2, 3, 0.8) is True and told(state, 2, {1: 0.3, 3: 0.8})
    assert state.report(5, 3, 0.9) is True and told(state, 5, {1: 0.4, 3: 0.9})
    # rung 1: 15 values, top 5 = trials 5, 2 (gone on), 1, 0, 4; rung 3: 2 values, top 0
    assert state.next(1, new_allowed=False) == [Resume(1)]
    state.started(FrozenTrial(1, {}, TrialState.RUNNING, seed=1))
    assert state.report(1, 3, 0.7) is True and told(state, 1, {1: 0.2, 3: 0.7})
    # rung 3 now holds 0.9, 0.8, 0.7: its top 1 (trial 5) goes first, then rung 1's best
    assert state.next(4, new_allowed=False) == [Resume(5), Resume(0), Resume(4)]
    assert state.next(4, new_allowed=False) == []


def test_a_non_finite_value_is_pruned_for_good():
    state = asha()
    assert state.report(0, 1, float("nan")) is True
    assert told(state, 0, {1: float("nan")}) is False
    assert state.paused() == {}


def test_a_trial_that_stops_on_its_own_is_pruned():
    state = asha()
    assert state.report(0, 2, 1.0) is True  # rung 1 passed at step 2: paused there
    assert told(state, 0, {2: 1.0}) is True
    state.started(FrozenTrial(1, {}, TrialState.RUNNING, seed=1))
    assert state.report(1, 0, 1.0) is False  # below the first rung
    assert told(state, 1, {0: 1.0}) is False  # stopped without being told to: pruned


def test_hopeless_trials_with_no_new_trials_to_come():
    state = asha(trials=4)
    for number, value in [(0, 5.0), (1, 3.0), (2, 4.0)]:
        state.report(number, 1, value)
        told(state, number, {1: value})
    assert state.next(1, new_allowed=False) == [Resume(1)]
    state.report(3, 1, 1.0)  # on at once
    state.report(3, 3, 2.0)
    told(state, 3, {1: 1.0, 3: 2.0})
    state.started(FrozenTrial(1, {}, TrialState.RUNNING, seed=1))
    state.report(1, 3, 2.5)
    told(state, 1, {1: 3.0, 3: 2.5})
    # rung 1 holds 5, 3, 4, 1 (n=4, top 1): trials 0 and 2 have 3 and 2 ahead of them;
    # rung 3 holds 2.0 (trial 3) and 2.5 (trial 1): with the 2 paused below it could reach
    # 4 values, top 1: trial 1 (1 ahead) is hopeless, trial 3 is not
    assert state.hopeless(0) == [0, 1, 2]
    assert state.hopeless(None) == []
    assert state.hopeless(10) == []  # (4 + 10) // 3 = 4 > 3 ahead
    for number in (4, 5):  # two more running below rung 3: (2 + 2 + 2) // 3 = 2 > 1 ahead
        state.started(FrozenTrial(number, {}, TrialState.RUNNING, seed=number))
    assert state.hopeless(0) == [0, 2]  # and at rung 1: (4 + 2) // 3 = 2 <= 2 or 3 ahead


def test_restore_rebuilds_the_same_state_from_the_records():
    state = asha(trials=3)
    for number, value in [(0, 5.0), (1, 3.0), (2, 4.0)]:
        state.report(number, 1, value)
        told(state, number, {1: value})
    state.next(1, new_allowed=False)  # trial 1 promoted, running
    records = [FrozenTrial(0, {}, TrialState.PAUSED, seed=0, intermediate={1: 5.0}),
               FrozenTrial(1, {}, TrialState.INTERRUPTED, seed=1, intermediate={1: 3.0}),
               FrozenTrial(2, {}, TrialState.PAUSED, seed=2, intermediate={1: 4.0})]
    rebuilt = Hyperband(min_resource=1, max_resource=27, brackets=1).new_state("minimize")
    rebuilt.restore(records)
    assert rebuilt.paused() == state.paused() == {0: (0, 0), 2: (0, 0)}
    rebuilt.started(records[1])
    state.started(records[1])
    for s in (state, rebuilt):  # trial 1 goes on to rung 3 in both
        assert s.report(1, 2, 3.1) is False and s.report(1, 3, 3.0) is True
    assert rebuilt.hopeless(0) == state.hopeless(0)


def test_a_later_bracket_starts_at_a_later_rung():
    config = Hyperband(min_resource=1, max_resource=27, reduction_factor=3)
    seed = next(s for s in range(100) if config.bracket(s) == 2)  # rungs at 9 only
    state = config.new_state("minimize")
    state.started(FrozenTrial(0, {}, TrialState.RUNNING, seed=seed))
    assert [state.report(0, step, 1.0) for step in (1, 3, 8)] == [False] * 3
    assert state.report(0, 9, 1.0) is True
    last = next(s for s in range(100) if config.bracket(s) == 3)  # no rung: trains to 27
    state.started(FrozenTrial(1, {}, TrialState.RUNNING, seed=last))
    assert not any(state.report(1, step, 9.0) for step in range(1, 28))


def test_once_no_trial_can_arrive_the_best_paused_trial_of_a_rung_goes_on():
    """The end of a budget: a rung with fewer than reduction_factor values still promotes its
    best trial once no new trial starts and none below can reach it, so some trial finishes."""
    state = asha(trials=3)
    for number, value in [(0, 5.0), (1, 3.0), (2, 4.0)]:
        assert state.report(number, 1, value) is True and told(state, number, {1: value})
    assert state.next(3, new_allowed=False) == [Resume(1)]
    state.started(FrozenTrial(1, {}, TrialState.RUNNING, seed=1))
    assert state.report(1, 3, 2.5) is True and told(state, 1, {1: 3.0, 3: 2.5})
    # alone at rung 3, but trials 0 and 2 (paused at rung 1) could still get there
    assert state.next(1, new_allowed=False) == []
    assert state.hopeless(0) == [0, 2]  # beaten at a rung nothing more can reach
    for number in (0, 2):
        state.finished(FrozenTrial(number, {}, TrialState.PRUNED, seed=number))
    assert state.hopeless(0) == []  # the best at its rung is never hopeless
    assert state.next(1, new_allowed=True) == [Fresh()]  # new trials may still come: it waits
    assert state.next(1, new_allowed=False) == [Resume(1)]
