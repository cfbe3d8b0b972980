"""The study: a search over a space, with ask/tell at its core and storage behind it.

Contract:
- `Study(space, direction, strategy, seed, storage, *, strategy_options, pruner,
  max_consecutive_failures=10, overwrite=False)`. `space` is an `hp.Space` or a dict of
  dimensions (objects or plain dicts). `strategy` is a registered name (`hp.STRATEGY_NAMES`,
  with `strategy_options`) or a `Strategy` object built on this space and direction (the study
  replays into `strategy.fresh()` copies; see `hpsearch.strategies.base`). `storage=None` keeps
  the study in memory, a folder path makes it durable, a `Storage` object is used as it is (see
  `hpsearch.storage.opening`). `seed=None` draws a fresh seed, stored with the study. Errors in
  the space, strategy or options surface here, at construction.
- `ask(n=None)`: the next trial (`hp.Trial`), or a list of n distinct ones. Trials left
  `interrupted` by an earlier driver come first, under their own number, params and seed;
  then the strategy's proposals, which know every trial asked and not yet told (pending).
  Each asked trial is committed as `running` before `ask` returns. Fewer than n trials come
  back only when the strategy is exhausted (grid); `ask()` on an exhausted strategy raises
  `StudyError`. With a scheduler (`pruner=hp.Hyperband(...)` or
  `hp.PopulationBasedTraining(...)`), the trials it promotes come after the interrupted ones:
  the same number, params and seed, with their `checkpoint()` and `last_step`
  (`hpsearch.study.scheduling`); `ask(n, new=False)` hands out only interrupted and promoted
  trials (maybe none).
- `tell(trial_or_number, value=None, *, state=None, error=None, intermediate=None,
  started_at=None, finished_at=None) -> FrozenTrial`: finish an asked trial. `value` is a
  number or an `hp.Result`; `state` defaults to complete when a value is given. A value that
  is not a finite number fails the trial (as in `optimize`); `state="pruned"` keeps the last
  reported value; `state="failed"` takes `error`. Telling an unknown, already finished or
  foreign trial raises `StudyError` naming it. A trial told `pruned` is recorded `paused`
  (neither finished nor running; `n_paused`) when the scheduler may promote it, with the
  checkpoint it saved (`steps` and `checkpoint=(arrays, step)` default to the handle's).
  `prune_hopeless(remaining)` prunes the paused trials no promotion can reach any more.
- `optimize(objective, n_trials, ...)` is that same ask/tell plus an executor (see
  `hpsearch.study.loop`). Trials asked and never told stay `running`; the next driver to open
  the study marks them `interrupted`.
- Seeds: `hpsearch.study.seeds`. Durable: a trial is committed when asked and when told.
- The run folder's hold: a study with storage holds the folder's lock
  (`hpsearch.storage.StudyLock`) from `Study(...)` until `close()`, the end of a
  `with Study(...) as study:` block, or, failing those, until the object is garbage-collected
  or the interpreter exits; meanwhile a second `Study` on the same folder, even with
  `overwrite=True`, raises `StudyLockedError`. `close()` marks the trials this object asked
  and did not tell `interrupted` (a later driver asks them again), then closes the storage;
  calling it again does nothing. A closed study still answers `trials`, `results()` and
  `best_*` from memory; `ask`, `tell`, `enqueue` and `optimize` raise `StudyError`. Readers
  (`hp.load_study`) never take the lock. In one process, opening the folder again while this
  object is idle (no optimize, ask or tell under way, no trial asked and not told) closes this
  object first, so running a notebook cell again works; a busy one keeps the lock.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from hpsearch.direction import check_directions
from hpsearch.exceptions import HpsearchError, StudyError
from hpsearch.execution.reports import DirectReportClient
from hpsearch.pruners.base import Pruner, check_pruner, full_step
from hpsearch.pruners.scheduler import Exploit, Fresh, Resume, Scheduler
from hpsearch.pruners.service import PruningService
from hpsearch.space import Space
from hpsearch.storage import SqliteStorage, Storage, StudyMeta, open_storage, reader_view
from hpsearch.storage.checkpoints import Checkpoint
from hpsearch.strategies.base import Strategy
from hpsearch.strategies.keys import point_key
from hpsearch.study.best import (
    best_trial,
    extend_front,
    metric_names,
    objective_names,
    pareto_front,
)
from hpsearch.study.failures import check_max_failures
from hpsearch.study.proposals import Proposals, check_partial, strategy_factory
from hpsearch.study.scheduling import Scheduling
from hpsearch.study.seeds import check_seed, fresh_seed
from hpsearch.study.tally import Tally
from hpsearch.study.told import settle
from hpsearch.study.warmstart import WarmStart, read_warm_start, stored_warm_start
from hpsearch.trial import FrozenTrial, Result, Trial, TrialState

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Study", "load_study"]

logger = logging.getLogger("hpsearch")


class Study:
    """A search over `space` (see the module docstring)."""

    def __init__(self, space: Space | Mapping[str, Any],
                 direction: str | Sequence[str] = "minimize",
                 strategy: str | Strategy = "random", seed: int | None = None,
                 storage: str | os.PathLike | Storage | None = None, *,
                 strategy_options: Mapping[str, Any] | None = None,
                 pruner: Pruner | Scheduler | None = None,
                 max_consecutive_failures: int | None = 10,
                 overwrite: bool = False, metric: str | Sequence[str] | None = None,
                 warm_start: Sequence[str | os.PathLike] | None = None) -> None:
        directions = check_directions(direction)
        direction = directions[0].value if len(directions) == 1 else [d.value for d in directions]
        metric = metric_names(metric, directions)
        if len(directions) > 1 and pruner is not None:
            raise StudyError("pruners compare one value per step; a multi-objective study "
                             "takes no pruner (pruner=None)")
        check_max_failures(max_consecutive_failures)
        check_seed(seed)
        check_pruner(pruner)
        space = space if isinstance(space, Space) else Space(space)
        if seed is None and storage is None:
            seed = fresh_seed()
        if isinstance(warm_start, str | os.PathLike):
            warm_start = [warm_start]
        folders = tuple(os.path.abspath(os.fspath(f)) for f in warm_start or ())
        warm = read_warm_start(folders, space, direction, metric)  # before anything is written
        name = strategy if isinstance(strategy, str) else (
            getattr(strategy, "name", "") or type(strategy).__name__)
        meta = StudyMeta(space.to_dict(), direction, name, seed, dict(strategy_options or {}),
                         metric=metric, warm_start=folders)
        opened = open_storage(storage, meta, overwrite)
        self._setup(opened, space, pruner, max_consecutive_failures, readonly=False, warm=warm,
                    strategy=None if isinstance(strategy, str) else strategy)
        if warm.summary():
            logger.info("%s", warm.summary())

    def _setup(self, storage: Storage, space: Space, pruner: Pruner | None,
               max_consecutive_failures: int | None, readonly: bool,
               warm: WarmStart | None = None, strategy: str | Strategy | None = None) -> None:
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
        self._closed = False
        self.seed: int = int(meta.seed)
        self._tally = Tally(self.directions[0])
        self._load(storage.load_trials())
        steps = None if pruner is None else (full_step(pruner),)
        self._proposals = None if readonly else Proposals(space, strategy_factory(
            self.strategy_name if strategy is None else strategy, space, self.seed,
            self.direction, self.strategy_options), self.seed, steps)
        if pruner is not None:  # its defaults may depend on the strategy
            self.pruner = pruner = pruner.for_strategy(
                self._proposals is not None and self._proposals.learns_from_steps)
        self.pruning = PruningService(pruner, self.directions[0], lambda: self._finished,
                                      space)
        self._scheduling = Scheduling(storage, self.pruning.schedule, space, self.seed)
        if self._proposals is not None:
            self._replay()

    def _load(self, trials: Iterable[FrozenTrial]) -> None:
        self._seen_version = self._storage.data_version()
        self._trials = {t.number: t for t in trials}
        self._finished = [t for t in self._trials.values() if t.state.is_finished]
        self._paused = {n for n, t in self._trials.items() if t.state is TrialState.PAUSED}
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
    def tally(self) -> Tally:
        """Running figures of the finished trials (counts by state, the best trial, trials
        since the last improvement), caught up with every trial told so far."""
        return self._tally.update(self.finished_trials)

    @property
    def n_finished(self) -> int:
        """How many trials count towards `n_trials` (complete + pruned + failed)."""
        return len(self._finished)

    @property
    def n_paused(self) -> int:
        """How many trials are paused (a scheduler may still promote them)."""
        if self.readonly:
            return sum(t.state is TrialState.PAUSED for t in self.trials)
        return len(self._paused)

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
        self._scheduling.restore([self._trials[n] for n in sorted(self._trials)])

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
                artifacts: Mapping[str, np.ndarray] | None = None,
                checkpoint: Checkpoint | None = None) -> None:
        self._storage.save_trial(trial, artifacts, checkpoint)
        self._trials[trial.number] = trial
        if trial.state is TrialState.PAUSED:
            self._paused.add(trial.number)
        else:
            self._paused.discard(trial.number)

    def lock(self):
        """The run folder's lock, held by `optimize` and by each ask/tell call."""
        return self._storage.lock()

    def _writable(self) -> None:
        if self.readonly:
            raise StudyError("this study was opened read-only (hp.load_study)")
        if self.closed:
            raise StudyError("this study is closed (by close(), or another Study opened its "
                             "run folder in this process); open it again with hp.Study(...) "
                             "to go on")

    # ----- the run folder's hold, from Study(...) to close()
    @property
    def closed(self) -> bool:
        """Whether `close()` was called, or another Study in this process took the folder."""
        return self._closed or self._storage.closed

    def close(self) -> None:
        """Let go of the run folder: mark the trials this object asked and did not tell
        `interrupted`, then close the storage (see the module docstring). Idempotent."""
        if self.closed:
            return
        try:
            if not self.readonly and self.running:
                with self.lock():
                    self.interrupt_running()
        except HpsearchError as err:  # e.g. the disk is full: the next driver marks them
            logger.warning("closing the study: its running trials stay running (%s)", err)
        finally:
            self._storage.close()
            self._closed = True

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----- ask
    @overload
    def ask(self, n: None = None, *, new: bool = True) -> Trial: ...

    @overload
    def ask(self, n: int, *, new: bool = True) -> list[Trial]: ...

    def ask(self, n: int | None = None, *, new: bool = True) -> Trial | list[Trial]:
        """The next trial, or a list of `n` distinct ones (see the module docstring);
        `new=False` hands out only interrupted and promoted trials (maybe none)."""
        self._writable()
        count = 1 if n is None else n
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise StudyError(f"ask(n): n must be a non-negative integer, got {n!r}")
        with self.lock():
            self.sync()
            trials = self._take_interrupted(count)
            if len(trials) < count:
                trials += self._scheduled(count - len(trials), new)
            now = time.time()
            handles = []
            for trial in trials:
                handles.append(self._handle(trial))
                running = dataclasses.replace(trial, state=TrialState.RUNNING,
                                              started_at=trial.started_at or now,
                                              finished_at=None)
                self._pending[running.number] = running
                self._record(running)
                self._scheduling.started(running)
        if n is not None:
            return handles
        if not handles and self.pruning.schedule is not None and not self.exhausted:
            raise StudyError("the scheduler has no trial to hand out now: "
                             + ("new=False and no paused trial to promote" if not new else
                                "its whole population is running; tell a trial first"))
        if not handles:
            raise StudyError(f"strategy {self.strategy_name!r} is exhausted: it has no new "
                             "point to propose")
        return handles[0]

    def _handle(self, trial: FrozenTrial) -> Trial:
        reporter = DirectReportClient(self.pruning) if self.pruner is not None else None
        arrays, step, intermediate = self._scheduling.resume_point(trial)
        return Trial(trial.number, trial.seed, reporter, params=trial.params, owner=self,
                     checkpoint=arrays, checkpoint_step=step, intermediate=intermediate)

    def _scheduled(self, count: int, new: bool) -> list[FrozenTrial]:
        """New trials, or the scheduler's promotions and copies (hpsearch.study.scheduling)."""
        if self.pruning.schedule is None:
            return self._propose(count) if new else []
        out, fresh = [], 0
        for action in self._scheduling.actions(count, new):
            if isinstance(action, Resume):
                out.append(self._trials[action.number])
            elif isinstance(action, Exploit):
                self._conclude(dataclasses.replace(self._trials[action.stopped],
                                                   state=TrialState.PRUNED))
                child, stored = self._scheduling.child(action, self._next_number,
                                                       self._trials[action.source])
                self._next_number += 1
                self._proposals.adopt(child.number)
                self._storage.save_trial(child, checkpoint=stored)
                self._trials[child.number] = child
                out.append(child)
            elif isinstance(action, Fresh):
                fresh += 1
        return out + (self._propose(fresh) if fresh else [])

    def prune_hopeless(self, remaining: int | None) -> list[FrozenTrial]:
        """Prune the paused trials no promotion can reach once at most `remaining` new trials
        start (their checkpoints are deleted); returns them as recorded."""
        self._writable()
        pruned: list[FrozenTrial] = []
        with self.lock():
            # to a fixed point: a pruned trial no longer counts as one that may still arrive
            while hopeless := self._scheduling.hopeless(remaining):
                pruned += [self._conclude(dataclasses.replace(self._trials[number],
                                                              state=TrialState.PRUNED))
                           for number in hopeless]
        return pruned

    def _take_interrupted(self, count: int) -> list[FrozenTrial]:
        none = len(self._trials) == (len(self._finished) + len(self._pending)
                                     + len(self._paused))  # no scan then
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
             steps: int | None = None,
             checkpoint: tuple[Mapping[str, np.ndarray], int] | None = None,
             ) -> FrozenTrial:
        """Finish an asked trial (see the module docstring); returns the recorded trial.
        `steps` (steps this run trained) and `checkpoint` ((arrays, step) saved in this run)
        default to the handle's (`Trial.steps_run`, `Trial.new_checkpoint()`)."""
        self._writable()
        running = self._running_record(trial)
        handle = trial if isinstance(trial, Trial) else None
        if intermediate is None:
            intermediate = (handle.intermediate if handle is not None
                            else self.pruning.intermediate(running.number))
        if steps is None:
            steps = handle.steps_run if handle is not None else max(intermediate, default=0)
        if checkpoint is None and handle is not None:
            checkpoint = handle.new_checkpoint()
        told = settle(state, value, error, intermediate, self.n_objectives)
        done = FrozenTrial(running.number, running.params, told.state, running.seed,
                           value=told.value, metrics=told.metrics,
                           intermediate=dict(intermediate), error=told.error,
                           started_at=started_at or running.started_at,
                           finished_at=finished_at or time.time(), values=told.values,
                           parent=running.parent, steps=Scheduling.steps(running, steps))
        done, stored = self._scheduling.settle(done, checkpoint)
        with self.lock():
            self._record(done, told.artifacts, stored)
        del self._pending[done.number]
        self.pruning.forget(done.number)
        if done.state is TrialState.PAUSED:
            self._proposals.tell_paused(done)
            return done
        return self._conclude(done, recorded=True)

    def _conclude(self, done: FrozenTrial, recorded: bool = False) -> FrozenTrial:
        """Count a finished trial: record it (unless done), learn from it, drop its checkpoint."""
        if not recorded:
            self._record(done)
        self._scheduling.finish(done)
        self._finished.append(done)
        self._front = extend_front(self._front, done, self.directions)  # O(front), not O(n^2)
        self._proposals.tell(done)
        return done

    def _running_record(self, trial: Trial | FrozenTrial | int) -> FrozenTrial:
        """The running record of the trial being told; StudyError naming an unknown, finished
        or foreign one."""
        if isinstance(trial, Trial) and trial.owner is not None and trial.owner is not self:
            raise StudyError(f"trial {trial.number} was asked by another study; tell it there")
        number = trial if isinstance(trial, int) and not isinstance(trial, bool) else getattr(
            trial, "number", None)
        if not isinstance(number, int):
            raise StudyError(f"tell() takes a trial or a trial number, got {trial!r}")
        if number in self._pending:
            return self._pending[number]
        known = self._trials.get(number)
        if known is not None and known.state.is_finished:
            raise StudyError(f"trial {number} is already finished ({known.state}); a trial "
                             "is told once")
        if known is not None:
            raise StudyError(f"trial {number} was not asked by this study object "
                             f"(state {known.state})")
        raise StudyError(f"the study has no trial {number}")

    def interrupt_running(self, numbers: Sequence[int] | None = None) -> None:
        """Mark running trials `interrupted`, all of them or those in `numbers` (a lost worker's,
        in the service); `ask` asks them first. The driver may be stopping abnormally: an
        interrupt may even land between a trial's commit and its bookkeeping, so the trials this
        object asked count as running too."""
        running = {n: t for n, t in self._trials.items() if t.state is TrialState.RUNNING}
        running.update(self._pending)  # asked: its running row may be committed already
        for trial in running.values():
            if numbers is not None and trial.number not in numbers:
                continue
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
