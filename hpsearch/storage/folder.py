"""The run folder's own checks: before a writer touches a study, is everything it holds there?

Contract (each failure raises `StorageError` with one line that says what to do, and nothing
in the folder is changed):
- `prepare_folder(folder)`: the absolute path, created if needed. A path holding NUL, a name
  over the file system's limit, a file where a folder is needed, or a place no folder can be
  made (/proc, a read-only mount) is refused. `folder_problem(folder)` is the part of those
  checks that writes nothing (what `hpsearch validate` can tell), or None.
- `check_closed_cleanly(folder)` (before SQLite opens the database; `check_before_opening`
  runs it, and `check_new_study` when there is no database) and `check_log_kept(con, folder,
  token)` (after): a writer writes a fresh token into the database (meta `opened`, so
  the WAL holds at least that frame) and leaves `study.open` (`OPEN_MARKER`, holding the same
  token) in the folder from opening to closing (`mark_open`, `mark_closed`). When the marker is
  there, the last writer died (or was killed) with the database open, so `study.db-wal` holds
  what it committed since the last checkpoint. A damaged WAL (`hpsearch.storage.wal`) is
  refused; a missing or empty one is refused unless the database holds the marker's token (then
  another SQLite connection checkpointed the log into study.db, e.g. someone looked at it with
  the sqlite3 shell). So a lost log is refused instead of its trials' numbers being run again
  silently. (A log deleted after SQLite's own automatic checkpoint, 1000 pages into a run,
  passes this check; `check_trial_folders` still catches the trials that stored artifacts.)
- `check_no_earlier_study(folder)`: a new study (no study.db, or one without tables, e.g. 0
  bytes) is refused where an earlier study left trial folders, tables or the marker.
- `check_trial_folders(folder, numbers)`: every `trials/<n>/` folder belongs to a trial row of
  the database (`numbers`), so a trial never writes over a folder the database does not own.
- `check_pages(con, db_path)`: `PRAGMA quick_check` passes (zeroed or damaged pages refused).
- `check_run_folder(folder)`: all of the above for an existing run folder, read-only (what
  `hpsearch validate` can tell before `run` opens the study); skipped while a driver holds the
  folder's lock (its files are mid-write, and the lock is what a second driver is told about).
- `refuse(con, check, *args)`: run a check, closing the connection when it raises.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from hpsearch.exceptions import StorageError
from hpsearch.storage.base import DB_NAME
from hpsearch.storage.holder import lock_holder
from hpsearch.storage.wal import wal_problem

__all__ = ["OPEN_MARKER", "check_before_opening", "check_closed_cleanly", "check_log_kept",
           "check_new_study", "check_no_earlier_study", "check_pages", "check_run_folder",
           "check_trial_folders", "folder_problem", "mark_closed", "mark_open",
           "prepare_folder", "refuse"]

OPEN_MARKER = "study.open"
TABLES = ("trials.csv", "trials.parquet")
_FRESH = "run with --fresh (overwrite=True in Python) to start afresh"
_NAME_MAX = 255  # bytes in one file name: Linux, macOS and Windows file systems alike


def folder_problem(folder: str | os.PathLike) -> str | None:
    """Why `folder` cannot be a run folder, found without writing anything; None if none."""
    try:
        path = os.path.abspath(os.fspath(folder))
        encoded = [part.encode() for part in path.split(os.sep)]
    except (TypeError, ValueError) as err:  # surrogates: not a name the file system takes
        return f"{folder!r} is not a folder path ({err})"
    if "\0" in path:
        return f"{path!r}: a folder name cannot hold a NUL character"
    if any(len(part) > _NAME_MAX for part in encoded):
        return f"{path}: a folder name is longer than the file system allows ({_NAME_MAX} bytes)"
    if os.path.exists(path) and not os.path.isdir(path):
        return f"{path} exists and is not a folder"
    parent = path
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return f"{path}: {parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{path}: {parent} is not writable"
    with contextlib.suppress(OSError):
        if os.statvfs(parent).f_blocks == 0:  # /proc, /sys: no storage behind them
            return f"{path}: {parent} is not on a file system that stores files (like /proc)"
    return None


def prepare_folder(folder: str | os.PathLike) -> str:
    """The run folder's absolute path, made if it does not exist (see the module docstring)."""
    problem = folder_problem(folder)
    if problem is not None:
        raise StorageError(f"storage {problem}; choose another storage folder (or study name)")
    path = os.path.abspath(os.fspath(folder))
    try:
        os.makedirs(path, exist_ok=True)
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise StorageError(f"cannot make the run folder {path}: {reason}; choose another "
                           "storage folder (or study name)") from err
    return path


