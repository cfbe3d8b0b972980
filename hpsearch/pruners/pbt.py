"""PopulationBasedTraining: exploit and explore on checkpoints (Jaderberg et al., 2017), as a
scheduler (`hpsearch.pruners.scheduler`).

Rule. Every trial is paused each time it has trained `interval` more steps since it started
or resumed (its report at a step >= start + interval is answered "stop": the objective saves a
checkpoint and raises `hp.TrialPruned`), except at or after `max_step` (the step a fully
trained trial reaches; give it, or a trial paused at its last step is handed out again only to
finish, and may be copied there). At the study's next `ask`, a paused trial is handed
out again, the least advanced first (so the population trains side by side, whatever the
number of workers). Then it is compared with the population: the live trials (running or
paused) that reported, by their latest value. With n of them and k = ceil(quantile * n) (at most
n // 2), a trial in the bottom k is exploited: it is pruned, and a new trial (a copy) starts
from the checkpoint of a trial drawn from the top k, with that trial's hyperparameters
perturbed (explore), its `parent` naming the source; otherwise it resumes from its own
checkpoint. A copy keeps the source's reports up to the checkpoint's step, so its learning curve
reads as one lineage; a source that saved no checkpoint gives a copy that starts at step 0.

Explore: each active hyperparameter named in `perturb` (None: every one) is drawn afresh from
its dimension with probability
`resample_probability`; otherwise a number is multiplied by one of `perturbation_factors`
(drawn evenly) and brought back into its range (and onto its step; an integer moves by at least
one), a categorical moves to a neighbouring choice (the one there is, at an end), a number with
explicit `values` to a neighbouring value. A hyperparameter not in `perturb` keeps the source's
value (so the ones its value switches on keep theirs too); conditional parameters that become
active (their parent was perturbed) are drawn from their dimension, listed or not. The draws
come from `SeedSequence([seed of the exploited trial, EXPLORE_STREAM])`. A copy resumes the
source's checkpoint with the new values, so list in `perturb` only the hyperparameters a
checkpoint survives: one that changes what the checkpoint holds (a network's layer sizes, say)
makes every copy that draws another value fail. `perturb` is checked against the study's space
when the study starts (`new_state`): an unknown name raises `ParameterError`. An empty
`perturb` makes copies keep the source's hyperparameters (exploit without explore). Study files
with the built-in network default it to the searched hyperparameters that leave the network's
arrays as they are (`hpsearch.studyfile.objectives.study_pruner`).

Population. New trials start first while fewer than `population` trials are live (None: no
cap; new trials start while the study may start them, which in `optimize` is `n_trials`, and
in ask/tell as long as `ask()` is called; `ask(new=False)` hands out only the paused ones).
Copies are not counted against `n_trials`: they replace the trial they prune. Non-finite values
are pruned for good. No paused trial is ever hopeless: each is handed out again.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpsearch.dimensions import Categorical, Float, Int
from hpsearch.exceptions import ParameterError
from hpsearch.pruners.base import check_ints
from hpsearch.pruners.scheduler import Action, Exploit, Fresh, Resume, Scheduler, SchedulerState
from hpsearch.space import Space
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["PopulationBasedTraining", "PopulationState", "perturb", "EXPLORE_STREAM"]

EXPLORE_STREAM = 13  # SeedSequence([trial seed, EXPLORE_STREAM]): the source and the explore


@dataclass(frozen=True)
class PopulationBasedTraining(Scheduler):
    """Population-based training (module docstring of `hpsearch.pruners.pbt`).

    interval: steps a trial trains between two pauses. population: the most live trials (None:
    no cap). quantile: the share of the population that copies a top trial (in (0, 0.5]).
    resample_probability, perturbation_factors: how explore moves a hyperparameter. max_step:
    the step a fully trained trial reaches (no pause there). perturb: the names of the
    hyperparameters explore may change (None: every one); the others keep the source's values.
    List only hyperparameters a checkpoint survives; names not in the study's space raise
    `ParameterError` when the study starts.
    """

    interval: int
    population: int | None = None
    quantile: float = 0.25
    resample_probability: float = 0.25
    perturbation_factors: tuple[float, float] = (0.8, 1.2)
    max_step: int | None = None
    perturb: Sequence[str] | None = None

    def __post_init__(self) -> None:
        check_ints(self, interval=1)
        if self.max_step is not None:
            check_ints(self, max_step=1)
        if self.population is not None:
            check_ints(self, population=2)
        if not 0 < self.quantile <= 0.5:
            raise ParameterError(f"PopulationBasedTraining: quantile must be in (0, 0.5], got "
                             f"{self.quantile!r}")
        if not 0 <= self.resample_probability <= 1:
            raise ParameterError(f"PopulationBasedTraining: resample_probability must be in "
                             f"[0, 1], got {self.resample_probability!r}")
        factors = tuple(float(f) for f in self.perturbation_factors)
        if len(factors) < 1 or not all(math.isfinite(f) and f > 0 for f in factors):
            raise ParameterError(f"PopulationBasedTraining: perturbation_factors must be positive "
                             f"numbers, got {self.perturbation_factors!r}")
        object.__setattr__(self, "perturbation_factors", factors)
        if self.perturb is not None:
            listed = isinstance(self.perturb, Iterable) and not isinstance(self.perturb, str)
            names = tuple(self.perturb) if listed else ()
            if not listed or not all(isinstance(name, str) for name in names):
                raise ParameterError(f"PopulationBasedTraining: perturb must be a list of "
                                     f"hyperparameter names, got {self.perturb!r}")
            object.__setattr__(self, "perturb", names)

    def check_space(self, space: Space) -> None:
        """ParameterError naming the `perturb` names that are not in `space`."""
        unknown = [name for name in self.perturb or () if name not in space]
        if unknown:
            raise ParameterError(f"PopulationBasedTraining: perturb names "
                                 f"{', '.join(map(repr, unknown))}, not in the study's space; "
                                 f"its hyperparameters are: {', '.join(space)}")

    def new_state(self, direction: str, space: Space | None = None) -> PopulationState:
        if space is None:
            raise ParameterError("PopulationBasedTraining needs the study's space")
        self.check_space(space)
        return PopulationState(self, direction, space)


@dataclass
class _Member:
    params: Mapping[str, Any]
    seed: int
    start: int = 0  # the step it started or resumed from
    latest: float | None = None
    paused: bool = False
    pausing: bool = False
    alive: bool = True


class PopulationState(SchedulerState):
    """PBT's bookkeeping (see the module docstring)."""

    def __init__(self, config: PopulationBasedTraining, direction: str, space: Space) -> None:
        self.config, self.direction, self.space = config, direction, space
        self._lock = threading.RLock()
        self._members: dict[int, _Member] = {}

    def restore(self, trials: Iterable[FrozenTrial]) -> None:
        with self._lock:
            self._members = {}
            for trial in sorted(trials, key=lambda t: t.number):
                member = self._add(trial)
                member.paused = trial.state is TrialState.PAUSED
                member.alive = not trial.state.is_finished

    def _add(self, trial: FrozenTrial) -> _Member:
        last = max(trial.intermediate, default=None)
        latest = None if last is None else float(trial.intermediate[last])
        member = _Member(dict(trial.params), int(trial.seed), last or 0,
                         latest if latest is not None and math.isfinite(latest) else None)
        self._members[trial.number] = member
        return member

    def started(self, trial: FrozenTrial) -> None:
        with self._lock:
            self._add(trial)

    def report(self, number: int, step: int, value: float) -> bool:
        with self._lock:
            member = self._members.get(number)
            if member is None:
                return False
            if not math.isfinite(value):
                member.pausing = False
                return True
            member.latest = value
            last = self.config.max_step
            member.pausing = (step >= member.start + self.config.interval
                              and (last is None or step < last))
            return member.pausing

    def stopped(self, trial: FrozenTrial) -> bool:
        with self._lock:
            member = self._members.get(trial.number)
            if member is None or not member.pausing:
                self.finished(trial)
                return False
            member.paused, member.pausing = True, False
            member.start = max(trial.intermediate, default=member.start)
            return True

    def finished(self, trial: FrozenTrial) -> None:
        with self._lock:
            member = self._members.get(trial.number)
            if member is not None:
                member.alive = member.paused = member.pausing = False

    def live(self) -> int:
        with self._lock:
            return sum(m.alive for m in self._members.values())

    def ranked(self) -> list[int]:
        """The live trials that reported, best first (ties by number)."""
        sign = 1.0 if self.direction == "minimize" else -1.0
        scored = [(sign * m.latest, n) for n, m in self._members.items()
                  if m.alive and m.latest is not None]
        return [n for _, n in sorted(scored)]

    def decide(self, number: int) -> Action:
        """Resume or exploit the paused trial `number` (module docstring)."""
        ranked = self.ranked()
        k = min(math.ceil(self.config.quantile * len(ranked)), len(ranked) // 2)
        if k == 0 or number not in ranked[len(ranked) - k:]:
            return Resume(number)
        member = self._members[number]
        rng = np.random.default_rng(np.random.SeedSequence([member.seed, EXPLORE_STREAM]))
        source = ranked[int(rng.integers(k))]
        params = perturb(self.space, self._members[source].params, rng,
                         self.config.perturbation_factors, self.config.resample_probability,
                         self.config.perturb)
        return Exploit(number, source, params)

    def next(self, count: int, new_allowed: bool) -> list[Action]:
        with self._lock:
            out: list[Action] = []
            cap = self.config.population
            live = self.live()
            while new_allowed and len(out) < count and (cap is None or live < cap):
                out.append(Fresh())
                live += 1
            ready = sorted((m.start, n) for n, m in self._members.items() if m.paused)
            for _, number in ready[:count - len(out)]:
                action = self.decide(number)
                self._members[number].paused = False
                if isinstance(action, Exploit):
                    self._members[number].alive = False
                out.append(action)
            return out

    def hopeless(self, remaining: int | None) -> list[int]:
        return []


def _neighbour(choices: list[Any], value: Any, rng: np.random.Generator) -> Any:
    index = next((i for i, c in enumerate(choices) if c == value and type(c) is type(value)),
                 None)
    if index is None:
        index = min(range(len(choices)), key=lambda i: abs(choices[i] - value))
    move = 1 if rng.random() < 0.5 else -1
    if not 0 <= index + move < len(choices):  # at an end: the one neighbour there is
        move = -move
    return choices[min(max(index + move, 0), len(choices) - 1)]


def perturb(space: Space, params: Mapping[str, Any], rng: np.random.Generator,
            factors: tuple[float, ...] = (0.8, 1.2), resample_probability: float = 0.25,
            names: Collection[str] | None = None) -> dict[str, Any]:
    """A configuration near `params` (the explore step of the module docstring); only the
    hyperparameters in `names` move (None: every one), the others keep their value."""
    out: dict[str, Any] = {}
    for name in space.order:
        if not space.is_active(name, out):
            continue
        dim = space[name]
        if names is not None and name not in names and name in params:
            out[name] = params[name]
        elif name not in params or rng.random() < resample_probability:
            out[name] = dim.sample(rng)
        elif isinstance(dim, Categorical):
            out[name] = _neighbour(list(dim.choices), params[name], rng)
        elif isinstance(dim, Float | Int) and dim.values is not None:
            out[name] = _neighbour(sorted(dim.values), params[name], rng)
        else:
            value = params[name] * factors[int(rng.integers(len(factors)))]
            moved = dim.quantise(min(max(value, dim.low), dim.high))
            if isinstance(dim, Int) and moved == params[name]:
                moved = dim.quantise(min(max(moved + (dim.step if value > moved else -dim.step),
                                             dim.low), dim.high))
            out[name] = moved
    return space.active(out)
