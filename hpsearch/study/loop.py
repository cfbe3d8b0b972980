"""The optimize loop: the study's own ask/tell plus an executor, asynchronously.

Contract:
- `study.optimize(objective, n_trials, n_jobs=1, timeout=None, callbacks=(), *, backend,
  scheduler, trial_timeout, max_memory_mb, show_progress=False)` builds an `OptimizeLoop` and
  runs it. It logs how it starts (trials kept, rerun and new) and one line per told trial
  (`hpsearch.monitor.progress`); `show_progress` draws a live bar on stderr (Rich; in a
  notebook, Rich's widget). A stored study's running trials' reports are written to
  `live.json` as they arrive (`hpsearch.monitor.live`). It runs until
  the study holds `n_trials` finished trials (complete + pruned + failed, counting earlier
  calls and earlier runs of a stored study), the strategy is exhausted (grid), `timeout`
  seconds have passed (no trial starts after it; running ones finish), or a callback stops the
  study (`study.stop(reason)` or raising `hp.StopStudy`; `stop_reason` says why).
- The loop is written on the study's public seam only: `study.ask(n)` for new trials (which
  returns interrupted ones first), `study.tell(...)` for finished ones, `study.pruning` for
  the reports, `study.interrupt_running()` when the driver stops abnormally. With n_jobs
  workers, each finished trial is told, passed to the callbacks `cb(study, trial)`, and the
  freed worker gets the next trial at once. n_jobs=1 runs in-process; n_jobs>1 on loky
  workers with one BLAS thread each (see `hpsearch.execution`).
- Schedulers (`hpsearch.pruners.scheduler`): a trial told `pruned` may be recorded `paused`;
  `n_trials` then counts the trials started (finished, paused or running), and the loop goes
  on handing freed workers the promoted trials (`study.ask(n, new=False)`) once no new trial
  may start. Before each round, the paused trials that no promotion can reach with the trials
  still to start are pruned (`study.prune_hopeless`), so a finished optimize leaves only the
  paused trials it could still promote (none once its budget is spent and nothing runs).
- Ctrl-C (and any other error in the driver) marks running trials `interrupted`, kills the
  workers, writes the tables and re-raises.
- Failures: an objective that raises or returns a non-finite value, or whose worker process
  dies, gives a `failed` trial with the error text; the study goes on until
  `max_consecutive_failures` (default 10; None = no limit) failures in a row, then raises
  `StudyError`. When a loky worker dies every running trial's future breaks; the trials that
  had really started are suspects: if there is one, it failed; otherwise the suspects are run
  again one at a time, alone, and the one whose worker dies again is failed (its intermediate
  reports are kept). The rest are run again with the same params and seed on a fresh pool
  (a trial caught in 3 breaks without being identified fails, so a pool that keeps breaking
  cannot loop forever). A trial past its `trial_timeout` is failed with "timed out after X s";
  the trials running beside it on a killed loky pool run again. A trial's time counts from
  when a loky worker starts it (its start marker), not from its submission: the wait for a
  pool that starts again after a stop is not counted (Dask: from its submission).
- Every trial failed: a call that ends with every finished trial of the study failed raises
  `AllTrialsFailed` (a `StudyError`, like `TooManyFailuresError`), naming the last error and
  where its traceback is. Nothing to run (the study already holds `n_trials` finished trials:
  `n_trials` is the study's total, not a count of new trials) logs a warning saying so.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import logging
import numbers
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from hpsearch.exceptions import StopStudy, StorageError, StudyError, TooManyFailuresError
from hpsearch.execution import make_executor
from hpsearch.execution.limits import check_limits, timeout_text
from hpsearch.execution.objective import objective_ref
from hpsearch.execution.reports import DirectReportClient
from hpsearch.execution.task import TrialOutcome, TrialTask
from hpsearch.execution.workers import check_n_jobs
from hpsearch.monitor.live import INTERVAL, LiveReports
from hpsearch.monitor.progress import ProgressLine, log_trial, start_summary
from hpsearch.study.failures import check_some_trial_worked, describe_failure
from hpsearch.trial import FrozenTrial, Result, Trial, TrialState

__all__ = ["LoopSettings", "OptimizeLoop", "MAX_BREAKS", "Study"]

logger = logging.getLogger("hpsearch")

MAX_BREAKS = 3  # a trial caught in this many pool breaks without being the culprit fails
WAITING_POLL = 0.5  # seconds between two looks at a trial past its deadline that has not started


def check_callbacks(callbacks: Iterable[Any]) -> tuple[Callable, ...]:
    """The callbacks as a tuple; StudyError when one is not callable."""
    callbacks = tuple(callbacks)
    if not all(callable(callback) for callback in callbacks):
        raise StudyError(f"callbacks must be functions cb(study, trial), got {callbacks!r}")
    return callbacks


class Study(Protocol):
    """The study seam the loop is written on (`hpsearch.study.study.Study` provides it)."""

    path: str | None
    pruner: Any
    pruning: Any
    stop_reason: str | None
    strategy_name: str
    max_consecutive_failures: int | None

    @property
    def n_finished(self) -> int: ...

    @property
    def trials(self) -> list[FrozenTrial]: ...

    @property
    def exhausted(self) -> bool: ...

    def ask(self, n: int) -> list[Trial]: ...

    def tell(self, trial: int, value: Result | None, **details: Any) -> FrozenTrial: ...

    def stop(self, reason: str) -> None: ...

    def interrupt_running(self) -> None: ...

    def write_tables(self) -> tuple[str, str]: ...


@dataclass(frozen=True)
class LoopSettings:
    """One optimize() call's budget and where its trials run (checked by `checked`)."""

    n_trials: int
    n_jobs: int
    timeout: float | None
    backend: str
    scheduler: Any
    trial_timeout: float | None
    max_memory_mb: int | None

    @classmethod
    def checked(cls, n_trials: Any, n_jobs: Any, timeout: Any, backend: Any, scheduler: Any,
                trial_timeout: Any, max_memory_mb: Any) -> LoopSettings:
        if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
            raise StudyError(f"n_trials must be a non-negative integer, got {n_trials!r}")
        if backend not in ("local", "dask"):
            raise StudyError(f"backend must be 'local' or 'dask', got {backend!r}")
        check_limits(trial_timeout, max_memory_mb)
        check_n_jobs(n_jobs)
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(
                timeout, numbers.Real) or not timeout >= 0):
            raise StudyError(f"timeout must be a non-negative number of seconds, got {timeout}")
        return cls(n_trials, n_jobs, timeout, backend, scheduler, trial_timeout, max_memory_mb)


