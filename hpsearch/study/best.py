"""The best of a study: its best trial (one objective), its Pareto front (several), and the
metric names a study gives its values.

Contract: `best_trial(trials, direction)` is the complete trial with the best finite value (ties:
the lower number; StudyError when there is none). `pareto_front(trials, directions)` is the
complete trials with every value finite that no other such trial dominates, by number.
`metric_names(metric, directions)` is a name (one objective), a list of one name per objective,
or None; StudyError when the counts differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hpsearch.exceptions import StudyError
from hpsearch.pareto import pareto_mask, to_minimize
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["best_trial", "pareto_front", "metric_names"]


def best_trial(trials: Sequence[FrozenTrial], direction: str) -> FrozenTrial:
    """See the module docstring."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.has_value]
    if not done:
        raise StudyError("the study has no complete trial yet")
    sign = 1.0 if direction == "minimize" else -1.0
    return min(done, key=lambda t: (sign * t.value, t.number))


def pareto_front(trials: Sequence[FrozenTrial], directions: Sequence[str]) -> list[FrozenTrial]:
    """See the module docstring."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.has_value
            and len(t.values) == len(directions)]
    if not done:
        return []
    mask = pareto_mask(to_minimize(np.array([t.values for t in done]), directions))
    return [t for t, keep in zip(done, mask, strict=True) if keep]


def metric_names(metric: str | Sequence[str] | None, directions: tuple[str, ...]
                  ) -> str | list[str] | None:
    """A metric name (one objective) or one name per objective; StudyError when the lengths
    differ."""
    if metric is None or isinstance(metric, str):
        if isinstance(metric, str) and len(directions) > 1:
            raise StudyError(f"metric {metric!r} names one value; the study has "
                             f"{len(directions)} directions: give one metric per direction")
        return metric
    names = [str(m) for m in metric]
    if len(names) != len(directions):
        raise StudyError(f"metric has {len(names)} names and direction {len(directions)}: "
                         "give one metric per direction")
    return names[0] if len(names) == 1 else names
