"""The study: asks a strategy for points, runs trials in parallel, records everything.

Contract:
- `Study(space, direction, strategy, seed, storage, *, strategy_options, pruner,
  max_consecutive_failures=10, overwrite=False)`. `space` is an `hp.Space` or a dict of
  dimensions (objects or plain dicts); `storage=None` keeps the study in memory, a folder path
  makes it durable (see `hpsearch.storage`). `seed=None` draws a fresh seed, stored with the
  study. Errors in the space, strategy or options surface here, at construction.
- `optimize(objective, n_trials, n_jobs=1, timeout=None, callbacks=())` runs until the study
  holds `n_trials` finished trials (complete + pruned + failed, counting earlier calls and
  earlier runs of a stored study), the strategy is exhausted (grid), or `timeout` seconds
  have passed (no trial starts after it; running ones finish), or a callback stops the study
  (`study.stop(reason)` or raising `hp.StopStudy`; same effect, see `hpsearch.stopping`;
  `stop_reason` says why). Interrupted trials are run
  again first, under their own number, params and seed. The objective is a callable or a
  "file.py:name" / "module:name" string (see `hpsearch.objective`).
- Asynchronous: with n_jobs workers, each finished trial is recorded, told to the strategy,
  passed to the callbacks `cb(study, trial)`, and the freed worker gets the next trial at
  once. n_jobs=1 runs in-process; n_jobs>1 on loky workers with one BLAS thread each.
- Where trials run (`optimize(..., backend="local"|"dask", scheduler=None)`) and per-trial
  limits (`trial_timeout`, `max_memory_mb`): see `Study.optimize`, `hpsearch.executor`,
  `hpsearch.dask_executor` and `hpsearch.limits`. A trial past its timeout is failed with
  "timed out after X s"; the trials running beside it on a killed loky pool run again.
- Trial i's seed is `SeedSequence(seed).spawn(i + 1)[i].generate_state(1)[0]`; the strategy's
  Generator is a separate child of the same seed.
- Durable: a trial is committed when it starts (`running`) and when it finishes. A driver
  that dies leaves `running` rows, which the next open marks `interrupted`; Ctrl-C (and any
  other error in the driver) marks running trials `interrupted`, kills the workers, writes
  the tables and re-raises.
- Failures: an objective that raises or returns a non-finite value, or whose worker process
  dies, gives a `failed` trial with the error text; the study goes on until
  `max_consecutive_failures` (default 10; None = no limit) failures in a row, then raises
  `StudyError`. When a loky worker dies every running trial's future breaks; the trials that
  had really started are suspects: if there is one, it failed; otherwise the suspects are run
  again one at a time, alone, and the one whose worker dies again is failed (its intermediate
  reports are kept). The rest are run again with the same params and seed on a fresh pool
  (a trial caught in 3 breaks without being identified fails, so a pool that keeps breaking
  cannot loop forever).
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from hpsearch.exceptions import SpaceError, StorageError, StrategyError, StudyError
from hpsearch.executor import TrialOutcome, TrialTask, make_executor
from hpsearch.limits import check_limits, timeout_text
from hpsearch.objective import objective_ref
from hpsearch.pruning import Pruner, PruningService
from hpsearch.space import Space
from hpsearch.stopping import StopStudy
from hpsearch.storage import MemoryStorage, SqliteStorage, StudyMeta
from hpsearch.strategies import make_strategy
from hpsearch.strategies.base import DIRECTIONS, Strategy
from hpsearch.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Study", "load_study", "trial_seed"]

logger = logging.getLogger("hpsearch")

_STRATEGY_STREAM = 2**32  # spawn key of the strategy's Generator, beyond any trial number
_MAX_BREAKS = 3  # a trial caught in this many pool breaks without being the culprit fails


def trial_seed(study_seed: int, number: int) -> int:
    """The integer seed of trial `number`: child `number` of SeedSequence(study_seed)."""
    child = np.random.SeedSequence(entropy=study_seed, spawn_key=(number,))
    return int(child.generate_state(1)[0])


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class Study:
    """A search over `space`; see the module docstring."""

    def __init__(self, space: Space | Mapping[str, Any], direction: str = "minimize",
                 strategy: str = "random", seed: int | None = None,
                 storage: str | os.PathLike | None = None, *,
                 strategy_options: Mapping[str, Any] | None = None,
                 pruner: Pruner | None = None, max_consecutive_failures: int | None = 10,
                 overwrite: bool = False) -> None:
        if direction not in DIRECTIONS:
            raise StudyError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        if max_consecutive_failures is not None and max_consecutive_failures < 1:
            raise StudyError("max_consecutive_failures must be a positive integer or None")
        self.space = space if isinstance(space, Space) else Space(space)
        self.direction = direction
        self.strategy_name = strategy
        self.strategy_options = dict(strategy_options or {})
        self.pruner = pruner
        self.max_consecutive_failures = max_consecutive_failures
        self.readonly = False
        self.stop_reason: str | None = None  # set by stop(); see hpsearch.stopping
        if seed is None and storage is None:
            seed = int(np.random.SeedSequence().entropy)
        meta = StudyMeta(self.space.to_dict(), direction, strategy, seed,
                         self.strategy_options)
        if storage is None:
            self._storage: MemoryStorage | SqliteStorage = MemoryStorage(meta)
        else:
            self._storage = SqliteStorage.open(storage, meta, overwrite=overwrite)
        self.seed: int = int(self._storage.meta.seed)
        self._trials = {t.number: t for t in self._storage.load_trials()}
        self._strategy = self._build_strategy()

    # ----- reading
    @property
    def path(self) -> str | None:
        """The run folder, or None for an in-memory study."""
        return self._storage.path

    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial, sorted by number."""
        if self.readonly:
            self._trials = {t.number: t for t in self._storage.load_trials()}
        return [self._trials[n] for n in sorted(self._trials)]

    @property
    def best_trial(self) -> FrozenTrial:
        """The complete trial with the best value (StudyError when there is none)."""
        done = [t for t in self.trials if t.state is TrialState.COMPLETE and t.has_value]
        if not done:
            raise StudyError("the study has no complete trial yet")
        sign = 1.0 if self.direction == "minimize" else -1.0
        return min(done, key=lambda t: (sign * t.value, t.number))

    @property
    def best_value(self) -> float:
        return float(self.best_trial.value)

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    def stop(self, reason: str = "stop requested") -> None:
        """Ask the running `optimize` to start no new trial (running ones finish, the tables
        are written, optimize returns). Callbacks may call it, or raise `hp.StopStudy`."""
        self.stop_reason = reason

    def results(self, best_first: bool = False) -> pd.DataFrame:
        """The trials table (see `hpsearch.tables`), by number or best first."""
        from hpsearch import tables

        frame = tables.results_frame(self.trials, self.space)
        return tables.best_first(frame, self.direction) if best_first else frame

    def write_tables(self) -> tuple[str, str]:
        """Write trials.csv and trials.parquet into the run folder; return their paths."""
        from hpsearch import tables

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

    # ----- strategy
    def _build_strategy(self) -> Strategy:
        rng = np.random.default_rng(
            np.random.SeedSequence(entropy=self.seed, spawn_key=(_STRATEGY_STREAM,)))
        strategy = make_strategy(self.strategy_name, self.space, rng, self.direction,
                                 **self.strategy_options)
        reserve = getattr(strategy, "reserve", None)  # optional hook (random search)
        for trial in self.trials:
            if trial.state.is_finished:
                strategy.tell(trial)
            elif reserve is not None:
                reserve(trial.number)
        return strategy

    def _sync(self) -> None:
        """Reload a stored study (another driver may have run it since) and mark the trials
        of a dead driver interrupted."""
        stored = {t.number: t for t in self._storage.load_trials()}
        for number, trial in stored.items():
            if trial.state is TrialState.RUNNING:
                stored[number] = dataclasses.replace(trial, state=TrialState.INTERRUPTED)
                self._storage.save_trial(stored[number])
        if {n: t.state for n, t in stored.items()} != {n: t.state
                                                       for n, t in self._trials.items()}:
            self._trials = stored
            self._strategy = self._build_strategy()

    def _record(self, trial: FrozenTrial, artifacts: Mapping[str, np.ndarray] | None = None,
                ) -> None:
        names = None
        if artifacts:
            self._storage.save_artifacts(trial.number, artifacts)
            names = list(artifacts)
        if isinstance(self._storage, SqliteStorage):
            self._storage.save_trial(trial, names)
        else:
            self._storage.save_trial(trial)
        self._trials[trial.number] = trial

    def _finished(self) -> list[FrozenTrial]:
        return [t for t in list(self._trials.values()) if t.state.is_finished]

    # ----- running
    def optimize(self, objective: Callable | str, n_trials: int, n_jobs: int = 1,
                 timeout: float | None = None,
                 callbacks: Iterable[Callable[[Study, FrozenTrial], None]] = (), *,
                 backend: str = "local", scheduler: Any = None,
                 trial_timeout: float | None = None,
                 max_memory_mb: int | None = None) -> None:
        """Run trials until the study holds `n_trials` finished ones (see the module doc).

        backend: "local" (n_jobs=1 in-process, else a loky pool) or "dask" (trials as tasks on
        the cluster at `scheduler`, an address "tcp://HOST:8786" or a distributed.Client;
        n_jobs = trials in flight, -1 = one per worker thread; see hpsearch.dask_executor).
        trial_timeout: seconds; a trial still running then is stopped and failed with "timed
        out after X s" (locally its loky pool is killed and the other running trials run
        again with the same params and seed; on Dask the task is cancelled and its worker
        process exits). max_memory_mb: a trial may map at most this many MB more than its
        worker process already has (RLIMIT_AS, soft limit, per task); past it the trial fails
        with "exceeded the memory cap of N MB". With either limit, n_jobs=1 runs on one
        worker process instead of in the driver. See hpsearch.limits.
        """
        if self.readonly:
            raise StudyError("this study was opened read-only (hp.load_study)")
        if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
            raise StudyError(f"n_trials must be a non-negative integer, got {n_trials!r}")
        if backend not in ("local", "dask"):
            raise StudyError(f"backend must be 'local' or 'dask', got {backend!r}")
        check_limits(trial_timeout, max_memory_mb)
        if n_jobs == -1 and backend == "local":
            n_jobs = os.cpu_count() or 1
        if n_jobs == -1 and backend == "dask":
            n_jobs = 0  # resolved by the executor: one per worker thread of the cluster
        elif isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise StudyError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
        if timeout is not None and not timeout >= 0:
            raise StudyError(f"timeout must be a non-negative number of seconds, got {timeout}")
        reference = objective_ref(objective)
        with self._storage.lock():
            self._sync()
            self.stop_reason = None
            _Run(self, reference, n_trials, n_jobs, timeout, tuple(callbacks), backend,
                 scheduler, trial_timeout, max_memory_mb).run()


