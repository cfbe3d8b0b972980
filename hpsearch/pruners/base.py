"""The pruner interface and the helpers the pruners share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from hpsearch.direction import Direction
from hpsearch.exceptions import ParameterError, StudyError
from hpsearch.pruners.index import RANK_CORRELATION
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

    def for_strategy(self, learns_from_steps: bool) -> Pruner:
        """The configuration to run with a strategy that does (or does not) learn from steps
        (`hpsearch.pruners.scheduler`'s contract); this one unless a default depends on it."""
        return self

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


def full_step(pruner: Pruner | Scheduler) -> int | None:
    """The step a fully trained trial reaches, when the pruner knows it (ASHA's and
    Hyperband's `max_resource`, PBT's `max_step`), else None."""
    for name in ("max_resource", "max_step"):
        value = getattr(pruner, name, None)
        if value is not None:
            return int(value)
    return None


def check_pruner(pruner: object) -> None:
    """StudyError unless `pruner` (a study's `pruner=`) is None, a Pruner or a Scheduler."""
    if pruner is not None and not isinstance(pruner, Pruner | Scheduler):
        raise StudyError(f"pruner must be an hp.Pruner (hp.MedianPruner(), hp.ASHAPruner(), "
                         f"hp.ThresholdPruner(...)), a scheduler (hp.Hyperband(...), "
                         f"hp.PopulationBasedTraining(...)) or None, got {pruner!r}")


AUTO = "auto"  # a stopping rule's `min_rank_correlation` until the study settles it


def settled_rank_correlation(pruner: Pruner, learns_from_steps: bool) -> float | None:
    """A stopping rule's `min_rank_correlation` once the strategy is known: "auto" is
    `RANK_CORRELATION` with a strategy that learns from steps, None (judge at every step, as
    the rule's paper does) with the others; a number or None stays."""
    value = pruner.min_rank_correlation
    if value != AUTO:
        return value
    return RANK_CORRELATION if learns_from_steps else None


def rank_threshold(pruner: Pruner) -> float | None:
    """A stopping rule's least tau to judge at a step. None: every step judges, for None, for
    -1 (every tau clears it: a study file's "off") and for "auto" not settled by a study."""
    value = pruner.min_rank_correlation
    return None if value == AUTO or (value is not None and value <= -1.0) else value


def check_rank_correlation(owner: object, auto: bool = False) -> None:
    """ParameterError unless `owner.min_rank_correlation` is a Kendall tau in [-1, 1], None,
    or (with `auto`) "auto"."""
    tau = owner.min_rank_correlation
    if tau is None or (auto and tau == AUTO):
        return
    if isinstance(tau, bool) or not isinstance(tau, int | float) or not -1.0 <= tau <= 1.0:
        also = ', None or "auto"' if auto else " or None"
        raise ParameterError(f"{type(owner).__name__}: min_rank_correlation must be a Kendall "
                             f"tau in [-1, 1]{also}, got {tau!r}")


def check_ints(pruner: Pruner, **lows: int) -> None:
    for name, low in lows.items():
        value = getattr(pruner, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ParameterError(f"{type(pruner).__name__}: {name} must be an integer >= {low}, "
                             f"got {value!r}")
