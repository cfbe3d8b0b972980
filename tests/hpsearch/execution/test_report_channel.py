"""The socket report channel: plain length-prefixed JSON after an HMAC handshake, a thread
per connection, nothing unpickled; and a study whose report port has a silent neighbour."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading

import pytest

import hpsearch as hp
from hpsearch.execution import reports
from hpsearch.execution.reports import (
    MAX_MESSAGE_BYTES,
    ReportServer,
    decode_report,
    encode_report,
)
from hpsearch.pruners.service import PruningService
from hpsearch.trial import Trial


@pytest.fixture
def server():
    service = PruningService(hp.ThresholdPruner(threshold=1.0), "minimize", history=list)
    server = ReportServer(service)
    yield server
    server.close()


def connect(server: ReportServer, key: bytes | None = None) -> socket.socket:
    """An authenticated socket, speaking the protocol of `hpsearch.execution.reports`."""
    client = server.client
    sock = socket.create_connection(client.address, timeout=30)
    challenge = recv_exact(sock, reports.CHALLENGE_BYTES)
    sock.sendall(hmac.new(key or client.authkey, challenge, hashlib.sha256).digest())
    return sock


def recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def closed_by_server(sock: socket.socket) -> bool:
    """The server closed this connection (a reset when it left our bytes unread)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def ask(sock: socket.socket, payload: bytes) -> bytes:
    sock.sendall(struct.pack(">I", len(payload)) + payload)
    return recv_exact(sock, 1)


def reports_in_a_thread(client, number: int) -> threading.Thread:
    """A worker's reports on a thread (joined with a generous timeout: 'does not hang')."""
    def work():
        handle = Trial(number, seed=0, reporter=client)
        work.decisions = [handle.report(0, 0.5), handle.report(1, 2.0)]

    thread = threading.Thread(target=work, daemon=True)
    thread.work = work
    thread.start()
    return thread


def test_a_silent_connection_does_not_delay_another_client(server, monkeypatch):
    # With an hour to authenticate, a server that handshakes one connection at a time would
    # hold every other client for that hour.
    monkeypatch.setattr(reports, "HANDSHAKE_TIMEOUT", 3600.0)
    silent = [socket.create_connection(server.client.address) for _ in range(3)]
    try:
        thread = reports_in_a_thread(pickle.loads(pickle.dumps(server.client)), number=4)
        thread.join(timeout=60)
        assert not thread.is_alive(), "a silent connection blocked another client's reports"
        assert thread.work.decisions == [False, True]
    finally:
        for sock in silent:
            sock.close()


def test_malformed_messages_are_answered_no_and_the_connection_goes_on(server):
    sock = connect(server)
    with sock:
        for payload in (b"\x80garbage", b"[1, 2, 3]", b"[7, 1, 2.0]", b"null", b"[" * 3000,
                        json.dumps({"number": "7", "step": 1, "value": 2.0}).encode(),
                        json.dumps({"number": 7, "step": True, "value": 2.0}).encode(),
                        json.dumps({"number": 7, "step": 1, "value": 10 ** 400}).encode(),
                        json.dumps({"number": 7, "step": 1, "value": 2.0, "x": 1}).encode()):
            assert ask(sock, payload) == b"\x00", payload[:40]
        assert ask(sock, encode_report(7, 1, 2.0)) == b"\x01"  # still served
    assert server._service.intermediate(7) == {1: 2.0}


def test_an_oversized_message_closes_that_connection_only(server):
    other = connect(server)
    big = connect(server)
    with big, other:
        big.sendall(struct.pack(">I", MAX_MESSAGE_BYTES + 1) + b"x" * 64)
        assert closed_by_server(big)
        assert ask(other, encode_report(3, 0, 0.5)) == b"\x00"
        assert ask(other, encode_report(3, 1, 5.0)) == b"\x01"
    with connect(server) as fresh:
        assert ask(fresh, encode_report(5, 1, 5.0)) == b"\x01"


def test_a_wrong_key_is_refused_and_others_go_on(server):
    with connect(server, key=b"not the key") as intruder:
        intruder.sendall(struct.pack(">I", 10) + b'{"x": 1}  ')
        assert closed_by_server(intruder)
    with connect(server) as worker:
        assert ask(worker, encode_report(1, 1, 5.0)) == b"\x01"
    assert server._service.intermediate(1) == {1: 5.0}


class _MakesAFile:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_crafted_pickle_is_never_unpickled(server, tmp_path):
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_MakesAFile(str(marker)))
    assert not marker.exists()
    with socket.create_connection(server.client.address, timeout=30) as raw:
        raw.recv(reports.CHALLENGE_BYTES)
        raw.sendall(payload)  # in place of the handshake answer
        assert closed_by_server(raw)
    with connect(server) as sock:  # with the key, as a whole frame
        assert ask(sock, payload) == b"\x00"
        sock.sendall(payload)  # and as raw bytes where a frame's length belongs
        assert closed_by_server(sock)  # a length beyond the limit
    with connect(server) as sock:
        assert ask(sock, encode_report(2, 1, 5.0)) == b"\x01"
    assert not marker.exists()


def test_decode_report_takes_exactly_the_schema():
    assert decode_report(encode_report(3, 4, 0.25)) == (3, 4, 0.25)
    assert decode_report({"number": 3, "step": 4, "value": 1}) == (3, 4, 1.0)
    assert decode_report({"number": 3, "step": 4}) is None
    assert decode_report([3, 4, 0.25]) is None


def test_the_server_listens_on_loopback_only(server):
    assert server.client.address[0] == "127.0.0.1"


SILENT_NEIGHBOUR = '''
import socket, sys
import hpsearch as hp
from hpsearch.execution import base, reports

reports.HANDSHAKE_TIMEOUT = 3600.0  # a one-at-a-time server would wait this long per silent client
held = []

class WithSilentNeighbours(reports.ReportServer):
    def __init__(self, service, *args, **kwargs):
        super().__init__(service, *args, **kwargs)
        held.extend(socket.create_connection(self.client.address) for _ in range(3))

base.ReportServer = WithSilentNeighbours

study = hp.Study({"x": hp.Float(0.0, 10.0)}, seed=0,
                 pruner=hp.ThresholdPruner(threshold=5.0, min_step=2))
study.optimize(sys.argv[1], n_trials=8, n_jobs=2)
assert len(held) == 3
print(sorted({str(t.state) for t in study.trials}))
'''


def test_a_study_with_a_silent_client_on_its_report_port_still_prunes(tmp_path, objective_file):
    script = tmp_path / "silent.py"
    script.write_text(textwrap.dedent(SILENT_NEIGHBOUR))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script), objective_file("pruned_above_5")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)  # generous: it hung for good before
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its workers too, if it hung
    assert proc.returncode == 0, stderr[-2000:]
    assert stdout.strip() == "['complete', 'pruned']"
