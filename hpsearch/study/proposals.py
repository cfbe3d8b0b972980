"""Where a new trial's params come from: the enqueue queue first, then the strategy.

Contract: `Proposals(space, build, seed, steps=None)` owns the study's strategy and queue;
`build()` makes a fresh strategy (`strategy_factory` gives one for a registered name or for a
`Strategy` object the user built). `steps` is `(max_step,)` for a study with a pruner or
scheduler (max_step its max_resource, or None), None without one: a strategy that
`learns_from_steps` is then told `use_steps(max_step)` when built and, through `tell_paused` and
`replay`, the paused trials too. `replay(trials, warm)` builds the strategy afresh and tells it
the warm-start trials (under negative numbers), then the study's finished trials in number order
(interrupted ones are passed to `Strategy.reserve`, as random search needs). `propose(numbers,
pending)` returns one `FrozenTrial` (state running) per number: queued configurations first, in
order, then the strategy's points; fewer only when the strategy is exhausted (`exhausted` then
says so).
A partially enqueued configuration is completed from a strategy proposal, and any active
dimension still missing is drawn from the trial's own seed, so the result is reproducible.
`enqueue(params)` checks names and values against the space (`SpaceError` naming the first
bad one); `tell(trial)` passes a finished trial to the strategy.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from hpsearch.exceptions import SpaceError, StrategyError, StudyError
from hpsearch.space import Space
from hpsearch.strategies import make_strategy
from hpsearch.strategies.base import Strategy
from hpsearch.study.seeds import strategy_rng, trial_seed
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["Proposals", "check_partial", "strategy_factory"]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def check_partial(space: Space, params: Mapping[str, Any]) -> dict[str, Any]:
    """A partial configuration checked against `space`: known names, values in range, and no
    name that its given parents make inactive. Returns it as a plain dict."""
    if not isinstance(params, Mapping) or not params:
        raise SpaceError(f"enqueue: expected a non-empty {{name: value}} mapping, got {params!r}")
    out = {str(name): _plain(value) for name, value in params.items()}
    for name, value in out.items():
        if name not in space:
            raise SpaceError(f"enqueue: {name!r} is not a dimension of the space "
                             f"({', '.join(space)})")
        if not space[name].contains(value):
            raise SpaceError(f"enqueue: {name}={value!r} is outside {space[name]!r}")
        parents = space.parents(name)
        if set(parents) <= set(out) and not space.is_active(name, out):
            raise SpaceError(f"enqueue: {name!r} is inactive when "
                             f"{', '.join(f'{p}={out[p]!r}' for p in parents)} (active only "
                             f"when {space.describe_when(name)})")
    return out


class Proposals:
    """The study's strategy and queue; see the module docstring."""

    def __init__(self, space: Space, build: Callable[[], Strategy], seed: int,
                 steps: tuple[int | None] | None = None) -> None:
        self.space, self.seed, self._build, self.steps = space, seed, build, steps
        self.queue: collections.deque[dict[str, Any]] = collections.deque()
        self.exhausted = False
        self.strategy: Strategy = self._make()

    def _make(self) -> Strategy:
        strategy = self._build()
        if self.steps is not None and strategy.learns_from_steps:
            strategy.use_steps(self.steps[0])
        return strategy

    @property
    def learns_from_steps(self) -> bool:
        """Whether paused trials are told to the strategy (see the module docstring)."""
        return self.steps is not None and self.strategy.learns_from_steps

    def replay(self, trials: Iterable[FrozenTrial], warm: Sequence[FrozenTrial] = ()) -> None:
        """A fresh strategy told the warm-start trials, then the study's own."""
        strategy = self._make()
        for k, trial in enumerate(warm):
            strategy.tell(dataclasses.replace(trial, number=-(k + 1)))
        paused = self.steps is not None and strategy.learns_from_steps
        for trial in sorted(trials, key=lambda t: t.number):
            if trial.state.is_finished or (paused and trial.state is TrialState.PAUSED):
                strategy.tell(trial)
            else:
                strategy.reserve(trial.number)
        self.strategy = strategy
        self.exhausted = False

    def enqueue(self, params: Mapping[str, Any]) -> None:
        self.queue.append(check_partial(self.space, params))

    def tell(self, trial: FrozenTrial) -> None:
        self.strategy.tell(trial)

    def tell_paused(self, trial: FrozenTrial) -> None:
        """A trial just paused: its reports, for a strategy that learns from them."""
        if self.learns_from_steps:
            self.strategy.tell(trial)

    def adopt(self, number: int) -> None:
        """A trial number the study filled itself (a PBT copy): the strategy skips it."""
        self.strategy.reserve(number)

    def propose(self, numbers: Sequence[int], pending: list[Mapping[str, Any]]
                ) -> list[FrozenTrial]:
        """One running trial per number (fewer when the strategy is exhausted)."""
        out: list[FrozenTrial] = []
        while self.queue and len(out) < len(numbers):
            number = numbers[len(out)]
            params = self._complete(self.queue.popleft(), number, pending)
            self.strategy.reserve(number)
            out.append(self._trial(number, params))
            pending = [*pending, params]
        wanted = len(numbers) - len(out)
        if wanted:
            points = self.strategy.ask(wanted, pending)
            self.exhausted = len(points) < wanted  # fewer only when the strategy ran out
            for number, point in zip(numbers[len(out):], points, strict=False):
                out.append(self._trial(number, {k: _plain(v) for k, v in point.items()}))
        return out

    def _complete(self, partial: dict[str, Any], number: int,
                  pending: list[Mapping[str, Any]]) -> dict[str, Any]:
        """A queued configuration made whole: the strategy fills what it leaves out."""
        full = dict(partial)
        if set(self.space.active(_Defaulting(partial))) - set(partial):
            proposed = self.strategy.ask(1, pending)
            for name, value in (proposed[0] if proposed else {}).items():
                full.setdefault(name, _plain(value))
        rng = np.random.default_rng(trial_seed(self.seed, number))
        drawn: dict[str, Any] = {}
        for name in self.space.order:
            if self.space.is_active(name, drawn):
                drawn[name] = full[name] if name in full else self.space[name].sample(rng)
        return self.space.active(drawn)

    def _trial(self, number: int, params: dict[str, Any]) -> FrozenTrial:
        try:
            self.space.validate(params)
        except SpaceError as err:
            raise StrategyError(f"strategy {self.strategy_name!r} proposed an invalid point "
                                f"{params}: {err}") from None
        return FrozenTrial(number, params, TrialState.RUNNING, trial_seed(self.seed, number))


