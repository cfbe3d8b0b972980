"""Leases: which worker holds which asked trial, until when; kept beside the study.

Contract:
- `LeaseBook(folder, timeout)` opens (creates) `<folder>/service.db`, a SQLite file next to
  the study's own database, written only by the service: table `leases(number PRIMARY KEY,
  lease, worker, state)` (the last lease granted for each trial; state `live`, `told` or
  `expired`)
  and `requests(request_id PRIMARY KEY, response)` (the JSON answer to each ask made with a
  request id, so a retried ask gets the same trials). Expiry times are kept in memory only: a
  restarted service gives every resumed lease a fresh `timeout`.
- `grant(numbers, worker, request_id, response)` records new leases (random ids,
  `secrets.token_urlsafe`) and the ask's answer in one transaction and returns them.
  `live(number, lease)` is the live lease or raises `LeaseLostError` saying what happened;
  `renew` also pushes its expiry `timeout` seconds on. `told(number)` marks the holder's tell.
  `expired(now)` takes the leases past their expiry out of the live set, records them
  `expired` and returns their numbers (the study then interrupts those trials).
- `last_lease(number)` is the lease granted last for a trial (a finished trial's: the one that
  told it, so a tell retried by its own worker is recognised). `unfinished()` lists the
  recorded leases still `live` (resumed on restart with `resume(numbers)`).
- `answer(request_id)`: the stored answer of an earlier ask with that id, or None.
- Clocks: `time.monotonic()` for expiry, so a wall-clock jump expires nothing.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hpsearch.exceptions import LeaseLostError, StorageError

__all__ = ["DEFAULT_LEASE_SECONDS", "LEASES_DB", "Lease", "LeaseBook"]

DEFAULT_LEASE_SECONDS = 60.0
LEASES_DB = "service.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (number INTEGER PRIMARY KEY, lease TEXT NOT NULL,
                                   worker TEXT NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (request_id TEXT PRIMARY KEY, response TEXT NOT NULL);
"""


@dataclass
class Lease:
    """A live lease: trial `number` held by `worker` under the id `lease` until `expires`."""

    number: int
    lease: str
    worker: str
    expires: float  # time.monotonic()


class LeaseBook:
    """The leases of one served study (see the module docstring)."""

    def __init__(self, folder: str, timeout: float = DEFAULT_LEASE_SECONDS) -> None:
        self.timeout = float(timeout)
        self.path = os.path.join(folder, LEASES_DB)
        try:
            self._con = sqlite3.connect(self.path, isolation_level=None)
            self._con.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a killed process loses nothing; a power cut may lose the
            # last grants, whose trials are then asked again.
            self._con.execute("PRAGMA synchronous=NORMAL")
            self._con.executescript(_SCHEMA)
        except sqlite3.Error as err:
            raise StorageError(f"{self.path}: cannot open the lease table ({err})") from err
        self._live: dict[int, Lease] = {}

    def _write(self, statements: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        try:
            with self._con:
                self._con.execute("BEGIN")
                for sql, args in statements:
                    self._con.execute(sql, args)
        except sqlite3.Error as err:
            raise StorageError(f"{self.path}: cannot record leases ({err})") from err

    def grant(self, numbers: list[int], worker: str, request_id: str | None,
              response: Any) -> list[Lease]:
        """New leases on `numbers`; `response(leases)` is the ask's answer, stored under
        `request_id` in the same transaction."""
        expires = time.monotonic() + self.timeout
        leases = [Lease(n, secrets.token_urlsafe(16), worker, expires) for n in numbers]
        answer = response(leases)
        statements = [("INSERT OR REPLACE INTO leases VALUES (?, ?, ?, 'live')",
                       (lease.number, lease.lease, worker)) for lease in leases]
        if request_id is not None:
            statements.append(("INSERT OR REPLACE INTO requests VALUES (?, ?)",
                               (request_id, json.dumps(answer))))
        self._write(statements)
        self._live.update({lease.number: lease for lease in leases})
        return leases

    def answer(self, request_id: str | None) -> Any:
        if request_id is None:
            return None
        row = self._con.execute("SELECT response FROM requests WHERE request_id = ?",
                                (request_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def live(self, number: int, lease: str) -> Lease:
        """The live lease `lease` on trial `number`; LeaseLostError otherwise."""
        held = self._live.get(number)
        if held is None or held.lease != lease:
            if self.last_lease(number) == lease:
                raise LeaseLostError(
                    f"trial {number}: its lease expired (no heartbeat for {self.timeout:g} s); "
                    "the trial was interrupted and is asked again, so this result was not "
                    "recorded")
            raise LeaseLostError(f"trial {number}: lease {lease[:8]}... is not this trial's "
                                 "lease (it expired and the trial went to another worker, or "
                                 "it was never granted); nothing was recorded")
        return held

    def renew(self, number: int, lease: str) -> Lease:
        held = self.live(number, lease)
        held.expires = time.monotonic() + self.timeout
        return held

    def told(self, number: int) -> None:
        self._live.pop(number, None)
        self._write([("UPDATE leases SET state = 'told' WHERE number = ?", (number,))])

    def expired(self, now: float | None = None) -> list[int]:
        now = time.monotonic() if now is None else now
        gone = [n for n, lease in self._live.items() if lease.expires <= now]
        for number in gone:
            del self._live[number]
        if gone:
            self._write([("UPDATE leases SET state = 'expired' WHERE number = ?", (number,))
                         for number in gone])
        return gone

    def last_lease(self, number: int) -> str | None:
        row = self._con.execute("SELECT lease FROM leases WHERE number = ?",
                                (number,)).fetchone()
        return None if row is None else row[0]

    def unfinished(self) -> dict[int, tuple[str, str]]:
        """{number: (lease, worker)} of the recorded leases still live."""
        return {n: (lease, worker) for n, lease, worker in self._con.execute(
            "SELECT number, lease, worker FROM leases WHERE state = 'live'")}

    def resume(self, leases: dict[int, tuple[str, str]]) -> None:
        """Make recorded leases live again, each for a fresh `timeout`."""
        expires = time.monotonic() + self.timeout
        for number, (lease, worker) in leases.items():
            self._live[number] = Lease(number, lease, worker, expires)

    @property
    def holders(self) -> dict[int, Lease]:
        """The live leases by trial number (read-only use)."""
        return self._live

    def close(self) -> None:
        self._con.close()
