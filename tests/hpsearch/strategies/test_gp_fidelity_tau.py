"""`FidelityPoints.correlations`, kept step by step as trials are told (and told again,
paused, promoted, failed, with the resource growing), equals Kendall's tau recomputed from
every point at each call."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import kendalltau

from hpsearch.strategies.gp_fidelity import FidelityPoints, rung_steps


def recomputed(points: FidelityPoints) -> dict[int, tuple[float, int]]:
    """The module docstring's estimate from scratch: per rung-like step k below R, tau of
    (value at k, final value) over the trials with both (>= 3 pairs), in the order told."""
    X, y = points.design()
    finals: dict[int, float] = {}
    at: dict[int, list[tuple[int, float]]] = {}
    top = math.log(points.resource) if points.resource > 1 else 1.0
    rungs = rung_steps(points.resource)[:-1]
    # design() keeps the points in the order they were added; read the step back from s
    for (number, step), i in sorted(points._where.items(), key=lambda item: item[1]):
        if step == math.inf:
            if math.isfinite(y[i]):
                finals[number] = float(y[i])
        elif int(step) in rungs:
            assert X[i, -1] == min(math.log(step) / top, 1.0)
            at.setdefault(int(step), []).append((number, float(y[i])))
    out = {}
    for step in sorted(at):
        pairs = [(v, finals[n]) for n, v in at[step] if n in finals]
        if len(pairs) >= 3:
            tau = kendalltau(*np.array(pairs).T).statistic
            out[step] = (float(tau) if math.isfinite(tau) else 0.0, len(pairs))
    return out


def test_correlations_kept_across_tells_equal_a_recount_from_every_point():
    rng = np.random.default_rng(0)
    for max_step in (27, None):
        points = FidelityPoints(max_step=max_step)
        reports: dict[int, dict[int, float]] = {}
        changed = 0
        for _ in range(200):
            number = int(rng.integers(0, 60))
            row = np.array([number / 60.0])
            last = max(reports.get(number, {}), default=0)
            upto = min(last + int(rng.integers(1, 12)), 27)
            slope = rng.normal()
            for step in range(last + 1, upto + 1):
                reports.setdefault(number, {})[step] = slope * math.log(step) + rng.normal(0, .3)
            draw = rng.random()
            if draw < 0.4:  # complete (its final value may differ from a first telling)
                value = float(rng.normal())
            elif draw < 0.45:
                value = math.nan  # failed
            else:
                value = None  # paused or pruned: the reports only
            version = points.version
            points.add(number, row, value, reports.get(number, {}))
            changed += points.version != version
            assert points.correlations() == recomputed(points)
        assert len(points.correlations()) >= 2 and changed > 0  # several steps, and re-tells
