"""The report channel: how `trial.report(step, value)` reaches the driver's pruner.

Contract:
- `DirectReportClient` (n_jobs=1 and ask/tell, same process): a plain call into the
  `PruningService` (`hpsearch.pruners.service`).
- `SocketReportClient` (worker processes): a `multiprocessing.connection` socket to a
  `ReportServer` thread in the driver, authenticated with a random key; one connection per
  worker process, reused across trials. If the channel breaks, `report` logs a warning and
  returns False: the trial goes on unpruned.
- Without a pruner the study passes no client: reports stay in the worker and come back with
  the trial's outcome.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection, Listener

from hpsearch.pruners.service import PruningService

logger = logging.getLogger("hpsearch")


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
    """Driver side of the socket channel: a listener thread and one thread per worker.
    `host` is the interface to listen on: loopback for local workers, an address the
    workers can reach for remote ones (the Dask executor passes it)."""

    def __init__(self, service: PruningService, host: str = "127.0.0.1") -> None:
        self._service = service
        self._authkey = os.urandom(32)
        self._listener = Listener((host, 0), authkey=self._authkey)
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
