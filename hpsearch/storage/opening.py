"""Which storage a study opens: what `hp.Study(storage=...)` accepts.

Contract: `open_storage(storage, meta, overwrite)` -> a writable `Storage` holding the study
`meta`: `None` gives a new `MemoryStorage`, a folder path a `SqliteStorage` run folder (created,
reopened and checked, or with `overwrite=True` started afresh), and a `Storage` object is used
as given after `attach(meta)` (its study checked against `meta`). `overwrite=True` with an object
and anything else raise `StudyError`.
"""

from __future__ import annotations

import os

from hpsearch.exceptions import StudyError
from hpsearch.storage.base import Storage, StudyMeta
from hpsearch.storage.memory import MemoryStorage
from hpsearch.storage.sqlite import SqliteStorage

__all__ = ["open_storage"]


def open_storage(storage: str | os.PathLike | Storage | None, meta: StudyMeta,
                 overwrite: bool = False) -> Storage:
    """The storage a new `Study` writes to (see the module docstring)."""
    if storage is None:
        return MemoryStorage(meta)
    if isinstance(storage, str | os.PathLike):
        return SqliteStorage.open(storage, meta, overwrite=overwrite)
    if not isinstance(storage, Storage):
        raise StudyError(f"storage must be None, a run folder path or a Storage object "
                         f"(see hpsearch.storage.base), got {storage!r}")
    if overwrite:
        raise StudyError("overwrite=True deletes a run folder: give the folder's path, not a "
                         "Storage object")
    if storage.readonly or storage.closed:
        raise StudyError(f"the storage object {storage!r} is read-only or closed")
    storage.attach(meta)
    return storage
