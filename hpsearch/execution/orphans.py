"""Workers that would outlive their driver: a loky worker ends soon after its driver dies.

loky's workers notice a dead parent only when they next read their call queue, that is after
the trial they are running has ended, which may be minutes or hours later (and then they keep
a core busy for nothing). `exit_with_parent(pid)` starts, once per process, a daemon thread that
checks every `POLL_SECONDS` whether this process's parent is still `pid` (a process whose
parent dies is handed to another one, so its parent pid changes) and, when it is not, ends the
process at once with exit code `EXIT_CODE`. The trial it was running is then `interrupted` in
the run folder and runs again when the study resumes.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["exit_with_parent", "POLL_SECONDS", "EXIT_CODE"]

POLL_SECONDS = 1.0
EXIT_CODE = 71

_watching: dict[str, int] = {}
_lock = threading.Lock()


def _watch(parent: int) -> None:
    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(EXIT_CODE)


def exit_with_parent(parent: int) -> None:
    """Exit this process soon after the process `parent` (its parent now) is gone."""
    with _lock:
        if _watching.get("parent") == parent:
            return
        if os.getppid() != parent:  # the driver is already gone, or we are not its child
            if os.getpid() == parent:
                return  # in the driver itself: nothing to watch
            os._exit(EXIT_CODE)
        _watching["parent"] = parent
    threading.Thread(target=_watch, args=(parent,), name="hpsearch-parent-watch",
                     daemon=True).start()
