"""Trial records: the states a trial goes through, the frozen record the engine keeps, the live
`Trial` an objective (or a user driving ask/tell) holds, and the `Result` it returns.

A `Trial` carries its checkpoint: `save_checkpoint(arrays)` keeps a copy of a {name: ndarray}
mapping (ParameterError, a ValueError, for a name that is not a string or an array of Python
objects; storage refuses, as for artifacts, names it cannot hold); `checkpoint()` returns the
arrays saved last, or those a promoted trial was resumed with, or None; `last_step` is the step
that checkpoint was saved at (the last step reported before the trial was paused), 0 for a new
trial; `new_checkpoint()` is the (arrays, step) saved in this run and `steps_run` the steps this
run trained. The study stores a paused trial's checkpoint through its storage
(`hpsearch.storage.checkpoints`).

A `FrozenTrial` is what strategies are told and what storage writes: it never changes once
made (the engine builds a new one when a trial finishes). `value` is the objective's value as
the user sees it (not negated for maximisation); strategies apply the direction themselves.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from hpsearch.exceptions import ParameterError


class TrialState(enum.StrEnum):
    """Lower-case names, as they appear in every table."""

    RUNNING = "running"
    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    PAUSED = "paused"  # stopped by a scheduler that may still promote it (neither finished
    # nor running); see hpsearch.pruners.scheduler

    @property
    def is_finished(self) -> bool:
        """Complete, pruned and failed trials count towards `n_trials`."""
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)


@dataclass(frozen=True)
class FrozenTrial:
    """One trial as recorded.

    number: 0-based position in the study; params: {name: value}; seed: the trial's own
    integer seed (from SeedSequence(study_seed).spawn); intermediate: {step: reported value}.
    `values` is the tuple of objective values: `(value,)` for one objective (filled in from
    `value`), one per objective for a multi-objective study, whose `value` is None.
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
    values: tuple[float, ...] | None = None
    parent: int | None = None  # the trial whose checkpoint this one started from (PBT)
    steps: int = 0  # steps (epochs) the objective ran for this trial, over all its runs

    def __post_init__(self) -> None:
        if self.values is None and self.value is not None:
            object.__setattr__(self, "values", (self.value,))
        elif self.values is not None:
            object.__setattr__(self, "values", tuple(float(v) for v in self.values))

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def has_value(self) -> bool:
        """A finite objective value is available (complete trials, and pruned ones that kept
        their last reported value)."""
        return self.values is not None and all(math.isfinite(v) for v in self.values)


class ReportClient(Protocol):
    """Where `Trial.report` sends a value: returns the pruner's decision (True = prune)."""

    def report(self, number: int, step: int, value: float) -> bool: ...


@dataclass(frozen=True)
class Result:
    """What an objective may return instead of a bare number: `value`, or `values` (one per
    objective of a multi-objective study), with metrics and artifacts."""

    value: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    artifacts: Mapping[str, np.ndarray] = field(default_factory=dict)
    values: Sequence[float] | None = None


class Trial:
    """A live trial: the objective's second argument `f(params, trial)`, and what
    `study.ask()` returns.

    number, params ({name: value}, active parameters only), seed (the trial's own integer
    seed), rng (`np.random.default_rng(seed)`); `report(step, value)` sends an intermediate
    value to the pruner and returns its decision; `should_prune()` repeats the last decision;
    `intermediate` holds the reports so far. `owner` identifies the study that asked for it.
    """

    def __init__(self, number: int, seed: int, reporter: ReportClient | None = None,
                 params: Mapping[str, Any] | None = None, owner: object = None, *,
                 checkpoint: Mapping[str, np.ndarray] | None = None,
                 checkpoint_step: int = 0,
                 intermediate: Mapping[int, float] | None = None) -> None:
        self.number = number
        self.seed = seed
        self.params = dict(params or {})
        self.rng = np.random.default_rng(seed)
        self.owner = owner
        self._reporter = reporter
        self._intermediate: dict[int, float] = {int(k): float(v)
                                                for k, v in (intermediate or {}).items()}
        self.last_step: int = (int(checkpoint_step) if checkpoint is not None
                               else max(self._intermediate, default=0))
        self._checkpoint = None if checkpoint is None else _copied(checkpoint)
        self._resumed_from = self.last_step
        self._first = 0  # the first step reported in this run
        self._saved: tuple[dict[str, np.ndarray], int] | None = None  # saved in this run
        self._reached: int | None = None  # the highest step reported in this run
        self._prune = False

    def report(self, step: int, value: float) -> bool:
        """Record an intermediate value; return True when the pruner asks to stop (then raise
        `hp.TrialPruned`)."""
        step, value = int(step), float(value)
        self._intermediate[step] = value
        if self._reached is None:
            self._first = self._reached = step
        self._reached = max(self._reached, step)
        if self._reporter is not None:
            self._prune = bool(self._reporter.report(self.number, step, value))
        return self._prune

    def save_checkpoint(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Keep a copy of `arrays` ({name: ndarray}) as this trial's checkpoint: when the trial
        is paused, the study stores it (pickle-free, with the trial) and a promoted trial gets
        it back from `checkpoint()`. ValueError for a name that is not a string or an array
        holding Python objects."""
        self._checkpoint = _copied(arrays)
        self._saved = (self._checkpoint,
                       self.last_step if self._reached is None else self._reached)

    def new_checkpoint(self) -> tuple[dict[str, np.ndarray], int] | None:
        """(arrays, step) of the checkpoint saved in this run, the step being the last one
        reported when it was saved; None when this run saved none."""
        return self._saved

    def checkpoint(self) -> dict[str, np.ndarray] | None:
        """The arrays saved last (or those the trial was resumed with), or None."""
        return None if self._checkpoint is None else _copied(self._checkpoint)

    @property
    def steps_run(self) -> int:
        """Steps this run trained: the highest step reported in it minus the step it resumed
        from (`last_step` when its first report came after it, else 0: it started again)."""
        if self._reached is None:
            return 0
        start = self._resumed_from if self._first > self._resumed_from else 0
        return max(self._reached - start, 0)

    def should_prune(self) -> bool:
        """The pruner's decision at the last report."""
        return self._prune

    @property
    def intermediate(self) -> dict[int, float]:
        return dict(self._intermediate)

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self.params!r})"


def _copied(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A checked copy of a checkpoint's arrays (see `Trial.save_checkpoint`)."""
    if not isinstance(arrays, Mapping):
        raise ParameterError(f"save_checkpoint takes a mapping of names to arrays, got "
                         f"{type(arrays).__name__}")
    out = {}
    for name, array in arrays.items():
        if not isinstance(name, str):
            raise ParameterError(f"checkpoint names must be strings, got {name!r}")
        copied = np.array(array)
        if copied.dtype.hasobject:
            raise ParameterError(f"checkpoint array {name!r} has dtype {copied.dtype}, which holds "
                             "Python objects; checkpoints are stored without pickle")
        out[name] = copied
    return out


TrialHandle = Trial  # the name of hpsearch 0.1