class OptimizeLoop:
    """One optimize() call: the asynchronous loop and its bookkeeping."""

    def __init__(self, study: Study, objective: Callable | str, settings: LoopSettings,
                 callbacks: tuple[Callable[[Study, FrozenTrial], None], ...],
                 show_progress: bool = False) -> None:
        self.study, self.settings, self.callbacks = study, settings, check_callbacks(callbacks)
        self.progress = (ProgressLine(os.path.basename(study.path or "") or "study",
                                      settings.n_trials) if show_progress else None)
        self.live: LiveReports | None = None
        self.reference = objective_ref(objective)
        self.deadline = (None if settings.timeout is None
                         else time.monotonic() + settings.timeout)
        self.resubmit: collections.deque[Trial] = collections.deque()  # asked, to run again
        self.suspects: collections.deque[Trial] = collections.deque()
        self.isolating: int | None = None
        self.in_flight: dict[cf.Future, Trial] = {}
        self.trial_deadlines: dict[cf.Future, float] = {}
        self.waiting_for_worker: set[cf.Future] = set()  # past a deadline, not started yet
        self.breaks: dict[int, int] = {}
        self.consecutive_failures = 0
        self.exhausted = False
        self.timed_out = False

    def run(self) -> None:
        study, settings = self.study, self.settings
        self.executor = make_executor(settings.n_jobs, settings.backend, settings.scheduler,
                                      settings.trial_timeout, settings.max_memory_mb)
        self.open_reports()
        nothing_to_do = study.n_finished >= settings.n_trials
        logger.log(logging.WARNING if nothing_to_do else logging.INFO, "%s",
                   start_summary(study, settings.n_trials))
        if self.progress is not None and study.n_finished < settings.n_trials:
            self.progress.start(study, study.n_finished)
        clean = False
        try:
            while True:
                self.fill()
                self.show()
                if not self.in_flight:
                    break
                for future in self.executor.wait(self.in_flight, self.wait_timeout()):
                    if future in self.in_flight:
                        self.collect(future)
                self.expire()
                self.show()
            clean = True
        except BaseException:
            with contextlib.suppress(StorageError):  # keep the original error
                study.interrupt_running()
            raise
        finally:
            if self.progress is not None:
                self.progress.update(study, len(self.in_flight))
                self.progress.stop()
            self.executor.close_reports()
            if self.live is not None:
                self.live.close()
            self.executor.shutdown(kill=not clean)
            self.write_tables(clean)
        if self.exhausted and study.n_finished < settings.n_trials:
            logger.info("strategy %r is exhausted after %d trials; n_trials=%d not reached",
                        study.strategy_name, study.n_finished, settings.n_trials)
        if self.timed_out:
            logger.info("timeout reached: %d trials finished", study.n_finished)
        check_some_trial_worked(study.trials, study.path)

    def open_reports(self) -> None:
        """The report channel: for the pruner, and for the live curves of a stored study
        (see `hpsearch.monitor.live`)."""
        study = self.study
        if study.path is not None and (study.pruner or self.settings.backend == "local"):
            self.live = LiveReports(study.path, study.pruning)
        self.reporter = (self.executor.open_reports(study.pruning)
                         if study.pruner or self.live else None)
        if self.live is not None and isinstance(self.reporter, DirectReportClient):
            self.reporter = self.live.wrap(self.reporter)

    def show(self) -> None:
        """Store the running trials' reports and refresh the progress line."""
        if self.live is not None:
            self.live.flush(t.number for t in self.in_flight.values())
        if self.progress is not None:
            self.progress.update(self.study, len(self.in_flight))

    def write_tables(self, clean: bool) -> None:
        study = self.study
        if study.path is None:
            return
        try:
            study.write_tables()
        except OSError as err:
            if clean:
                raise StorageError(f"cannot write the tables in {study.path}: {err}") from err
            logger.warning("could not write the tables in %s: %s", study.path, err)

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
        study = self.study
        free = self.executor.n_workers - len(self.in_flight)
        budget = self.budget()
        scheduled = study.pruning.schedule is not None
        if scheduled:  # before asking: a hopeless trial must not be promoted
            hopeless = study.prune_hopeless(budget if self.may_start() else 0)
            for trial in hopeless:
                self.after(trial)
            budget = self.budget()
        if free <= 0 or not self.may_start():
            return
        count = min(free, budget)
        batch = [self.resubmit.popleft() for _ in range(min(max(count, 0),
                                                            len(self.resubmit)))]
        wanted = count - len(batch)
        if wanted > 0 and not self.exhausted:
            batch += study.ask(wanted)
            self.exhausted = study.exhausted
        if scheduled and free > len(batch):  # promotions need no budget: no new trial
            batch += study.ask(free - len(batch), new=False)
        for trial in batch:
            self.start(trial)

    def budget(self) -> int:
        """How many trials may still start: `n_trials` less the finished, paused and running
        ones (a promoted trial was counted when it first started)."""
        study = self.study
        return max(self.settings.n_trials - study.n_finished - study.n_paused
                   - len(self.in_flight), 0)

    def start(self, trial: Trial) -> None:
        checkpoint = trial.checkpoint()
        task = TrialTask(trial.number, dict(trial.params), trial.seed, self.reference,
                         self.reporter, max_memory_mb=self.settings.max_memory_mb,
                         checkpoint=checkpoint, checkpoint_step=trial.last_step,
                         intermediate=trial.intermediate)
        future = self.executor.submit(task)
        self.in_flight[future] = trial
        if self.settings.trial_timeout is not None:
            self.trial_deadlines[future] = time.monotonic() + self.settings.trial_timeout

    # ----- per-trial timeout
    def wait_timeout(self) -> float | None:
        """Seconds until the first running trial's deadline, or until the next store of the
        live reports (None: neither)."""
        self.trial_deadlines = {f: d for f, d in self.trial_deadlines.items()
                                if f in self.in_flight}
        self.waiting_for_worker &= set(self.in_flight)
        live = INTERVAL if self.live is not None else None
        if not self.trial_deadlines:
            return live
        until = max(0.0, min(self.trial_deadlines.values()) - time.monotonic())
        return until if live is None else min(until, live)

    def expire(self) -> None:
        """Stop and fail the trials past their deadline; rerun the ones that broke with them."""
        now = time.monotonic()
        for future, deadline in list(self.trial_deadlines.items()):
            if future not in self.in_flight or deadline > now:
                continue
            if future.done():  # finished just in time
                self.collect(future)
                continue
            if self.waiting(future, self.in_flight[future], now):
                continue
            trial = self.in_flight.pop(future)
            if self.executor.stop(future):
                self.resubmit.extendleft(reversed(self.drain()))
            self.fail(trial, timeout_text(self.settings.trial_timeout))

    def waiting(self, future: cf.Future, trial: Trial, now: float) -> bool:
        """Whether a trial past its deadline only waited for a worker (a pool starting again
        after a stop): its time counts from when its worker starts it, seen within
        `WAITING_POLL` seconds (it then gets trial_timeout from there)."""
        timeout = self.settings.trial_timeout
        if trial.number not in self.executor.started([trial.number]):
            self.waiting_for_worker.add(future)
            self.trial_deadlines[future] = now + min(timeout, WAITING_POLL)
            return True
        if future in self.waiting_for_worker:  # it started since the last look
            self.waiting_for_worker.discard(future)
            self.trial_deadlines[future] = now + timeout
            return True
        return False

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

    def drain(self) -> list[Trial]:
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

    def worker_died(self, broken: list[Trial], error: BaseException) -> None:
        started = self.executor.started(t.number for t in broken)
        self.executor.reset()
        codes = [line.strip() for line in str(error).splitlines() if "exit code" in line]
        message = (f"worker process died while running this trial ({type(error).__name__}"
                   + (f"; {codes[0]}" if codes else "") + ")")
        culprits = self.culprits(broken, started)
        others = [t for t in broken if t not in culprits and t not in self.suspects]
        for trial in list(others):  # never loop forever on a pool that keeps breaking
            self.breaks[trial.number] = self.breaks.get(trial.number, 0) + 1
            if self.breaks[trial.number] >= MAX_BREAKS:
                others.remove(trial)
                culprits.append(trial)
        self.resubmit.extendleft(reversed(others))
        for trial in culprits:
            self.fail(trial, message)

    def culprits(self, broken: list[Trial], started: set[int]) -> list[Trial]:
        """The trials to blame for a pool break; queue suspects when it is not yet known."""
        if self.isolating is not None:
            culprits = [t for t in broken if t.number == self.isolating]
            self.isolating = None
            self.resubmit.extendleft(reversed(list(self.suspects)))  # back to normal running
            self.suspects.clear()
            return culprits
        if len(started) == 1:
            return [t for t in broken if t.number in started]
        self.suspects.extend(sorted((t for t in broken if t.number in started),
                                    key=lambda t: t.number))
        logger.warning("a worker died with %d trials running (%s); running them again "
                       "one at a time to find which one", len(self.suspects),
                       ", ".join(str(t.number) for t in self.suspects))
        return []

    def fail(self, trial: Trial, error: str) -> None:
        # a promoted trial's earlier reports (its handle's) and those of this run (the driver's)
        reports = {**trial.intermediate, **self.study.pruning.intermediate(trial.number)}
        self.finish(trial, TrialOutcome(trial.number, TrialState.FAILED, None,
                                        intermediate=reports, error=error,
                                        finished_at=time.time()))

    def finish(self, trial: Trial, outcome: TrialOutcome) -> None:
        study = self.study
        if self.isolating == trial.number:
            self.isolating = None
        payload = (None if outcome.value is None and outcome.values is None
                   else Result(outcome.value, outcome.metrics, outcome.artifacts,
                               outcome.values))
        done = study.tell(trial.number, payload, state=outcome.state, error=outcome.error,
                          intermediate=outcome.intermediate, started_at=outcome.started_at,
                          finished_at=outcome.finished_at, steps=outcome.steps,
                          checkpoint=outcome.checkpoint)
        self.after(done)

    def after(self, trial: FrozenTrial) -> None:
        """Log a told trial, run the callbacks, count consecutive failures."""
        study = self.study
        failed = trial.state is TrialState.FAILED
        self.consecutive_failures = self.consecutive_failures + 1 if failed else 0
        log_trial(study, trial)
        for callback in self.callbacks:
            try:
                callback(study, trial)
            except StopStudy as stop:
                if study.stop_reason is None:
                    study.stop(str(stop) or "a callback stopped the study")
                    logger.info("stopping the study: %s", study.stop_reason)
        limit = study.max_consecutive_failures
        if limit is not None and self.consecutive_failures >= limit:
            raise TooManyFailuresError(f"{self.consecutive_failures} trials failed in a row; "
                                       f"last error: {describe_failure(study.path, trial)}")
