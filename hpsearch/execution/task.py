"""The trial task: the one place an objective is called.

Contract:
- `run_trial(task) -> TrialOutcome` is the worker-side function: it resolves the objective,
  builds the `hp.Trial`, calls the objective and never raises for the objective's own
  errors (they become a `failed` outcome with the exception type, message and the traceback
  from the objective's frame down, `error_text`). `TrialPruned` gives a `pruned` outcome
  with the last reported value.
  An objective that calls `sys.exit` (SystemExit) gives a `failed` outcome ("the objective
  called sys.exit(0)"), so it cannot end the driver; KeyboardInterrupt passes through. An
  artifact that storage cannot hold (see `hpsearch.storage.artifacts`: names are non-empty
  strings of at most 200 characters without '/', '\\' or NUL, arrays hold no Python objects)
  fails the trial here, in the worker, before it reaches the driver; so does a checkpoint
  (`trial.save_checkpoint`) storage cannot hold. A promoted trial's task carries its
  checkpoint, that checkpoint's step and its earlier reports into the worker's `hp.Trial`; the
  outcome carries the checkpoint saved in this run (if any) and the steps this run trained.
- Limits (see `hpsearch.execution.limits`): `TrialTask.max_memory_mb` caps the objective's
  address space inside the worker (a `MemoryError` becomes "exceeded the memory cap of N MB");
  `TrialTask.watchdog` (seconds) makes the worker process exit if the trial is still running
  by then (used by the Dask executor, whose running tasks cannot be cancelled otherwise).
  `limit_blas` limits BLAS to one thread (threadpoolctl); `marker_dir` gets a file
  `<number>` holding the pid before the objective is called, so the loky executor knows
  which trials had really started when a worker died. `parent_pid` (set by the loky
  executor: the driver's pid) makes the worker exit soon after the driver dies
  (`hpsearch.execution.orphans`).
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpsearch.exceptions import ObjectiveError, TrialPruned
from hpsearch.execution.limits import memory_cap, memory_error_text
from hpsearch.execution.objective import ObjectiveRef, takes_trial, to_result
from hpsearch.execution.orphans import exit_with_parent
from hpsearch.storage.artifacts import artifact_problem
from hpsearch.storage.checkpoints import Checkpoint, checkpoint_problem
from hpsearch.trial import ReportClient, Result, Trial, TrialState


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
    parent_pid: int | None = None
    checkpoint: Mapping[str, np.ndarray] | None = None  # a promoted trial's, to resume from
    checkpoint_step: int = 0
    intermediate: Mapping[int, float] = field(default_factory=dict)  # its earlier reports


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
    values: tuple[float, ...] | None = None  # a multi-objective trial's values (value None)
    steps: int = 0  # steps this run trained (`Trial.steps_run`)
    checkpoint: tuple[Mapping[str, np.ndarray], int] | None = None  # saved in this run


#: a failed trial's error text keeps at most this many lines of its traceback (the last ones)
MAX_TRACEBACK_LINES = 60


def error_text(err: BaseException) -> str:
    """'Type: message', then the traceback from the objective's own frame down (this module's
    frames left out; chained exceptions included), at most its last `MAX_TRACEBACK_LINES`."""
    head = f"{type(err).__name__}: {err}"
    tb = err.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    lines = "".join(traceback.format_exception(type(err), err, tb)).splitlines()
    tail = "\n".join(lines[-MAX_TRACEBACK_LINES:])
    return f"{head}\n{tail}" if tail else head


def check_artifacts(returned: Any) -> None:
    """ObjectiveError when a returned `Result` has an artifact storage cannot hold (checked
    on the names as given, before `to_result` turns them into strings)."""
    if not isinstance(returned, Result):
        return
    for name, array in dict(returned.artifacts).items():
        problem = artifact_problem(name, np.asarray(array))
        if problem is not None:
            raise ObjectiveError(problem)


def _call(task: TrialTask) -> TrialOutcome:
    started = time.time()
    handle = Trial(task.number, task.seed, task.reporter, params=task.params,
                   checkpoint=task.checkpoint, checkpoint_step=task.checkpoint_step,
                   intermediate=task.intermediate)
    if task.marker_dir is not None:
        with open(os.path.join(task.marker_dir, str(task.number)), "w") as marker:
            marker.write(str(os.getpid()))
    state, value, metrics, artifacts, error = TrialState.FAILED, None, {}, {}, None
    values = None
    try:
        objective = task.objective.resolve()
        params = dict(task.params)
        with memory_cap(task.max_memory_mb):
            returned = (objective(params, handle) if takes_trial(objective)
                        else objective(params))
        check_artifacts(returned)
        result = to_result(returned)
        state, value, values = TrialState.COMPLETE, result.value, result.values
        metrics, artifacts = dict(result.metrics), dict(result.artifacts)
    except MemoryError as err:
        error = (memory_error_text(task.max_memory_mb) + f"\n{error_text(err)}"
                 if task.max_memory_mb is not None else error_text(err))
    except TrialPruned:
        state = TrialState.PRUNED
        if handle.intermediate:
            value = handle.intermediate[max(handle.intermediate)]
    except SystemExit as err:
        code = "" if err.code is None else repr(err.code)
        error = (f"the objective called sys.exit({code}); a trial cannot end the study's "
                 f"process, so it failed\n{error_text(err)}")
    except Exception as err:
        error = error_text(err)
    checkpoint = handle.new_checkpoint()
    problem = None if checkpoint is None else checkpoint_problem(Checkpoint(*checkpoint))
    if problem is not None and state is not TrialState.FAILED:
        state, value, values, checkpoint, error = TrialState.FAILED, None, None, None, problem
    return TrialOutcome(task.number, state, value, metrics, artifacts, handle.intermediate,
                        error, started, time.time(), os.getpid(), values, handle.steps_run,
                        checkpoint)


def _run(task: TrialTask) -> TrialOutcome:
    if not task.limit_blas:
        return _call(task)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _call(task)


def run_trial(task: TrialTask) -> TrialOutcome:
    """Run one trial (in a worker, or in-process); see the module docstring."""
    if task.parent_pid is not None:
        exit_with_parent(task.parent_pid)
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
