"""The Executor seam between the study loop and whatever runs trials.

Contract: `Executor.submit(task) -> Future[TrialOutcome]`, `wait(futures) -> done` (returns
as soon as one is done), `is_worker_death(exc)`, `started(numbers)` (which of these trials
had begun running when the pool broke), `reset()` (a fresh pool after a worker died),
`open_reports(service) -> ReportClient` / `close_reports()`, `shutdown(kill)`, and
`stop(future) -> bool` (stop one running trial that passed its `trial_timeout`; True when that
also broke the other running futures, which the study then runs again). `n_workers` is how
many trials may run at once. `SocketReportsExecutor` is the base of executors whose trials
run in other processes of this machine and report over a `ReportServer` socket on loopback.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Iterable

from hpsearch.execution.reports import DirectReportClient, ReportServer
from hpsearch.execution.task import TrialTask
from hpsearch.pruners.service import PruningService
from hpsearch.trial import ReportClient


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
    """An executor whose trials run in other processes of this machine and report over an
    authenticated loopback socket to a `ReportServer` in the driver."""

    _server: ReportServer | None = None

    def open_reports(self, service: PruningService) -> ReportClient:
        self._server = ReportServer(service)
        return self._server.client

    def close_reports(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
