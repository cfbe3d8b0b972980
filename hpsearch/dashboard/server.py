"""The dashboard's web server: Tornado handlers on 127.0.0.1 (see `hpsearch.dashboard`).

Tornado because it is a maintained, dependency-free asynchronous server that hpsearch already
installs (dask.distributed runs on it): one event loop serves the page and the JSON API while
the snapshots are computed in one worker thread and the report's figures in one worker
process, so a slow figure never stalls the page's polling.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import gc
from pathlib import Path
from typing import Any

import tornado.web

from hpsearch import webserver
from hpsearch.dashboard import data, page
from hpsearch.dashboard.figures import ReportCache

__all__ = ["DashboardServer", "HOST"]

HOST = "127.0.0.1"


class _ReadOnly(webserver.Handler):
    """GET and HEAD only (Tornado answers 405 to the rest), the loopback Host only, and
    headers that keep the answers to this origin."""

    SUPPORTED_METHODS = ("GET", "HEAD")  # type: ignore[assignment]

    def initialize(self, server: DashboardServer) -> None:
        self.server = server

    def prepare(self) -> None:
        if self.request.host not in self.server.hosts:
            raise tornado.web.HTTPError(403, "unexpected Host header")

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Security-Policy", page.CSP)
        self.set_header("Referrer-Policy", "no-referrer")

    def run_path(self) -> tuple[str, Path]:
        """The `run` argument, as one of the run folders found under the storage folder."""
        name = self.get_query_argument("run", "")
        path = data.run_names(self.server.storage).get(name)
        if path is None:
            raise tornado.web.HTTPError(404, "no such run under the storage folder")
        return name, path

    async def reply(self, function: Any, *args: Any) -> None:
        body = await asyncio.get_running_loop().run_in_executor(self.server.worker, _job,
                                                                function, *args)
        self.finish_json(body)


def _job(function: Any, *args: Any) -> Any:
    """One snapshot in the server's one worker thread; the read-only databases it opened are
    closed there too (collected now, not by the garbage collector in another thread)."""
    try:
        return function(*args)
    finally:
        gc.collect()


class _Static(_ReadOnly):
    def initialize(self, server: DashboardServer, body: str, kind: str) -> None:
        super().initialize(server)
        self.body, self.kind = body, kind

    def get(self) -> None:
        self.set_header("Content-Type", f"{self.kind}; charset=utf-8")
        self.finish(self.body)


class _Runs(_ReadOnly):
    async def get(self) -> None:
        await self.reply(data.runs_snapshot, self.server.storage)


class _Run(_ReadOnly):
    async def get(self) -> None:
        name, path = self.run_path()
        await self.reply(data.run_snapshot, path, name)


class _Report(_ReadOnly):
    async def get(self) -> None:
        name, path = self.run_path()
        await self.reply(self.server.reports.get, name, path)


class _NotFound(_ReadOnly):
    def get(self) -> None:
        raise tornado.web.HTTPError(404)


class DashboardServer(webserver.WebServer):
    """The dashboard of the runs under `storage` (see `hpsearch.dashboard`)."""

    thread_name = "hpsearch-dashboard"
    stop_seconds = 10.0

    def __init__(self, storage: str | Path, port: int = 0) -> None:
        self.storage = Path(storage).resolve()
        self.reports = ReportCache()
        # one thread for every snapshot: the run folders are read one at a time, in one place
        self.worker = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="hpsearch-dash")
        super().__init__(HOST, port)

    @property
    def url(self) -> str:
        return f"{super().url}/"

    def application(self) -> tornado.web.Application:
        own = {"server": self}
        return tornado.web.Application([
            (r"/", _Static, {**own, "body": page.PAGE, "kind": "text/html"}),
            (r"/dashboard\.js", _Static, {**own, "body": page.SCRIPT,
                                          "kind": "text/javascript"}),
            (r"/dashboard\.css", _Static, {**own, "body": page.STYLE, "kind": "text/css"}),
            (r"/api/runs", _Runs, own),
            (r"/api/run", _Run, own),
            (r"/api/report", _Report, own),
            (r".*", _NotFound, own),
        ], compress_response=True)

    def close(self) -> None:
        self.worker.shutdown(wait=True)
        self.reports.close()
