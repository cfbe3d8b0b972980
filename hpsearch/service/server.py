"""`hpsearch serve`'s web server: Tornado handlers over `ServiceApi`, with the checks every
request passes first.

Tornado because hpsearch already depends on it (the dashboard; dask.distributed runs on it), it
is maintained and dependency-free, its one event loop serialises the requests (so an ask is
atomic without locks around the study), and its streaming request bodies let the server refuse
a body by its declared size before reading a byte of it. The OpenAPI schema is generated from
the route table (`hpsearch.service.routes`) instead of a framework's introspection.

Contract (`ServiceServer(storage, host, port, token, certfile, keyfile, lease_seconds,
max_body_bytes, dashboard_port)`):
- Refuses to start on a non-loopback host without a token (`auth.check_bind`); TLS when
  `certfile` (and `keyfile`) are given. `port=0` picks a free port (`port` says which).
- Every request, before its body is read: an unknown path 404, a method the path does not
  take 405; with a token, a missing or wrong `Authorization: Bearer` header 401 (every
  endpoint, /openapi.json included); without one, a Host header that is not the server's
  loopback name 403; a POST whose Content-Type is not JSON 415; a declared body over
  `max_body_bytes` 413 (the connection is then closed unread; a chunked body is cut off at the
  limit). Errors are JSON `{"error", "key", "status"}`.
- Leases are expired once a second (`Registry.expire`). `stop()` (or SIGTERM/Ctrl-C in the
  CLI) closes every study cleanly; a SIGKILL loses no told trial (each is committed before
  its answer is sent). With `dashboard_port`, the read-only dashboard of the same STORAGE runs
  in this process, on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web

from hpsearch.exceptions import HpsearchError, ServiceError
from hpsearch.service import auth
from hpsearch.service.api import ServiceApi, status_of
from hpsearch.service.leases import DEFAULT_LEASE_SECONDS
from hpsearch.service.registry import Registry
from hpsearch.service.routes import ROUTES, Route, url_pattern
from hpsearch.service.wire import Body, parse_json

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_PORT", "ServiceServer"]

logger = logging.getLogger("hpsearch")

DEFAULT_PORT = 8787
DEFAULT_MAX_BODY_BYTES = 32 * 2**20


@tornado.web.stream_request_body
class _Endpoint(tornado.web.RequestHandler):
    """One path of the route table, its methods dispatched to `ServiceApi`."""

    SUPPORTED_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")

    def initialize(self, server: ServiceServer, routes: Mapping[str, Route]) -> None:
        self.server, self.routes = server, routes
        self.chunks: list[bytes] = []
        self.received = 0

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def refuse(self, status: int, message: str, key: str | None = None) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": message, "key": key, "status": status}))

    def prepare(self) -> None:
        server, headers = self.server, self.request.headers
        route = self.routes.get(self.request.method)
        if route is None:
            self.set_header("Allow", ", ".join(self.routes))
            return self.refuse(405, f"{self.request.method} is not allowed here")
        if not auth.authorized(headers.get("Authorization"), server.token):
            self.set_header("WWW-Authenticate", 'Bearer realm="hpsearch"')
            return self.refuse(401, "missing or wrong token: send 'Authorization: Bearer "
                                    "<token>' (the server's --token-file)")
        if server.token is None and self.request.host not in server.hosts:
            return self.refuse(403, "unexpected Host header (a token-less service answers "
                                    "its loopback name only)")
        if route.method == "POST":
            kind = headers.get("Content-Type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return self.refuse(415, "send the body as JSON (Content-Type: "
                                        "application/json)")
            declared = headers.get("Content-Length")
            if declared is not None and (not declared.isdigit()
                                         or int(declared) > server.max_body_bytes):
                return self.refuse(413, f"the body is over {server.max_body_bytes} bytes "
                                        "(the server's --max-body-mb)")
        self.request.connection.set_max_body_size(server.max_body_bytes)

    def data_received(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.server.max_body_bytes:  # a chunked body has no length
            raise tornado.web.HTTPError(413)
        self.chunks.append(chunk)

    def _answer(self, **path: str) -> None:
        route = self.routes[self.request.method]
        try:
            body = Body(parse_json(b"".join(self.chunks)) if route.method == "POST" else {})
            handler = getattr(self.server.api, route.handler)
            answer = handler(*path.values(), body)
        except HpsearchError as err:
            status, key = status_of(err)
            return self.refuse(status, str(err), key)
        if isinstance(answer, bytes):
            self.set_header("Content-Type", route.returns)
            return self.finish(answer)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(answer, allow_nan=False))

    def get(self, **path: str) -> None:
        self._answer(**path)

    def post(self, **path: str) -> None:
        self._answer(**path)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": self._reason, "key": None, "status": status_code}))


class _NotFound(tornado.web.RequestHandler):
    def prepare(self) -> None:
        self.set_status(404)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": "no such endpoint (see /openapi.json)", "key": None,
                                "status": 404}))


class ServiceServer:
    """The service over the run folders under `storage` (see the module docstring)."""

    def __init__(self, storage: str | Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 token: str | None = None, certfile: str | None = None,
                 keyfile: str | None = None, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 dashboard_port: int | None = None) -> None:
        auth.check_bind(host, token)
        if lease_seconds <= 0:
            raise ServiceError(f"--lease-seconds must be positive, got {lease_seconds}", 0)
        self.host, self.token, self.max_body_bytes = host, token, int(max_body_bytes)
        self.ssl_context = None
        if certfile is not None:
            self.ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            try:
                self.ssl_context.load_cert_chain(certfile, keyfile)
            except (OSError, ssl.SSLError) as err:
                raise ServiceError(f"--certfile {certfile}: cannot load it ({err})", 0) from err
        self.registry = Registry(storage, lease_seconds)
        self.registry.open_all()
        self.api = ServiceApi(self.registry)
        try:
            self._sockets = tornado.netutil.bind_sockets(port, address=host)
        except OSError:
            self.registry.close()
            raise
        self.port = self._sockets[0].getsockname()[1]
        self.hosts = auth.loopback_hosts(self.port)
        self.dashboard = None
        if dashboard_port is not None:
            from hpsearch.dashboard import DashboardServer

            self.dashboard = DashboardServer(self.registry.storage, dashboard_port)
        self._loop: tornado.ioloop.IOLoop | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def application(self) -> tornado.web.Application:
        by_path: dict[str, dict[str, Route]] = {}
        for route in ROUTES:
            by_path.setdefault(route.path, {})[route.method] = route
        handlers: list[Any] = [(url_pattern(path), _Endpoint, {"server": self, "routes": routes})
                               for path, routes in by_path.items()]
        return tornado.web.Application(handlers + [(r".*", _NotFound)])

    async def _main(self) -> None:
        self._loop = tornado.ioloop.IOLoop.current()
        self._stopped = asyncio.Event()
        server = tornado.httpserver.HTTPServer(self.application(), ssl_options=self.ssl_context,
                                               max_body_size=self.max_body_bytes)
        server.add_sockets(self._sockets)
        expiry = tornado.ioloop.PeriodicCallback(self.registry.expire, 1000)
        expiry.start()
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            expiry.stop()
            server.stop()
            await server.close_all_connections()

    def serve_forever(self) -> None:
        """Serve in this thread until `stop()` (or KeyboardInterrupt); then close the studies."""
        if self.dashboard is not None:
            self.dashboard.start()
        try:
            asyncio.run(self._main())
        finally:
            self.registry.close()
            if self.dashboard is not None:
                self.dashboard.stop()

    def start(self) -> ServiceServer:
        """Serve in a daemon thread; returns once the server listens."""
        self._thread = threading.Thread(target=self.serve_forever, name="hpsearch-serve",
                                        daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.add_callback(self._stopped.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
