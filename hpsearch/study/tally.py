"""Running figures of a study's finished trials, kept as trials finish instead of re-scanned.

Contract:
- `Tally(direction)`, owned by its study (`study.tally`). `tally.update(finished_trials)`
  catches it up with `finished_trials(n)` (the study's finished trials from the n-th on):
  only the trials told since the last update are read, so the progress line, the per-trial
  log line and the stoppers cost the same at 20,000 trials as at 100. When the study has
  re-read its storage (another driver wrote to it, a read-only study reloaded), the last trial
  counted is no longer where it was, and the tally is rebuilt from all the finished trials.
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
from collections import Counter
from collections.abc import Callable, Sequence

from hpsearch.direction import Direction
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["Tally", "finishing_key"]


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
        self.direction = Direction.of(direction)
        self._start()

    def _start(self) -> None:
        self.sign = self.direction.sign
        self.n_seen = 0
        self.last_added: FrozenTrial | None = None
        self.counts: Counter = Counter()
        self.best: FrozenTrial | None = None
        self.last_key: tuple[float, int] | None = None
        self.in_order = True  # every trial so far came in finishing order
        self.finished: list[FrozenTrial] = []  # kept only to recompute after an out-of-order one
        self.counters: dict[float, _SinceImprovement] = {}

    def update(self, finished_trials: Callable[[int], Sequence[FrozenTrial]]) -> Tally:
        """Catch up with the study's finished trials (see the module docstring)."""
        new: Sequence[FrozenTrial] = ()
        if self.n_seen:
            # The last trial counted must still sit where it was: else the study re-read its
            # storage (another driver, a read-only reload) and the count starts again.
            tail = finished_trials(self.n_seen - 1)
            if tail and tail[0] is self.last_added:
                new = tail[1:]
            else:
                self._start()
        if not self.n_seen:
            new = finished_trials(0)
        for trial in new:
            self.add(trial)
        return self

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
