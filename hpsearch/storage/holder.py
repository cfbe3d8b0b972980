"""Who holds a run folder's lock: whether a driver is running the study now.

Contract: `lock_holder(folder) -> int | None` is the process id of the driver holding
`<folder>/study.lock` (0 when a holder exists but its id cannot be told), or None when no
process holds it. It never takes the lock itself where it can avoid it: on Linux it reads
`/proc/locks` (the kernel's table of held locks, matched by the lock file's inode), so a
reader polling the folder (`hpsearch list`, `status`, `dashboard`) can never make a driver
that starts at that moment fail with `StudyLockedError`. Elsewhere it tries a shared,
non-blocking `flock` on the file and releases it at once. Readers use it to show the trials a
dead driver left `running` as `interrupted`: `reader_view(trials, folder)` returns them so
when no process holds the lock (nothing is written; the next driver marks them so in the
database). `hp.load_study` reads through it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
from collections.abc import Sequence

from hpsearch.storage.base import LOCK_NAME
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["lock_holder", "reader_view"]

_PROC_LOCKS = "/proc/locks"


def _from_proc(stat: os.stat_result) -> int | None | bool:
    """The holder's pid from /proc/locks; False when the table cannot be read."""
    try:
        with open(_PROC_LOCKS, encoding="ascii", errors="replace") as table:
            lines = table.read().splitlines()
    except OSError:
        return False
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    by_inode = None
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or fields[1] == "->" or fields[1] != "FLOCK":
            continue  # a waiter, or a POSIX lock (the study lock is an flock)
        pid, where = fields[4], fields[5]
        if where == device:
            return int(pid) if pid.isdigit() else 0
        if where.rsplit(":", 1)[-1] == str(stat.st_ino):  # overlay file systems show the
            by_inode = int(pid) if pid.isdigit() else 0   # real device, not stat()'s
    return by_inode


def _probe(path: str) -> int | None:
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
        except OSError:
            return None
        with contextlib.suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def lock_holder(folder: str | os.PathLike) -> int | None:
    """The pid of the driver holding the folder's lock, 0 if unknown, None if none."""
    path = os.path.join(os.fspath(folder), LOCK_NAME)
    try:
        stat = os.stat(path)
    except OSError:
        return None
    found = _from_proc(stat)
    return _probe(path) if found is False else found


def reader_view(trials: Sequence[FrozenTrial], folder: str | os.PathLike | None
                ) -> list[FrozenTrial]:
    """The trials as a reader should see them (see the module docstring)."""
    trials = list(trials)
    if folder is None or not any(t.state is TrialState.RUNNING for t in trials) or \
            lock_holder(folder) is not None:
        return trials
    return [dataclasses.replace(t, state=TrialState.INTERRUPTED)
            if t.state is TrialState.RUNNING else t for t in trials]
