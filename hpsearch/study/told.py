"""What a told trial becomes: the state, value, error, metrics and artifacts `Study.tell` records.

Contract: `settle(state, value, error, intermediate)` takes what the caller told (a state name
or None, a number or an `hp.Result` or None, an error text or None, the trial's reports) and
returns `(state, value, error, metrics, artifacts)`: state defaults to complete when a value is
given; a pruned trial without a value keeps its last report; a value that is not finite fails
a complete trial and is dropped otherwise; a failed trial has no value and always an error.
Anything else (a state that is not finished, a complete trial without a value, a value that is
not a number) raises `StudyError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from hpsearch.exceptions import StudyError
from hpsearch.trial import Result, TrialState

__all__ = ["settle"]


def settle(state: str | TrialState | None, value: float | Result | None, error: str | None,
            intermediate: Mapping[int, float]) -> tuple:
    """(state, value, error, metrics, artifacts) of a told trial, checked."""
    result = value if isinstance(value, Result) else None
    number = result.value if result is not None else value
    try:
        state = TrialState(state) if state is not None else (
            TrialState.COMPLETE if number is not None else TrialState.FAILED)
    except ValueError:
        raise StudyError(f"tell(): state must be 'complete', 'pruned' or 'failed', "
                         f"got {state!r}") from None
    if not state.is_finished:
        raise StudyError(f"tell(): state must be 'complete', 'pruned' or 'failed', got {state!r}")
    metrics = dict(result.metrics) if result is not None else {}
    artifacts = dict(result.artifacts) if result is not None else None
    if state is TrialState.PRUNED and number is None and intermediate:
        number = intermediate[max(intermediate)]
    if number is not None:
        try:
            number = float(number)
        except (TypeError, ValueError):
            raise StudyError(f"tell(): value must be a number or an hp.Result, "
                             f"got {value!r}") from None
        if not math.isfinite(number):
            if state is TrialState.COMPLETE:
                error = error or f"the objective returned {number}, not a finite number"
                state = TrialState.FAILED
            number = None
    if state is TrialState.COMPLETE and number is None:
        raise StudyError("tell(): a complete trial needs a value")
    if state is TrialState.FAILED:
        number = None
        error = error or "failed (told by the caller)"
    return state, number, error, metrics, artifacts
