"""The report channel: how `trial.report(step, value)` reaches the driver's pruner.

Contract:
- `DirectReportClient` (n_jobs=1 and ask/tell, same process): a plain call into the
  `PruningService` (`hpsearch.pruners.service`).
- `SocketReportClient` / `ReportServer` (loky workers, the same machine): a TCP socket on
  loopback (127.0.0.1, a random port), one connection per worker process, reused across
  trials. The protocol, where nothing received is ever unpickled:
    1. handshake: the server sends `CHALLENGE_BYTES` random bytes; the client answers with
       HMAC-SHA256(key, challenge); a wrong answer, or none within `HANDSHAKE_TIMEOUT`
       seconds, closes that connection. The key is random per study run and reaches the
       workers inside their tasks (loky's pipes), never over the socket.
    2. reports: a frame is a 4-byte big-endian length (at most `MAX_MESSAGE_BYTES`) and that
       many bytes of UTF-8 JSON, exactly {"number": int, "step": int, "value": float}; the
       reply is one byte, 1 = prune, 0 = go on. A frame that is not that schema is answered
       0 and the connection goes on; a longer frame closes that connection only.
  Every accepted connection is served on its own thread, so a slow or silent client (or a
  hostile one on the same machine) never delays another's reports.
- On Dask the channel is Dask's own communication instead (`hpsearch.execution.dask_reports`),
  and it checks each message with `decode_report` too.
- If the channel breaks, `report` logs a warning and returns False: the trial goes on unpruned.
- Without a pruner the study passes no client: reports stay in the worker and come back with
  the trial's outcome.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Any

from hpsearch.pruners.service import PruningService

logger = logging.getLogger("hpsearch")

__all__ = ["DirectReportClient", "SocketReportClient", "ReportServer", "encode_report",
           "decode_report", "HANDSHAKE_TIMEOUT", "MAX_MESSAGE_BYTES"]

HANDSHAKE_TIMEOUT = 5.0  # seconds a new connection has to authenticate
REPLY_TIMEOUT = 300.0  # seconds a worker waits for the driver's decision before giving up
CHALLENGE_BYTES = 32
MAX_MESSAGE_BYTES = 4096  # a report is under 100 bytes of JSON
_LENGTH = struct.Struct(">I")
_FIELDS = ("number", "step", "value")


def encode_report(number: int, step: int, value: float) -> bytes:
    """The JSON bytes of one report (the schema of the module docstring)."""
    return json.dumps({"number": int(number), "step": int(step),
                       "value": float(value)}).encode()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decode_report(message: Any) -> tuple[int, int, float] | None:
    """(number, step, value) from JSON bytes or an already decoded dict; None unless it is
    exactly the schema {"number": int, "step": int, "value": float}."""
    if isinstance(message, bytes | bytearray):
        try:
            message = json.loads(bytes(message).decode("utf-8"))
        except (ValueError, RecursionError):  # bad UTF-8 or JSON, or absurdly nested
            return None
    if not isinstance(message, dict) or sorted(message) != sorted(_FIELDS):
        return None
    number, step, value = (message[name] for name in _FIELDS)
    if not (_is_int(number) and _is_int(step)) or isinstance(value, bool) \
            or not isinstance(value, int | float):
        return None
    try:
        return number, step, float(value)
    except OverflowError:  # an int beyond float's range
        return None


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    """Exactly `size` bytes from `sock`; EOFError when it closes first."""
    chunks, missing = [], size
    while missing:
        chunk = sock.recv(missing)
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _answer(key: bytes, challenge: bytes) -> bytes:
    return hmac.new(key, challenge, hashlib.sha256).digest()


@dataclass(frozen=True)
class DirectReportClient:
    """In-process channel (n_jobs=1): a plain call into the service."""

    service: PruningService

    def report(self, number: int, step: int, value: float) -> bool:
        return self.service.report(number, step, value)


# One connection per worker process, reused across trials (keyed by server address).
_connection: dict[str, Any] = {}


@dataclass(frozen=True)
class SocketReportClient:
    """Worker side of the socket channel; picklable (an address and a key)."""

    address: tuple[str, int]
    authkey: bytes

    def _connect(self) -> socket.socket:
        if _connection.get("address") != self.address:
            old = _connection.pop("sock", None)
            if old is not None:
                old.close()
            sock = socket.create_connection(self.address, timeout=HANDSHAKE_TIMEOUT)
            try:
                challenge = _recv_exact(sock, CHALLENGE_BYTES)
                sock.sendall(_answer(self.authkey, challenge))
            except BaseException:
                sock.close()
                raise
            sock.settimeout(REPLY_TIMEOUT)
            _connection.update(sock=sock, address=self.address)
        return _connection["sock"]

    def report(self, number: int, step: int, value: float) -> bool:
        message = encode_report(number, step, value)
        for attempt in range(2):
            try:
                sock = self._connect()
                sock.sendall(_LENGTH.pack(len(message)) + message)
                return _recv_exact(sock, 1) == b"\x01"
            except (OSError, EOFError) as err:  # socket.timeout is an OSError
                old = _connection.pop("sock", None)
                _connection.clear()
                if old is not None:
                    old.close()
                if attempt == 1:
                    logger.warning("trial %d: report channel to the driver failed (%s); "
                                   "going on without pruning", number, err)
        return False


class ReportServer:
    """Driver side of the socket channel: an accept thread on loopback and one thread per
    connection (see the module docstring)."""

    def __init__(self, service: PruningService) -> None:
        self._service = service
        self._authkey = os.urandom(32)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._address = self._listener.getsockname()[:2]
        self._closed = False
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, name="hpsearch-reports",
                                        daemon=True)
        self._thread.start()

    @property
    def client(self) -> SocketReportClient:
        return SocketReportClient(tuple(self._address), self._authkey)

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # the listener closing, or a connection reset before accept
                continue
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self._connections.add(conn)
            threading.Thread(target=self._serve, args=(conn,), name="hpsearch-report",
                             daemon=True).start()

    def _handshake(self, conn: socket.socket) -> bool:
        conn.settimeout(HANDSHAKE_TIMEOUT)
        challenge = os.urandom(CHALLENGE_BYTES)
        conn.sendall(challenge)
        answer = _recv_exact(conn, hashlib.sha256().digest_size)
        conn.settimeout(None)  # an authenticated worker may stay quiet between trials
        return hmac.compare_digest(answer, _answer(self._authkey, challenge))

    def _serve(self, conn: socket.socket) -> None:
        try:
            if not self._handshake(conn):
                return
            while True:
                (size,) = _LENGTH.unpack(_recv_exact(conn, _LENGTH.size))
                if size > MAX_MESSAGE_BYTES:
                    logger.warning("report channel: a %d-byte message (limit %d); closing "
                                   "that connection", size, MAX_MESSAGE_BYTES)
                    return
                conn.sendall(b"\x01" if self._decide(_recv_exact(conn, size)) else b"\x00")
        except (OSError, EOFError):  # closed, reset, or the handshake timed out
            pass
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _decide(self, message: bytes) -> bool:
        report = decode_report(message)
        if report is None:
            logger.warning("report channel: a message that is not {number, step, value}; "
                           "answered 'go on'")
            return False
        try:
            return bool(self._service.report(*report))
        except Exception:
            logger.exception("pruner failed on trial %d step %d", report[0], report[1])
            return False

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            connections = list(self._connections)
        try:  # wake the accept() call so the thread ends
            socket.create_connection(self._address, timeout=1).close()
        except OSError:
            pass
        self._thread.join(timeout=5)
        self._listener.close()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

