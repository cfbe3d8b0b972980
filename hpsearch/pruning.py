"""Pruning: the pruner interface, the report channel, and the pruners (threshold, median, ASHA).

Contract:
- The objective calls `trial.report(step, value)` (see `hpsearch.objective`). The value goes to
  the driver through a `ReportClient`; the driver's `PruningService` records it and asks the
  `Pruner`, and the decision (True = prune) comes back as report's return value. The
  objective then stops by raising `hp.TrialPruned` (or checks `trial.should_prune()` later).
  A pruned trial is recorded with state `pruned`, value = its last reported value, and all
  its intermediate values.
- `Pruner.prune(step, value, intermediate, history, direction) -> bool` runs in the driver,
  under the service's lock, with `intermediate` = this trial's {step: value} so far
  (including this report) and `history` = the other trials: the finished ones as recorded,
  then the ones still running as `FrozenTrial`s in state `running` whose `intermediate` holds
  their reports so far (params empty). Pruners pick the states they trust. It must be cheap.
- Pruners: `MedianPruner` (median stopping rule) and `ASHAPruner` (asynchronous successive
  halving, Li et al. 2020), written from the papers (Optuna's pruners read and write an
  Optuna study's storage, which our ask/tell seam does not have), and `ThresholdPruner`.
  Both are stateless: every decision is a function of the reports, so a resumed study or
  a pruner rebuilt in another driver decides the same way. `make_pruner({"kind": ...,
  **options})` builds one from a study file's `[pruner]` table (`PRUNER_OPTIONS` lists
  each kind's keywords and types; `kind = "none"` gives None).
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
import math
import os
import statistics
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection, Listener
from typing import Protocol

from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["Pruner", "ThresholdPruner", "MedianPruner", "ASHAPruner", "TrialPruned",
           "PRUNER_OPTIONS", "make_pruner", "ReportClient", "PruningService",
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
    """Prune once a reported value is worse than `threshold` at a step >= `min_step` (worse =
    above for minimisation, below for maximisation): a floor every trial must clear."""

    threshold: float
    min_step: int = 0

    def prune(self, step: int, value: float, intermediate: Mapping[int, float],
              history: Sequence[FrozenTrial], direction: str) -> bool:
        if step < self.min_step:
            return False
        return value > self.threshold if direction == "minimize" else value < self.threshold


def _better(a: float, b: float, direction: str) -> bool:
    """True when `a` is strictly better than `b`."""
    return a < b if direction == "minimize" else a > b


def _previous_step(intermediate: Mapping[int, float], step: int) -> int | None:
    """The last step this trial reported before `step` (None at its first report)."""
    return max((s for s in intermediate if s < step), default=None)


@dataclass(frozen=True)
class MedianPruner(Pruner):
    """Median stopping rule: prune a trial whose best value so far is worse than the median
    of the complete trials' values at the same step.

    n_startup_trials: no pruning until this many trials are complete.
    n_warmup_steps: no pruning at steps below this.
    interval_steps: decide once per this many steps (counted from n_warmup_steps); a trial
        that skips steps is judged at its first report at or after each interval point.
    n_min_trials: no pruning at a step that fewer complete trials reported.

    As Optuna's MedianPruner: complete trials only (pruned ones would drag the median
    towards the poor configurations and prune less), and the trial's best value so far, so
    one noisy epoch does not stop a good run. A non-finite value is pruned.
    """

    n_startup_trials: int = 5
    n_warmup_steps: int = 0
    interval_steps: int = 1
    n_min_trials: int = 1

    def __post_init__(self) -> None:
        _check_ints(self, n_startup_trials=0, n_warmup_steps=0, interval_steps=1,
                    n_min_trials=1)

    def prune(self, step: int, value: float, intermediate: Mapping[int, float],
              history: Sequence[FrozenTrial], direction: str) -> bool:
        if step < self.n_warmup_steps:
            return False
        complete = [t for t in history if t.state is TrialState.COMPLETE]
        if len(complete) < self.n_startup_trials:
            return False
        if self.interval_steps > 1:
            point = step - (step - self.n_warmup_steps) % self.interval_steps
            previous = _previous_step(intermediate, step)
            if previous is not None and previous >= point:
                return False  # already judged in this interval
        others = [t.intermediate[step] for t in complete if step in t.intermediate]
        others = [v for v in others if math.isfinite(v)]
        if len(others) < self.n_min_trials:
            return False
        own = [v for s, v in intermediate.items() if s <= step and math.isfinite(v)]
        if not math.isfinite(value) or not own:
            return True
        best = min(own) if direction == "minimize" else max(own)
        return _better(statistics.median(others), best, direction)


@dataclass(frozen=True)
class ASHAPruner(Pruner):
    """Asynchronous successive halving (Li et al., MLSys 2020), as a stopping rule.

    Rungs sit at steps r_k = min_resource * reduction_factor ** (min_early_stopping_rate + k),
    k = 0, 1, ... (below max_resource when given). A trial's value at a rung is its first
    report at a step >= r_k. When a trial reaches a rung it goes on only if that value is in
    the top 1/reduction_factor of all the values recorded at that rung so far (every trial,
    finished or running, its own value included), and always when it is the best of them: the
    first trials at a rung go on, as in the paper's asynchronous promotion, since a trial
    cannot be paused and promoted later. Ties go on; a non-finite value is pruned.
    """

    min_resource: int = 1
    reduction_factor: int = 3
    min_early_stopping_rate: int = 0
    max_resource: int | None = None

    def __post_init__(self) -> None:
        _check_ints(self, min_resource=1, reduction_factor=2, min_early_stopping_rate=0)
        if self.max_resource is not None:
            _check_ints(self, max_resource=1)

    def rungs(self, up_to: int) -> list[int]:
        """The rung steps <= `up_to` (and < max_resource)."""
        out, k = [], self.min_early_stopping_rate
        while True:
            rung = self.min_resource * self.reduction_factor ** k
            if rung > up_to or (self.max_resource is not None and rung >= self.max_resource):
                return out
            out.append(rung)
            k += 1

    def prune(self, step: int, value: float, intermediate: Mapping[int, float],
              history: Sequence[FrozenTrial], direction: str) -> bool:
        previous = _previous_step(intermediate, step)
        for rung in self.rungs(step):
            if previous is not None and previous >= rung:
                continue  # passed this rung at an earlier report
            if not math.isfinite(value):
                return True
            recorded = [v for v in (_value_at(t.intermediate, rung) for t in history)
                        if v is not None and math.isfinite(v)]
            recorded.append(value)
            recorded.sort(reverse=direction == "maximize")
            top = max(len(recorded) // self.reduction_factor, 1)
            if _better(recorded[top - 1], value, direction):
                return True
        return False


def _value_at(intermediate: Mapping[int, float], rung: int) -> float | None:
    """A trial's value at a rung: its first report at a step >= rung (None if it never got
    there)."""
    steps = [s for s in intermediate if s >= rung]
    return intermediate[min(steps)] if steps else None


def _check_ints(pruner: Pruner, **lows: int) -> None:
    for name, low in lows.items():
        value = getattr(pruner, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{type(pruner).__name__}: {name} must be an integer >= {low}, "
                             f"got {value!r}")


#: keywords each `[pruner]` kind takes: {kind: {keyword: (type, lowest value)}}
PRUNER_OPTIONS: dict[str, dict[str, tuple[str, int]]] = {
    "none": {},
    "median": {"n_startup_trials": ("int", 0), "n_warmup_steps": ("int", 0),
               "interval_steps": ("int", 1), "n_min_trials": ("int", 1)},
    "asha": {"min_resource": ("int", 1), "reduction_factor": ("int", 2),
             "min_early_stopping_rate": ("int", 0), "max_resource": ("int", 1)},
    "threshold": {"threshold": ("float", -math.inf), "min_step": ("int", 0)},
}
_PRUNER_CLASSES = {"median": MedianPruner, "asha": ASHAPruner, "threshold": ThresholdPruner}


def make_pruner(table: Mapping[str, object] | None) -> Pruner | None:
    """A pruner from a checked `[pruner]` table ({"kind": ..., **keywords}); None for an
    empty table or kind "none"."""
    options = dict(table or {})
    kind = options.pop("kind", "none")
    if kind == "none":
        return None
    if kind not in _PRUNER_CLASSES:
        raise ValueError(f"unknown pruner kind {kind!r}; expected one of "
                         f"{', '.join(map(repr, PRUNER_OPTIONS))}")
    return _PRUNER_CLASSES[kind](**options)


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
            history = list(self._history())
            known = {t.number for t in history}
            # Running trials are part of the picture (ASHA's rungs hold every value recorded
            # so far); they are not copied: the pruner only reads them, under this lock.
            history += [FrozenTrial(other, {}, TrialState.RUNNING, 0, intermediate=reports)
                        for other, reports in self._intermediate.items()
                        if other != number and other not in known]
            return bool(self.pruner.prune(int(step), float(value), dict(values), history,
                                          self.direction))

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
