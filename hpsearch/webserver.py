"""The Tornado server that `hpsearch serve` and `hpsearch dashboard` both run on: its socket,
its event loop (in the calling thread or a thread of its own) and its stop.

Contract (`WebServer(host, port, ssl_context=None, max_body_bytes=None)`, subclassed by
`ServiceServer` and `DashboardServer`, which give its `application()` and `close()`):
- The socket is bound when the server is built, so a taken port fails there (`OSError`), and
  `port=0` picks a free port (`port` says which). `url` is `http(s)://HOST:PORT` (https with an
  `ssl_context`; an IPv6 host in brackets). `hosts` are the Host headers naming the port on a
  loopback name (`loopback_hosts`): a server that answers only those cannot be read by another
  site through DNS rebinding.
- `serve_forever()` serves in the calling thread until `stop()` (or KeyboardInterrupt), then
  runs `close()` (a subclass's own resources). `start()` serves in a daemon thread named
  `thread_name` and returns the server once it listens. While serving, each `periodic()`
  callback runs every so many milliseconds on the loop. `stop()` (from any thread) closes the
  listening socket and the open connections and waits up to `stop_seconds` for the serving
  thread; a second `stop()` does nothing.
- `Handler`: the request handler both servers' handlers build on: every answer carries
  `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`; `finish_json(body)` answers
  JSON (NaN refused).
"""

from __future__ import annotations

import abc
import asyncio
import json
import ssl
import threading
from collections.abc import Callable, Sequence
from typing import Any, Self

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web

__all__ = ["Handler", "WebServer", "loopback_hosts"]


def loopback_hosts(port: int) -> set[str]:
    return {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")}


class Handler(tornado.web.RequestHandler):
    """Headers every answer carries, and JSON answers."""

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def finish_json(self, body: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, allow_nan=False))


class WebServer(abc.ABC):
    """One Tornado application on one bound socket (see the module docstring)."""

    thread_name = "hpsearch-web"
    stop_seconds = 30.0

    def __init__(self, host: str, port: int, ssl_context: ssl.SSLContext | None = None,
                 max_body_bytes: int | None = None) -> None:
        self._sockets = tornado.netutil.bind_sockets(port, address=host)
        self.host, self.ssl_context, self.max_body_bytes = host, ssl_context, max_body_bytes
        self.port: int = self._sockets[0].getsockname()[1]
        self.hosts = loopback_hosts(self.port)
        self._loop: tornado.ioloop.IOLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @abc.abstractmethod
    def application(self) -> tornado.web.Application:
        """The handlers this server answers with."""

    def periodic(self) -> Sequence[tuple[Callable[[], object], float]]:
        """(callback, every so many milliseconds) pairs run on the loop while it serves."""
        return ()

    @abc.abstractmethod
    def close(self) -> None:
        """Release the subclass's own resources (run once the loop has stopped)."""

    async def _main(self) -> None:
        self._loop = tornado.ioloop.IOLoop.current()
        self._stopped = asyncio.Event()
        server = tornado.httpserver.HTTPServer(self.application(), ssl_options=self.ssl_context,
                                               max_body_size=self.max_body_bytes)
        server.add_sockets(self._sockets)
        callbacks = [tornado.ioloop.PeriodicCallback(callback, milliseconds)
                     for callback, milliseconds in self.periodic()]
        for callback in callbacks:
            callback.start()
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            for callback in callbacks:
                callback.stop()
            server.stop()
            await server.close_all_connections()

    def serve_forever(self) -> None:
        """Serve in this thread until `stop()` (or KeyboardInterrupt); then `close()`."""
        try:
            asyncio.run(self._main())
        finally:
            self.close()

    def start(self) -> Self:
        """Serve in a daemon thread; returns once the server listens."""
        self._thread = threading.Thread(target=self.serve_forever, name=self.thread_name,
                                        daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.add_callback(self._stopped.set)
        if self._thread is not None:
            self._thread.join(timeout=self.stop_seconds)
