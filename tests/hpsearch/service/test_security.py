"""The service's guards, against a real `hpsearch serve`: the token on every endpoint, the
loopback rule, the body limit (refused by its declared size, unread), names with '..'."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import time

import pytest

from hpsearch.service.routes import ROUTES
from tests.hpsearch.service.conftest import TOKEN, environment


def call(served, method, path, body=None, token=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    connection.request(method, path, body=payload, headers=sent)
    response = connection.getresponse()
    raw = response.read()
    connection.close()
    return response.status, json.loads(raw) if raw.startswith(b"{") else raw


STUDY = {"study": {"name": "s", "strategy": "random", "n_trials": 3, "metric": "value"},
         "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
         "objective": {"kind": "python"}}


@pytest.fixture
def guarded(serve, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    served = serve("--token-file", str(token_file))
    assert call(served, "POST", "/api/studies", STUDY, token=TOKEN)[0] == 200
    return served


def test_every_endpoint_needs_the_token(guarded):
    for route in ROUTES:
        path = route.path.replace("{name}", "s")
        body = {} if route.method == "POST" else None
        for token in (None, "wrong-token-0123456789", TOKEN[:-1]):
            status, answer = call(guarded, route.method, path, body, token=token)
            assert status == 401, (route.path, token)
            assert "token" in answer["error"]
    # and with it, each answers
    status, _ = call(guarded, "GET", "/api/studies/s", token=TOKEN)
    assert status == 200
    status, answer = call(guarded, "POST", "/api/studies/s/ask", {}, token=TOKEN)
    assert status == 200 and len(answer["trials"]) == 1


def test_a_non_loopback_bind_without_a_token_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "hpsearch.cli", "serve", str(tmp_path / "r"),
                           "--host", "0.0.0.0", "--port", "0"], capture_output=True, text=True,
                          env=environment(), timeout=120)
    assert done.returncode == 2
    assert "--token-file" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_a_100_mb_body_is_refused_unread(guarded):
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=30) as sock:
        sock.sendall(b"POST /api/studies/s/tell HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
                     b"Content-Type: application/json\r\n"
                     b"Content-Length: 104857600\r\n\r\n{\"number\": 0")
        started = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    # the answer came with 12 of the 104,857,600 declared bytes sent: nothing waited for them
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 25
    assert call(guarded, "GET", "/api/studies/s", token=TOKEN)[0] == 200


def test_names_with_dot_dot_are_refused(guarded, tmp_path):
    for name in ("..", "../x", "a/b", "."):
        body = {**STUDY, "study": {**STUDY["study"], "name": name}}
        status, answer = call(guarded, "POST", "/api/studies", body, token=TOKEN)
        assert status == 400 and answer["key"] == "[study].name", name
    for path in ("/api/studies/%2E%2E/ask", "/api/studies/..%2Fx/ask", "/api/studies/../ask"):
        status, answer = call(guarded, "POST", path, {}, token=TOKEN)
        assert status in (400, 404), path
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["runs"]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["s"]


def test_a_token_less_server_answers_its_loopback_name_only(serve):
    served = serve()
    status, _ = call(served, "GET", "/api/studies", headers={"Host": "evil.example:80"})
    assert status == 403
    assert call(served, "GET", "/api/studies")[0] == 200


def test_bad_bodies_name_the_key(guarded):
    bad = {**STUDY, "study": {**STUDY["study"], "name": "t", "n_trials": 0}}
    status, answer = call(guarded, "POST", "/api/studies", bad, token=TOKEN)
    assert status == 400 and answer["key"] == "[study].n_trials"
    status, answer = call(guarded, "POST", "/api/studies", {
        **STUDY, "study": {**STUDY["study"], "name": "t", "storage": "/etc"}}, token=TOKEN)
    assert status == 400 and answer["key"] == "[study].storage"
    status, answer = call(guarded, "POST", "/api/studies/s/ask", {"n": "two"}, token=TOKEN)
    assert status == 400 and answer["key"] == "n"
    status, answer = call(guarded, "POST", "/api/studies/s/tell", {"number": 0}, token=TOKEN)
    assert status == 400 and answer["key"] == "lease"
    status, _ = call(guarded, "POST", "/api/studies/s/ask", None, token=TOKEN,
                     headers={"Content-Type": "text/plain"})
    assert status == 415


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_tls_with_a_certificate_and_the_token(serve, tmp_path):
    import hpsearch as hp
    from hpsearch.exceptions import ServiceError

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    served = serve("--certfile", str(cert), "--keyfile", str(key), "--token-file",
                   str(token_file))
    assert served.url.startswith("https://")
    client = hp.connect(served.url, TOKEN, cafile=str(cert))
    study = client.create_study("tls", {"x": hp.Float(0.0, 1.0)}, n_trials=1)
    trial = study.ask()
    assert study.tell(trial, 0.5).value == 0.5
    with pytest.raises(ServiceError, match="not trusted"):
        hp.connect(served.url, TOKEN).studies()  # the self-signed certificate is not trusted
    with pytest.raises(ServiceError):
        hp.connect(served.url, "wrong-token-0123456789", cafile=str(cert)).studies()
