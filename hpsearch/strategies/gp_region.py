"""The `gp` strategy's trust region (`trust_region`, on by default): TuRBO-1's box around the
incumbent.

Eriksson et al. 2019 ("Scalable global optimization via local Bayesian optimization"): the
acquisition is maximised only inside a box centred on the best point, with side `length` in
the unit cube split over the dimensions by the GP's length scales (a dimension the model finds
smooth gets a wider side; the sides' geometric mean is `length`). After each ask the box learns
from the values told since the last one: an improvement of the best value counts a success,
anything else a failure; `SUCCESSES` in a row double the side (up to `MAX_LENGTH`), `failures`
in a row (max(4, d)) halve it, and below `MIN_LENGTH` it starts again at `INITIAL_LENGTH`
(the model keeps every trial, so a restart re-centres on the same incumbent with a wide box).
The box lives in the strategy: a resumed study, whose trials are told again at once, starts
from `INITIAL_LENGTH` and one comparison of all of them.

Notation: d continuous model columns (floats and relaxed integers; categorical columns are
never boxed); center (D,) the incumbent's model row; lengthscales (D,); returns (low, high)
(D,) arrays within [0, 1], the full interval for the columns outside the box.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TrustRegion", "evidence_box"]

INITIAL_LENGTH = 0.8
MIN_LENGTH = 0.5 ** 7
MAX_LENGTH = 1.6
SUCCESSES = 3


def evidence_box(ranked: np.ndarray, box: tuple[np.ndarray, np.ndarray] | None, margin: float,
                 continuous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the acquisition's gradient step may move (`gp`'s `evidence_margin`): the span of
    the best quarter (at least 5) of `ranked` (n, D) configuration rows, best first, widened by
    `margin` on each side, within `box` (None: the unit cube); continuous columns only."""
    best = ranked[: max(5, len(ranked) // 4)]
    low = np.zeros(best.shape[1]) if box is None else box[0].copy()
    high = np.ones(best.shape[1]) if box is None else box[1].copy()
    c = continuous
    low[c] = np.minimum(np.maximum(low[c], best[:, c].min(0) - margin), high[c])
    high[c] = np.maximum(np.minimum(high[c], best[:, c].max(0) + margin), low[c])
    return low, high


class TrustRegion:
    """See the module docstring: `update(values)` at each ask with every told value so far,
    `box(center, lengthscales, continuous)` for the ask's bounds."""

    def __init__(self, n_continuous: int) -> None:
        self.length = INITIAL_LENGTH
        self.failures_to_shrink = max(4, n_continuous)
        self.successes = self.failures = 0
        self.best = math.inf
        self.seen = 0

    def update(self, values: list[float]) -> None:
        """Learn from the values (to minimise; NaN failed) told since the last call."""
        new = [v for v in values[self.seen:] if math.isfinite(v)]
        self.seen = len(values)
        if not new:
            return
        best = min(new)
        if math.isfinite(self.best) and best < self.best - 1e-3 * abs(self.best):
            self.successes, self.failures = self.successes + 1, 0
        elif math.isfinite(self.best):
            self.successes, self.failures = 0, self.failures + 1
        self.best = min(self.best, best)
        if self.successes >= SUCCESSES:
            self.length, self.successes = min(2.0 * self.length, MAX_LENGTH), 0
        elif self.failures >= self.failures_to_shrink:
            self.length, self.failures = self.length / 2.0, 0
            if self.length < MIN_LENGTH:
                self.length = INITIAL_LENGTH

    def box(self, center: np.ndarray, lengthscales: np.ndarray, continuous: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
        low, high = np.zeros(len(center)), np.ones(len(center))
        if len(continuous) == 0:
            return low, high
        ls = lengthscales[continuous]
        weights = ls / math.exp(float(np.mean(np.log(ls))))
        half = 0.5 * self.length * weights
        low[continuous] = np.clip(center[continuous] - half, 0.0, 1.0)
        high[continuous] = np.clip(center[continuous] + half, 0.0, 1.0)
        return low, high
