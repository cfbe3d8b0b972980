"""Pruning: the pruner interface, the report channel, and a stub pruner.

Contract:
- The objective calls `trial.report(step, value)` (see `hpsearch.objective`). The value goes to
  the driver through a `ReportClient`; the driver's `PruningService` records it and asks the
  `Pruner`, and the decision (True = prune) comes back as report's return value. The
  objective then stops by raising `hp.TrialPruned` (or checks `trial.should_prune()` later).
  A pruned trial is recorded with state `pruned`, value = its last reported value, and all
  its intermediate values.
- `Pruner.prune(step, value, intermediate, history, direction) -> bool` runs in the driver,
  under the service's lock, with `intermediate` = this trial's {step: value} so far and
  `history` = the finished trials; it must be cheap.
- Channels: `DirectReportClient` (n_jobs=1, same process), `SocketReportClient` (worker
  processes: a `multiprocessing.connection` socket to a `ReportServer` thread in the driver,
  authenticated with a random key; one connection per worker process, reused across trials).
  A remote executor (Dask) only has to provide another `ReportClient`. If the channel breaks,
  `report` logs a warning and returns False: the trial goes on unpruned.
- Without a pruner the study passes no client: reports stay in the worker and come back with
  the trial's outcome.
"""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection, Listener
from typing import Protocol

from hpsearch.trial import FrozenTrial

__all__ = ["Pruner", "ThresholdPruner", "TrialPruned", "ReportClient", "PruningService",
           "DirectReportClient", "SocketReportClient", "ReportServer"]

logger = logging.getLogger("hpsearch")


class TrialPruned(Exception):  # noqa: N818 - the name users know from Optuna
    """Raised by an objective to stop a trial the pruner asked to prune."""


class Pruner(ABC):
    """Decides, from a running trial's reports and the finished trials, whether to stop it."""

    @abstractmethod
    def prune(self, step: int, value: float, intermediate: Mapping[int, float],
              history: Sequence[FrozenTrial], direction: str) -> bool:
        """True to prune the trial that just reported `value` at `step`."""


@dataclass(frozen=True)
class ThresholdPruner(Pruner):
    """Stub pruner: prune once a value is worse than `threshold` at a step >= `min_step`
    (worse = above for minimisation, below for maximisation)."""

    threshold: float
    min_step: int = 0

    def prune(self, step: int, value: float, intermediate: Mapping[int, float],
              history: Sequence[FrozenTrial], direction: str) -> bool:
        if step < self.min_step:
            return False
        return value > self.threshold if direction == "minimize" else value < self.threshold


class ReportClient(Protocol):
    def report(self, number: int, step: int, value: float) -> bool: ...


class PruningService:
    """Driver side of the channel: records live reports and asks the pruner."""

    def __init__(self, pruner: Pruner | None, direction: str,
                 history: Callable[[], Sequence[FrozenTrial]]) -> None:
        self.pruner = pruner
        self.direction = direction
        self._history = history
        self._lock = threading.Lock()
        self._intermediate: dict[int, dict[int, float]] = {}

    def report(self, number: int, step: int, value: float) -> bool:
        with self._lock:
            values = self._intermediate.setdefault(int(number), {})
            values[int(step)] = float(value)
            if self.pruner is None:
                return False
            return bool(self.pruner.prune(int(step), float(value), dict(values),
                                          self._history(), self.direction))

    def intermediate(self, number: int) -> dict[int, float]:
        """The reports received so far for trial `number` (used when its worker died)."""
        with self._lock:
            return dict(self._intermediate.get(number, {}))


@dataclass(frozen=True)
class DirectReportClient:
    """In-process channel (n_jobs=1): a plain call into the service."""

    service: PruningService

    def report(self, number: int, step: int, value: float) -> bool:
        return self.service.report(number, step, value)


# One connection per worker process, reused across trials (keyed by server address).
_connection: dict[str, object] = {}


@dataclass(frozen=True)
class SocketReportClient:
    """Worker side of the socket channel; picklable (an address and a key)."""

    address: tuple[str, int]
    authkey: bytes

    def _connect(self) -> Connection:
        if _connection.get("address") != self.address:
            old = _connection.pop("conn", None)
            if old is not None:
                old.close()
            _connection["conn"] = Client(self.address, authkey=self.authkey)
            _connection["address"] = self.address
        return _connection["conn"]

    def report(self, number: int, step: int, value: float) -> bool:
        for attempt in range(2):
            try:
                conn = self._connect()
                conn.send((int(number), int(step), float(value)))
                return bool(conn.recv())
            except (OSError, EOFError) as err:
                _connection.clear()
                if attempt == 1:
                    logger.warning("trial %d: report channel to the driver failed (%s); "
                                   "going on without pruning", number, err)
        return False


class ReportServer:
    """Driver side of the socket channel: a listener thread and one thread per worker."""

    def __init__(self, service: PruningService) -> None:
        self._service = service
        self._authkey = os.urandom(32)
        self._listener = Listener(("127.0.0.1", 0), authkey=self._authkey)
        self._closed = False
        self._connections: list[Connection] = []
        self._thread = threading.Thread(target=self._accept, name="hpsearch-reports",
                                        daemon=True)
        self._thread.start()

    @property
    def client(self) -> SocketReportClient:
        return SocketReportClient(tuple(self._listener.address), self._authkey)

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn = self._listener.accept()
            except Exception:  # a failed handshake or the listener closing
                continue
            if self._closed:
                conn.close()
                return
            self._connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Connection) -> None:
        try:
            while True:
                number, step, value = conn.recv()
                try:
                    decision = self._service.report(number, step, value)
                except Exception:
                    logger.exception("pruner failed on trial %d step %d", number, step)
                    decision = False
                conn.send(decision)
        except (EOFError, OSError):
            conn.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:  # wake the accept() call so the thread ends
            Client(self._listener.address, authkey=self._authkey).close()
        except OSError:
            pass
        self._thread.join(timeout=5)
        self._listener.close()
        for conn in self._connections:
            conn.close()
