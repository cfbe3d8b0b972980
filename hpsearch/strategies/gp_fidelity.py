"""The `gp` strategy's multi-fidelity data: a trial's reports as points of configuration x step.

Used when the study has a pruner or scheduler (`Strategy.use_steps`). The model's input is
the configuration's encoded row (D,) plus one column, the resource
s = log(step) / log(R) in [0, 1] (R = `max_step`, the scheduler's max_resource, or while it
is unknown the largest step any trial reported so far, a complete trial's last step being a
full training's length): a GP over (x, s), as in MOBSTER (Klein et al.
2020), whose acquisition is read at s = 1, the value of a full training.

Which points a trial gives (at most ~log3(R) + 2 of them): its reports at the rung-like steps
1, 3, 9, 27, ... (powers of `RUNG_BASE`) below its last step, and its last report. A complete
trial's value is its final one, at s = 1 whatever its last step; a pruned or paused trial's
last report sits at its last step (s < 1 unless it reached R): an epoch-3 value is never
read as a final score. A failed trial (or a pruned one with no finite report) gives one point
at s = 1 with value NaN (the strategy's `failed` option decides what that means).

How far early steps can be trusted (HyperTune, Li et al. 2022): for each rung-like step k,
Kendall's tau between the values at k and the final values of the trials that have both
(`correlations()`, `hpsearch.pruners.index.FinalAgreement`). Once `MIN_PAIRS` trials have
both, a step whose tau is below `MIN_TAU` is left out of the model (its points say too little
about the final ranking, and a stationary kernel would still let them pull the prediction at
s = 1); the steps above it stay. The estimate is re-read at every ask, so a step comes back
when its correlation recovers. The bar is the one a rung of the schedulers must clear to
judge (`hpsearch.pruners.index.MIN_PAIRS` and `RANK_CORRELATION`): one notion of a step
whose ranking carries over, for what the model reads and for what the rules stop.

Told again (a paused trial promoted and finished, or pruned by the study), a trial's points
are replaced by the new ones: points already held at the same step are kept, the others
added, so the point list only grows (`ModelTrials` keeps its factor across asks) unless a
point's value changes or R grows, in which case `version` changes and the caller starts its
model afresh.

Notation: N points; `design()` -> X (N, D + 1), values (N,) to minimise; `finals` the final
values (s = 1) in the order told, for the trust region.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from hpsearch.gp.model import GaussianProcess, predict
from hpsearch.pruners.index import MIN_PAIRS, RANK_CORRELATION, FinalAgreement
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["FidelityPoints", "MIN_PAIRS", "MIN_TAU", "RUNG_BASE", "at_full", "final_incumbent",
           "rung_steps"]

RUNG_BASE = 3
MIN_TAU = RANK_CORRELATION  # below this, step k's ranking says too little about the final one


def rung_steps(last: int) -> list[int]:
    """The steps a trial that reported up to `last` gives the model: powers of `RUNG_BASE`
    below it, and `last` itself."""
    out, step = [], 1
    while step < last:
        out.append(step)
        step *= RUNG_BASE
    return [*out, last]


def at_full(X: np.ndarray) -> np.ndarray:
    """Configuration rows (k, D) as model rows (k, D + 1) at a full training (s = 1)."""
    return np.column_stack([X, np.ones(len(X))])


def final_incumbent(gp: GaussianProcess, width: int, noisy: bool) -> tuple[np.ndarray, float]:
    """The incumbent of a model over (configuration, s): the configuration row (width,) with
    the best final value and that (warped) value; before any final value, or when the values
    are noisy, the configuration of the model's rows whose posterior mean at s = 1 is lowest,
    and that mean."""
    final = gp.X[:, -1] >= 1.0
    if final.any() and not noisy:
        index = np.flatnonzero(final)
        best = int(index[np.argmin(gp.y[index])])
        return gp.X[best, :width], float(gp.y[best])
    mean, _ = predict(gp, at_full(gp.X[:, :width]))
    best = int(np.argmin(mean))
    return gp.X[best, :width], float(mean[best])


class FidelityPoints:
    """See the module docstring."""

    def __init__(self, max_step: int | None) -> None:
        self.max_step = max_step
        self.rows: list[np.ndarray] = []  # the configuration row of each point
        self.steps: list[float] = []  # math.inf for a final value (s = 1)
        self.values: list[float] = []
        self.finals: list[float] = []  # final values as told, for the trust region
        self._where: dict[tuple[int, float], int] = {}  # (trial, step) -> point index
        self._points_of: dict[int, list[int]] = {}  # trial -> its point indices
        # The points as arrays for `design`, grown by the new points only: rows (n, D),
        # steps (n,), values (n,); `_changed` lists the points whose value changed since.
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._changed: list[int] = []
        self._agreement = FinalAgreement()  # the complete trials' values at steps vs final
        self.version = 0
        self._largest = 1

    def add_trial(self, trial: FrozenTrial, row: np.ndarray, sign: float) -> None:
        """A told trial's points (`add`), its user-facing values turned to values to minimise
        by `sign`: complete gives its value (NaN when it has none), failed NaN, pruned and
        paused their reports only."""
        value: float | None = None
        if trial.state is TrialState.COMPLETE:
            value = sign * float(trial.value) if trial.has_value else math.nan
        elif trial.state is TrialState.FAILED:
            value = math.nan
        self.add(trial.number, row, value,
                 {s: sign * float(v) for s, v in trial.intermediate.items()})

    def add(self, number: int, row: np.ndarray, value: float | None,
            intermediate: Mapping[int, float]) -> None:
        """A trial's points. `value`: its final value to minimise (complete: the value;
        failed: NaN) or None for a pruned or paused trial, which `intermediate` (already to
        minimise) describes; a pruned trial without a finite report counts as failed."""
        reports = {int(s): float(v) for s, v in intermediate.items() if math.isfinite(v)}
        points: dict[float, float] = {}
        if value is not None or not reports:
            points[math.inf] = math.nan if value is None else float(value)
            if value is not None and math.isfinite(value):
                self.finals.append(float(value))
        if reports:
            last = max(reports)
            self._largest = max(self._largest, last)
            for step in rung_steps(last):
                if step in reports and (value is None or step < last):
                    points[float(step)] = reports[step]
        for step, v in points.items():
            key = (number, step)
            if key in self._where:
                i = self._where[key]
                if not (self.values[i] == v or (math.isnan(v) and math.isnan(self.values[i]))):
                    self.values[i] = v
                    self._changed.append(i)
                    self.version += 1
                continue
            self._where[key] = len(self.rows)
            self._points_of.setdefault(number, []).append(len(self.rows))
            self.rows.append(row)
            self.steps.append(step)
            self.values.append(v)
        final = self._where.get((number, math.inf))
        if final is not None:  # the trial's points at steps against its final value
            self._agreement.add(number, {int(self.steps[i]): self.values[i]
                                         for i in self._points_of[number]
                                         if math.isfinite(self.steps[i])}, self.values[final])

    @property
    def resource(self) -> int:
        """R: the scheduler's max_resource, or the largest step any trial reported."""
        return self.max_step if self.max_step is not None else self._largest

    def correlations(self) -> dict[int, tuple[float, int]]:
        """{step k: (Kendall's tau of the values at k with the final values, pairs)} for the
        rung-like steps with at least 3 pairs (`hpsearch.pruners.index.FinalAgreement`: a tau
        is computed again only when its step gained pairs)."""
        out = {}
        for step in sorted(self._rungs()):
            tau, pairs = self._agreement.agreement(int(step))
            if pairs >= 3:
                out[int(step)] = (tau, pairs)
        return out

    def _rungs(self) -> set[float]:
        return {float(s) for s in rung_steps(self.resource)[:-1]}

    def untrusted(self) -> frozenset[int]:
        """The steps left out of the model: tau below `MIN_TAU` over `MIN_PAIRS` pairs."""
        return frozenset(step for step, (tau, pairs) in self.correlations().items()
                         if pairs >= MIN_PAIRS and tau < MIN_TAU)

    def design(self, leave_out: frozenset[int] = frozenset()
               ) -> tuple[np.ndarray, np.ndarray]:
        """X (N, D + 1): the rows with the resource column; values (N,) to minimise; without
        the points at the steps `leave_out`."""
        rows, steps, values = self._as_arrays()
        top = math.log(self.resource) if self.resource > 1 else 1.0
        keep = ~np.isin(steps, np.array(sorted(leave_out), dtype=float))
        finite = np.isfinite(steps[keep])
        s = np.ones(int(keep.sum()))
        s[finite] = np.minimum(np.log(steps[keep][finite]) / top, 1.0)
        return np.column_stack([rows[keep], s]), values[keep].copy()

    def _as_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, steps, values) of every point, kept across calls: O(new points) a call,
        plus a copy of the arrays when points were added."""
        if self._arrays is None:
            if not self.rows:  # nothing told yet: no width to fix
                return np.empty((0, 0)), np.empty(0), np.empty(0)
            self._arrays = (np.empty((0, len(self.rows[0]))), np.empty(0), np.empty(0))
        rows, steps, values = self._arrays
        n = len(steps)
        if len(self.rows) > n:
            rows = np.vstack([rows, np.array(self.rows[n:], dtype=float)])
            steps = np.concatenate([steps, np.array(self.steps[n:], dtype=float)])
            values = np.concatenate([values, np.array(self.values[n:], dtype=float)])
        for i in self._changed:
            if i < n:
                values[i] = self.values[i]
        self._changed = []
        self._arrays = (rows, steps, values)
        return self._arrays

    def n_trials(self) -> int:
        return len(self._points_of)
