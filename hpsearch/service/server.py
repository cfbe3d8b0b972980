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
  in this process, on 127.0.0.1 only. The socket, the event loop's thread and `start`/`stop`
  are `hpsearch.webserver.WebServer`'s.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import tornado.web

from hpsearch import webserver
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


class _Handler(webserver.Handler):
    """Errors as JSON `{"error", "key", "status"}`."""

    def refuse(self, status: int, message: str, key: str | None = None) -> None:
        self.set_status(status)
        self.finish_json({"error": message, "key": key, "status": status})

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.refuse(status_code, self._reason)


@tornado.web.stream_request_body
class _Endpoint(_Handler):
    """One path of the route table, its methods dispatched to `ServiceApi`."""

    SUPPORTED_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")

    def initialize(self, server: ServiceServer, routes: Mapping[str, Route]) -> None:
        self.server, self.routes = server, routes
        self.chunks: list[bytes] = []
        self.received = 0

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
        self.finish_json(answer)

    def get(self, **path: str) -> None:
        self._answer(**path)

    def post(self, **path: str) -> None:
        self._answer(**path)


class _NotFound(_Handler):
    def prepare(self) -> None:
        self.refuse(404, "no such endpoint (see /openapi.json)")


class ServiceServer(webserver.WebServer):
    """The service over the run folders under `storage` (see the module docstring)."""

    thread_name = "hpsearch-serve"
    max_body_bytes: int

    def __init__(self, storage: str | Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 token: str | None = None, certfile: str | None = None,
                 keyfile: str | None = None, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 dashboard_port: int | None = None) -> None:
        auth.check_bind(host, token)
        if lease_seconds <= 0:
            raise ServiceError(f"--lease-seconds must be positive, got {lease_seconds}", 0)
        self.token = token
        ssl_context = None
        if certfile is not None:
            ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            try:
                ssl_context.load_cert_chain(certfile, keyfile)
            except (OSError, ssl.SSLError) as err:
                raise ServiceError(f"--certfile {certfile}: cannot load it ({err})", 0) from err
        self.registry = Registry(storage, lease_seconds)
        self.registry.open_all()
        self.api = ServiceApi(self.registry)
        try:
            super().__init__(host, port, ssl_context, int(max_body_bytes))
        except OSError:
            self.registry.close()
            raise
        self.dashboard = None
        if dashboard_port is not None:
            from hpsearch.dashboard import DashboardServer

            self.dashboard = DashboardServer(self.registry.storage, dashboard_port)

    def application(self) -> tornado.web.Application:
        by_path: dict[str, dict[str, Route]] = {}
        for route in ROUTES:
            by_path.setdefault(route.path, {})[route.method] = route
        handlers: list[Any] = [(url_pattern(path), _Endpoint, {"server": self, "routes": routes})
                               for path, routes in by_path.items()]
        return tornado.web.Application(handlers + [(r".*", _NotFound)])

    def periodic(self) -> list[tuple[Callable[[], object], float]]:
        return [(self.registry.expire, 1000)]

    def close(self) -> None:
        self.registry.close()

    def serve_forever(self) -> None:
        """Serve in this thread until `stop()` (or KeyboardInterrupt); then close the studies."""
        if self.dashboard is not None:
            self.dashboard.start()
        try:
            super().serve_forever()
        finally:
            if self.dashboard is not None:
                self.dashboard.stop()
