"""SqliteStorage: a study in a run folder, with a SQLite database (see `hpsearch.storage.base`
for the interface it implements).

Contract:
- Run folder layout:
    study.db                     SQLite, WAL mode; the source of truth; one writer (the driver)
    study.lock                   fcntl.flock'ed by the writer from open to close (`StudyLock`)
    study.open                   there from a writer's open to its clean close (`.folder`)
    trials/<number>/artifacts.npz  a trial's artifacts, one .npy member per name (the format,
                                 and which names can be stored: `hpsearch.storage.artifacts`)
    trials/<number>/artifacts.json {"number", "names", "shapes", "dtypes", "saved_at"}
    trials/<number>/checkpoint-<token>.npz  a paused trial's checkpoint (at most one current;
                                 `hpsearch.storage.checkpoints`)
    trials.csv, trials.parquet   tables written by the study at the end of each optimize()
- Schema (JSON in text columns, never pickle; times are epoch seconds, UTC):
    meta(key TEXT PRIMARY KEY, value TEXT)  keys: format, space, direction, strategy,
        strategy_options, seed, created_at, metric (the value's name, or null), warm_start
        (the run folders whose trials were told to the strategy first)
    trials(number INTEGER PRIMARY KEY, state TEXT, params TEXT, value REAL, metrics TEXT,
        intermediate TEXT, seed INTEGER, error TEXT, started_at REAL, finished_at REAL,
        artifacts TEXT, "values" TEXT)  -- artifacts: JSON list of names, or NULL; values: the
        JSON list of a multi-objective trial's values (NULL for one objective); parent INTEGER
        (the trial a PBT copy started from), steps INTEGER (steps the objective ran). Columns added
        since the first release (`_ADDED_COLUMNS`) are added on open when missing and read by
        name, so older run folders open unchanged.
    trials.driver_deaths INTEGER NOT NULL DEFAULT 0 (added on open like the others): how many
        drivers died while this trial was `running`. It belongs to storage alone: `save_trial`
        upserts the other columns and never touches it, and no `FrozenTrial` carries it.
    trials.checkpoint TEXT (storage's own too): JSON {"file", "step"} of the trial's current
        checkpoint file, or NULL.
- Recovery on open (under the lock, so whoever left trials `running` is dead): in one
  transaction every `running` trial gets driver_deaths + 1 and becomes `interrupted` (the study
  runs it again under its own number, params and seed), except that a trial reaching
  `MAX_DRIVER_DEATHS` (2) becomes `failed` with `DRIVER_DIED_ERROR` instead: an objective that
  takes its driver down (os._exit, a segfault or an out-of-memory kill with n_jobs=1) stops
  being rerun forever. A clean stop (Ctrl-C, SIGTERM, an error in the driver) marks running
  trials `interrupted` itself and counts nothing. (A SIGKILL of the driver from outside counts
  too, for every trial running then, wherever it ran.)
- `SqliteStorage.open(folder, meta, overwrite)` creates the study or reopens it. Reopening
  checks the stored space and direction (and seed and metric, when given) and raises
  `StudyMismatchError` naming what differs; `overwrite=True` deletes the study's files and
  starts afresh. A file that is not an hpsearch SQLite database raises `StorageError` naming
  it, and nothing is written. The writer holds the lock from `open` to `close()` (or garbage
  collection, or exit; an idle writer in the same process yields it: `StudyLock`); a second
  writer, even with `overwrite=True`, gets `StudyLockedError`. Before writing, `open` runs the
  checks of `hpsearch.storage.folder` (damaged pages, a lost WAL, leftovers, unknown trial
  folders). `close()` removes the open marker, checkpoints the WAL into study.db, closes it and
  lets go of the lock. `open_readonly(folder)` opens the database with `file:...?mode=ro` and
  takes no lock: it works during a live run and after a crash.
- Faults: a write that fails (disk full, read-only file system: `OSError`/`sqlite3.Error`)
  raises `StorageError` naming the file; a trial row is written in one transaction, so the
  database keeps every row committed before. A damaged database or artifacts file raises
  `StorageError` naming it; nothing is overwritten.
- `StudyLock`: `fcntl.flock(LOCK_EX | LOCK_NB)` on study.lock; the kernel releases it when the
  driver dies, so a stale lock never blocks a resume. A held lock raises `StudyLockedError`."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import sqlite3
import time
import urllib.parse
import weakref
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpsearch.exceptions import StorageError, StudyMismatchError
from hpsearch.storage import folder as run_folder
from hpsearch.storage.artifacts import artifact_problem, read_artifacts, write_artifacts
from hpsearch.storage.base import DB_NAME, StudyMeta, check_same_study
from hpsearch.storage.checkpoints import (
    Checkpoint,
    checkpoint_problem,
    read_checkpoint_file,
    stale_files,
    write_checkpoint_file,
)
from hpsearch.storage.lock import StudyLock
from hpsearch.storage.rows import dumps, row_trial, trial_row
from hpsearch.trial import FrozenTrial

FORMAT = 1


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    number INTEGER PRIMARY KEY, state TEXT NOT NULL, params TEXT NOT NULL, value REAL,
    metrics TEXT NOT NULL, intermediate TEXT NOT NULL, seed INTEGER NOT NULL, error TEXT,
    started_at REAL, finished_at REAL, artifacts TEXT);
"""
#: columns added after format 1's first release: (name, SQL type); added on open when missing,
#: so older run folders open (as NULL) and newer code reads them by name
_ADDED_COLUMNS: tuple[tuple[str, str], ...] = (("\"values\"", "TEXT"), ("parent", "INTEGER"),
                                               ("steps", "INTEGER"))
