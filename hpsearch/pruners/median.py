"""MedianPruner: the median stopping rule."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from hpsearch.direction import Direction
from hpsearch.pruners.base import (
    AUTO,
    Pruner,
    better,
    check_ints,
    check_rank_correlation,
    previous_step,
    rank_threshold,
    settled_rank_correlation,
)
from hpsearch.pruners.index import MedianIndex, build
from hpsearch.trial import FrozenTrial


@dataclass(frozen=True)
class MedianPruner(Pruner):
    """Median stopping rule: prune a trial whose best value so far is worse than the median
    of the complete trials' values at the same step.

    n_startup_trials: no pruning until this many trials are complete.
    n_warmup_steps: no pruning at steps below this.
    interval_steps: decide once per this many steps (counted from n_warmup_steps); a trial
        that skips steps is judged at its first report at or after each interval point.
    n_min_trials: no pruning at a step that fewer complete trials reported.

    As Optuna's MedianPruner: complete trials only (pruned ones would drag the median
    towards the poor configurations and prune less), and the trial's best value so far, so
    one noisy epoch does not stop a good run. A non-finite value is pruned.

    min_rank_correlation: a step stops trials only while its ranking carries over to the final
    one, as `ASHAPruner`'s (the complete trials' values there against their final values,
    `hpsearch.pruners.index.FinalAgreement`); None: every step judges; "auto" (the default):
    0.5 with a strategy that learns from steps, None with the others (`for_strategy`).
    """

    n_startup_trials: int = 5
    n_warmup_steps: int = 0
    interval_steps: int = 1
    n_min_trials: int = 1
    min_rank_correlation: float | str | None = AUTO

    def __post_init__(self) -> None:
        check_ints(self, n_startup_trials=0, n_warmup_steps=0, interval_steps=1,
                    n_min_trials=1)
        check_rank_correlation(self, auto=True)

    def for_strategy(self, learns_from_steps: bool) -> MedianPruner:
        """"auto" settled (see `min_rank_correlation`)."""
        return replace(self, min_rank_correlation=settled_rank_correlation(
            self, learns_from_steps))

    def new_index(self) -> MedianIndex:
        return MedianIndex(agreement=rank_threshold(self) is not None)

    def prune(self, step: int, value: float, intermediate: Mapping[int, float],
              history: Sequence[FrozenTrial], direction: str) -> bool:
        return self.decide(step, value, intermediate, build(self.new_index(), history),
                           direction)

    def decide(self, step: int, value: float, intermediate: Mapping[int, float],
               index: MedianIndex, direction: str, number: int | None = None) -> bool:
        if step < self.n_warmup_steps or index.n_complete < self.n_startup_trials:
            return False
        if self.interval_steps > 1:
            point = step - (step - self.n_warmup_steps) % self.interval_steps
            previous = previous_step(intermediate, step)
            if previous is not None and previous >= point:
                return False  # already judged in this interval
        others = index.steps.at(step)  # the complete trials' finite values, sorted
        if len(others) < self.n_min_trials:
            return False
        own = [v for s, v in intermediate.items() if s <= step and math.isfinite(v)]
        if not math.isfinite(value) or not own:
            return True
        best = Direction.of(direction).best(own)
        return better(sorted_median(others), best, direction) and (
            index.final is None or index.final.judges(step, rank_threshold(self)))


def sorted_median(values: list[float]) -> float:
    """statistics.median of an already sorted, non-empty list, without sorting it again."""
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