class _Defaulting(dict):
    """A partial assignment that answers every missing name with a placeholder, so that
    `Space.active` can tell which names a partial configuration still needs."""

    def __missing__(self, key: str) -> Any:
        return None


def strategy_factory(strategy: str | Strategy, space: Space, seed: int,
                     direction: str | Sequence[str], options: Mapping[str, Any]
                     ) -> Callable[[], Strategy]:
    """How the study makes a fresh strategy: a registered name is built with the study's space,
    direction, options and strategy stream (`hpsearch.study.seeds`); a `Strategy` object is
    built again from its own arguments (`Strategy.fresh`), so every replay starts from the
    state it was given in and the caller's object is never told anything.
    StudyError when the object searches another space or direction, or options come with it."""
    if isinstance(strategy, str):
        # Proposals builds one at once, so a bad name or option fails at construction
        return lambda: make_strategy(strategy, space, strategy_rng(seed), direction, **options)
    if not isinstance(strategy, Strategy):
        raise StudyError(f"strategy must be a registered name or an hpsearch Strategy object "
                         f"(a subclass of hpsearch.strategies.base.Strategy), got {strategy!r}")
    if options:
        raise StudyError("strategy_options configure a strategy named by a string; a Strategy "
                         "object was built with its own options")
    if strategy.space.to_dict() != space.to_dict():
        raise StudyError(f"the strategy object {type(strategy).__name__} was built for another "
                         "space than the study's")
    given = (direction,) if isinstance(direction, str) else tuple(direction)
    if tuple(strategy.directions) != given:
        raise StudyError(f"the strategy object {type(strategy).__name__} was built for "
                         f"direction {strategy.direction!r}, the study's is {direction!r}")
    return strategy.fresh
