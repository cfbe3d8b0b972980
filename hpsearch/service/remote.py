"""`RemoteStudy`: a served study driven from anywhere, with `hp.Study`'s ask/tell seam.

Contract (what `Client.study(name)` returns):
- `ask(n=None)`: a leased `hp.Trial` (or a list of up to n; `[]` when none is free now).
  `ask()` waits while every trial of the budget is leased elsewhere (one may come back) and
  raises `StudyError` once the study is done. `trial.report(step, value)` goes to the server's
  pruner (and renews the lease); `should_prune()` repeats its last answer. A heartbeat thread
  renews every lease this object holds every `lease_seconds / 4`, so a long trial keeps it.
- `tell(trial_or_number, value=None, *, state=None, error=None, intermediate=None,
  started_at=None, finished_at=None) -> FrozenTrial`: as `hp.Study.tell` (a number, several,
  or an `hp.Result` with metrics and artifacts). A lease that expired meanwhile raises
  `LeaseLostError`; nothing was recorded and the trial is asked again.
- `optimize(objective, n_trials, n_jobs=1, callbacks=())`: ask, run, tell until the study holds
  `n_trials` finished trials (or is done); `work(objective, n_trials=None, until=None)` is the
  loop itself (`n_trials`: trials run here, what `hpsearch worker --n-trials` counts). The
  objective runs through `hpsearch.execution.task.run_trial`, as in a local study (its errors
  fail the trial; `hp.TrialPruned` prunes it). n_jobs > 1 runs that many loops in threads.
- `trials`, `results(best_first=False)` (the same table as `hp.Study.results()`, made by the
  same function), `best_trial`, `best_params`, `best_value`, `best_trials`, `n_finished`,
  `status()`.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from hpsearch.direction import check_directions
from hpsearch.exceptions import HpsearchError, LeaseLostError, StudyError
from hpsearch.execution.objective import objective_ref
from hpsearch.execution.task import TrialOutcome, TrialTask, run_trial
from hpsearch.service.wire import encode_artifacts, finite, trial_from_json
from hpsearch.space import Space
from hpsearch.study.best import objective_names
from hpsearch.trial import FrozenTrial, Result, Trial

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RemoteStudy", "Client"]


class Client(Protocol):
    """What a remote study needs of its client (`hpsearch.service.client.Client` provides it)."""

    url: str

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None
                ) -> Any: ...

logger = logging.getLogger("hpsearch")

_WAIT_SECONDS = 0.5  # between asks while every trial of the budget is leased elsewhere


class _Reporter:
    """`trial.report` over HTTP: the server's pruner decides; a lost lease stops the trial."""

    def __init__(self, study: RemoteStudy) -> None:
        self.study = study

    def report(self, number: int, step: int, value: float) -> bool:
        lease = self.study._leases.get(number)
        if lease is None:
            return True
        try:
            answer = self.study._post("report", {"number": number, "lease": lease,
                                                 "step": int(step), "value": finite(value)})
        except LeaseLostError as err:
            logger.warning("%s", err)
            return True
        return bool(answer["prune"])


