"""Executors: where trials run. One seam, two local implementations and a Dask one.

Contract:
- `run_trial(task) -> TrialOutcome` is the worker-side function: it resolves the objective,
  builds the trial handle, calls the objective and never raises for the objective's own
  errors (they become a `failed` outcome with the exception type, message and the last lines
  of the traceback). `TrialPruned` gives a `pruned` outcome with the last reported value.
  KeyboardInterrupt and SystemExit pass through.
- `Executor.submit(task) -> Future[TrialOutcome]`, `wait(futures) -> done` (returns as soon as
  one is done), `is_worker_death(exc)`, `started(numbers)` (which of these trials had begun
  running when the pool broke), `reset()` (a fresh pool after a worker died),
  `open_reports(service) -> ReportClient` / `close_reports()`, `shutdown(kill)`, and
  `stop(future) -> bool` (stop one running trial that passed its `trial_timeout`; True when
  that also broke the other running futures, which the study then runs again).
- Limits (see `hpsearch.limits`): `TrialTask.max_memory_mb` caps the objective's address
  space inside the worker (a `MemoryError` becomes "exceeded the memory cap of N MB");
  `TrialTask.watchdog` (seconds) makes the worker process exit if the trial is still running
  by then (used by the Dask executor, whose running tasks cannot be cancelled otherwise).
- `InProcessExecutor` (n_jobs=1) runs the trial inside `submit`, in the driver's process and
  thread, with no BLAS limit. `LokyExecutor` (n_jobs>1) uses joblib's reusable loky executor
  with n_jobs workers; each task limits BLAS to one thread (threadpoolctl) and, before calling
  the objective, writes a marker file `<marker_dir>/<number>` holding its pid, which is how
  `started` knows which trials were really running when a worker died. A trial past its
  timeout is stopped by killing the loky pool (`stop` returns True); the others running on it
  are run again with the same params and seed, as after a worker death.
- `make_executor(n_jobs, backend, scheduler, trial_timeout)`: with a timeout or memory cap,
  n_jobs=1 runs on a one-process loky pool (never in the driver). backend="dask" gives
  `hpsearch.dask_executor.DaskExecutor`.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import os
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpsearch.limits import memory_cap, memory_error_text
from hpsearch.objective import ObjectiveRef, TrialHandle, takes_trial, to_result
from hpsearch.pruning import (
    DirectReportClient,
    PruningService,
    ReportClient,
    ReportServer,
    TrialPruned,
)
from hpsearch.trial import TrialState

__all__ = ["TrialTask", "TrialOutcome", "run_trial", "error_text", "Executor",
           "SocketReportsExecutor", "InProcessExecutor", "LokyExecutor", "make_executor"]


@dataclass(frozen=True)
class TrialTask:
    """Everything a worker needs to run one trial."""

    number: int
    params: Mapping[str, Any]
    seed: int
    objective: ObjectiveRef
    reporter: ReportClient | None = None
    marker_dir: str | None = None
    limit_blas: bool = False
    max_memory_mb: int | None = None
    watchdog: float | None = None


@dataclass(frozen=True)
class TrialOutcome:
    """What comes back from a worker. state is complete, pruned or failed."""

    number: int
    state: TrialState
    value: float | None
    metrics: Mapping[str, float] = field(default_factory=dict)
    artifacts: Mapping[str, np.ndarray] = field(default_factory=dict)
    intermediate: Mapping[int, float] = field(default_factory=dict)
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    pid: int | None = None


def error_text(err: BaseException, tail_lines: int = 6) -> str:
    """'Type: message' plus the last lines of the traceback."""
    head = f"{type(err).__name__}: {err}"
    lines = "".join(traceback.format_exception(type(err), err, err.__traceback__)).splitlines()
    tail = "\n".join(lines[-tail_lines:])
    return f"{head}\n{tail}" if tail else head


def _call(task: TrialTask) -> TrialOutcome:
    started = time.time()
    handle = TrialHandle(task.number, task.seed, task.reporter)
    if task.marker_dir is not None:
        with open(os.path.join(task.marker_dir, str(task.number)), "w") as marker:
            marker.write(str(os.getpid()))
    state, value, metrics, artifacts, error = TrialState.FAILED, None, {}, {}, None
    try:
        objective = task.objective.resolve()
        params = dict(task.params)
        with memory_cap(task.max_memory_mb):
            returned = (objective(params, handle) if takes_trial(objective)
                        else objective(params))
        result = to_result(returned)
        state, value = TrialState.COMPLETE, result.value
        metrics, artifacts = dict(result.metrics), dict(result.artifacts)
    except MemoryError as err:
        error = (memory_error_text(task.max_memory_mb) + f"\n{error_text(err)}"
                 if task.max_memory_mb is not None else error_text(err))
    except TrialPruned:
        state = TrialState.PRUNED
        if handle.intermediate:
            value = handle.intermediate[max(handle.intermediate)]
    except Exception as err:
        error = error_text(err)
    return TrialOutcome(task.number, state, value, metrics, artifacts, handle.intermediate,
                        error, started, time.time(), os.getpid())


def _run(task: TrialTask) -> TrialOutcome:
    if not task.limit_blas:
        return _call(task)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _call(task)


def run_trial(task: TrialTask) -> TrialOutcome:
    """Run one trial (in a worker, or in-process); see the module docstring."""
    if task.watchdog is None:
        return _run(task)
    # The driver has already failed this trial and cancelled it by then; nothing else can
    # stop a Python thread, so the worker process goes (a Dask nanny starts a fresh one).
    timer = threading.Timer(task.watchdog, os._exit, args=(70,))
    timer.daemon = True
    timer.start()
    try:
        return _run(task)
    finally:
        timer.cancel()


class Executor:
    """The seam between the study loop and whatever runs trials (subclasses override)."""

    n_workers: int = 1

    def submit(self, task: TrialTask) -> cf.Future:
        raise NotImplementedError

    def wait(self, futures: Iterable[cf.Future], timeout: float | None = None,
             ) -> set[cf.Future]:
        done, _ = cf.wait(list(futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return done

    def stop(self, future: cf.Future) -> bool:
        """Stop the trial running in `future`; True when the other running futures broke."""
        raise NotImplementedError(f"{type(self).__name__} cannot stop a running trial")

    def is_worker_death(self, exc: BaseException) -> bool:
        return False

    def started(self, numbers: Iterable[int]) -> set[int]:
        return set(numbers)

    def reset(self) -> None:
        """Replace a broken pool."""

    def open_reports(self, service: PruningService) -> ReportClient:
        return DirectReportClient(service)

    def close_reports(self) -> None:
        pass

    def shutdown(self, kill: bool = False) -> None:
        pass


class SocketReportsExecutor(Executor):
    """An executor whose trials run in other processes and report over an authenticated
    socket to a `ReportServer` in the driver, listening on `report_host()`."""

    _server: ReportServer | None = None

    def report_host(self) -> str:
        return "127.0.0.1"

    def open_reports(self, service: PruningService) -> ReportClient:
        self._server = ReportServer(service, host=self.report_host())
        return self._server.client

    def close_reports(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None


class InProcessExecutor(Executor):
    """Runs each trial inside `submit`, in the driver's thread (n_jobs=1)."""

    def submit(self, task: TrialTask) -> cf.Future:
        future: cf.Future = cf.Future()
        future.set_result(run_trial(task))
        return future


