"""ThresholdPruner: a floor every trial must clear."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hpsearch.direction import Direction
from hpsearch.exceptions import ParameterError
from hpsearch.pruners.base import Pruner, check_ints
from hpsearch.pruners.index import PruningIndex
from hpsearch.trial import FrozenTrial


@dataclass(frozen=True)
class ThresholdPruner(Pruner):
    """Prune once a reported value is worse than `threshold` at a step >= `min_step` (worse =
    above for minimisation, below for maximisation): a floor every trial must clear."""

    threshold: float
    min_step: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, numbers.Real) \
                or math.isnan(self.threshold):
            raise ParameterError(f"ThresholdPruner: threshold must be a number, got "
                                 f"{self.threshold!r}")
        check_ints(self, min_step=0)

    def new_index(self) -> PruningIndex:
        return PruningIndex()  # reads no history

    def prune(self, step: int, value: float, intermediate: Mapping[int, float],
              history: Sequence[FrozenTrial], direction: str) -> bool:
        return self.decide(step, value, intermediate, PruningIndex(), direction)

    def decide(self, step: int, value: float, intermediate: Mapping[int, float],
               index: PruningIndex, direction: str, number: int | None = None) -> bool:
        if step < self.min_step:
            return False
        return Direction.of(direction).better(self.threshold, value)
