"""The Python client of `hpsearch serve`: `hp.connect(url, token=None)`.

Contract:
- `connect(url, token=None, *, timeout=30, retry_seconds=60, cafile=None)` returns a `Client`
  for `http://host:port` or `https://...` (a path after the port is a prefix, e.g. behind a
  reverse proxy; certificates are verified, against `cafile` when given, e.g. a self-signed
  one). `token` (or the `HPSEARCH_TOKEN` environment variable) is sent as
  `Authorization: Bearer <token>`.
- `Client.create_study(name, space, direction="minimize", strategy="random", *, seed=None,
  n_trials=None, strategy_options=None, pruner=None, metric=None, objective=None,
  enqueue=None) -> RemoteStudy`: the same vocabulary as a study file (`space`: an `hp.Space`
  or a dict of dimensions or of study-file tables; `pruner`: a `[pruner]` table such as
  {"kind": "median"}; `objective`: an `[objective]` table the workers use; `n_trials`: the
  study's budget). Creating an existing study with the same definition opens it.
  `Client.study(name) -> RemoteStudy`, `Client.studies()` (status of each), `Client.request`.
- Every call is idempotent on the server (ask carries a request id, tell and report a lease),
  so a call that meets a refused or broken connection, or a 502/503/504, is retried with
  exponential back-off (0.1 s doubling to 5 s) for up to `retry_seconds` (a restarting server
  is waited for), then raises `ServiceError` (status 0). A refusal raises `ServiceError` with
  the server's message, status and key; an expired lease raises `LeaseLostError`.
- Connections are kept alive, one per thread.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hpsearch.exceptions import LeaseLostError, ServiceError
from hpsearch.space import Space

if TYPE_CHECKING:
    from hpsearch.service.remote import RemoteStudy

__all__ = ["Client", "connect"]

_RETRY_STATUSES = (502, 503, 504)
_BROKEN = (ConnectionError, http.client.HTTPException, TimeoutError, OSError)


class Client:
    """A connection to `hpsearch serve` (see the module docstring)."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0,
                 retry_seconds: float = 60.0, cafile: str | None = None) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServiceError(f"url: expected http://HOST:PORT or https://HOST:PORT, got "
                               f"{url!r}", 0, "url")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        token = token if token is not None else os.environ.get("HPSEARCH_TOKEN")
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token.strip()}"
        self.timeout, self.retry_seconds = timeout, retry_seconds
        self._local = threading.local()
        self._tls = ssl.create_default_context(cafile=cafile) if self._https else None

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self._https:
                connection = http.client.HTTPSConnection(self._host, self._port,
                                                         timeout=self.timeout,
                                                         context=self._tls)
            else:
                connection = http.client.HTTPConnection(self._host, self._port,
                                                        timeout=self.timeout)
            self._local.connection = connection
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None

    def _once(self, method: str, path: str, payload: bytes | None) -> tuple[int, bytes, str]:
        headers = dict(self._headers)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        connection = self._connection()
        try:
            connection.request(method, self._prefix + path, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, response.read(), response.getheader("Content-Type", "")
        except BaseException:
            self._drop()
            raise

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One call, retried while the server cannot answer (see the module docstring);
        returns the JSON answer (bytes for a binary one)."""
        payload = None if body is None else json.dumps(body, allow_nan=False).encode("utf-8")
        deadline, delay = time.monotonic() + self.retry_seconds, 0.1
        while True:
            try:
                status, raw, kind = self._once(method, path, payload)
                if status not in _RETRY_STATUSES:
                    break
                problem = f"HTTP {status}"
            except ssl.SSLCertVerificationError as err:  # retrying would not help
                raise ServiceError(f"{self.url}: its certificate is not trusted ({err}); "
                                   "pass cafile=", 0, "cafile") from err
            except _BROKEN as err:
                problem = f"{type(err).__name__}: {err}"
            if time.monotonic() + delay > deadline:
                raise ServiceError(f"{self.url}{path}: no answer ({problem}), gave up after "
                                   f"{self.retry_seconds:g} s", 0)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        if not kind.startswith("application/json"):
            if status == 200:
                return raw
            raise ServiceError(f"{self.url}{path}: HTTP {status}", status)
        answer = json.loads(raw)
        if status >= 400:
            error = LeaseLostError if status == 409 and answer.get("key") == "lease" else None
            if error is not None:
                raise error(answer.get("error", ""))
            raise ServiceError(answer.get("error", f"HTTP {status}"), status, answer.get("key"))
        return answer

    def studies(self) -> list[dict[str, Any]]:
        """The status of every served study."""
        return self.request("GET", "/api/studies")["studies"]

    def create_study(self, name: str, space: Space | Mapping[str, Any],
                     direction: str | Sequence[str] = "minimize", strategy: str = "random", *,
                     seed: int | None = None, n_trials: int | None = None,
                     strategy_options: Mapping[str, Any] | None = None,
                     pruner: Mapping[str, Any] | None = None,
                     metric: str | Sequence[str] | None = None,
                     objective: Mapping[str, Any] | None = None,
                     enqueue: Sequence[Mapping[str, Any]] | None = None) -> RemoteStudy:
        """Create (or open) a served study; see the module docstring."""
        table: dict[str, Any] = {"name": name, "strategy": strategy,
                                 "direction": direction if isinstance(direction, str)
                                 else list(direction)}
        optional = {"seed": seed, "n_trials": n_trials, "enqueue": enqueue,
                    "metric": metric if metric is None or isinstance(metric, str)
                    else list(metric)}
        table.update({k: v for k, v in optional.items() if v is not None})
        if objective is None or objective.get("kind", "mlp") != "mlp":
            table.setdefault("metric", "value")  # a Python objective's value
        body: dict[str, Any] = {"study": table, "space": _space_tables(space),
                                "objective": dict(objective or {"kind": "python"})}
        if strategy_options:
            body["strategy_options"] = dict(strategy_options)
        if pruner:
            body["pruner"] = dict(pruner)
        self.request("POST", "/api/studies", body)
        return self.study(name)

    def study(self, name: str) -> RemoteStudy:
        """The served study `name` (ServiceError 404 when there is none)."""
        from hpsearch.service.remote import RemoteStudy

        return RemoteStudy(self, name)

    def __repr__(self) -> str:
        return f"Client({self.url!r})"


def _space_tables(space: Space | Mapping[str, Any]) -> dict[str, Any]:
    """A space as the study file's [space] tables."""
    return (space if isinstance(space, Space) else Space(space)).to_dict()


def connect(url: str, token: str | None = None, *, timeout: float = 30.0,
            retry_seconds: float = 60.0, cafile: str | None = None) -> Client:
    """A client of the service at `url` (see the module docstring)."""
    return Client(url, token, timeout=timeout, retry_seconds=retry_seconds, cafile=cafile)