class LokyExecutor(SocketReportsExecutor):
    """joblib's reusable loky process pool with `n_workers` processes."""

    def __init__(self, n_workers: int) -> None:
        from joblib.externals.loky import get_reusable_executor

        self.n_workers = n_workers
        self._get = get_reusable_executor
        self._pool = get_reusable_executor(max_workers=n_workers)
        self._marker_dir = tempfile.mkdtemp(prefix="hpsearch-markers-")

    def submit(self, task: TrialTask) -> cf.Future:
        marker = os.path.join(self._marker_dir, str(task.number))
        if os.path.exists(marker):
            os.remove(marker)
        task = dataclasses.replace(task, marker_dir=self._marker_dir, limit_blas=True)
        return self._pool.submit(run_trial, task)

    def is_worker_death(self, exc: BaseException) -> bool:
        from concurrent.futures.process import BrokenProcessPool

        return isinstance(exc, BrokenProcessPool)

    def started(self, numbers: Iterable[int]) -> set[int]:
        return {n for n in numbers if os.path.exists(os.path.join(self._marker_dir, str(n)))}

    def reset(self) -> None:
        self._pool = self._get(max_workers=self.n_workers)

    def stop(self, future: cf.Future) -> bool:
        # A loky worker cannot be stopped alone: kill the pool, the study reruns the others.
        self._pool.shutdown(wait=True, kill_workers=True)
        self.reset()
        return True

    def shutdown(self, kill: bool = False) -> None:
        self.close_reports()
        if kill:
            self._pool.shutdown(wait=True, kill_workers=True)
        shutil.rmtree(self._marker_dir, ignore_errors=True)


def make_executor(n_jobs: int, backend: str = "local", scheduler: Any = None,
                  trial_timeout: float | None = None,
                  max_memory_mb: int | None = None) -> Executor:
    """local: n_jobs=1 in-process (a one-process pool when limits are set), n_jobs>1 a loky
    pool of n_jobs workers; dask: `DaskExecutor(scheduler, n_jobs, trial_timeout)`."""
    if backend == "dask":
        from hpsearch.dask_executor import DaskExecutor

        return DaskExecutor(scheduler, n_jobs, trial_timeout=trial_timeout)
    limited = trial_timeout is not None or max_memory_mb is not None
    return InProcessExecutor() if n_jobs == 1 and not limited else LokyExecutor(n_jobs)
