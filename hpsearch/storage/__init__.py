"""Storage backends: the `Storage` interface, `MemoryStorage` (storage=None) and
`SqliteStorage` (a run folder). See `hpsearch.storage.base` for the contract and
`hpsearch.storage.sqlite` for the run-folder layout."""

from hpsearch.storage.base import DB_NAME, LOCK_NAME, Storage, StudyMeta
from hpsearch.storage.holder import lock_holder, reader_view
from hpsearch.storage.lock import StudyLock
from hpsearch.storage.memory import MemoryStorage
from hpsearch.storage.opening import open_storage
from hpsearch.storage.sqlite import SqliteStorage

__all__ = ["Storage", "StudyMeta", "StudyLock", "MemoryStorage", "SqliteStorage", "DB_NAME",
           "LOCK_NAME", "lock_holder", "reader_view", "open_storage"]