def _trial_numbers(folder: str) -> list[int]:
    try:
        names = os.listdir(os.path.join(folder, "trials"))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as err:
        raise StorageError(f"cannot list {os.path.join(folder, 'trials')}: {err.strerror}"
                           ) from err
    return sorted(int(name) for name in names if name.isdigit())


def _shown(numbers: list[int]) -> str:
    listed = ", ".join(f"trials/{n}" for n in numbers[:5])
    return listed + (f" and {len(numbers) - 5} more" if len(numbers) > 5 else "")


def _lost_log(folder: str, problem: str) -> StorageError:
    return StorageError(
        f"{folder}: the last driver did not close {DB_NAME} and its write-ahead log "
        f"{DB_NAME}-wal {problem}, so trials it committed are lost; nothing was changed. "
        f"Restore the log if you can; else delete {os.path.join(folder, OPEN_MARKER)} to go on "
        f"with the trials the database still has, or {_FRESH}")


def check_closed_cleanly(folder: str) -> str | None:
    """After a writer died: its WAL is whole (see the module docstring). Returns the token the
    database must hold when the WAL is missing or empty (for `check_log_kept`), else None."""
    marker = os.path.join(folder, OPEN_MARKER)
    try:
        with open(marker, encoding="utf-8", errors="replace") as handle:
            token = handle.read().strip()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise StorageError(f"cannot read {marker}: {err.strerror}") from err
    wal = os.path.join(folder, DB_NAME + "-wal")
    if not os.path.exists(wal) or os.path.getsize(wal) == 0:
        return token
    try:
        problem = wal_problem(wal)
    except OSError as err:
        problem = f"cannot be read ({err.strerror})"
    if problem is not None:
        raise _lost_log(folder, f"is damaged: {problem}")
    return None


def check_before_opening(folder: str) -> str | None:
    """What can be checked before SQLite opens (and may create) the database: the WAL after an
    unclean close, and a missing or empty study.db beside an earlier study's files. Returns the
    token `check_log_kept` needs (see `check_closed_cleanly`)."""
    token = check_closed_cleanly(folder)
    db_path = os.path.join(folder, DB_NAME)
    if not os.path.isfile(db_path) or os.path.getsize(db_path) == 0:
        check_new_study(folder, token)
    return token


def check_new_study(folder: str, token: str | None) -> None:
    """The database has no study in it: refused when a log with one was lost (`token`, see
    `check_closed_cleanly`) or an earlier study left files (`check_no_earlier_study`)."""
    if token is not None:  # everything since the study began was in the lost log
        raise _lost_log(folder, "is missing or empty")
    check_no_earlier_study(folder)


def check_log_kept(con: sqlite3.Connection, folder: str, token: str | None) -> None:
    """A missing or empty WAL is fine only when the database holds the marker's token."""
    if token is None:
        return
    row = con.execute("SELECT value FROM meta WHERE key = 'opened'").fetchone()
    if row is None or row[0] != json.dumps(token):
        raise _lost_log(folder, "is missing or empty")


