"""A stored study's hold on its run folder, from `Study(...)` to `close()`.

Contract: `Study` takes this mixin. A study with storage holds the run folder's lock
(`hpsearch.storage.StudyLock`) from `Study(...)` until `close()`, the end of a
`with Study(...) as study:` block, or, failing those, until the object is garbage-collected or
the interpreter exits; meanwhile a second `Study` on the same folder, even with
`overwrite=True`, raises `StudyLockedError`, so no one deletes or writes the files the first is
about to write into. `close()` marks the trials this object asked and did not tell
`interrupted` (a later driver asks them again), then closes the storage (the database cleanly,
the lock let go); calling it again does nothing. A closed study still answers `trials`,
`results()` and `best_*` from memory; `ask`, `tell`, `enqueue` and `optimize` raise
`StudyError`. Readers (`hp.load_study`) never take the lock; closing one closes its connection.
In one process, opening the folder again while this object is idle (not inside optimize, ask or
tell, and no trial asked and not told) closes this object first, so running a notebook cell
again works (`hpsearch.storage.StudyLock`); a busy one keeps the lock.
"""

from __future__ import annotations

import logging
from typing import Any

from hpsearch.exceptions import HpsearchError

__all__ = ["FolderHold"]

logger = logging.getLogger("hpsearch")


class FolderHold:
    """close() and the with-statement for `Study` (see the module docstring)."""

    _closed = False

    @property
    def closed(self: Any) -> bool:
        """Whether `close()` was called, or another Study in this process took the folder."""
        return self._closed or getattr(self._storage, "closed", False)

    def close(self: Any) -> None:
        """Let go of the run folder (see the module docstring)."""
        if self.closed:
            return
        try:
            if not self.readonly and self.running:
                with self.lock():
                    self.interrupt_running()
        except HpsearchError as err:  # e.g. the disk is full: the next driver marks them
            logger.warning("closing the study: its running trials stay running (%s)", err)
        finally:
            self._storage.close()
            self._closed = True

    def not_writable_reason(self) -> str:
        if getattr(self, "readonly", False):
            return "this study was opened read-only (hp.load_study)"
        return ("this study is closed (by close(), or another Study opened its run folder in "
                "this process); open it again with hp.Study(...) to go on")

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
