"""PruningService: the driver side of pruning; records live reports and asks the pruner.

Contract: `PruningService(pruner, direction, history)`, `history()` returning the finished
trials in the order they were told, append-only (the study passes its own live list; the
service never modifies it and reads only the entries appended since its last look; another
list, as after the study re-read its storage, makes it read them all again).
`report(number, step, value) -> bool` records a running trial's report and returns the
pruner's decision; `forget(number)` drops a told trial's live reports (its record in the
history holds them from then on); `intermediate(number)` is a running trial's reports so far.

A pruner with an index (`Pruner.new_index()`, all the built-in ones) decides from it: the index
is fed each finished trial once and each report after its decision, so a report costs the
same at 20,000 finished trials as at 100 and no finished trial's curve is kept here. A
`Scheduler` (`hpsearch.pruners.scheduler`) decides from its own state, `schedule`. Other
pruners get `prune(...)` with the whole history plus the running trials, as the
`hpsearch.pruners` contract describes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from hpsearch.pruners.base import Pruner
from hpsearch.pruners.scheduler import Scheduler, SchedulerState
from hpsearch.space import Space
from hpsearch.trial import FrozenTrial, TrialState


class PruningService:
    """Driver side of the channel: records live reports and asks the pruner."""

    def __init__(self, pruner: Pruner | Scheduler | None, direction: str,
                 history: Callable[[], Sequence[FrozenTrial]],
                 space: Space | None = None) -> None:
        self.pruner = pruner
        self.direction = direction
        #: a scheduler's bookkeeping (the study drives the rest of its protocol)
        self.schedule: SchedulerState | None = (
            pruner.new_state(direction, space) if isinstance(pruner, Scheduler) else None)
        self._history = history
        self._lock = threading.Lock()
        self._intermediate: dict[int, dict[int, float]] = {}
        self._index = None if not isinstance(pruner, Pruner) else pruner.new_index()
        self._fed = 0  # how many history entries the index has seen
        self._seen: Sequence[FrozenTrial] | None = None  # the list they came from

    def report(self, number: int, step: int, value: float) -> bool:
        number, step, value = int(number), int(step), float(value)
        with self._lock:
            values = self._intermediate.setdefault(number, {})
            values[step] = value
            if self.pruner is None:
                return False
            if self.schedule is not None:
                return self.schedule.report(number, step, value)
            if self._index is None:
                return self._ask_with_history(number, step, value, values)
            self._catch_up()
            decision = self.pruner.decide(step, value, dict(values), self._index,
                                          self.direction, number)
            self._index.add_report(number, step, values)
            return bool(decision)

    def _catch_up(self) -> None:
        """Feed the index the trials told since the last report (all of them again, and the
        running trials' reports, if history() returned another list than last time)."""
        history = self._history()
        if history is not self._seen or len(history) < self._fed:  # a new list: the study
            self._seen = history  # re-read its storage (or history() copies): start again
            self._index, self._fed = self.pruner.new_index(), 0
            for other, reports in self._intermediate.items():
                for step in sorted(reports):
                    self._index.add_report(other, step, reports)
        for trial in history[self._fed:]:
            self._index.add_finished(trial)
        self._fed = len(history)

    def _ask_with_history(self, number: int, step: int, value: float,
                          values: dict[int, float]) -> bool:
        history = list(self._history())
        known = {t.number for t in history}
        # Running trials are part of the picture (ASHA's rungs hold every value recorded
        # so far); they are not copied: the pruner only reads them, under this lock.
        history += [FrozenTrial(other, {}, TrialState.RUNNING, 0, intermediate=reports)
                    for other, reports in self._intermediate.items()
                    if other != number and other not in known]
        return bool(self.pruner.prune(step, value, dict(values), history, self.direction))

    def forget(self, number: int) -> None:
        """Drop a told trial's live reports: from now on its record in the history holds them."""
        with self._lock:
            self._intermediate.pop(number, None)

    def intermediate(self, number: int) -> dict[int, float]:
        """The reports received so far for trial `number` (used when its worker died)."""
        with self._lock:
            return dict(self._intermediate.get(number, {}))
