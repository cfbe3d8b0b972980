"""One served study: a `Study` opened by the service, its leases, and what each request does.

Contract (every method runs on the server's one event-loop thread, so each is atomic: no two
asks ever get the same trial):
- `HostedStudy.open(folder, doc, lease_seconds)`: `doc` is a study document (a study file's
  tables as JSON, checked by `hpsearch.studyfile.reader.study_spec`, the same checks and error
  messages as `hpsearch run`; `[study].n_trials` is the study's budget, optional). Keys that
  would name a path or configure a local driver (`SERVER_REFUSED`) are refused naming the key.
  The study opens in `folder` (created or resumed: the same checks as `hp.Study`), holding its
  lock for the service's lifetime; leases recorded by an earlier service that never told are
  resumed (their trials, left `interrupted` by the crash, are asked again for their holders),
  the others stay `interrupted` and are asked first.
- `ask(n, worker, request_id, until=None)`: up to n trials (fewer once the budget, or `until`
  (the caller's own), is leased or finished, or the strategy is exhausted), each with a lease;
  the strategy sees every leased trial as pending. A repeated `request_id` gets the first
  answer again.
- `tell(body)`: the trial told by its lease holder (values, state, error, metrics,
  intermediate, artifacts, times) through `Study.tell`; its own holder repeating a tell
  that was recorded gets the record again (`repeated: true`); anyone else, or a lease that
  expired, gets `LeaseLostError` and nothing changes.
- `report(number, lease, step, value)`: the pruner's decision (`prune`) and whether the study
  is done (`stop`); renews the lease. `heartbeat(number, lease)` renews it.
- `expire()`: trials whose lease ran out become `interrupted` (`Study.interrupt_running`) and
  are asked again under their own number, params and seed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hpsearch.exceptions import ServiceError, StudyError
from hpsearch.service.leases import Lease, LeaseBook
from hpsearch.service.wire import Body, decode_artifacts, trial_json
from hpsearch.study.study import Study
from hpsearch.studyfile.reader import StudySpec, study_spec
from hpsearch.studyfile.runner import study_arguments
from hpsearch.trial import FrozenTrial, Result, TrialState

__all__ = ["HostedStudy", "SERVER_REFUSED", "check_document"]

logger = logging.getLogger("hpsearch")

#: [study] keys a served study refuses: paths (the service keeps studies under STORAGE only)
#: and a local driver's settings (workers run the trials)
SERVER_REFUSED = ("storage", "warm_start", "backend", "scheduler", "n_jobs", "timeout",
                  "trial_timeout", "max_memory_mb", "max_consecutive_failures",
                  "stop_after_no_improvement")


def check_document(doc: Any, source: str) -> StudySpec:
    """A create-study body checked as a study file (errors name `source` and the key)."""
    table = doc.get("study") if isinstance(doc, dict) else None
    if isinstance(table, dict):
        for key in SERVER_REFUSED:
            if key in table:
                raise ServiceError(f"{source}: [study].{key}: not used by a served study (the "
                                   "service keeps its studies under STORAGE and workers run "
                                   "the trials); remove it", 400, f"[study].{key}")
        if "name" not in table:
            raise ServiceError(f"{source}: [study].name: missing; a served study needs a name",
                               400, "[study].name")
    return study_spec(doc, Path(source), served=True)


class HostedStudy:
    """A study the service holds open (see the module docstring)."""

    def __init__(self, doc: dict[str, Any], spec: StudySpec, study: Study,
                 leases: LeaseBook) -> None:
        self.doc, self.spec, self.study, self.leases = doc, spec, study, leases
        self.name = spec.name
        self._told: dict[int, FrozenTrial] = {
            t.number: t for t in study.trials if t.state.is_finished}

    @classmethod
    def open(cls, folder: Path, doc: dict[str, Any], lease_seconds: float) -> HostedStudy:
        spec = check_document(doc, f"study {doc['study']['name']!r}")
        if spec.objective.kind == "mlp":
            from hpsearch.objectives import mlp

            mlp.check_hyperparameters(spec)
        study = Study(storage=folder, **study_arguments(spec))
        try:
            for params in spec.enqueue:
                study.enqueue(params, skip_if_exists=True)
            hosted = cls(doc, spec, study, LeaseBook(str(folder), lease_seconds))
            hosted._resume()
        except BaseException:
            study.close()
            raise
        return hosted

    def _resume(self) -> None:
        """Give the holders of unfinished leases their trials back (see the module docstring)."""
        recorded = self.leases.unfinished()
        waiting = [t.number for t in self.study.trials if t.state is TrialState.INTERRUPTED]
        resumable = {n: recorded[n] for n in waiting if n in recorded}
        if not resumable:
            return
        asked = [t.number for t in self.study.ask(len(waiting))]  # interrupted ones first
        with self.study.lock():
            self.study.interrupt_running([n for n in asked if n not in resumable])
        self.leases.resume(resumable)
        logger.info("study %s: %d lease(s) resumed", self.name, len(resumable))

    # ----- state
    @property
    def budget(self) -> int | None:
        return self.spec.n_trials

    @property
    def done(self) -> bool:
        """The budget is finished, or the strategy is exhausted and nothing runs."""
        if self.budget is not None and self.study.n_finished >= self.budget:
            return True
        return self.study.exhausted and not self.leases.holders

    def status(self) -> dict[str, Any]:
        trials = self.study.trials
        counts = {state.value: 0 for state in TrialState}
        for trial in trials:
            counts[trial.state.value] += 1
        best = None
        if self.study.n_objectives == 1:
            try:
                best = trial_json(self.study.best_trial)
            except StudyError:
                best = None
        return {"name": self.name, "n_trials": self.budget, "n_finished": self.study.n_finished,
                "states": counts, "leased": len(self.leases.holders), "done": self.done,
                "direction": self.study.direction, "strategy": self.study.strategy_name,
                "lease_seconds": self.leases.timeout, "best_trial": best, "study": self.doc}

    # ----- requests
    def ask(self, n: int, worker: str, request_id: str | None,
            until: int | None = None) -> dict[str, Any]:
        stored = self.leases.answer(request_id)
        if stored is not None:
            return stored
        room = n
        for limit in (self.budget, until):
            if limit is not None:
                room = max(0, min(room, limit - self.study.n_finished - len(self.leases.holders)))
        trials = self.study.ask(room) if room else []
        try:
            self.leases.grant([t.number for t in trials], worker, request_id,
                              lambda leases: self._answer(trials, leases))
        except BaseException:
            with self.study.lock():
                self.study.interrupt_running([t.number for t in trials])
            raise
        return self._answer(trials, [self.leases.holders[t.number] for t in trials])

    def _answer(self, trials: list[Any], leases: list[Lease]) -> dict[str, Any]:
        return {"trials": [{"number": t.number, "params": t.params, "seed": t.seed,
                            "lease": lease.lease} for t, lease in zip(trials, leases,
                                                                      strict=True)],
                "lease_seconds": self.leases.timeout, "done": self.done}

    def tell(self, body: Body) -> dict[str, Any]:
        number = body.get("number", "int", required=True)
        lease = body.get("lease", "str", required=True)
        if number in self._told and self.leases.last_lease(number) == lease:
            return {"trial": trial_json(self._told[number]), "repeated": True}
        self.leases.live(number, lease)
        values = body.get("values", "list")
        value = body.get("value", "number")
        state = body.get("state", "str")
        artifacts = decode_artifacts(body.data["artifacts"]) if body.data.get(
            "artifacts") else {}
        result = None
        if value is not None or values is not None or artifacts or body.data.get("metrics"):
            result = Result(value=value, metrics=body.numbers("metrics"), artifacts=artifacts,
                            values=values)
        intermediate = body.steps("intermediate") or None
        done = self.study.tell(number, result, state=state, error=body.get("error", "str"),
                               intermediate=intermediate,
                               started_at=body.get("started_at", "number"),
                               finished_at=body.get("finished_at", "number"))
        self._told[number] = done
        self.leases.told(number)
        return {"trial": trial_json(done), "repeated": False}

    def report(self, number: int, lease: str, step: int, value: float) -> dict[str, Any]:
        self.leases.renew(number, lease)
        prune = self.study.pruning.report(number, step, value)
        return {"prune": bool(prune), "stop": self.done, "lease_seconds": self.leases.timeout}

    def heartbeat(self, number: int, lease: str) -> dict[str, Any]:
        self.leases.renew(number, lease)
        return {"lease_seconds": self.leases.timeout, "stop": self.done}

    def expire(self) -> list[int]:
        numbers = self.leases.expired()
        if numbers:
            with self.study.lock():
                self.study.interrupt_running(numbers)
            logger.warning("study %s: lease expired for trial(s) %s; asked again", self.name,
                           ", ".join(map(str, numbers)))
        return numbers

    def trials(self) -> list[dict[str, Any]]:
        return [trial_json(t) for t in self.study.trials]

    def best(self) -> dict[str, Any]:
        if self.study.n_objectives > 1:
            return {"best_trials": [trial_json(t) for t in self.study.best_trials]}
        try:
            return {"best_trial": trial_json(self.study.best_trial)}
        except StudyError as err:
            raise ServiceError(f"study {self.name!r}: {err}", 404) from None

    def parquet(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.study.results().to_parquet(buffer, index=False)
        return buffer.getvalue()

    def close(self) -> None:
        self.study.close()
        self.leases.close()
