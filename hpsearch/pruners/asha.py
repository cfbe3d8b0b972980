"""ASHAPruner: asynchronous successive halving (Li et al., 2020)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from hpsearch.direction import Direction
from hpsearch.pruners.base import (
    AUTO,
    Pruner,
    check_ints,
    check_rank_correlation,
    previous_step,
    rank_threshold,
    settled_rank_correlation,
)
from hpsearch.pruners.index import RungIndex, build
from hpsearch.trial import FrozenTrial


@dataclass(frozen=True)
class ASHAPruner(Pruner):
    """Asynchronous successive halving (Li et al., MLSys 2020), as a stopping rule.

    Rungs sit at steps r_k = min_resource * reduction_factor ** (min_early_stopping_rate + k),
    k = 0, 1, ... (below max_resource when given). A trial's value at a rung is its first
    report at a step >= r_k. When a trial reaches a rung it goes on only if that value is in
    the top 1/reduction_factor of all the values recorded at that rung so far (every trial,
    finished or running, its own value included), and always when it is the best of them: the
    first trials at a rung go on, as in the paper's asynchronous promotion, since a trial
    cannot be paused and promoted later. Ties go on; a non-finite value is pruned.

    min_rank_correlation: a rung stops trials only while its ranking carries over to the
    final one: once `MIN_PAIRS` complete trials have a value there, Kendall's tau between
    those values and their final values must be at least this, and before that it stops
    nobody (`hpsearch.pruners.index.FinalAgreement`). None: every rung judges, as in the
    paper. "auto" (the default) is settled by the study (`for_strategy`): 0.5 with a strategy
    that learns from steps (gp, tpe), whose proposals a rung that ranks at random would throw
    away, None with the others.
    """

    min_resource: int = 1
    reduction_factor: int = 3
    min_early_stopping_rate: int = 0
    max_resource: int | None = None
    min_rank_correlation: float | str | None = AUTO

    def __post_init__(self) -> None:
        check_ints(self, min_resource=1, reduction_factor=2, min_early_stopping_rate=0)
        if self.max_resource is not None:
            check_ints(self, max_resource=1)
        check_rank_correlation(self, auto=True)

    def for_strategy(self, learns_from_steps: bool) -> ASHAPruner:
        """"auto" settled (see `min_rank_correlation`)."""
        return replace(self, min_rank_correlation=settled_rank_correlation(
            self, learns_from_steps))

    def rungs(self, up_to: int) -> list[int]:
        """The rung steps <= `up_to` (and < max_resource)."""
        out, k = [], self.min_early_stopping_rate
        while True:
            rung = self.min_resource * self.reduction_factor ** k
            if rung > up_to or (self.max_resource is not None and rung >= self.max_resource):
                return out
            out.append(rung)
            k += 1

    def new_index(self) -> RungIndex:
        return RungIndex(self.rungs, agreement=rank_threshold(self) is not None)

    def prune(self, step: int, value: float, intermediate: Mapping[int, float],
              history: Sequence[FrozenTrial], direction: str) -> bool:
        return self.decide(step, value, intermediate, build(self.new_index(), history),
                           direction)

    def decide(self, step: int, value: float, intermediate: Mapping[int, float],
               index: RungIndex, direction: str, number: int | None = None) -> bool:
        previous = previous_step(intermediate, step)
        for rung in self.rungs(step):
            if previous is not None and previous >= rung:
                continue  # passed this rung at an earlier report
            if not math.isfinite(value):
                return True
            # The values at the rung, best first, with this one among them: prune when at
            # least `top` others are strictly better (the top-1/reduction_factor cut).
            recorded = index.steps.at(rung)  # sorted, finite
            own = index.recorded(number, rung)  # this trial's own, left out
            own = own if own is not None and math.isfinite(own) else None
            top = max((len(recorded) - (own is not None) + 1) // self.reduction_factor, 1)
            if Direction.of(direction) is Direction.MINIMIZE:
                ahead = bisect.bisect_left(recorded, value) - (own is not None and own < value)
            else:
                ahead = (len(recorded) - bisect.bisect_right(recorded, value)
                         - (own is not None and own > value))
            if ahead >= top and (index.final is None
                                 or index.final.judges(rung, rank_threshold(self))):
                return True
        return False
