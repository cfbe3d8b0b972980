"""Running figures of a study's finished trials, kept as trials finish instead of re-scanned.

Contract:
- `tally_of(study) -> Tally`: the study's tally, caught up with `study.finished_trials(n)`
  (only the trials told since the last call are read), so the progress line, the per-trial
  log line and the stoppers cost the same at 20,000 trials as at 100. One tally per study
  object (held weakly). When the study has re-read its storage (another driver wrote to it, a
  read-only study reloaded), the last trial counted is no longer where it was, and the tally
  is rebuilt from all the finished trials.
- `Tally.counts`: finished trials by state (complete, pruned, failed); `Tally.best`: the
  complete trial with the best finite value for the first direction (ties: the lower number,
  as `hpsearch.study.best.best_trial`), None before one.
- `Tally.since_improvement(min_delta)`: how many trials finished after the last one that
  improved the best complete value by more than `min_delta` (see
  `hpsearch.study.stopping.trials_since_improvement`, which it equals), counted in finishing
  order (`finished_at`, then number). Trials told in the order they finished are counted in
  one step each; one told out of that order (a parallel worker's clock) makes the count be
  recomputed from all finished trials once.
"""

from __future__ import annotations

import math
import weakref
from collections import Counter
from typing import TYPE_CHECKING

from hpsearch.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hpsearch.study.study import Study

__all__ = ["Tally", "tally_of", "finishing_key"]

_TALLIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def finishing_key(trial: FrozenTrial) -> tuple[float, int]:
    """The finishing order of trials: finished_at (unknown last), then number."""
    return (trial.finished_at if trial.finished_at is not None else math.inf, trial.number)


class _SinceImprovement:
    """The trials-since-improvement count for one min_delta, fed in finishing order."""

    def __init__(self, min_delta: float) -> None:
        self.min_delta = min_delta
        self.best, self.since = math.inf, 0

    def add(self, trial: FrozenTrial, sign: float) -> None:
        self.since += 1
        if trial.state is TrialState.COMPLETE and trial.has_value:
            value = sign * float(trial.value)
            if value < self.best - self.min_delta or self.best == math.inf:
                self.best, self.since = min(self.best, value), 0


class Tally:
    """See the module docstring."""

    def __init__(self, direction: str) -> None:
        self.sign = 1.0 if direction == "minimize" else -1.0
        self.n_seen = 0
        self.last_added: FrozenTrial | None = None
        self.counts: Counter = Counter()
        self.best: FrozenTrial | None = None
        self.last_key: tuple[float, int] | None = None
        self.in_order = True  # every trial so far came in finishing order
        self.finished: list[FrozenTrial] = []  # kept only to recompute after an out-of-order one
        self.counters: dict[float, _SinceImprovement] = {}

    def add(self, trial: FrozenTrial) -> None:
        self.n_seen += 1
        self.last_added = trial
        self.counts[trial.state] += 1
        self.finished.append(trial)
        if trial.state is TrialState.COMPLETE and trial.has_value and (
                self.best is None or (self.sign * trial.value, trial.number)
                < (self.sign * self.best.value, self.best.number)):
            self.best = trial
        key = finishing_key(trial)
        if self.last_key is not None and key < self.last_key:
            self.in_order = False
        self.last_key = key if self.last_key is None else max(key, self.last_key)
        if self.in_order:
            for counter in self.counters.values():
                counter.add(trial, self.sign)
        else:
            self.counters.clear()

    def since_improvement(self, min_delta: float = 0.0) -> int:
        counter = self.counters.get(min_delta)
        if counter is None:
            if not self.in_order:  # rebuild once in finishing order; new trials append
                self.finished.sort(key=finishing_key)
                self.last_key = finishing_key(self.finished[-1]) if self.finished else None
                self.in_order = True
            counter = self.counters[min_delta] = _SinceImprovement(min_delta)
            for trial in self.finished:
                counter.add(trial, self.sign)
        return counter.since


def tally_of(study: Study) -> Tally:
    """The study's tally, caught up (see the module docstring)."""
    tally = _TALLIES.get(study)
    if tally is not None and tally.n_seen:
        # The last trial counted must still sit where it was: else the study re-read its
        # storage (another driver, a read-only reload) and the count starts again.
        tail = study.finished_trials(tally.n_seen - 1)
        if not tail or tail[0] is not tally.last_added:
            tally = None
        else:
            new = tail[1:]
    if tally is None or not tally.n_seen:
        tally = _TALLIES[study] = Tally(study.directions[0])
        new = study.finished_trials(0)
    for trial in new:
        tally.add(trial)
    return tally
