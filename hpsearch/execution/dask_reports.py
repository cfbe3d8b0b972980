"""The report channel on Dask: pruning reports travel through the Dask scheduler's queues, over
Dask's own connections (and so with the cluster's own security: TLS and its certificates when
the cluster is configured with them), never over a socket of ours.

Contract:
- `DaskReportRelay(client, service)` in the driver owns a random token and one request queue,
  `distributed.Queue("hpsearch-reports-<token>")`; a thread takes the requests, checks each
  with `decode_report` (exactly {number: int, step: int, value: float}, anything else is
  dropped with a warning), asks the `PruningService` and puts the decision,
  {"step": int, "prune": bool}, on the trial's reply queue
  `hpsearch-reports-<token>-<number>`. `close()` stops the thread and releases the queue.
- `DaskReportClient(token)` travels inside each task: `report` opens the trial's reply queue
  first (the scheduler keeps a queue while anyone holds it, so the reply cannot be dropped),
  puts the request and waits for the reply of that step (`REPLY_TIMEOUT`), then releases the
  reply queue. Queue items are plain msgpack data (dicts of numbers). If anything fails,
  `report` logs a warning and returns False: the trial goes on unpruned.
- The queues live on the scheduler and hold a handful of small dicts at a time.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from hpsearch.execution.reports import REPLY_TIMEOUT, decode_report
from hpsearch.pruners.service import PruningService

logger = logging.getLogger("hpsearch")

__all__ = ["DaskReportRelay", "DaskReportClient", "request_queue_name", "reply_queue_name"]

POLL_SECONDS = 0.5  # how long the relay's thread waits on the request queue per call


def request_queue_name(token: str) -> str:
    return f"hpsearch-reports-{token}"


def reply_queue_name(token: str, number: int) -> str:
    return f"hpsearch-reports-{token}-{int(number)}"


@dataclass(frozen=True)
class DaskReportClient:
    """Worker side: picklable (the token only); see the module docstring."""

    token: str

    def report(self, number: int, step: int, value: float) -> bool:
        from distributed import Queue

        request = {"number": int(number), "step": int(step), "value": float(value)}
        try:
            reply = Queue(reply_queue_name(self.token, number))
            try:
                requests = Queue(request_queue_name(self.token))
                requests.put(request, timeout=REPLY_TIMEOUT)
                requests.close()
                while True:  # a reply to an earlier, timed-out step is skipped
                    answer = reply.get(timeout=REPLY_TIMEOUT)
                    if isinstance(answer, dict) and answer.get("step") == request["step"]:
                        return answer.get("prune") is True
            finally:
                reply.close()
        except Exception as err:  # the scheduler gone, a timeout, the worker closing
            logger.warning("trial %d: report channel to the driver failed (%s: %s); going "
                           "on without pruning", number, type(err).__name__, err)
            return False


class DaskReportRelay:
    """Driver side: the request queue and the thread that answers it."""

    def __init__(self, client: Any, service: PruningService) -> None:
        from distributed import Queue

        self._client = client
        self._service = service
        self.token = uuid.uuid4().hex
        self._requests = Queue(request_queue_name(self.token), client=client)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._relay, name="hpsearch-dask-reports",
                                        daemon=True)
        self._thread.start()

    @property
    def client(self) -> DaskReportClient:
        return DaskReportClient(self.token)

    def _relay(self) -> None:
        while not self._closed.is_set():
            try:
                message = self._requests.get(timeout=POLL_SECONDS)
            except TimeoutError:
                continue
            except Exception as err:  # the client closing, the scheduler gone
                if not self._closed.is_set():
                    logger.warning("Dask report channel: %s: %s", type(err).__name__, err)
                    self._closed.wait(POLL_SECONDS)
                continue
            self._answer(message)

    def _answer(self, message: Any) -> None:
        from distributed import Queue

        report = decode_report(message)
        if report is None:
            logger.warning("Dask report channel: a message that is not {number, step, value} "
                           "was dropped")
            return
        number, step, value = report
        try:
            prune = bool(self._service.report(number, step, value))
        except Exception:
            logger.exception("pruner failed on trial %d step %d", number, step)
            prune = False
        try:
            reply = Queue(reply_queue_name(self.token, number), client=self._client)
            reply.put({"step": step, "prune": prune}, timeout=REPLY_TIMEOUT)
            reply.close()
        except Exception as err:
            logger.warning("Dask report channel: could not answer trial %d (%s: %s)",
                           number, type(err).__name__, err)

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._thread.join(timeout=10)
        try:
            self._requests.close()
        except Exception as err:  # a client or scheduler already gone
            logger.debug("Dask report channel: closing the queue: %s", err)