_COLUMNS = ("number", "state", "params", "value", "metrics", "intermediate", "seed", "error",
            "started_at", "finished_at", "artifacts", *(name for name, _ in _ADDED_COLUMNS))
#: storage's own counter (see the module docstring); not one of `_COLUMNS`, never rewritten
_DEATHS_COLUMN = ("driver_deaths", "INTEGER NOT NULL DEFAULT 0")
#: storage's own too: the trial's current checkpoint, JSON {"file", "step"} (see
#: `hpsearch.storage.checkpoints`); written only by save_trial(checkpoint=...) and
#: delete_checkpoint
_CHECKPOINT_COLUMN = ("checkpoint", "TEXT")
_UPSERT = (f"INSERT INTO trials ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
           "ON CONFLICT(number) DO UPDATE SET "
           + ", ".join(f"{name} = excluded.{name}" for name in _COLUMNS[1:]))
MAX_DRIVER_DEATHS = 2
DRIVER_DIED_ERROR = (
    "the driver process died twice while this trial was running (an objective that ends the "
    "process it runs in, e.g. os._exit, a crash or an out-of-memory kill with n_jobs=1?); it "
    "is not run again. Run such objectives with n_jobs >= 2: then only a worker process dies "
    "and the trial fails at once")


def _add_columns(con: sqlite3.Connection) -> None:
    """Bring an older trials table up to `_COLUMNS` (ALTER TABLE ... ADD COLUMN, NULL)."""
    present = {row[1] for row in con.execute("PRAGMA table_info(trials)")}
    with con:
        for name, kind in (*_ADDED_COLUMNS, _DEATHS_COLUMN, _CHECKPOINT_COLUMN):
            if name.strip('"') not in present:
                con.execute(f"ALTER TABLE trials ADD COLUMN {name} {kind}")


