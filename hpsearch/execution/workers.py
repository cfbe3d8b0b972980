"""How many workers: the one rule for `n_jobs`, checked and resolved in one place.

`n_jobs` is a positive integer or -1. `check_n_jobs` refuses anything else (naming where the
value came from); `local_workers` resolves -1 to the cores this process may use and caps a
larger request at that many processes, with a warning (more local processes than cores only
oversubscribe them). A Dask cluster resolves -1 itself (one trial per worker thread).
"""

from __future__ import annotations

import logging
import os

from hpsearch.exceptions import StudyError

__all__ = ["check_n_jobs", "available_cores", "local_workers"]

logger = logging.getLogger("hpsearch")


def check_n_jobs(n_jobs: object, where: str = "n_jobs") -> int:
    """`n_jobs` itself when it is a positive integer or -1; StudyError otherwise."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or not (n_jobs >= 1
                                                                       or n_jobs == -1):
        raise StudyError(f"{where} must be a positive integer or -1 (every core), "
                         f"got {n_jobs!r}")
    return n_jobs


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def local_workers(n_jobs: int) -> int:
    """Local processes for `n_jobs` (checked): -1 = every core, capped at the cores."""
    cores = available_cores()
    if check_n_jobs(n_jobs) == -1:
        return cores
    if n_jobs > cores:
        logger.warning("n_jobs=%d but this machine has %d cores; running %d local workers",
                       n_jobs, cores, cores)
        return cores
    return n_jobs
