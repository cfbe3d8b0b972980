"""BOHB's rule for `strategy="tpe"` with a pruner or scheduler: which step the density model
is fitted on.

Falkner et al. 2018 (BOHB): the TPE model is fitted on the values of one budget only, the
highest budget that at least `min_trials` configurations have reached (d + 2 for d
dimensions, BOHB's N_min), never on a mixture of steps where an epoch-3 value and a finished
network's value would be compared as equals. Until a step has that many, the step reached by
the most trials (the lowest, usually) is used.

Contract: `BudgetValues(max_step)`; `add(number, params, intermediate, final)` records a trial
told (paused, pruned, complete or failed; told again, the later record replaces the earlier):
its finite reports {step: value}, and for a complete trial its final value at the step of a
full training (`max_step` when the scheduler knows it, else the trial's last step);
`budget(min_trials) -> step | None` the step to fit on (None: no values yet);
`at(step) -> {number: (params, value)}` the trials with a value at that step.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

__all__ = ["BudgetValues", "min_trials_for"]


def min_trials_for(n_dimensions: int) -> int:
    """BOHB's N_min: d + 2 trials at a step before the model is fitted on it."""
    return n_dimensions + 2


class BudgetValues:
    """See the module docstring."""

    def __init__(self, max_step: int | None) -> None:
        self.max_step = max_step
        self._curves: dict[int, dict[int, float]] = {}
        self._params: dict[int, dict[str, Any]] = {}
        self._counts: Counter[int] = Counter()

    def add(self, number: int, params: Mapping[str, Any], intermediate: Mapping[int, float],
            final: float | None) -> None:
        curve = {int(s): float(v) for s, v in intermediate.items() if math.isfinite(v)}
        if final is not None and math.isfinite(final):
            last = max(curve, default=1)
            curve[max(last, self.max_step or last)] = float(final)
        self._counts.subtract(self._curves.get(number, {}).keys())
        self._counts.update(curve.keys())
        self._curves[number] = curve
        self._params[number] = dict(params)

    def budget(self, min_trials: int) -> int | None:
        counts = {step: c for step, c in self._counts.items() if c > 0}
        if not counts:
            return None
        enough = [step for step, c in counts.items() if c >= min_trials]
        if enough:
            return max(enough)
        most = max(counts.values())
        return min(step for step, c in counts.items() if c == most)

    def at(self, step: int) -> dict[int, tuple[dict[str, Any], float]]:
        return {number: (self._params[number], curve[step])
                for number, curve in self._curves.items() if step in curve}
