"""The study: a search over a space, with ask/tell at its core and storage behind it.

Contract:
- `Study(space, direction, strategy, seed, storage, *, strategy_options, pruner,
  max_consecutive_failures=10, overwrite=False)`. `space` is an `hp.Space` or a dict of
  dimensions (objects or plain dicts); `storage=None` keeps the study in memory, a folder path
  makes it durable (see `hpsearch.storage`). `seed=None` draws a fresh seed, stored with the
  study. Errors in the space, strategy or options surface here, at construction.
- `ask(n=None)`: the next trial (`hp.Trial`), or a list of n distinct ones. Trials left
  `interrupted` by an earlier driver come first, under their own number, params and seed;
  then the strategy's proposals, which know every trial asked and not yet told (pending).
  Each asked trial is committed as `running` before `ask` returns. Fewer than n trials come
  back only when the strategy is exhausted (grid); `ask()` on an exhausted strategy raises
  `StudyError`.
- `tell(trial_or_number, value=None, *, state=None, error=None, intermediate=None,
  started_at=None, finished_at=None) -> FrozenTrial`: finish an asked trial. `value` is a
  number or an `hp.Result`; `state` defaults to complete when a value is given. A value that
  is not a finite number fails the trial (as in `optimize`); `state="pruned"` keeps the last
  reported value; `state="failed"` takes `error`. Telling an unknown, already finished or
  foreign trial raises `StudyError` naming it.
- `optimize(objective, n_trials, ...)` is that same ask/tell plus an executor (see
  `hpsearch.study.loop`). Trials asked and never told stay `running`; the next driver to open
  the study marks them `interrupted`.
- Seeds: `hpsearch.study.seeds`. Durable: a trial is committed when asked and when told.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from hpsearch.exceptions import StudyError
from hpsearch.execution.reports import DirectReportClient
from hpsearch.pareto import check_directions
from hpsearch.pruners.base import Pruner
from hpsearch.pruners.service import PruningService
from hpsearch.space import Space
from hpsearch.storage import MemoryStorage, SqliteStorage, Storage, StudyMeta, reader_view
from hpsearch.strategies.keys import point_key
from hpsearch.study.best import (
    best_trial,
    extend_front,
    metric_names,
    objective_names,
    pareto_front,
)
from hpsearch.study.lifetime import FolderHold
from hpsearch.study.proposals import Proposals, check_partial
from hpsearch.study.seeds import fresh_seed
from hpsearch.study.told import pending_trial, settle
from hpsearch.study.warmstart import WarmStart, read_warm_start, stored_warm_start
from hpsearch.trial import FrozenTrial, Result, Trial, TrialState

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Study", "load_study"]

logger = logging.getLogger("hpsearch")


class Study(FolderHold):
    """A search over `space` (module docstring); holds its folder until close(): `.lifetime`."""

    def __init__(self, space: Space | Mapping[str, Any],
                 direction: str | Sequence[str] = "minimize",
                 strategy: str = "random", seed: int | None = None,
                 storage: str | os.PathLike | None = None, *,
                 strategy_options: Mapping[str, Any] | None = None,
                 pruner: Pruner | None = None, max_consecutive_failures: int | None = 10,
                 overwrite: bool = False, metric: str | Sequence[str] | None = None,
                 warm_start: Sequence[str | os.PathLike] | None = None) -> None:
        directions = check_directions(direction)
        direction = directions[0] if len(directions) == 1 else list(directions)
        metric = metric_names(metric, directions)
        if len(directions) > 1 and pruner is not None:
            raise StudyError("pruners compare one value per step; a multi-objective study "
                             "takes no pruner (pruner=None)")
        if max_consecutive_failures is not None and max_consecutive_failures < 1:
            raise StudyError("max_consecutive_failures must be a positive integer or None")
        space = space if isinstance(space, Space) else Space(space)
        if seed is None and storage is None:
            seed = fresh_seed()
        if isinstance(warm_start, str | os.PathLike):
            warm_start = [warm_start]
        folders = tuple(os.path.abspath(os.fspath(f)) for f in warm_start or ())
        warm = read_warm_start(folders, space, direction, metric)  # before anything is written
        meta = StudyMeta(space.to_dict(), direction, strategy, seed, dict(strategy_options or {}),
                         metric=metric, warm_start=folders)
        if storage is None:
            opened: Storage = MemoryStorage(meta)
        else:
            opened = SqliteStorage.open(storage, meta, overwrite=overwrite)
        self._setup(opened, space, pruner, max_consecutive_failures, readonly=False, warm=warm)
        if warm.summary():
            logger.info("%s", warm.summary())

    def _setup(self, storage: Storage, space: Space, pruner: Pruner | None,
               max_consecutive_failures: int | None, readonly: bool,
               warm: WarmStart | None = None) -> None:
        meta = storage.meta
        self.metric = meta.metric
        self.warm_start = warm if warm is not None else stored_warm_start(meta, space)
        self.space = space
        self.direction = meta.direction  # a name, or a list of names (several objectives)
        self.directions = check_directions(meta.direction)
        self.strategy_name = meta.strategy
        self.strategy_options = dict(meta.strategy_options)
        self.pruner = pruner
        self.max_consecutive_failures = max_consecutive_failures
        self.readonly = readonly
        self.stop_reason: str | None = None  # set by stop(); see hpsearch.study.stopping
        self._storage = storage
        self.seed: int = int(meta.seed)
        self._load(storage.load_trials())
        self.pruning = PruningService(pruner, self.directions[0], lambda: self._finished)
        self._proposals = None if readonly else Proposals(
            space, self.strategy_name, self.strategy_options, self.seed, self.direction)
        if self._proposals is not None:
            self._replay()

    def _load(self, trials: Iterable[FrozenTrial]) -> None:
        self._seen_version = self._storage.data_version()
        self._trials = {t.number: t for t in trials}
        self._finished = [t for t in self._trials.values() if t.state.is_finished]
        self._pending: dict[int, FrozenTrial] = {}  # asked by this process, not yet told
        self._next_number = max(self._trials, default=-1) + 1
        self._front = pareto_front(self._trials.values(), self.directions)  # kept by tell

    # ----- reading
    @property
    def path(self) -> str | None:
        """The run folder, or None for an in-memory study."""
        return self._storage.path

    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial, sorted by number (read-only: read again only after another commit)."""
        if self.readonly and self._storage.data_version() != self._seen_version:
            self._load(self._storage.load_trials())
        trials = [self._trials[n] for n in sorted(self._trials)]
        return reader_view(trials, self.path) if self.readonly else trials

    def finished_trials(self, start: int = 0) -> list[FrozenTrial]:
        """Finished trials from `start` on, in the order learned (stored ones first, by number)."""
        return self._finished[start:]

    @property
    def n_finished(self) -> int:
        """How many trials count towards `n_trials` (complete + pruned + failed)."""
        return len(self._finished)

    @property
    def exhausted(self) -> bool:
        """True when the strategy had no new point at the last ask (grid)."""
        return self._proposals is not None and self._proposals.exhausted

    @property
    def running(self) -> list[FrozenTrial]:
        """The trials this study object has asked for and not yet told, by number."""
        return [self._pending[n] for n in sorted(self._pending)]

    @property
    def n_objectives(self) -> int:
        return len(self.directions)

    @property
    def objective_names(self) -> list[str]:
        """The values' names: the metrics of a study file, else 0, 1, ..."""
        return objective_names(self.metric, self.n_objectives)

    def pareto_front(self) -> list[FrozenTrial]:
        """The complete trials no other complete trial dominates (every objective at least as
        good, one better), by number."""
        return pareto_front(self.trials, self.directions) if self.readonly else list(self._front)

    best_trials = property(lambda self: self.pareto_front(), doc="The Pareto front.")

    def _single(self, what: str) -> None:
        if self.n_objectives > 1:
            raise StudyError(f"{what} is for one objective; this study has "
                             f"{self.n_objectives} ({', '.join(self.directions)}): use "
                             "study.pareto_front() or study.best_trials")

    @property
    def best_trial(self) -> FrozenTrial:
        """The complete trial with the best value (StudyError when there is none)."""
        self._single("best_trial")
        return best_trial(self.trials, self.direction)

    @property
    def best_value(self) -> float:
        self._single("best_value")
        return float(self.best_trial.value)

    @property
    def best_params(self) -> dict[str, Any]:
        self._single("best_params")
        return dict(self.best_trial.params)

    def stop(self, reason: str = "stop requested") -> None:
        """Ask the running `optimize` to start no new trial (running ones finish, the tables
        are written, optimize returns). Callbacks may call it, or raise `hp.StopStudy`."""
        self.stop_reason = reason

    def results(self, best_first: bool = False) -> pd.DataFrame:
        """The trials table (see `hpsearch.study.tables`), by number or best first."""
        from hpsearch.study import tables

        frame = tables.results_frame(self.trials, self.space, warm=self.warm_start.trials,
                                     objectives=self.objective_names,
                                     directions=self.directions)
        return tables.best_first(frame, self.directions) if best_first else frame

    def write_tables(self) -> tuple[str, str]:
        """Write trials.csv and trials.parquet into the run folder; return their paths."""
        from hpsearch.study import tables

        if self.path is None:
            raise StudyError("an in-memory study has no run folder to write tables into")
        return tables.write_tables(self.results(), self.path)

    def artifacts(self, number: int) -> dict[str, np.ndarray]:
        """The arrays trial `number` returned in `Result.artifacts` ({} when none)."""
        if number not in self._trials and not self.readonly:
            raise StudyError(f"the study has no trial {number}")
        return self._storage.load_artifacts(number)

    def __repr__(self) -> str:
        return (f"Study(strategy={self.strategy_name!r}, direction={self.direction!r}, "
                f"trials={len(self._trials)}, storage={self.path!r})")

    # ----- strategy and storage
    def _replay(self) -> None:
        self._proposals.replay(self._trials.values(), [t for _, t in self.warm_start.trials])

    def sync(self) -> None:
        """Reload a stored study (another driver may have run it since) and mark the trials
        of a dead driver interrupted. Only while this object has no trial pending."""
        version = self._storage.data_version()
        if self._pending or version == self._seen_version:
            return  # nothing pending can be reloaded, and no other connection has written
        self._seen_version = version
        stored = {t.number: t for t in self._storage.load_trials()}
        for number, trial in stored.items():
            if trial.state is TrialState.RUNNING:
                stored[number] = dataclasses.replace(trial, state=TrialState.INTERRUPTED)
                self._storage.save_trial(stored[number])
        if {n: t.state for n, t in stored.items()} != {n: t.state
                                                       for n, t in self._trials.items()}:
            self._load(stored.values())
            self._replay()

    def _record(self, trial: FrozenTrial,
                artifacts: Mapping[str, np.ndarray] | None = None) -> None:
        self._storage.save_trial(trial, artifacts)
        self._trials[trial.number] = trial

    def lock(self):
        """The run folder's lock, held by `optimize` and by each ask/tell call."""
        return self._storage.lock()

    def _writable(self) -> None:
        if self.readonly or self.closed:
            raise StudyError(self.not_writable_reason())

    # ----- ask
    @overload
    def ask(self, n: None = None) -> Trial: ...

    @overload
    def ask(self, n: int) -> list[Trial]: ...

    def ask(self, n: int | None = None) -> Trial | list[Trial]:
        """The next trial, or a list of `n` distinct ones (see the module docstring)."""
        self._writable()
        count = 1 if n is None else n
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise StudyError(f"ask(n): n must be a non-negative integer, got {n!r}")
        with self.lock():
            self.sync()
            trials = self._take_interrupted(count)
            if len(trials) < count:
                trials += self._propose(count - len(trials))
            now = time.time()
            for trial in trials:
                running = dataclasses.replace(trial, state=TrialState.RUNNING, started_at=now)
                self._pending[running.number] = running
                self._record(running)
        handles = [self._handle(t) for t in trials]
        if n is not None:
            return handles
        if not handles:
            raise StudyError(f"strategy {self.strategy_name!r} is exhausted: it has no new "
                             "point to propose")
        return handles[0]

    def _handle(self, trial: FrozenTrial) -> Trial:
        reporter = DirectReportClient(self.pruning) if self.pruner is not None else None
        return Trial(trial.number, trial.seed, reporter, params=trial.params, owner=self)

    def _take_interrupted(self, count: int) -> list[FrozenTrial]:
        none = len(self._trials) == len(self._finished) + len(self._pending)  # no scan then
        return [] if none else [t for n, t in sorted(self._trials.items()) if t.state is
                                TrialState.INTERRUPTED and n not in self._pending][:count]

    def _propose(self, count: int) -> list[FrozenTrial]:
        numbers = list(range(self._next_number, self._next_number + count))
        trials = self._proposals.propose(numbers, [t.params for t in self._pending.values()])
        self._next_number += len(trials)
        return trials

    def enqueue(self, params: Mapping[str, Any], skip_if_exists: bool = False) -> bool:
        """Queue a configuration to try before the strategy's own proposals (in order).
        Partial params are allowed: the strategy fills the rest. With `skip_if_exists`, a
        configuration some trial already has (its given names, same values) is not queued.
        Returns whether it was queued; SpaceError for a name or value the space refuses."""
        self._writable()
        checked = check_partial(self.space, params)
        if skip_if_exists and any(
                all(name in t.params and point_key(self.space, {name: t.params[name]})
                    == point_key(self.space, {name: value}) for name, value in checked.items())
                for t in self._trials.values()):
            return False
        self._proposals.enqueue(checked)
        return True

    # ----- tell
    def tell(self, trial: Trial | FrozenTrial | int, value: float | Result | None = None, *,
             state: str | TrialState | None = None, error: str | None = None,
             intermediate: Mapping[int, float] | None = None,
             started_at: float | None = None, finished_at: float | None = None,
             ) -> FrozenTrial:
        """Finish an asked trial (see the module docstring); returns the recorded trial."""
        self._writable()
        running = pending_trial(trial, self._pending, self._trials, self)
        if intermediate is None:
            intermediate = (trial.intermediate if isinstance(trial, Trial)
                            else self.pruning.intermediate(running.number))
        state, value, values, error, metrics, artifacts = settle(
            state, value, error, intermediate, self.n_objectives)
        done = FrozenTrial(running.number, running.params, state, running.seed, value=value,
                           metrics=metrics, intermediate=dict(intermediate), error=error,
                           started_at=started_at or running.started_at,
                           finished_at=finished_at or time.time(), values=values)
        with self.lock():
            self._record(done, artifacts)
        del self._pending[done.number]
        self._finished.append(done)
        self._front = extend_front(self._front, done, self.directions)  # O(front), not O(n^2)
        self.pruning.forget(done.number)
        self._proposals.tell(done)
        return done

    def interrupt_running(self, numbers: Sequence[int] | None = None) -> None:
        """Mark running trials `interrupted` (all, or those in `numbers`); `ask` asks them first."""
        for trial in [t for t in self._trials.values() if t.state is TrialState.RUNNING
                      and (numbers is None or t.number in numbers)]:
            self._record(dataclasses.replace(trial, state=TrialState.INTERRUPTED))
            self.pruning.forget(trial.number)
        self._pending = {n: t for n, t in self._pending.items()
                         if numbers is not None and n not in numbers}

    # ----- running
    def optimize(self, objective: Callable | str, n_trials: int, n_jobs: int = 1,
                 timeout: float | None = None,
                 callbacks: Iterable[Callable[[Study, FrozenTrial], None]] = (), *,
                 backend: str = "local", scheduler: Any = None,
                 trial_timeout: float | None = None,
                 max_memory_mb: int | None = None, show_progress: bool = False) -> None:
        """Run trials until the study holds `n_trials` finished ones (see `hpsearch.study.loop`).

        backend: "local" (n_jobs=1 in-process, else a loky pool) or "dask" (`scheduler`: an
        address "tcp://HOST:8786" or a distributed.Client; n_jobs = trials in flight, -1 = one
        per worker thread). trial_timeout (seconds) and max_memory_mb (MB beyond the worker's
        own) fail a trial past them; see hpsearch.execution.limits.
        """
        from hpsearch.study.loop import LoopSettings, OptimizeLoop

        self._writable()
        settings = LoopSettings.checked(n_trials, n_jobs, timeout, backend, scheduler,
                                        trial_timeout, max_memory_mb)
        with self.lock():
            self.sync()
            self.stop_reason = None
            OptimizeLoop(self, objective, settings, tuple(callbacks), show_progress).run()


def load_study(path: str | os.PathLike) -> Study:
    """Open a run folder read-only (works during a live run and after a crash)."""
    storage = SqliteStorage.open_readonly(path)
    study = Study.__new__(Study)
    study._setup(storage, Space.from_dict(storage.meta.space), None, None, readonly=True)
    return study
