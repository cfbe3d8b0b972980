"""Trial records: the states a trial goes through and the frozen record the engine keeps.

A `FrozenTrial` is what strategies are told and what storage writes: it never changes once
made (the engine builds a new one when a trial finishes). `value` is the objective's value as
the user sees it (not negated for maximisation); strategies apply the direction themselves.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class TrialState(enum.StrEnum):
    """Lower-case names, as they appear in every table."""

    RUNNING = "running"
    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def is_finished(self) -> bool:
        """Complete, pruned and failed trials count towards `n_trials`."""
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)


@dataclass(frozen=True)
class FrozenTrial:
    """One trial as recorded.

    number: 0-based position in the study; params: {name: value}; seed: the trial's own
    integer seed (from SeedSequence(study_seed).spawn); intermediate: {step: reported value}.
    """

    number: int
    params: Mapping[str, Any]
    state: TrialState
    seed: int
    value: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    intermediate: Mapping[int, float] = field(default_factory=dict)
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def has_value(self) -> bool:
        """A finite objective value is available (complete trials, and pruned ones that kept
        their last reported value)."""
        return self.value is not None and math.isfinite(self.value)
