"""StudyLock: one driver writes a run folder at a time.

`fcntl.flock(LOCK_EX | LOCK_NB)` on `<folder>/study.lock`; the kernel releases it when the
driver dies, so a stale lock never blocks a resume. A lock held by another process raises
`StudyLockedError`; a lock file that cannot be opened (a read-only folder) raises
`StorageError`. Re-entrant within one `StudyLock` object: a writer (`SqliteStorage.open`,
through `taken`) holds it from opening the study to closing it, and `optimize` and each
ask/tell take it again without blocking themselves. `close()` lets go whatever the depth.

In one process, a second `StudyLock` on the same folder first asks the holder to yield: a
holder held only by its writer's lifetime (depth 1, so not inside optimize, ask or tell) whose
owner set `yield_when_idle` (a `weakref.WeakMethod`) calls it, and the owner closes itself if
it is idle (the storage: no trial asked and not told). So running a notebook cell that opens a
study again works, and the old object refuses later writes; a busy holder keeps the lock and
the newcomer gets `StudyLockedError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import weakref
from collections.abc import Iterator

from hpsearch.exceptions import StorageError, StudyLockedError
from hpsearch.storage.base import LOCK_NAME

_HOLDERS: weakref.WeakValueDictionary[str, StudyLock] = weakref.WeakValueDictionary()


class StudyLock:
    """An exclusive, non-blocking flock on `<folder>/study.lock`."""

    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, LOCK_NAME)
        self._file = None
        self._depth = 0
        self.yield_when_idle: weakref.WeakMethod | None = None  # see the module docstring

    def _ask_holder_to_yield(self) -> None:
        holder = _HOLDERS.get(self.path)
        if holder is None or holder is self or holder._depth != 1 or \
                holder.yield_when_idle is None:
            return
        method = holder.yield_when_idle()
        if method is not None:
            method()

    def acquire(self) -> None:
        if self._depth:
            self._depth += 1
            return
        self._ask_holder_to_yield()
        try:
            handle = open(self.path, "a+")  # noqa: SIM115 - held until release()
        except OSError as err:
            raise StorageError(f"cannot open the lock file {self.path}: {err.strerror} "
                               "(a read-only folder?)") from err
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
        _HOLDERS[self.path] = self

    def release(self) -> None:
        if self._depth > 1:
            self._depth -= 1
            return
        self.close()

    def close(self) -> None:
        """Let go of the lock, however often it was taken."""
        self._depth = 0
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    @classmethod
    @contextlib.contextmanager
    def taken(cls, folder: str) -> Iterator[StudyLock]:
        """The folder's lock, taken for a writer's lifetime: still held after the block when it
        succeeds (the writer closes it), let go at once when the block raises."""
        lock = cls(folder)
        lock.acquire()
        try:
            yield lock
        except BaseException:
            lock.close()
            raise

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()
