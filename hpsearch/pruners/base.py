"""The pruner interface and the helpers the pruners share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from hpsearch.direction import Direction
from hpsearch.exceptions import ParameterError, StudyError
from hpsearch.pruners.scheduler import Scheduler
from hpsearch.trial import FrozenTrial

if TYPE_CHECKING:
    from hpsearch.pruners.index import PruningIndex


class Pruner(ABC):
    """Decides, from a running trial's reports and the finished trials, whether to stop it.

    A pruner may also offer an incremental form of its rule, which the driver's service uses
    instead of handing it every trial at every report: `new_index()` returns a
    `hpsearch.pruners.index.PruningIndex` the service keeps up to date, and `decide(step,
    value, intermediate, index, direction, number)` reads it. The built-in pruners implement
    `prune` as `decide` on an index built from `history`, so both give the same decisions.
    """

    @abstractmethod
    def prune(self, step: int, value: float, intermediate: Mapping[int, float],
              history: Sequence[FrozenTrial], direction: str) -> bool:
        """True to prune the trial that just reported `value` at `step`."""

    def new_index(self) -> PruningIndex | None:
        """An empty index for `decide`, or None (the default): the service then calls
        `prune` with the whole history."""
        return None

    def decide(self, step: int, value: float, intermediate: Mapping[int, float],
               index: PruningIndex, direction: str, number: int | None = None) -> bool:
        """`prune` from an index (see the class docstring); `number` is the reporting trial's."""
        raise NotImplementedError(f"{type(self).__name__} has no incremental rule")


def better(a: float, b: float, direction: str) -> bool:
    """True when `a` is strictly better than `b`."""
    return Direction.of(direction).better(a, b)


def previous_step(intermediate: Mapping[int, float], step: int) -> int | None:
    """The last step this trial reported before `step` (None at its first report)."""
    return max((s for s in intermediate if s < step), default=None)


def check_pruner(pruner: object) -> None:
    """StudyError unless `pruner` (a study's `pruner=`) is None, a Pruner or a Scheduler."""
    if pruner is not None and not isinstance(pruner, Pruner | Scheduler):
        raise StudyError(f"pruner must be an hp.Pruner (hp.MedianPruner(), hp.ASHAPruner(), "
                         f"hp.ThresholdPruner(...)), a scheduler (hp.Hyperband(...), "
                         f"hp.PopulationBasedTraining(...)) or None, got {pruner!r}")


def check_ints(pruner: Pruner, **lows: int) -> None:
    for name, low in lows.items():
        value = getattr(pruner, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ParameterError(f"{type(pruner).__name__}: {name} must be an integer >= {low}, "
                             f"got {value!r}")