class SqliteStorage:
    """A run folder (see the module docstring). Build with `open` or `open_readonly`."""

    def __init__(self, folder: str, connection: sqlite3.Connection, meta: StudyMeta,
                 readonly: bool, lock: StudyLock | None = None) -> None:
        self.path = folder
        self.db_path = os.path.join(folder, DB_NAME)
        self.meta = meta
        self.readonly = readonly
        self._con = connection
        self._lock = lock if lock is not None else StudyLock(folder)
        self._closer = weakref.finalize(self, _close, connection, self._lock, folder, readonly)
        if not readonly:
            self._lock.yield_when_idle = weakref.WeakMethod(self._yield_when_idle)

    @property
    def closed(self) -> bool:
        return not self._closer.alive

    def attach(self, meta: StudyMeta) -> StudyMeta:
        """The stored study, checked against `meta` (a run folder always holds one)."""
        check_same_study(self.meta, meta, self.path)
        return self.meta

    def _yield_when_idle(self) -> None:
        """Close, unless a trial of this writer is running (asked and not told)."""
        with contextlib.suppress(sqlite3.Error):  # e.g. opened in another thread: keep it
            if self._con.execute("SELECT 1 FROM trials WHERE state = 'running'").fetchone() \
                    is None:
                self.close()

    # ----- opening
    @staticmethod
    def _check(con: sqlite3.Connection, db_path: str) -> set[str]:
        try:
            return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as err:
            con.close()
            raise StorageError(f"{db_path} is not a readable hpsearch database ({err}); "
                               "nothing was changed") from err

    @staticmethod
    def _read_meta(con: sqlite3.Connection, db_path: str) -> StudyMeta:
        try:
            raw = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
            return StudyMeta(space=raw["space"], direction=raw["direction"],
                             strategy=raw["strategy"], seed=raw["seed"],
                             strategy_options=raw.get("strategy_options", {}),
                             created_at=raw["created_at"], metric=raw.get("metric"),
                             warm_start=tuple(raw.get("warm_start", ())))
        except (sqlite3.DatabaseError, KeyError, ValueError, TypeError) as err:
            raise StorageError(f"{db_path}: the study metadata is damaged ({err})") from err

    @staticmethod
    def _write_meta(con: sqlite3.Connection, meta: StudyMeta) -> None:
        with con:
            con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                ("format", dumps(FORMAT)), ("space", dumps(meta.space)),
                ("direction", dumps(meta.direction)), ("strategy", dumps(meta.strategy)),
                ("strategy_options", dumps(dict(meta.strategy_options))),
                ("seed", dumps(meta.seed)), ("created_at", dumps(meta.created_at)),
                ("metric", dumps(meta.metric)), ("warm_start", dumps(list(meta.warm_start)))])

    @classmethod
    def _reconcile(cls, con: sqlite3.Connection, folder: str, meta: StudyMeta) -> StudyMeta:
        """The stored meta, checked against the given one; StudyMismatchError naming what
        differs. A metric recorded for the first time and the warm-start folders are updated."""
        stored = cls._read_meta(con, os.path.join(folder, DB_NAME))
        try:
            check_same_study(stored, meta, folder)
        except StudyMismatchError:
            con.close()
            raise
        updated = dataclasses.replace(stored, metric=stored.metric or meta.metric,
                                      warm_start=tuple(meta.warm_start))
        if updated != stored:
            cls._write_meta(con, updated)
        return updated

    @staticmethod
    def _clear(folder: str) -> None:
        """overwrite=True: delete the study's files (under its lock)."""
        for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", "trials.csv",
                     "trials.parquet", run_folder.OPEN_MARKER):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, name))
        shutil.rmtree(os.path.join(folder, "trials"), ignore_errors=True)

    @classmethod
    def open(cls, folder: str | os.PathLike, meta: StudyMeta,
             overwrite: bool = False) -> SqliteStorage:
        """Create or reopen the study in `folder`; the lock is held until `close()`."""
        folder = run_folder.prepare_folder(folder)
        db_path = os.path.join(folder, DB_NAME)
        with StudyLock.taken(folder) as lock:
            if overwrite:
                cls._clear(folder)
            token = run_folder.check_before_opening(folder)  # before SQLite replays a WAL
            exists = os.path.exists(db_path)
            try:
                con = sqlite3.connect(db_path)
            except sqlite3.Error as err:
                raise StorageError(f"cannot open {db_path}: {err}") from err
            tables = cls._check(con, db_path)
            if tables:
                run_folder.refuse(con, run_folder.check_pages, con, db_path)
                run_folder.refuse(con, run_folder.check_log_kept, con, folder, token)
            else:  # a new study (a file without tables): not over an earlier one's files
                run_folder.refuse(con, run_folder.check_new_study, folder, token)
            if exists and tables and "meta" not in tables:
                con.close()
                raise StorageError(f"{db_path} is a SQLite file but not an hpsearch study "
                                   "(no meta table); nothing was changed")
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            if "meta" not in tables:
                seed = meta.seed if meta.seed is not None else int(
                    np.random.SeedSequence().entropy)
                stored = dataclasses.replace(meta, seed=seed)
                with con:
                    con.executescript(_SCHEMA)
                _add_columns(con)
                cls._write_meta(con, stored)
            else:
                stored = cls._reconcile(con, folder, meta)
                _add_columns(con)
                cls._recover_running(con)
            numbers = [row[0] for row in con.execute("SELECT number FROM trials")]
            run_folder.refuse(con, run_folder.check_trial_folders, folder, numbers)
            run_folder.refuse(con, run_folder.mark_open, con, folder)
        return cls(folder, con, stored, readonly=False, lock=lock)

    @staticmethod
    def _recover_running(con: sqlite3.Connection) -> None:
        """The driver that left trials running is dead (we hold the lock): count it, fail the
        trials it was the last chance for, mark the others interrupted (one transaction)."""
        with con:
            con.execute("UPDATE trials SET driver_deaths = driver_deaths + 1 "
                        "WHERE state = 'running'")
            con.execute("UPDATE trials SET state = 'failed', value = NULL, \"values\" = NULL, "
                        "error = ?, finished_at = ? WHERE state = 'running' "
                        "AND driver_deaths >= ?",
                        (DRIVER_DIED_ERROR, time.time(), MAX_DRIVER_DEATHS))
            con.execute("UPDATE trials SET state = 'interrupted' WHERE state = 'running'")

    @classmethod
    def open_readonly(cls, folder: str | os.PathLike) -> SqliteStorage:
        folder = os.path.abspath(os.fspath(folder))
        db_path = os.path.join(folder, DB_NAME)
        if not os.path.isfile(db_path):
            raise StorageError(f"no study database at {db_path}")
        uri = "file:" + urllib.parse.quote(db_path) + "?mode=ro"
        try:
            con = sqlite3.connect(uri, uri=True)
        except sqlite3.Error as err:
            raise StorageError(f"cannot open {db_path}: {err}") from err
        if "meta" not in cls._check(con, db_path):
            con.close()
            raise StorageError(f"{db_path} is not an hpsearch study (no meta table)")
        return cls(folder, con, cls._read_meta(con, db_path), readonly=True)

    # ----- trials
    def load_trials(self) -> list[FrozenTrial]:
        try:
            present = {row[1] for row in self._con.execute("PRAGMA table_info(trials)")}
            # a read-only view of an older run folder lacks the added columns: NULL them
            columns = [c if c.strip('"') in present else f"NULL AS {c}" for c in _COLUMNS]
            cursor = self._con.execute(f"SELECT {', '.join(columns)} FROM trials "
                                       "ORDER BY number")
            cursor.row_factory = sqlite3.Row
            rows = cursor.fetchall()
        except sqlite3.DatabaseError as err:
            raise StorageError(f"{self.db_path}: cannot read trials ({err}); the database "
                               "is damaged") from err
        return [row_trial(row, self.db_path) for row in rows]

    def save_trial(self, trial: FrozenTrial,
                   artifacts: Mapping[str, np.ndarray] | None = None,
                   checkpoint: Checkpoint | None = None) -> None:
        """Write the trial's artifacts and checkpoint (if any), then commit its row (which
        names the checkpoint: see `hpsearch.storage.checkpoints`)."""
        if self.readonly:
            raise StorageError(f"{self.db_path} is open read-only")
        names = None
        if artifacts:
            self._save_artifacts(trial.number, artifacts)
            names = list(artifacts)
        pointer = None if checkpoint is None else self._write_checkpoint(trial.number,
                                                                         checkpoint)
        try:
            with self._con:  # one transaction: rolled back if the write fails
                self._con.execute(_UPSERT, trial_row(trial, names))
                if pointer is not None:
                    self._con.execute("UPDATE trials SET checkpoint = ? WHERE number = ?",
                                      (dumps(pointer), trial.number))
        except (sqlite3.Error, OSError) as err:
            raise StorageError(f"cannot write trial {trial.number} to {self.db_path}: {err} "
                               "(disk full or read-only?); the trials committed before are "
                               "kept") from err
        if pointer is not None:
            self._remove_stale(trial.number, pointer["file"])

    # ----- checkpoints
    def _write_checkpoint(self, number: int, checkpoint: Checkpoint) -> dict[str, Any]:
        problem = checkpoint_problem(checkpoint)
        if problem is not None:
            raise StorageError(f"trial {number}: {problem}")
        folder = self._trial_dir(number)
        try:
            name = write_checkpoint_file(folder, checkpoint)
        except OSError as err:
            raise StorageError(f"cannot write a checkpoint into {folder}: {err} (disk full "
                               "or read-only?); the trials committed before are kept") from None
        return {"file": name, "step": int(checkpoint.step)}

    def _remove_stale(self, number: int, keep: str | None) -> None:
        for path in stale_files(self._trial_dir(number), keep):
            with contextlib.suppress(OSError):
                os.remove(path)

    def _pointer(self, number: int) -> dict[str, Any] | None:
        try:
            row = self._con.execute("SELECT checkpoint FROM trials WHERE number = ?",
                                    (number,)).fetchone()
        except sqlite3.Error as err:
            raise StorageError(f"{self.db_path}: cannot read the database ({err})") from None
        return None if row is None or row[0] is None else json.loads(row[0])

    def load_checkpoint(self, number: int) -> Checkpoint | None:
        pointer = self._pointer(number)
        if pointer is None:
            return None
        folder = self._trial_dir(number)
        try:
            return read_checkpoint_file(folder, pointer["file"], pointer["step"])
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise StorageError(f"{os.path.join(folder, pointer['file'])} is damaged or "
                               f"missing ({type(err).__name__}: {err})") from None

    def delete_checkpoint(self, number: int) -> None:
        if self._pointer(number) is not None:
            try:
                with self._con:
                    self._con.execute("UPDATE trials SET checkpoint = NULL WHERE number = ?",
                                      (number,))
            except sqlite3.Error as err:
                raise StorageError(f"cannot write to {self.db_path}: {err}") from None
        self._remove_stale(number, None)

    # ----- artifacts
    def _trial_dir(self, number: int) -> str:
        return os.path.join(self.path, "trials", str(number))

    def _save_artifacts(self, number: int, arrays: Mapping[str, np.ndarray]) -> None:
        """Write `trials/<number>/artifacts.npz` (+ .json) atomically, before the row."""
        folder = self._trial_dir(number)
        tmp = os.path.join(folder, "artifacts.tmp.npz")
        target = os.path.join(folder, "artifacts.npz")
        info = {"number": number, "names": list(arrays),
                "shapes": {k: list(np.shape(v)) for k, v in arrays.items()},
                "dtypes": {k: str(np.asarray(v).dtype) for k, v in arrays.items()},
                "saved_at": time.time()}
        for name, array in arrays.items():  # before anything is written
            problem = artifact_problem(name, np.asarray(array))
            if problem is not None:
                raise StorageError(f"trial {number}: {problem}")
        try:
            os.makedirs(folder, exist_ok=True)
            write_artifacts(tmp, arrays)
            os.replace(tmp, target)
            with open(os.path.join(folder, "artifacts.json"), "w") as handle:
                json.dump(info, handle, indent=1)
        except OSError as err:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise StorageError(f"cannot write {target}: {err} (disk full or read-only?); "
                               "the trials committed before are kept") from err

    def load_artifacts(self, number: int) -> dict[str, np.ndarray]:
        path = os.path.join(self._trial_dir(number), "artifacts.npz")
        if not os.path.exists(path):
            return {}
        try:
            return read_artifacts(path)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise StorageError(f"{path} is damaged and cannot be read ({type(err).__name__}: "
                               f"{err})") from err

    def lock(self) -> contextlib.AbstractContextManager:
        return self._lock.held()

    def data_version(self) -> int:
        """SQLite's `PRAGMA data_version`: changes when another connection commits."""
        try:
            return int(self._con.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as err:
            raise StorageError(f"{self.db_path}: cannot read the database ({err})") from err

    def close(self) -> None:
        """Close cleanly (see the module docstring); a second call does nothing."""
        self._closer()


def _close(con: sqlite3.Connection, lock: StudyLock, folder: str, readonly: bool) -> None:
    """A writer's clean close: marker first (a crash after it leaves a whole WAL behind), then
    the WAL checkpointed and truncated, the database closed, the lock let go."""
    if not readonly:
        run_folder.mark_closed(folder)
    with contextlib.suppress(sqlite3.Error):  # e.g. collected in another thread: the WAL stays
        if not readonly:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
    lock.close()  # a reader's was never taken: nothing to let go
