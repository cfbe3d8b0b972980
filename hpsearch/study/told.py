"""What a told trial becomes: the state, value, error, metrics and artifacts `Study.tell` records.

Contract: `settle(state, value, error, intermediate, n_objectives)` takes what the caller told
(a state name or None; a number, a sequence of numbers, an `hp.Result` or None; an error text or
None; the trial's reports) and returns `(state, value, values, error, metrics, artifacts)`:
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
from typing import Any

import numpy as np

from hpsearch.exceptions import StudyError
from hpsearch.trial import FrozenTrial, Result, Trial, TrialState

__all__ = ["settle", "pending_trial"]


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
           intermediate: Mapping[int, float], n_objectives: int = 1) -> tuple:
    """(state, value, values, error, metrics, artifacts) of a told trial, checked."""
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
        return state, None, None, error, metrics, artifacts
    if n_objectives == 1:
        return state, numbers[0], None, error, metrics, artifacts
    return state, None, tuple(numbers), error, metrics, artifacts


def pending_trial(trial: Trial | FrozenTrial | int, pending: Mapping[int, FrozenTrial],
                  trials: Mapping[int, FrozenTrial], owner: object) -> FrozenTrial:
    """The running record of the trial being told; StudyError naming an unknown, finished or
    foreign one."""
    if isinstance(trial, Trial) and trial.owner is not None and trial.owner is not owner:
        raise StudyError(f"trial {trial.number} was asked by another study; tell it there")
    number = trial if isinstance(trial, int) and not isinstance(trial, bool) else getattr(
        trial, "number", None)
    if not isinstance(number, int):
        raise StudyError(f"tell() takes a trial or a trial number, got {trial!r}")
    if number in pending:
        return pending[number]
    if number in trials and trials[number].state.is_finished:
        raise StudyError(f"trial {number} is already finished "
                         f"({trials[number].state}); a trial is told once")
    if number in trials:
        raise StudyError(f"trial {number} was not asked by this study object "
                         f"(state {trials[number].state})")
    raise StudyError(f"the study has no trial {number}")
