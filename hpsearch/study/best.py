"""The best of a study: its best trial (one objective), its Pareto front (several), and the
metric names a study gives its values.

Contract: `best_trial(trials, direction)` is the complete trial with the best finite value (ties:
the lower number; StudyError when there is none). `pareto_front(trials, directions)` is the
complete trials with every value finite that no other such trial dominates, by number.
`extend_front(front, trial, directions)` is the front once `trial` is added to the trials whose
front is `front` (O(front) a trial, the same result as `pareto_front` over them all).
`metric_names(metric, directions)` is a name (one objective), a list of one name per objective,
or None; StudyError when the counts differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hpsearch.direction import Direction
from hpsearch.exceptions import StudyError
from hpsearch.pareto import pareto_mask, to_minimize
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["best_trial", "pareto_front", "extend_front", "metric_names", "objective_names"]


def best_trial(trials: Sequence[FrozenTrial], direction: str) -> FrozenTrial:
    """See the module docstring."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.has_value]
    if not done:
        raise StudyError("the study has no complete trial yet")
    sign = Direction.of(direction).sign
    return min(done, key=lambda t: (sign * t.value, t.number))


def _on_front(trial: FrozenTrial, directions: Sequence[str]) -> bool:
    return (trial.state is TrialState.COMPLETE and trial.has_value
            and len(trial.values) == len(directions))


def pareto_front(trials: Sequence[FrozenTrial], directions: Sequence[str]) -> list[FrozenTrial]:
    """See the module docstring."""
    done = [t for t in trials if _on_front(t, directions)]
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


def extend_front(front: Sequence[FrozenTrial], trial: FrozenTrial,
                 directions: Sequence[str]) -> list[FrozenTrial]:
    """See the module docstring."""
    if not _on_front(trial, directions):
        return list(front)
    new = to_minimize(np.array(trial.values), directions)
    kept = []
    for member in front:
        old = to_minimize(np.array(member.values), directions)
        if np.all(old <= new) and np.any(old < new):
            return list(front)  # dominated: the front is unchanged
        if not (np.all(new <= old) and np.any(new < old)):
            kept.append(member)
    return sorted([*kept, trial], key=lambda t: t.number)


def objective_names(metric: str | list[str] | None, n_objectives: int) -> list[str]:
    """The values' names: the metric list, the one metric ("value" when none), or 0, 1, ..."""
    if isinstance(metric, list):
        return list(metric)
    if n_objectives == 1:
        return [metric or "value"]
    return [str(k) for k in range(n_objectives)]
