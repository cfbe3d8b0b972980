"""StudyLock: one driver writes a run folder at a time.

`fcntl.flock(LOCK_EX | LOCK_NB)` on `<folder>/study.lock`; the kernel releases it when the
driver dies, so a stale lock never blocks a resume. A lock held by another process raises
`StudyLockedError`. Re-entrant within one `StudyLock` object: `optimize` holds it for the whole
run and each ask/tell inside takes it again without blocking itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from hpsearch.exceptions import StudyLockedError
from hpsearch.storage.base import LOCK_NAME


class StudyLock:
    """An exclusive, non-blocking flock on `<folder>/study.lock`."""

    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, LOCK_NAME)
        self._file = None
        self._depth = 0

    def acquire(self) -> None:
        if self._depth:
            self._depth += 1
            return
        handle = open(self.path, "a+")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise StudyLockedError(
                f"another driver is running the study in {os.path.dirname(self.path)} "
                f"(lock {self.path} is held); wait for it to finish or stop it"
            ) from None
        self._file = handle
        self._depth = 1

    def release(self) -> None:
        if self._depth > 1:
            self._depth -= 1
            return
        self._depth = 0
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()
