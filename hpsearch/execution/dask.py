"""The Dask executor: trials run on a Dask cluster, through the same seam as the loky pool.

Contract:
- `DaskExecutor(scheduler, n_jobs, trial_timeout=None)`: `scheduler` is an address
  ("tcp://host:8786"), a `distributed.Client` (kept open at the end) or a cluster object.
  `n_jobs` is the number of trials in flight; -1 means one per worker thread of the cluster.
  An unreachable scheduler raises `StudyError` naming the address.
- Each trial is one task, `client.submit(run_trial, task, key=..., pure=False)`, with BLAS
  limited to one thread inside the task and the memory cap applied there (see
  `hpsearch.execution.limits`). The Dask future is mirrored into a `concurrent.futures.Future`
  (`add_done_callback`), so the study loop is the same as for loky: as one future completes
  the next trial is submitted. The driver keeps the storage; workers only run objectives and
  send outcomes back (artifacts included, as arrays in the result).
- Workers need the project installed and the objective reachable: a "file.py:name" objective
  at the same absolute path on every worker, or an importable "module:name".
- A worker that dies mid-trial: Dask reruns the task elsewhere up to the scheduler's
  `distributed.scheduler.allowed-failures` times (a scheduler setting, default 3), then the
  future raises `KilledWorker`; that trial is failed with "worker process died while running
  this trial (Dask KilledWorker ...)" and the study goes on.
- Trial timeout: the study cancels the future at the deadline and fails the trial; since a
  running Python thread cannot be stopped, each task carries a watchdog that makes its worker
  process exit `WATCHDOG_GRACE` seconds later if the objective is still running (the nanny
  starts a fresh worker).
- Reports (pruning): through the scheduler's queues, over Dask's own connections (see
  `hpsearch.execution.dask_reports`); the driver opens no port of its own."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import uuid
from typing import Any

from hpsearch.exceptions import StudyError, WorkerLost
from hpsearch.execution.base import Executor
from hpsearch.execution.dask_reports import DaskReportRelay
from hpsearch.execution.task import TrialTask, run_trial
from hpsearch.pruners.service import PruningService
from hpsearch.trial import ReportClient

logger = logging.getLogger("hpsearch")


WATCHDOG_GRACE = 5.0  # seconds between the driver's deadline and the worker's own exit


class DaskExecutor(Executor):
    """Trials as tasks on a Dask cluster; see the module docstring."""

    def __init__(self, scheduler: Any, n_jobs: int, trial_timeout: float | None = None,
                 ) -> None:
        from distributed import Client

        if scheduler is None:
            raise StudyError("backend 'dask' needs a scheduler address, e.g. "
                             "scheduler=\"tcp://HOST:8786\" (--scheduler on the command line)")
        self._own = not isinstance(scheduler, Client)
        if self._own:
            try:
                # connect timeout: distributed.comm.timeouts.connect (dask config)
                self._client = Client(scheduler, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as err:
                raise StudyError(f"cannot reach the Dask scheduler at {scheduler}: "
                                 f"{err}") from err
        else:
            self._client = scheduler
        threads = sum(self._client.nthreads().values())
        if n_jobs == -1:
            if threads < 1:
                raise StudyError(f"the Dask cluster at {self.address} has no workers")
            n_jobs = threads
        self.n_workers = n_jobs
        self.trial_timeout = trial_timeout
        self._dask: dict[cf.Future, Any] = {}
        self._relay: DaskReportRelay | None = None

    @property
    def address(self) -> str:
        return str(self._client.scheduler.address)

    # ----- trials
    def submit(self, task: TrialTask) -> cf.Future:
        watchdog = None if self.trial_timeout is None else self.trial_timeout + WATCHDOG_GRACE
        task = dataclasses.replace(task, limit_blas=True, watchdog=watchdog)
        key = f"hpsearch-trial-{task.number}-{uuid.uuid4().hex[:8]}"
        future = self._client.submit(run_trial, task, key=key, pure=False, retries=0)
        proxy: cf.Future = cf.Future()
        proxy.set_running_or_notify_cancel()
        self._dask[proxy] = future
        future.add_done_callback(lambda done: self._settle(proxy, done))
        return proxy

    def _settle(self, proxy: cf.Future, future: Any) -> None:
        """Copy a finished Dask future into its concurrent.futures proxy (callback thread)."""
        from distributed.scheduler import KilledWorker

        try:
            if future.status == "finished":
                outcome, error = future.result(), None
            elif future.status == "cancelled":
                outcome, error = None, cf.CancelledError("the Dask task was cancelled")
            else:
                outcome, error = None, future.exception()
                if isinstance(error, KilledWorker):
                    error = WorkerLost(f"worker process died while running this trial "
                                       f"(Dask KilledWorker: {error})")
        except BaseException as err:  # the result could not be fetched
            outcome, error = None, err
        try:
            if error is None:
                proxy.set_result(outcome)
            else:
                proxy.set_exception(error)
        except cf.InvalidStateError:  # already settled
            pass
        finally:
            self._dask.pop(proxy, None)

    def stop(self, future: cf.Future) -> bool:
        dask_future = self._dask.pop(future, None)
        if dask_future is not None:
            dask_future.cancel()
        return False

    # ----- reports
    def open_reports(self, service: PruningService) -> ReportClient:
        self._relay = DaskReportRelay(self._client, service)
        return self._relay.client

    def close_reports(self) -> None:
        if self._relay is not None:
            self._relay.close()
            self._relay = None

    def shutdown(self, kill: bool = False) -> None:
        self.close_reports()
        pending = list(self._dask.values())
        self._dask.clear()
        if pending:
            try:
                self._client.cancel(pending)
            except Exception as err:  # a scheduler already gone
                logger.warning("could not cancel %d Dask tasks: %s", len(pending), err)
        if self._own:
            self._client.close()