class _Run:
    """One optimize() call: the asynchronous loop and its bookkeeping."""

    def __init__(self, study: Study, reference: Any, n_trials: int, n_jobs: int,
                 timeout: float | None, callbacks: tuple, backend: str = "local",
                 scheduler: Any = None, trial_timeout: float | None = None,
                 max_memory_mb: int | None = None) -> None:
        self.study, self.reference, self.n_trials, self.n_jobs = study, reference, n_trials, n_jobs
        self.callbacks = callbacks
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.rerun = collections.deque(
            t for t in study.trials if t.state is TrialState.INTERRUPTED)
        self.suspects: collections.deque[FrozenTrial] = collections.deque()
        self.isolating: int | None = None
        self.in_flight: dict[cf.Future, FrozenTrial] = {}
        self.consecutive_failures = 0
        self.exhausted = False
        self.timed_out = False
        self.breaks: dict[int, int] = {}
        self.finished_count = sum(t.state.is_finished for t in study._trials.values())
        self.next_number = max(study._trials, default=-1) + 1
        self.backend, self.scheduler = backend, scheduler
        self.trial_timeout, self.max_memory_mb = trial_timeout, max_memory_mb
        self.trial_deadlines: dict[cf.Future, float] = {}

    def n_finished(self) -> int:
        return self.finished_count

    def run(self) -> None:
        study = self.study
        self.executor = make_executor(self.n_jobs or -1, self.backend, self.scheduler,
                                      self.trial_timeout, self.max_memory_mb)
        self.n_jobs = self.executor.n_workers
        service = PruningService(study.pruner, study.direction, study._finished)
        self.service = service
        self.reporter = self.executor.open_reports(service) if study.pruner else None
        clean = False
        try:
            while True:
                self.fill()
                if not self.in_flight:
                    break
                for future in self.executor.wait(self.in_flight, self.wait_timeout()):
                    if future in self.in_flight:
                        self.collect(future)
                self.expire()
            clean = True
        except BaseException:
            for trial in study.trials:
                if trial.state is TrialState.RUNNING:
                    with contextlib.suppress(StorageError):  # keep the original error
                        study._record(dataclasses.replace(trial, state=TrialState.INTERRUPTED))
            raise
        finally:
            self.executor.close_reports()
            self.executor.shutdown(kill=not clean)
            if study.path is not None:
                try:
                    study.write_tables()
                except OSError as err:
                    if clean:
                        raise StorageError(f"cannot write the tables in {study.path}: "
                                           f"{err}") from None
                    logger.warning("could not write the tables in %s: %s", study.path, err)
        if self.exhausted and self.n_finished() < self.n_trials:
            logger.info("strategy %r is exhausted after %d trials; n_trials=%d not reached",
                        study.strategy_name, self.n_finished(), self.n_trials)
        if self.timed_out:
            logger.info("timeout reached: %d trials finished", self.n_finished())

    # ----- starting trials
    def may_start(self) -> bool:
        if self.study.stop_reason is not None:
            return False
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.timed_out = True
            return False
        return True

    def fill(self) -> None:
        if self.suspects or self.isolating is not None:
            if not self.in_flight and self.suspects and self.may_start():
                trial = self.suspects.popleft()
                self.isolating = trial.number
                self.start(trial)
            return
        free = self.n_jobs - len(self.in_flight)
        budget = self.n_trials - self.n_finished() - len(self.in_flight)
        count = min(free, budget)
        if count <= 0 or not self.may_start():
            return
        batch = [self.rerun.popleft() for _ in range(min(count, len(self.rerun)))]
        wanted = count - len(batch)
        if wanted > 0 and not self.exhausted:
            batch += self.ask(wanted, [t.params for t in [*self.in_flight.values(), *batch]])
        for trial in batch:
            self.start(trial)

    def ask(self, n: int, pending: list) -> list[FrozenTrial]:
        study = self.study
        points = study._strategy.ask(n, pending)
        if len(points) < n and (study._strategy.exhausted or not points):
            self.exhausted = True
        next_number = self.next_number
        self.next_number += len(points)
        out = []
        for k, point in enumerate(points):
            params = {name: _plain(point[name]) for name in point}
            try:
                study.space.validate(params)
            except SpaceError as err:
                raise StrategyError(f"strategy {study.strategy_name!r} proposed an invalid "
                                    f"point {params}: {err}") from None
            number = next_number + k
            out.append(FrozenTrial(number, params, TrialState.RUNNING,
                                   trial_seed(study.seed, number)))
        return out

    def start(self, trial: FrozenTrial) -> None:
        running = FrozenTrial(trial.number, dict(trial.params), TrialState.RUNNING, trial.seed,
                              started_at=time.time())
        self.study._record(running)
        task = TrialTask(trial.number, dict(trial.params), trial.seed, self.reference,
                         self.reporter, max_memory_mb=self.max_memory_mb)
        future = self.executor.submit(task)
        self.in_flight[future] = running
        if self.trial_timeout is not None:
            self.trial_deadlines[future] = time.monotonic() + self.trial_timeout

    # ----- per-trial timeout
    def wait_timeout(self) -> float | None:
        """Seconds until the first running trial's deadline (None: no trial timeout)."""
        self.trial_deadlines = {f: d for f, d in self.trial_deadlines.items()
                                if f in self.in_flight}
        if not self.trial_deadlines:
            return None
        return max(0.0, min(self.trial_deadlines.values()) - time.monotonic())

    def expire(self) -> None:
        """Stop and fail the trials past their deadline; rerun the ones that broke with them."""
        now = time.monotonic()
        for future, deadline in list(self.trial_deadlines.items()):
            if future not in self.in_flight or deadline > now:
                continue
            if future.done():  # finished just in time
                self.collect(future)
                continue
            trial = self.in_flight.pop(future)
            broke_others = self.executor.stop(future)
            if broke_others:
                self.rerun.extendleft(reversed(self.drain()))
            self.fail(trial, timeout_text(self.trial_timeout),
                      self.service.intermediate(trial.number))

    # ----- collecting results
    def collect(self, future: cf.Future) -> None:
        trial = self.in_flight.pop(future)
        error = future.exception()
        if error is None:
            self.finish(trial, future.result())
            return
        if not self.executor.is_worker_death(error):
            self.fail(trial, f"{type(error).__name__}: {error}")
            return
        # The pool is broken: every other running future breaks too; collect them all.
        self.worker_died([trial, *self.drain()], error)

    def drain(self) -> list[FrozenTrial]:
        """Wait for every running future of a broken pool: record those that finished in
        time, return the trials whose futures broke."""
        cf.wait(list(self.in_flight))
        broken = []
        for future, trial in list(self.in_flight.items()):
            del self.in_flight[future]
            if future.exception() is None:
                self.finish(trial, future.result())
            else:
                broken.append(trial)
        return broken

    def worker_died(self, broken: list[FrozenTrial], error: BaseException) -> None:
        started = self.executor.started(t.number for t in broken)
        self.executor.reset()
        codes = [line.strip() for line in str(error).splitlines() if "exit code" in line]
        message = (f"worker process died while running this trial ({type(error).__name__}"
                   + (f"; {codes[0]}" if codes else "") + ")")
        if self.isolating is not None:
            culprits = [t for t in broken if t.number == self.isolating]
            self.isolating = None
            self.rerun.extendleft(reversed(list(self.suspects)))  # back to normal running
            self.suspects.clear()
        elif len(started) == 1:
            culprits = [t for t in broken if t.number in started]
        else:
            culprits = []
            self.suspects.extend(sorted((t for t in broken if t.number in started),
                                        key=lambda t: t.number))
            logger.warning("a worker died with %d trials running (%s); running them again "
                           "one at a time to find which one", len(self.suspects),
                           ", ".join(str(t.number) for t in self.suspects))
        others = [t for t in broken if t not in culprits and t not in self.suspects]
        for trial in list(others):  # never loop forever on a pool that keeps breaking
            self.breaks[trial.number] = self.breaks.get(trial.number, 0) + 1
            if self.breaks[trial.number] >= _MAX_BREAKS:
                others.remove(trial)
                culprits.append(trial)
        self.rerun.extendleft(reversed(others))
        for trial in culprits:
            self.fail(trial, message, self.service.intermediate(trial.number))

    def fail(self, trial: FrozenTrial, error: str,
             intermediate: Mapping[int, float] | None = None) -> None:
        self.finish(trial, TrialOutcome(trial.number, TrialState.FAILED, None,
                                        intermediate=dict(intermediate or {}), error=error,
                                        started_at=trial.started_at, finished_at=time.time()))

    def finish(self, running: FrozenTrial, outcome: TrialOutcome) -> None:
        study = self.study
        if self.isolating == running.number:
            self.isolating = None
        value = outcome.value
        if value is not None and not math.isfinite(value):
            value = None
        trial = FrozenTrial(running.number, running.params, outcome.state, running.seed,
                            value=value, metrics=dict(outcome.metrics),
                            intermediate=dict(outcome.intermediate), error=outcome.error,
                            started_at=outcome.started_at or running.started_at,
                            finished_at=outcome.finished_at)
        study._record(trial, outcome.artifacts)
        self.finished_count += 1
        study._strategy.tell(trial)
        if trial.state is TrialState.FAILED:
            self.consecutive_failures += 1
            logger.warning("trial %d failed: %s", trial.number,
                           (trial.error or "").splitlines()[0] if trial.error else "")
        else:
            self.consecutive_failures = 0
            logger.info("trial %d %s: value=%s params=%s", trial.number, trial.state,
                        trial.value, dict(trial.params))
        for callback in self.callbacks:
            try:
                callback(study, trial)
            except StopStudy as stop:
                if study.stop_reason is None:
                    study.stop(str(stop) or "a callback stopped the study")
                    logger.info("stopping the study: %s", study.stop_reason)
        limit = study.max_consecutive_failures
        if limit is not None and self.consecutive_failures >= limit:
            raise StudyError(f"stopped after {self.consecutive_failures} consecutive failed "
                             f"trials; the last one (trial {trial.number}) failed with: "
                             f"{trial.error}")


def load_study(path: str | os.PathLike) -> Study:
    """Open a run folder read-only (works during a live run and after a crash)."""
    storage = SqliteStorage.open_readonly(path)
    study = Study.__new__(Study)
    meta = storage.meta
    study.space = Space.from_dict(meta.space)
    study.direction = meta.direction
    study.strategy_name = meta.strategy
    study.strategy_options = dict(meta.strategy_options)
    study.pruner = None
    study.stop_reason = None
    study.max_consecutive_failures = None
    study.readonly = True
    study._storage = storage
    study.seed = int(meta.seed)
    study._trials = {t.number: t for t in storage.load_trials()}
    return study
