"""`HpsearchSampler`: hpsearch's strategies (gp by default) as an Optuna sampler.

    import optuna
    from hpsearch.integrations.optuna import HpsearchSampler

    study = optuna.create_study(sampler=HpsearchSampler(seed=0))
    study.optimize(objective, n_trials=50)      # objective(trial) with trial.suggest_*

Contract:
- `HpsearchSampler(strategy="gp", seed=None, **strategy_options)`: `strategy` is one of
  `STRATEGIES` ("gp", "tpe", "random"), its options those of `hp.Study(strategy_options=...)`
  (`hpsearch.strategies.gp.GPStrategy` documents gp's); an unknown strategy or option raises
  `StrategyError` at construction. `seed` (an int, or None for fresh entropy) makes a study
  reproducible: the same seed and objective give the same trials, in any process.
- Relative sampling: the search space is inferred from the study's complete trials
  (`hpsearch.integrations.optuna.space.infer_space`: Optuna's intersection search space, plus
  the define-by-run conditional parameters as hpsearch conditions `when=`), and one strategy
  per study and space asks for the whole point at the trial's first `suggest_*`. When the
  inferred space changes (a new branch seen, a range changed) a new strategy is built and told
  every finished trial again; otherwise only the trials finished since the last ask are told.
- Independent sampling, the documented fallback: parameters outside the inferred space (all of
  them in the first trial; a conditional parameter whose parent could not be inferred; a
  parameter whose range changes; single-valued or duplicated choices) are drawn uniformly from
  their distribution (an hpsearch dimension's `sample`, log-uniform for log ones), and logged
  once per name at INFO.
- What the strategy is told, from Optuna's states: COMPLETE -> complete with its value(s);
  PRUNED -> pruned with its intermediate values (gp counts it at its last finite one); FAIL ->
  failed (gp's `failed="worst"` imputes the worst value seen); a trial without every active
  parameter of the space (failed halfway through its suggests) is not told. RUNNING trials
  other than the one being sampled are pending: the strategy's constant liar keeps new points
  away from them. Each sampled point is written to its trial's system attribute
  `hpsearch:params`, so the pending points are whole whether the other trial runs in another
  thread (`n_jobs > 1`) or another process sharing an RDB or journal storage.
- Several objectives: the study's directions go to the strategy (gp: ParEGO).
- Optuna gives a sampler no public way to write a trial's system attribute, so the point is
  written through `study._storage`, as Optuna's own samplers do.
- Thread-safe: one lock around the strategies (Optuna's `n_jobs > 1` shares one sampler).
  `reseed_rng()` (what Optuna calls in each of its threads) draws fresh entropy and forgets
  the strategies, which are rebuilt from the study's trials at the next ask.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial as OptunaTrial
from optuna.trial import TrialState as OptunaState

from hpsearch.exceptions import SpaceError, StrategyError
from hpsearch.integrations.optuna.space import (
    InferredSpace,
    dimension_for,
    infer_space,
    space_from_distributions,
)
from hpsearch.space import Float, Space
from hpsearch.strategies import Strategy, make_strategy
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["PARAMS_ATTR", "STRATEGIES", "HpsearchSampler"]

logger = logging.getLogger("hpsearch")

STRATEGIES = ("gp", "tpe", "random")
PARAMS_ATTR = "hpsearch:params"  # a trial's system attribute: the point its strategy asked
_STATES = {OptunaState.COMPLETE: TrialState.COMPLETE, OptunaState.PRUNED: TrialState.PRUNED,
           OptunaState.FAIL: TrialState.FAILED}
_PROBE = Space({"x": Float(0.0, 1.0)})  # to check the options at construction


@dataclass
class _Session:
    """One study's strategy over one inferred space, and the trials it was told."""

    space: Space
    directions: tuple[str, ...]
    strategy: Strategy
    told: set[int] = field(default_factory=set)


