"""The strategy contract, shared by grid, random, gp, skopt and tpe.

A strategy is built with the space, a `np.random.Generator`, the study's direction and its
own keyword options. The engine drives it through two calls only:

- `ask(n, pending) -> list[dict]`: n new points. `pending` holds the params of trials that are
  running right now, so a model-based strategy can avoid proposing them again (constant liar,
  kriging believer).
- `tell(trial)`: a finished `FrozenTrial` (complete, pruned or failed). On resume the engine
  replays every finished trial through `tell` in trial-number order before the first `ask`.
- `fresh()`: a new strategy built with the same arguments (a study given a strategy object
  replays its history into `fresh()` copies and never tells the caller's object).
- `reserve(number)` (optional to override): a trial number taken without `ask` (an enqueued
  configuration, or an interrupted trial that runs again).
- Several objectives: `direction` is then a list (`directions` always a tuple) and told trials
  carry `values`; a strategy that cannot search them leaves `multi_objective` False and
  refuses such a study with `StrategyError`.

Multi-fidelity (`learns_from_steps`): a strategy that sets it True learns from a trial's
reports at every step. A study with a pruner or scheduler then calls `use_steps(max_step)`
once, right after building it (before any tell), and tells it paused trials too (state
`paused`, with their `intermediate` reports); a trial told again under the same number (a
promoted trial when it finishes, or a paused one the study prunes) replaces what was told
before. Other strategies see exactly the finished trials, as without a scheduler.

Strategies never touch storage. A strategy with a finite set of points (grid) returns fewer
than n points, or none, once it runs out; `exhausted` says so.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpsearch.direction import DIRECTIONS, check_directions
from hpsearch.exceptions import ParameterError, StrategyError, StudyError
from hpsearch.space import Space
from hpsearch.trial import FrozenTrial

__all__ = ["DIRECTIONS", "Strategy"]


class Strategy(ABC):
    """Base class: stores the space, rng, direction and options; subclasses implement ask/tell."""

    #: the name used in `hp.Study(strategy=...)` and study files
    name: str = ""
    #: whether the strategy can search several objectives (`direction` a list)
    multi_objective: bool = False
    #: whether the strategy learns from every step's report (module docstring)
    learns_from_steps: bool = False

    def __new__(cls, *args: Any, **kwargs: Any) -> Strategy:
        self = super().__new__(cls)
        # what `fresh` builds again from: the arguments as given, before __init__ used the rng
        self._build_arguments = copy.deepcopy((args, kwargs))
        return self

    def fresh(self) -> Strategy:
        """A new strategy of this class built with the arguments this one was built with (its
        generator in the state it was given): what a study replays its history into."""
        args, kwargs = copy.deepcopy(self._build_arguments)
        return type(self)(*args, **kwargs)

    def __init__(self, space: Space, rng: np.random.Generator,
                 direction: str | Sequence[str] = "minimize", **options: Any) -> None:
        try:
            self.directions = check_directions(direction)
        except StudyError as err:  # a ValueError here, as make_strategy expects of options
            raise ParameterError(str(err)) from err
        if len(self.directions) > 1 and not self.multi_objective:
            raise StrategyError(f"strategy {self.name!r} searches one objective; for "
                                f"{len(self.directions)} use gp, tpe, nsga2, random or grid")
        self.space = space
        self.rng = rng
        self.direction = self.directions[0] if len(self.directions) == 1 else list(
            self.directions)

    def sign(self) -> float:
        """Multiply a user-facing value by this to get a value to minimise (one objective)."""
        return self.directions[0].sign

    @abstractmethod
    def ask(self, n: int, pending: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        """Return up to n new points (fewer only when the strategy is exhausted)."""

    @abstractmethod
    def tell(self, trial: FrozenTrial) -> None:
        """Record a finished trial."""

    def reserve(self, number: int) -> None:  # noqa: B027 - a hook, empty by default
        """Trial `number` was taken without a point of this strategy's `ask` (an enqueued
        configuration) or is running again after an interruption. Strategies whose k-th point
        depends on the trial number (random search) note it; the default does nothing."""

    def use_steps(self, max_step: int | None) -> None:  # noqa: B027 - an optional hook
        """Trials may stop early (a pruner or scheduler): called once by the study, before any
        tell, on a strategy that `learns_from_steps`. `max_step` is the step of a full training
        when the scheduler knows it (its `max_resource`), else None. The base class learns
        nothing from steps, so it ignores the call."""

    @property
    def exhausted(self) -> bool:
        """True when `ask` can return no new point (only finite strategies ever say so)."""
        return False