class RemoteStudy:
    """A served study (see the module docstring)."""

    def __init__(self, client: Client, name: str) -> None:
        self.client, self.name = client, name
        self._path = f"/api/studies/{name}"
        status = self.status()
        document = status["study"]
        self.document = document
        self.space = Space.from_dict(document["space"])
        self.direction = status["direction"]
        self.directions = check_directions(self.direction)
        metric = document["study"].get("metric")
        self.objective_names = objective_names(
            list(metric) if isinstance(metric, list) else metric, len(self.directions))
        self.lease_seconds = float(status["lease_seconds"])
        self.worker = f"{socket.gethostname()}:{threading.get_native_id()}"
        self._leases: dict[int, str] = {}
        self._lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None

    def _post(self, action: str, body: Mapping[str, Any]) -> Any:
        return self.client.request("POST", f"{self._path}/{action}", body)

    def status(self) -> dict[str, Any]:
        return self.client.request("GET", self._path)

    # ----- ask and tell
    def ask(self, n: int | None = None, *, until: int | None = None) -> Trial | list[Trial]:
        """See the module docstring."""
        while True:
            answer = self._post("ask", {"n": 1 if n is None else n, "worker": self.worker,
                                        "request_id": uuid.uuid4().hex, "until": until})
            trials = [self._handle(t) for t in answer["trials"]]
            if n is not None:
                return trials
            if trials:
                return trials[0]
            if answer["done"] or until is not None:
                raise StudyError(f"study {self.name!r} is done: no trial left to ask")
            time.sleep(_WAIT_SECONDS)

    def _handle(self, data: Mapping[str, Any]) -> Trial:
        with self._lock:
            self._leases[data["number"]] = data["lease"]
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._heartbeat = threading.Thread(target=self._beat, daemon=True,
                                                   name=f"hpsearch-heartbeat-{self.name}")
                self._heartbeat.start()
        return Trial(data["number"], data["seed"], _Reporter(self), params=data["params"],
                     owner=self)

    def _beat(self) -> None:
        """Renew the held leases every lease_seconds / 4 while any is held."""
        while True:
            time.sleep(self.lease_seconds / 4)
            with self._lock:
                held = dict(self._leases)
                if not held:
                    self._heartbeat = None
                    return
            for number, lease in held.items():
                try:
                    self._post("heartbeat", {"number": number, "lease": lease})
                except LeaseLostError as err:
                    logger.warning("%s", err)
                except HpsearchError as err:  # the server is away: the next beat retries
                    logger.warning("heartbeat for trial %d: %s", number, err)

    def tell(self, trial: Trial | FrozenTrial | int, value: float | Result | Any = None, *,
             state: str | None = None, error: str | None = None,
             intermediate: Mapping[int, float] | None = None,
             started_at: float | None = None, finished_at: float | None = None
             ) -> FrozenTrial:
        """See the module docstring."""
        number = trial if isinstance(trial, int) and not isinstance(trial, bool) else getattr(
            trial, "number", None)
        if not isinstance(number, int) or number not in self._leases:
            raise StudyError(f"tell(): trial {number!r} was not asked by this RemoteStudy")
        if intermediate is None and isinstance(trial, Trial):
            intermediate = trial.intermediate
        body: dict[str, Any] = {"number": number, "lease": self._leases[number],
                                "state": None if state is None else str(state), "error": error,
                                "started_at": started_at, "finished_at": finished_at,
                                "intermediate": {str(k): finite(v) for k, v in
                                                 (intermediate or {}).items()}}
        body.update(_told_value(value))
        try:
            answer = self._post("tell", body)
        finally:
            with self._lock:
                self._leases.pop(number, None)
        return trial_from_json(answer["trial"])

    # ----- running
    def work(self, objective: Callable | str, n_trials: int | None = None,
             until: int | None = None,
             callbacks: Iterable[Callable[[RemoteStudy, FrozenTrial], None]] = ()) -> int:
        """Ask, run, tell until the study is done, `n_trials` ran here, or the study holds
        `until` finished trials; returns how many trials ran here."""
        reference, ran = objective_ref(objective), 0
        while n_trials is None or ran < n_trials:
            try:
                trial = self.ask(until=until)
            except StudyError:
                if until is None or self.status()["n_finished"] >= until or \
                        self.status()["done"]:
                    break
                time.sleep(_WAIT_SECONDS)  # the rest is leased elsewhere: one may come back
                continue
            outcome = run_trial(TrialTask(trial.number, trial.params, trial.seed, reference,
                                          reporter=_Reporter(self)))
            try:
                told = self.tell(trial, _outcome_value(outcome), state=str(outcome.state),
                                 error=outcome.error, intermediate=outcome.intermediate,
                                 started_at=outcome.started_at,
                                 finished_at=outcome.finished_at)
            except LeaseLostError as err:
                logger.warning("%s", err)
                continue
            ran += 1
            for callback in callbacks:
                callback(self, told)
        return ran

    def optimize(self, objective: Callable | str, n_trials: int, n_jobs: int = 1,
                 callbacks: Iterable[Callable[[RemoteStudy, FrozenTrial], None]] = ()) -> None:
        """Run trials here until the study holds `n_trials` finished ones (or is done)."""
        callbacks = tuple(callbacks)
        if n_jobs <= 1:
            self.work(objective, until=n_trials, callbacks=callbacks)
            return
        with ThreadPoolExecutor(n_jobs, thread_name_prefix="hpsearch-remote") as pool:
            for future in [pool.submit(self.work, objective, None, n_trials, callbacks)
                           for _ in range(n_jobs)]:
                future.result()

    # ----- reading
    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial, by number."""
        answer = self.client.request("GET", f"{self._path}/trials")
        return [trial_from_json(t) for t in answer["trials"]]

    @property
    def n_finished(self) -> int:
        return int(self.status()["n_finished"])

    def results(self, best_first: bool = False) -> pd.DataFrame:
        """The trials table, as `hp.Study.results()` makes it."""
        from hpsearch.study import tables

        frame = tables.results_frame(self.trials, self.space, objectives=self.objective_names,
                                     directions=self.directions)
        return tables.best_first(frame, self.directions) if best_first else frame

    @property
    def best_trial(self) -> FrozenTrial:
        if len(self.directions) > 1:
            raise StudyError("best_trial is for one objective; use best_trials")
        return trial_from_json(self.client.request("GET", f"{self._path}/best")["best_trial"])

    @property
    def best_trials(self) -> list[FrozenTrial]:
        answer = self.client.request("GET", f"{self._path}/best")
        return [trial_from_json(t) for t in answer.get("best_trials", [answer.get(
            "best_trial")])]

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        return float(self.best_trial.value)

    def __repr__(self) -> str:
        return f"RemoteStudy({self.name!r}, {self.client.url!r})"


def _outcome_value(outcome: TrialOutcome) -> Result | None:
    if outcome.value is None and outcome.values is None:
        return None
    return Result(outcome.value, outcome.metrics, outcome.artifacts, outcome.values)


def _told_value(value: Any) -> dict[str, Any]:
    """The tell body's value, values, metrics and artifacts for what the caller told."""
    if value is None:
        return {}
    if isinstance(value, Result):
        out: dict[str, Any] = {"metrics": {k: finite(float(v)) for k, v in
                                           value.metrics.items()}}
        if value.artifacts:
            out["artifacts"] = encode_artifacts(value.artifacts)
        if value.values is not None:
            out["values"] = [finite(float(v)) for v in value.values]
        elif value.value is not None:
            out["value"] = finite(float(value.value))
        return out
    if isinstance(value, list | tuple):
        return {"values": [finite(float(v)) for v in value]}
    return {"value": finite(float(value))}
