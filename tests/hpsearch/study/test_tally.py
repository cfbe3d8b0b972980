"""The running tally (hpsearch.study.tally) equals the scans it replaces."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.study.best import best_trial
from hpsearch.study.stopping import trials_since_improvement
from hpsearch.study.tally import Tally
from hpsearch.trial import FrozenTrial, TrialState


def random_trials(seed: int, n: int = 300) -> list[FrozenTrial]:
    rng = np.random.default_rng(seed)
    states = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED]
    trials, clock = [], 0.0
    for number in range(n):
        state = states[int(rng.choice(3, p=[0.7, 0.2, 0.1]))]
        clock += float(rng.random())
        # Now and then a trial is told after one that finished later (parallel workers).
        finished_at = clock - (2.5 if rng.random() < 0.05 else 0.0)
        value = None if state is TrialState.FAILED else float(np.round(rng.normal(), 1))
        trials.append(FrozenTrial(number, {}, state, 0, value=value, finished_at=finished_at))
    return trials


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
@pytest.mark.parametrize("seed", range(3))
def test_the_tally_equals_the_scans_after_every_trial(direction, seed):
    trials = random_trials(seed)
    tally = Tally(direction)
    for count, trial in enumerate(trials, start=1):
        tally.add(trial)
        seen = trials[:count]
        for min_delta in (0.0, 0.25):
            assert tally.since_improvement(min_delta) == trials_since_improvement(
                seen, direction, min_delta)
        complete = [t for t in seen if t.state is TrialState.COMPLETE]
        assert tally.best is (best_trial(seen, direction) if complete else None)
        assert tally.counts[TrialState.FAILED] == sum(t.state is TrialState.FAILED for t in seen)


def test_no_improvement_stop_on_a_study_counts_trials_told_since_its_last_call():
    study = hp.Study({"x": hp.Float(0.0, 1.0)}, strategy="random", seed=0)
    values = iter([0.5, 0.4, 0.6, 0.7, 0.8, 0.45])
    stop = hp.NoImprovementStop(3)
    study.optimize(lambda params: next(values), n_trials=6, callbacks=[stop])
    assert study.stop_reason == "no improvement in the last 3 finished trials"
    assert study.n_finished == 5


class _Reloading:
    """A study's finished trials, with a list that a reload replaces."""

    directions, readonly = ("minimize",), False

    def __init__(self, trials):
        self.finished = list(trials)

    def finished_trials(self, start=0):
        return self.finished[start:]


def test_the_tally_starts_again_when_the_study_re_reads_its_storage():
    from hpsearch.study.tally import Tally

    trials = random_trials(5, 40)
    study = _Reloading(trials[:30])
    tally = Tally("minimize")
    assert tally.update(study.finished_trials).counts.total() == 30
    study.finished = [dataclasses.replace(t) for t in trials]  # re-read: new objects, one more
    tally.update(study.finished_trials)
    assert tally.counts.total() == 40 and tally.best is not None
    assert tally.since_improvement() == trials_since_improvement(trials, "minimize")
