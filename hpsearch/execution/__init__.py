"""Execution: where trials run. One seam (`Executor`), two local implementations and a Dask one.

- `hpsearch.execution.task`: the trial task, the one place an objective is called.
- `hpsearch.execution.objective`: the calling convention of a Python objective, checking what
  it returns, loading one by name.
- `hpsearch.execution.base`: the `Executor` seam the study loop drives.
- `hpsearch.execution.local`: in the driver (n_jobs=1) and on joblib's loky pool.
- `hpsearch.execution.dask`: trials as tasks on a Dask cluster.
- `hpsearch.execution.reports`: the report channel from workers to the driver's pruner
  (a loopback socket for loky workers); `hpsearch.execution.dask_reports`: the same over
  Dask's own communication.
- `hpsearch.execution.limits`: per-trial time and memory limits.
- `hpsearch.execution.workers`: the `n_jobs` rule.

`make_executor(n_jobs, backend, scheduler, trial_timeout, max_memory_mb)`: with a timeout or
memory cap, n_jobs=1 runs on a one-process loky pool (never in the driver); n_jobs=-1 is every
core locally (see `local_workers`) and one trial per worker thread on Dask.
"""

from __future__ import annotations

from typing import Any

from hpsearch.execution.base import Executor
from hpsearch.execution.local import InProcessExecutor, LokyExecutor
from hpsearch.execution.workers import local_workers

__all__ = ["make_executor", "Executor"]


def make_executor(n_jobs: int, backend: str = "local", scheduler: Any = None,
                  trial_timeout: float | None = None,
                  max_memory_mb: int | None = None) -> Executor:
    """local: n_jobs=1 in-process (a one-process pool when limits are set), n_jobs>1 a loky
    pool of n_jobs workers; dask: `DaskExecutor(scheduler, n_jobs, trial_timeout)`."""
    if backend == "dask":
        from hpsearch.execution.dask import DaskExecutor

        return DaskExecutor(scheduler, n_jobs, trial_timeout=trial_timeout)
    limited = trial_timeout is not None or max_memory_mb is not None
    workers = local_workers(n_jobs)
    return InProcessExecutor() if workers == 1 and not limited else LokyExecutor(workers)
