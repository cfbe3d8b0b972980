"""PruningService: the driver side of pruning; records live reports and asks the pruner."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from hpsearch.pruners.base import Pruner
from hpsearch.trial import FrozenTrial, TrialState


class PruningService:
    """Driver side of the channel: records live reports and asks the pruner."""

    def __init__(self, pruner: Pruner | None, direction: str,
                 history: Callable[[], Sequence[FrozenTrial]]) -> None:
        self.pruner = pruner
        self.direction = direction
        self._history = history
        self._lock = threading.Lock()
        self._intermediate: dict[int, dict[int, float]] = {}

    def report(self, number: int, step: int, value: float) -> bool:
        with self._lock:
            values = self._intermediate.setdefault(int(number), {})
            values[int(step)] = float(value)
            if self.pruner is None:
                return False
            history = list(self._history())
            known = {t.number for t in history}
            # Running trials are part of the picture (ASHA's rungs hold every value recorded
            # so far); they are not copied: the pruner only reads them, under this lock.
            history += [FrozenTrial(other, {}, TrialState.RUNNING, 0, intermediate=reports)
                        for other, reports in self._intermediate.items()
                        if other != number and other not in known]
            return bool(self.pruner.prune(int(step), float(value), dict(values), history,
                                          self.direction))

    def forget(self, number: int) -> None:
        """Drop a told trial's live reports: from now on its record in the history holds them."""
        with self._lock:
            self._intermediate.pop(number, None)

    def intermediate(self, number: int) -> dict[int, float]:
        """The reports received so far for trial `number` (used when its worker died)."""
        with self._lock:
            return dict(self._intermediate.get(number, {}))
