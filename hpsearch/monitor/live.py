"""Live reports: the running trials' intermediate values, written by the driver as they
arrive, so that readers (`hpsearch dashboard`, `hpsearch status`) draw their learning curves
while they run.

Contract:
- The optimize loop receives every `trial.report(step, value)` in its `PruningService` when
  the study has a run folder and runs on the local backend, or has a pruner (with neither,
  e.g. on Dask without a pruner, reports stay in the worker until the trial ends).
- `LiveReports(folder, service)`: `flush(numbers, force=False)` writes `<folder>/live.json`,
  `{"updated_at": epoch s, "trials": {"<number>": [[step, value], ...]}}` for the given
  running trials, atomically (a temporary file, then `os.replace`), when a report arrived
  since the last write and at most once every `INTERVAL` seconds unless `force`. `close()`
  removes the file: a finished trial's reports are in its row of the database. Only the
  driver's thread calls these; the file is never the source of truth.
- `wrap(client)`: the in-process report client (n_jobs=1: the objective runs in the driver's
  thread, so the loop cannot flush while it runs) that flushes after each report.
- `read_live(folder) -> {number: {step: value}}`: what the file holds ({} when there is none
  or it cannot be read). Readers use it only for trials that are `running`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

from hpsearch.pruners.service import PruningService
from hpsearch.trial import ReportClient

__all__ = ["LiveReports", "INTERVAL", "LIVE_NAME", "read_live"]

INTERVAL = 1.0  # seconds between two writes of the running trials' reports
LIVE_NAME = "live.json"


class LiveReports:
    """See the module docstring."""

    def __init__(self, folder: str, service: PruningService) -> None:
        self.path = os.path.join(folder, LIVE_NAME)
        self.service = service
        self.written: dict[int, int] = {}  # trial number -> reports in the file
        self.last = 0.0

    def flush(self, numbers: Iterable[int], force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < INTERVAL:
            return
        reports = {n: self.service.intermediate(n) for n in numbers}
        counts = {n: len(r) for n, r in reports.items() if r}
        if counts == self.written:
            return
        self.last = now
        body = {"updated_at": time.time(),
                "trials": {str(n): sorted(r.items()) for n, r in reports.items() if r}}
        try:
            with open(self.path + ".tmp", "w", encoding="utf-8") as handle:
                json.dump(body, handle)
            os.replace(self.path + ".tmp", self.path)
        except OSError:  # a convenience for readers; the trials themselves are unaffected
            return
        self.written = counts

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.remove(self.path)
        self.written = {}

    def wrap(self, client: ReportClient) -> ReportClient:
        return _Flushing(client, self)


@dataclass(frozen=True)
class _Flushing:
    client: ReportClient
    live: LiveReports

    def report(self, number: int, step: int, value: float) -> bool:
        decision = self.client.report(number, step, value)
        self.live.flush([number])
        return decision


def read_live(folder: str | os.PathLike) -> dict[int, dict[int, float]]:
    """The running trials' reports in `<folder>/live.json` ({} when none)."""
    try:
        with open(os.path.join(os.fspath(folder), LIVE_NAME), encoding="utf-8") as handle:
            body = json.load(handle)
        return {int(n): {int(s): float(v) for s, v in pairs}
                for n, pairs in body["trials"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
