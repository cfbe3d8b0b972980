"""Per-trial resource limits: a memory cap applied inside the worker, and the timeout texts.

Contract:
- `memory_cap(max_memory_mb)` is a context manager used by `run_trial` around the objective.
  It lowers the *soft* `RLIMIT_AS` of the worker process to (the address space the process
  has mapped when the trial starts) + `max_memory_mb` MiB, and restores the previous soft
  limit afterwards. The hard limit is never touched, so a long-lived loky or Dask worker
  can raise its soft limit back for the next trial. The cap is therefore "at most
  max_memory_mb MB more than the worker already uses" (a process's baseline address space,
  thread stacks and BLAS buffers included, is often several hundred MB, so an absolute cap
  would fail every trial). It is per process: Dask workers must run one thread each
  (`--nthreads 1`) for the cap to belong to one trial.
- An allocation past the cap raises `MemoryError` in the objective; `run_trial` records it as
  `memory_error_text(max_memory_mb)` = "exceeded the memory cap of N MB".
- `timeout_text(seconds)` = "timed out after X s": the error of a trial stopped by
  `trial_timeout` (the stopping itself is the executor's job; see `hpsearch.execution`).
- Linux (and other POSIX systems with RLIMIT_AS); elsewhere `memory_cap` raises
  `StudyError` when a cap is asked for.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from hpsearch.exceptions import StudyError

__all__ = ["memory_cap", "memory_error_text", "timeout_text", "check_limits"]

_MB = 1024 * 1024


def timeout_text(seconds: float) -> str:
    """The error text of a trial stopped by the per-trial timeout."""
    return f"timed out after {seconds:g} s (trial_timeout)"


def memory_error_text(max_memory_mb: int) -> str:
    """The error text of a trial whose objective ran out of its memory cap."""
    return f"exceeded the memory cap of {max_memory_mb} MB (max_memory_mb)"


def check_limits(trial_timeout: float | None, max_memory_mb: int | None) -> None:
    """Raise StudyError for a timeout or cap that is not a positive number."""
    if trial_timeout is not None and (isinstance(trial_timeout, bool)
                                      or not trial_timeout > 0):
        raise StudyError(f"trial_timeout must be a positive number of seconds, "
                         f"got {trial_timeout!r}")
    if max_memory_mb is not None and (isinstance(max_memory_mb, bool)
                                      or not isinstance(max_memory_mb, int)
                                      or max_memory_mb < 1):
        raise StudyError(f"max_memory_mb must be a positive integer, got {max_memory_mb!r}")


def _mapped_bytes() -> int:
    """The process's current address-space size (VmSize), in bytes."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil  # a dependency of distributed; only needed off Linux

    return int(psutil.Process(os.getpid()).memory_info().vms)


@contextlib.contextmanager
def memory_cap(max_memory_mb: int | None) -> Iterator[None]:
    """Lower the soft RLIMIT_AS by the cap for the duration of the block (see module doc)."""
    if max_memory_mb is None:
        yield
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        raise StudyError("max_memory_mb needs resource.RLIMIT_AS (Linux/POSIX)") from None
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _mapped_bytes() + max_memory_mb * _MB
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
