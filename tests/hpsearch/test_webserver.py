"""The Tornado server both servers run on (`hpsearch.webserver`): a free port on port 0, the
socket freed by `stop()`, a taken port refused at construction, `close()` once, periodic
callbacks while serving, the shared headers and JSON answers, and a harmless second stop."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading

import pytest
import tornado.netutil
import tornado.web

from hpsearch import webserver


class _Hello(webserver.Handler):
    def get(self) -> None:
        self.finish_json({"hello": [1, 2.5]})


class _Nan(webserver.Handler):
    def get(self) -> None:
        self.finish_json({"value": float("nan")})


class Echo(webserver.WebServer):
    thread_name = "test-webserver"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **options) -> None:
        self.closed = 0
        self.ticked = threading.Event()
        super().__init__(host, port, **options)

    def application(self) -> tornado.web.Application:
        return tornado.web.Application([(r"/", _Hello), (r"/nan", _Nan)])

    def periodic(self):
        return [(self.ticked.set, 10)]

    def close(self) -> None:
        self.closed += 1


def get(port: int, path: str):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    return answer.status, answer.headers, body


def test_port_zero_serves_on_a_free_port_and_stop_frees_it():
    server = Echo().start()
    try:
        assert server.port != 0 and server.url == f"http://127.0.0.1:{server.port}"
        assert server.hosts == {f"127.0.0.1:{server.port}", f"localhost:{server.port}",
                                f"[::1]:{server.port}"}
        status, headers, body = get(server.port, "/")
        assert status == 200 and json.loads(body) == {"hello": [1, 2.5]}
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert get(server.port, "/nan")[0] == 500  # NaN is not JSON: refused, not sent
        assert server.ticked.wait(timeout=30)
    finally:
        server.stop()
    assert "test-webserver" not in {thread.name for thread in threading.enumerate()}
    assert server.closed == 1
    # listening again on the port works only once the server's socket is closed
    for again in tornado.netutil.bind_sockets(server.port, address="127.0.0.1"):
        again.close()
    server.stop()  # a second stop does nothing
    assert server.closed == 1


def test_a_taken_port_is_refused_when_the_server_is_built():
    server = Echo()
    try:
        with pytest.raises(OSError):
            Echo(port=server.port)
    finally:
        def stop_once_serving() -> None:
            server.ticked.wait(timeout=30)  # ticks only while the loop serves
            server.stop()

        threading.Thread(target=stop_once_serving).start()
        server.serve_forever()  # stop() from another thread ends serving here
    assert server.closed == 1
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=30)


def test_url_names_https_and_brackets_an_ipv6_host():
    server = Echo("::1", ssl_context=ssl.create_default_context(ssl.Purpose.CLIENT_AUTH))
    try:
        assert server.url == f"https://[::1]:{server.port}"
    finally:
        server.start().stop()