def check_no_earlier_study(folder: str) -> None:
    """A new study is not started over an earlier one's files (see the module docstring)."""
    left = [f"trials/ ({_shown(numbers)})"] if (numbers := _trial_numbers(folder)) else []
    left += [name for name in (*TABLES, OPEN_MARKER) if os.path.exists(os.path.join(folder, name))]
    if left:
        raise StorageError(
            f"{folder}: {DB_NAME} is missing or empty but an earlier study left "
            f"{', '.join(left)}; nothing was changed. Restore {DB_NAME}, or {_FRESH}")


def check_trial_folders(folder: str, numbers: Iterable[int]) -> None:
    """Every trial folder belongs to a trial of the database (see the module docstring)."""
    unknown = sorted(set(_trial_numbers(folder)) - set(numbers))
    if unknown:
        raise StorageError(
            f"{folder}: {_shown(unknown)} belong to no trial in {DB_NAME} (it lost trials it "
            f"had committed: a deleted or damaged {DB_NAME}-wal?); nothing was changed. Move "
            f"those folders out of trials/ to go on with the trials the database has, or "
            f"{_FRESH}")


def mark_open(con: sqlite3.Connection, folder: str) -> None:
    """Write a fresh token into the database, then `study.open` (durably) holding it."""
    token = f"pid {os.getpid()} opened {time.time():.6f} {secrets.token_hex(8)}"
    with con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('opened', ?)", (json.dumps(token),))
    path = os.path.join(folder, OPEN_MARKER)
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as err:
        raise StorageError(f"cannot write {path}: {err.strerror} (disk full or read-only?)"
                           ) from err


def mark_closed(folder: str) -> None:
    """Remove `study.open`: the writer is closing the database cleanly."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(folder, OPEN_MARKER))


def check_pages(con: sqlite3.Connection, db_path: str) -> None:
    """PRAGMA quick_check of the open database; StorageError naming what is damaged."""
    try:
        problems = [row[0] for row in con.execute("PRAGMA quick_check(3)")]
    except sqlite3.DatabaseError as err:
        problems = [str(err)]
    if problems != ["ok"]:
        raise StorageError(f"{db_path} is damaged ({'; '.join(problems)}); nothing was "
                           f"changed. Restore it from a copy, or {_FRESH}")


def check_run_folder(folder: str | os.PathLike) -> None:
    """The checks `SqliteStorage.open` makes of an existing run folder, made read-only (what
    `hpsearch validate` and `run` check before anything else)."""
    folder = os.path.abspath(os.fspath(folder))
    db_path = os.path.join(folder, DB_NAME)
    if not os.path.isdir(folder) or lock_holder(folder) is not None:
        return  # a live driver owns the folder (mid-write); opening it will say it is locked
    token = check_before_opening(folder)
    if not os.path.isfile(db_path) or os.path.getsize(db_path) == 0:
        return
    # Without a WAL the file is the whole database: read it as immutable, so that SQLite
    # leaves no -wal/-shm files behind (a check changes nothing).
    whole = "" if os.path.exists(db_path + "-wal") else "&immutable=1"
    try:
        con = sqlite3.connect("file:" + urllib.parse.quote(db_path) + "?mode=ro" + whole,
                              uri=True)
    except sqlite3.Error as err:
        raise StorageError(f"cannot open {db_path}: {err}") from err
    try:
        check_pages(con, db_path)
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
        if {"meta", "trials"} <= tables:
            check_log_kept(con, folder, token)
            check_trial_folders(folder, [row[0] for row in
                                         con.execute("SELECT number FROM trials")])
        elif not tables:
            check_new_study(folder, token)
    except sqlite3.DatabaseError as err:
        raise StorageError(f"{db_path} is not a readable hpsearch database ({err}); nothing "
                           "was changed") from err
    finally:
        con.close()


def refuse(con: sqlite3.Connection, check: Callable[..., Any], *args: Any) -> None:
    """Run an opening check; close the connection when it refuses."""
    try:
        check(*args)
    except BaseException:
        con.close()
        raise
