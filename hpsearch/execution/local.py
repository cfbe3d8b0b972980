"""Local executors: in the driver's process (n_jobs=1) and on joblib's loky process pool.

- `InProcessExecutor` runs the trial inside `submit`, in the driver's process and thread,
  with no BLAS limit.
- `LokyExecutor(n_workers)` uses joblib's reusable loky executor; each task limits BLAS to one
  thread and writes its start marker (see `hpsearch.execution.task`), which is how `started`
  knows which trials were really running when a worker died; a worker exits soon after the
  driver dies (`hpsearch.execution.orphans`), not when its trial ends. A trial past its
  timeout is stopped by killing the pool (`stop` returns True); the others running on it are
  run again with the same params and seed, as after a worker death. A trial submitted to a pool
  that broke a moment before gets a broken future too, and runs again with the others.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import os
import shutil
import tempfile
from collections.abc import Iterable
from concurrent.futures.process import BrokenProcessPool

from hpsearch.execution.base import Executor, SocketReportsExecutor
from hpsearch.execution.task import TrialTask, run_trial


class InProcessExecutor(Executor):
    """Runs each trial inside `submit`, in the driver's thread (n_jobs=1)."""

    def submit(self, task: TrialTask) -> cf.Future:
        future: cf.Future = cf.Future()
        future.set_result(run_trial(task))
        return future


class LokyExecutor(SocketReportsExecutor):
    """joblib's reusable loky process pool with `n_workers` processes."""

    def __init__(self, n_workers: int) -> None:
        from joblib.externals.loky import get_reusable_executor

        self.n_workers = n_workers
        self._get = get_reusable_executor
        self._pool = get_reusable_executor(max_workers=n_workers)
        self._marker_dir = tempfile.mkdtemp(prefix="hpsearch-markers-")

    def submit(self, task: TrialTask) -> cf.Future:
        marker = os.path.join(self._marker_dir, str(task.number))
        if os.path.exists(marker):
            os.remove(marker)
        task = dataclasses.replace(task, marker_dir=self._marker_dir, limit_blas=True,
                                   parent_pid=os.getpid())
        try:
            return self._pool.submit(run_trial, task)
        except BrokenProcessPool as err:
            # A worker died since the loop last looked (the pool breaks at once, its futures a
            # moment later): this trial breaks with the others and runs again on a fresh pool.
            future: cf.Future = cf.Future()
            future.set_exception(err)
            return future

    def is_worker_death(self, exc: BaseException) -> bool:
        return isinstance(exc, BrokenProcessPool)

    def started(self, numbers: Iterable[int]) -> set[int]:
        return {n for n in numbers if os.path.exists(os.path.join(self._marker_dir, str(n)))}

    def reset(self) -> None:
        self._pool = self._get(max_workers=self.n_workers)

    def stop(self, future: cf.Future) -> bool:
        # A loky worker cannot be stopped alone: kill the pool, the study reruns the others.
        self._pool.shutdown(wait=True, kill_workers=True)
        self.reset()
        return True

    def shutdown(self, kill: bool = False) -> None:
        self.close_reports()
        if kill:
            self._pool.shutdown(wait=True, kill_workers=True)
        shutil.rmtree(self._marker_dir, ignore_errors=True)
