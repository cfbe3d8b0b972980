"""What a told trial becomes: the state, value, error, metrics and artifacts `Study.tell` records.

Contract: `settle(state, value, error, intermediate, n_objectives)` takes what the caller told
(a state name or None; a number, a sequence of numbers, an `hp.Result` or None; an error text or
None; the trial's reports) and returns a `Told` (state, value, values, error, metrics, artifacts):
`value` for one objective, `values` (a tuple) for several; a wrong number of values fails the
trial, naming both counts; state defaults to complete when a value is given; a pruned trial
without a value keeps its last report; a value that is not finite fails a complete trial and is
dropped otherwise; a failed trial has no value and always an error.
Anything else (a state that is not finished, a complete trial without a value, a value that is
not a number) raises `StudyError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpsearch.exceptions import StudyError
from hpsearch.trial import Result, TrialState

__all__ = ["settle", "Told"]


@dataclass(frozen=True)
class Told:
    """What a told trial records (see the module docstring)."""

    state: TrialState
    value: float | None
    values: tuple[float, ...] | None
    error: str | None
    metrics: dict[str, float]
    artifacts: dict[str, np.ndarray] | None


def _numbers(value: Any, n_objectives: int) -> tuple[list[float] | None, str | None]:
    """The told value(s) as floats ([v] for one objective), or an error for a wrong count."""
    if value is None:
        return None, None
    many = isinstance(value, list | tuple | np.ndarray) and not isinstance(value, str)
    raw = list(value) if many else [value]
    try:
        numbers = [float(v) for v in raw]
    except (TypeError, ValueError):
        raise StudyError(f"tell(): value must be a number, a sequence of numbers or an "
                         f"hp.Result, got {value!r}") from None
    if len(numbers) != n_objectives:
        return None, (f"the objective returned {len(numbers)} value(s); the study has "
                      f"{n_objectives} objective(s)")
    return numbers, None


def settle(state: str | TrialState | None, value: Any, error: str | None,
           intermediate: Mapping[int, float], n_objectives: int = 1) -> Told:
    """What a told trial records, checked (see the module docstring)."""
    result = value if isinstance(value, Result) else None
    given = (result.values if result.values is not None else result.value) if result else value
    try:
        state = TrialState(state) if state is not None else (
            TrialState.COMPLETE if given is not None else TrialState.FAILED)
    except ValueError:
        raise StudyError(f"tell(): state must be 'complete', 'pruned' or 'failed', "
                         f"got {state!r}") from None
    if not state.is_finished:
        raise StudyError(f"tell(): state must be 'complete', 'pruned' or 'failed', got {state!r}")
    metrics = dict(result.metrics) if result is not None else {}
    artifacts = dict(result.artifacts) if result is not None else None
    if state is TrialState.PRUNED and given is None and intermediate and n_objectives == 1:
        given = intermediate[max(intermediate)]
    numbers, wrong = _numbers(given, n_objectives)
    if wrong is not None and state is not TrialState.FAILED:
        state, error = TrialState.FAILED, error or wrong
    if numbers is not None and not all(math.isfinite(v) for v in numbers):
        if state is TrialState.COMPLETE:
            shown = numbers[0] if n_objectives == 1 else numbers
            error = error or f"the objective returned {shown}, not a finite number"
            state = TrialState.FAILED
        numbers = None
    if state is TrialState.COMPLETE and numbers is None:
        raise StudyError("tell(): a complete trial needs a value")
    if state is TrialState.FAILED:
        numbers = None
        error = error or "failed (told by the caller)"
    if numbers is None:
        return Told(state, None, None, error, metrics, artifacts)
    if n_objectives == 1:
        return Told(state, numbers[0], None, error, metrics, artifacts)
    return Told(state, None, tuple(numbers), error, metrics, artifacts)