class HpsearchSampler(BaseSampler):
    """hpsearch's `strategy` ("gp", "tpe" or "random") as an Optuna sampler; see the module
    docstring for what it samples, when, and from what."""

    def __init__(self, strategy: str = "gp", seed: int | None = None,
                 **strategy_options: Any) -> None:
        if strategy not in STRATEGIES:
            raise StrategyError(f"HpsearchSampler: unknown strategy {strategy!r}; valid "
                                f"strategies: {', '.join(STRATEGIES)}")
        make_strategy(strategy, _PROBE, np.random.default_rng(0), "minimize",
                      **strategy_options)
        self._strategy_name = strategy
        self._options = dict(strategy_options)
        self._lock = threading.RLock()
        self._reset(np.random.SeedSequence(seed))

    def _reset(self, seeds: np.random.SeedSequence) -> None:
        self._seeds = seeds
        self._rng = np.random.default_rng(seeds.spawn(1)[0])  # independent sampling
        self._sessions: dict[tuple, _Session] = {}
        self._inferred: dict[tuple, InferredSpace] = {}  # (study, trial number) -> space
        self._logged: set[str] = set()

    def __str__(self) -> str:
        return f"HpsearchSampler(strategy={self._strategy_name!r})"

    def reseed_rng(self) -> None:
        with self._lock:
            self._reset(np.random.SeedSequence())

    # -- relative sampling -------------------------------------------------------------------

    def infer_relative_search_space(self, study: Study, trial: OptunaTrial
                                    ) -> dict[str, BaseDistribution]:
        inferred = infer_space(study.get_trials(deepcopy=False, states=(OptunaState.COMPLETE,)))
        with self._lock:  # for this trial's sample_relative, which Optuna calls next
            self._inferred[(_key(study), trial.number)] = inferred
        return dict(inferred.distributions)

    def sample_relative(self, study: Study, trial: OptunaTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        key = _key(study)
        with self._lock:
            inferred = self._inferred.pop((key, trial.number), None)
            if not search_space:
                return {}
            if inferred is None or dict(inferred.distributions) != search_space:
                inferred = space_from_distributions(search_space)  # a space given from outside
            if inferred.space is None:
                return {}
            trials = study.get_trials(deepcopy=False)
            session = self._session(key, inferred.space, _directions(study))
            self._tell(session, trials)
            pending = _pending(session.space, trials, trial.number)
            params = session.strategy.ask(1, pending)[0]
            # inside the lock: the next thread's ask already sees this point as pending
            study._storage.set_trial_system_attr(trial._trial_id, PARAMS_ATTR, dict(params))
        return dict(params)

    def _session(self, key: tuple, space: Space, directions: tuple[str, ...]) -> _Session:
        session = self._sessions.get(key)
        if session is None or session.space != space or session.directions != directions:
            rng = np.random.default_rng(self._seeds.spawn(1)[0])
            direction = directions[0] if len(directions) == 1 else list(directions)
            strategy = make_strategy(self._strategy_name, space, rng, direction, **self._options)
            session = self._sessions[key] = _Session(space, directions, strategy)
        return session

    def _tell(self, session: _Session, trials: Sequence[OptunaTrial]) -> None:
        """Tell the strategy every finished trial it has not been told, in number order."""
        for trial in trials:
            if trial.state not in _STATES or trial.number in session.told:
                continue
            session.told.add(trial.number)
            record = _record(trial, session.space, len(session.directions))
            if record is not None:
                session.strategy.tell(record)

    # -- independent sampling ----------------------------------------------------------------

    def sample_independent(self, study: Study, trial: OptunaTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        with self._lock:
            if param_name not in self._logged:
                self._logged.add(param_name)
                logger.info("HpsearchSampler: %r is sampled independently (outside the "
                            "relative search space inferred so far)", param_name)
            try:
                return dimension_for(param_distribution).sample(self._rng)
            except SpaceError:  # repeated categorical choices: uniform over the list
                assert isinstance(param_distribution, CategoricalDistribution)
                choices = param_distribution.choices
                return choices[int(self._rng.integers(len(choices)))]


def _key(study: Study) -> tuple:
    return (id(study._storage), study.study_name)


def _directions(study: Study) -> tuple[str, ...]:
    return tuple("maximize" if d == StudyDirection.MAXIMIZE else "minimize"
                 for d in study.directions)


def _params_in(space: Space, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The part of `params` in `space`, or None when it is not a whole point of it."""
    point = {name: params[name] for name in space if name in params}
    try:
        space.validate(point)
    except SpaceError:
        return None
    return point


def _record(trial: OptunaTrial, space: Space, n_objectives: int) -> FrozenTrial | None:
    """The hpsearch record of a finished Optuna trial (None: not a whole point of `space`)."""
    params = _params_in(space, trial.params)
    if params is None:
        return None
    state = _STATES[trial.state]
    values = None
    if trial.values is not None and len(trial.values) == n_objectives and \
            state is not TrialState.FAILED:
        values = tuple(float(v) for v in trial.values)
    return FrozenTrial(number=trial.number, params=params, state=state, seed=0,
                       value=values[0] if values is not None and n_objectives == 1 else None,
                       values=values,
                       intermediate={int(step): float(v)
                                     for step, v in trial.intermediate_values.items()})


def _pending(space: Space, trials: Sequence[OptunaTrial], current: int) -> list[dict[str, Any]]:
    """The points of the other running trials: the params they have suggested so far,
    completed by the point their strategy asked for (recorded at their first suggest; a
    parameter enqueued with a fixed value differs from it), when that makes a whole point."""
    pending = []
    for trial in trials:
        if trial.state != OptunaState.RUNNING or trial.number == current:
            continue
        point = _params_in(space, {**trial.system_attrs.get(PARAMS_ATTR, {}), **trial.params})
        if point is not None:
            pending.append(point)
    return pending
