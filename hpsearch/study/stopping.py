"""Study-level early stopping: end a whole study before `n_trials` on request.

Contract:
- A callback `cb(study, trial)` (run by the study after each finished trial) stops the study
  by raising `StopStudy(reason)`, or by calling `study.stop(reason)`. The study then starts
  no new trial; the trials already running finish and are recorded, the tables are written,
  and `optimize` returns normally (no exception reaches the caller). A stopped study resumes
  with the next `optimize` call (or `hpsearch run`) like any other.
- `NoImprovementStop(n_trials, min_delta=0.0)`: stop once `n_trials` trials have finished
  (complete, pruned or failed, in the order they finished) since the best value last improved
  by more than `min_delta`. It counts the trials of earlier runs too, from the study's running
  tally (`hpsearch.study.tally`: each call reads only the trials told since the last, so it
  costs the same at 20,000 trials as at 100). Study file: `[study].stop_after_no_improvement
  = N`.
- Wall-clock budget: the study's own `timeout` (`optimize(timeout=...)`, `[study].timeout`),
  which already starts no trial after the deadline and lets running ones finish."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hpsearch.direction import Direction
from hpsearch.exceptions import ParameterError, StopStudy
from hpsearch.study.tally import finishing_key
from hpsearch.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hpsearch.study.study import Study


def trials_since_improvement(trials: list[FrozenTrial], direction: str,
                             min_delta: float = 0.0) -> int:
    """How many trials finished (in finishing order) after the last one that improved the
    best complete value by more than `min_delta`; all of them when none did."""
    finished = sorted((t for t in trials if t.state.is_finished), key=finishing_key)
    sign = Direction.of(direction).sign
    best, since = math.inf, 0
    for trial in finished:
        since += 1
        if trial.state is TrialState.COMPLETE and trial.has_value:
            value = sign * float(trial.value)
            if value < best - min_delta or best == math.inf:
                best, since = min(best, value), 0
    return since


@dataclass(frozen=True)
class NoImprovementStop:
    """Callback: stop the study after `n_trials` finished trials without improvement."""

    n_trials: int
    min_delta: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.n_trials, bool) or not isinstance(self.n_trials, int) \
                or self.n_trials < 1:
            raise ParameterError(f"NoImprovementStop: n_trials must be an integer >= 1, "
                             f"got {self.n_trials!r}")
        if not self.min_delta >= 0:
            raise ParameterError(f"NoImprovementStop: min_delta must be >= 0, got {self.min_delta}")

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        since = study.tally.since_improvement(self.min_delta)
        if since >= self.n_trials:
            raise StopStudy(f"no improvement in the last {since} finished trials")
