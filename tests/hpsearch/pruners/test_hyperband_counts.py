"""hp.Hyperband's counts kept as trials move (running, paused, promoted, finished) give the
same `hopeless` answers as the definition in the module docstring, recounted from every
trial's place, over long random runs in both directions and with one or every bracket."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hpsearch.pruners.hyperband import Hyperband, HyperbandState
from hpsearch.pruners.scheduler import Resume
from hpsearch.trial import FrozenTrial, TrialState


def recounted_hopeless(state: HyperbandState, remaining: int | None) -> list[int]:
    """The module docstring's rule, from a scan of every trial: a paused trial at a rung that
    judges is hopeless when m >= max(1, (n + arrivals) // eta), arrivals being `remaining`
    plus the live trials that can still reach its rung (running at or below it, paused below
    it)."""
    if remaining is None:
        return []
    eta = state.config.reduction_factor
    paused = state.paused()
    running = {number: (track.bracket, track.target) for number, track in state._tracks.items()
               if track.alive and number not in paused}
    out = []
    for number, (bracket, rung) in paused.items():
        if not state.judges(rung):
            continue
        arrivals = remaining + sum(b == bracket and target <= rung
                                   for b, target in running.values())
        arrivals += sum(b == bracket and below < rung for b, below in paused.values())
        n = len(state._rungs.at(bracket, rung))
        if state.behind(bracket, rung, number) >= max(1, (n + arrivals) // eta):
            out.append(number)
    return sorted(out)


def record(number: int, state: TrialState, reports: dict[int, float]) -> FrozenTrial:
    return FrozenTrial(number, {}, state, seed=number, intermediate=dict(reports))


@pytest.mark.parametrize(("direction", "brackets", "seed"),
                         [("minimize", 1, 0), ("maximize", 1, 1), ("minimize", None, 2),
                          ("maximize", None, 3), ("minimize", 2, 4)])
def test_hopeless_matches_the_rule_recounted_from_every_trial(direction, brackets, seed):
    rng = np.random.default_rng(seed)
    state = Hyperband(min_resource=1, max_resource=27, reduction_factor=3,
                      brackets=brackets).new_state(direction)
    reports: dict[int, dict[int, float]] = {}
    states: dict[int, TrialState] = {}  # as the study records them
    running: set[int] = set()
    next_number, checked, nonempty = 0, 0, 0

    def start(number: int) -> None:
        state.started(record(number, TrialState.RUNNING, reports.setdefault(number, {})))
        running.add(number)
        states[number] = TrialState.RUNNING

    for _ in range(800):
        if len(running) < 3:
            start(next_number)
            next_number += 1
        number = int(rng.choice(sorted(running)))
        step = max(reports[number], default=0) + int(rng.integers(1, 4))
        value = math.nan if rng.random() < 0.01 else float(rng.normal())
        reports[number][step] = value
        stop = state.report(number, step, value)
        if stop or step >= 27 or rng.random() < 0.02:
            running.discard(number)
            if stop:
                paused = state.stopped(record(number, TrialState.PRUNED, reports[number]))
                states[number] = TrialState.PAUSED if paused else TrialState.PRUNED
            else:
                state.finished(record(number, TrialState.COMPLETE, reports[number]))
                states[number] = TrialState.COMPLETE
        for action in state.next(int(rng.integers(1, 3)), new_allowed=rng.random() < 0.7):
            if isinstance(action, Resume):
                start(action.number)
        for remaining in (None, 0, 1, int(rng.integers(0, 40))):
            expected = recounted_hopeless(state, remaining)
            assert state.hopeless(remaining) == expected
            checked += 1
            nonempty += bool(expected)
        if rng.random() < 0.05:  # the study prunes what is hopeless with a few trials to go
            for gone in state.hopeless(int(rng.integers(0, 5))):
                state.finished(record(gone, TrialState.PRUNED, reports[gone]))
                states[gone] = TrialState.PRUNED
    rebuilt = state.config.new_state(direction)  # a resumed study: from the records alone
    rebuilt.restore([record(n, states[n], reports[n]) for n in states])
    for remaining in (0, 1, 3, 10, 40):
        assert rebuilt.hopeless(remaining) == recounted_hopeless(rebuilt, remaining)
    assert checked == 3200 and nonempty > 100  # the rule was exercised, both ways
