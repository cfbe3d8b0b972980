"""Schedulers: pruners that pause trials and promote them later (`hp.Hyperband`,
`hp.PopulationBasedTraining`).

Contract:
- A `Scheduler` is a frozen configuration, given to a study as `pruner=` (or a study file's
  `[pruner]` kind). `new_state(direction, space)` returns its `SchedulerState`, the mutable
  bookkeeping a study keeps; every method of a state is thread-safe (reports arrive on the
  report channel's threads while the driver asks and tells). `check_space(space)` raises
  `ParameterError` when the configuration does not fit the space (PBT's `perturb` names);
  `new_state` checks it, and a study file's reader calls it before any study starts.
- The protocol. The study calls `started(trial)` for every trial it hands out (new, promoted,
  interrupted and asked again, or a PBT copy). `report(number, step, value) -> bool` is the
  decision at each report: True = stop now (the objective saves a checkpoint if it can and
  raises `hp.TrialPruned`). When the trial is told `pruned`, `stopped(trial)` says whether the
  scheduler may still promote it: True records it `paused`, False `pruned`. `finished(trial)`
  is called for every trial told complete, pruned or failed (and for a paused trial the study
  prunes). `next(count, new_allowed) -> list[Action]` is what `study.ask` hands out, in order,
  after the interrupted trials: `Resume(number)` (a paused trial, promoted: same number,
  params, seed, checkpoint), `Exploit(stopped, source, params)` (PBT: the paused trial
  `stopped` is pruned and a new trial starts from `source`'s checkpoint with `params`), or
  `Fresh()` (a new trial from the strategy); a `Fresh` or `Exploit` only when `new_allowed`.
  `hopeless(remaining)` lists the paused trials that can no longer be promoted when at most
  `remaining` new trials start from now on (None: unknown, then none are hopeless); the study
  prunes them and deletes their checkpoints.
- `for_strategy(learns_from_steps)` is the configuration a study runs with its strategy: the
  same one, unless a default depends on whether the strategy learns from steps
  (`Strategy.learns_from_steps`; Hyperband's `brackets=None`). The study keeps what it
  returns as its `pruner`.
- `restore(trials)` rebuilds the state from the stored records alone (every trial, any state,
  in number order), as a study resumed after a kill does: the decisions a scheduler made are
  read back from the trials' reports and states, so nothing else is stored.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hpsearch.space import Space
from hpsearch.trial import FrozenTrial

__all__ = ["Scheduler", "SchedulerState", "Action", "Resume", "Exploit", "Fresh"]


@dataclass(frozen=True)
class Resume:
    """Promote the paused trial `number`: it runs on from its checkpoint."""

    number: int


@dataclass(frozen=True)
class Exploit:
    """Prune the paused trial `stopped`; start a new trial from trial `source`'s checkpoint
    with `params` (its parent is `source`)."""

    stopped: int
    source: int
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fresh:
    """A new trial from the strategy."""


Action = Resume | Exploit | Fresh


class SchedulerState(ABC):
    """The mutable side of a scheduler (see the module docstring)."""

    @abstractmethod
    def restore(self, trials: Iterable[FrozenTrial]) -> None: ...

    @abstractmethod
    def started(self, trial: FrozenTrial) -> None: ...

    @abstractmethod
    def report(self, number: int, step: int, value: float) -> bool: ...

    @abstractmethod
    def stopped(self, trial: FrozenTrial) -> bool: ...

    @abstractmethod
    def finished(self, trial: FrozenTrial) -> None: ...

    @abstractmethod
    def next(self, count: int, new_allowed: bool) -> list[Action]: ...

    @abstractmethod
    def hopeless(self, remaining: int | None) -> list[int]: ...


class Scheduler(ABC):
    """A pruner that pauses and promotes (see the module docstring)."""

    def for_strategy(self, learns_from_steps: bool) -> Scheduler:
        """The configuration to run with a strategy that does (or does not) learn from steps;
        this one unless a default depends on it."""
        return self

    @abstractmethod
    def new_state(self, direction: str, space: Space) -> SchedulerState:
        """Fresh bookkeeping for a study of `direction` over `space`."""

    def check_space(self, space: Space) -> None:
        """ParameterError when this configuration does not fit `space` (none by default)."""
        return None  # a scheduler that reads no names of the space fits every space
