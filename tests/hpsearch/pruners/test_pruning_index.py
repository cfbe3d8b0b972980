"""The pruners' incremental rule (the service's index) decides as a scan of every trial does:
random studies with running, pruned, failed and complete trials, against the rules written
out plainly here (the median of the complete trials' values at the step; ASHA's sorted rung)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.pruners.base import better, previous_step
from hpsearch.pruners.index import value_at
from hpsearch.pruners.service import PruningService
from hpsearch.trial import FrozenTrial, TrialState


def median_by_scan(pruner, step, value, intermediate, history, direction):
    if step < pruner.n_warmup_steps:
        return False
    complete = [t for t in history if t.state is TrialState.COMPLETE]
    if len(complete) < pruner.n_startup_trials:
        return False
    others = [t.intermediate[step] for t in complete if step in t.intermediate]
    others = [v for v in others if math.isfinite(v)]
    if len(others) < pruner.n_min_trials:
        return False
    own = [v for s, v in intermediate.items() if s <= step and math.isfinite(v)]
    if not math.isfinite(value) or not own:
        return True
    best = min(own) if direction == "minimize" else max(own)
    return better(statistics.median(others), best, direction)


def asha_by_scan(pruner, step, value, intermediate, history, direction):
    previous = previous_step(intermediate, step)
    for rung in pruner.rungs(step):
        if previous is not None and previous >= rung:
            continue
        if not math.isfinite(value):
            return True
        recorded = [v for v in (value_at(t.intermediate, rung) for t in history)
                    if v is not None and math.isfinite(v)]
        recorded.append(value)
        recorded.sort(reverse=direction == "maximize")
        top = max(len(recorded) // pruner.reduction_factor, 1)
        if better(recorded[top - 1], value, direction):
            return True
    return False


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
@pytest.mark.parametrize("pruner, scan", [
    (hp.MedianPruner(n_startup_trials=3, n_min_trials=2), median_by_scan),
    (hp.ASHAPruner(min_resource=1, reduction_factor=2), asha_by_scan),
    (hp.ASHAPruner(min_resource=2, reduction_factor=3, max_resource=20), asha_by_scan),
])
@pytest.mark.parametrize("seed", range(4))
def test_the_service_decides_as_the_scan(pruner, scan, direction, seed):
    rng = np.random.default_rng(seed)
    history: list[FrozenTrial] = []
    service = PruningService(pruner, direction, lambda: history)
    running: dict[int, dict[int, float]] = {}
    next_number, decisions = 0, 0
    for _ in range(400):
        if len(running) < 3 or rng.random() < 0.2:
            running[next_number] = {}
            next_number += 1
        number = int(rng.choice(list(running)))
        reports = running[number]
        step = max(reports, default=-1) + int(rng.integers(1, 3))
        if reports and rng.random() < 0.1:
            step = max(reports)  # the same step again
        value = float(np.round(rng.normal(), 1)) if rng.random() > 0.03 else math.nan
        expected_reports = {**reports, step: value}
        others = history + [FrozenTrial(n, {}, TrialState.RUNNING, 0, intermediate=dict(r))
                            for n, r in running.items() if n != number]
        expected = scan(pruner, step, value, expected_reports, others, direction)
        assert service.report(number, step, value) == expected
        decisions += 1
        reports[step] = value
        if expected or step >= 12 or rng.random() < 0.1:
            state = (TrialState.PRUNED if expected else
                     TrialState.FAILED if rng.random() < 0.1 else TrialState.COMPLETE)
            del running[number]
            history.append(FrozenTrial(number, {}, state, 0, intermediate=dict(reports),
                                       value=value))
            service.forget(number)
    assert decisions == 400


def test_a_finished_trial_s_reports_are_not_kept_by_the_service():
    history: list[FrozenTrial] = []
    service = PruningService(hp.ASHAPruner(), "minimize", lambda: history)
    for step in range(5):
        service.report(0, step, 1.0)
    history.append(FrozenTrial(0, {}, TrialState.COMPLETE, 0, value=1.0,
                               intermediate={s: 1.0 for s in range(5)}))
    service.forget(0)
    service.report(1, 0, 2.0)  # catches up with the history
    assert service.intermediate(0) == {}
    assert 0 not in service._index.running
