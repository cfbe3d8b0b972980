"""`hpsearch dashboard` (issue 20): read-only, loopback only, nothing outside the storage
folder; in headless Chromium the page loads without a console error, a running trial's curve
appears as it reports, and a trial finished after the page opened appears within seconds."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import http.client
import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

import hpsearch as hp
from hpsearch.dashboard import DashboardServer
from tests.hpsearch.dashboard.browser import CHROMIUM, Browser
from tests.hpsearch.dashboard.processes import stop_tree

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium; "
                             "locally: apt-get install chromium)")


def digest(folder: Path) -> dict[str, str]:
    """Hashes of every file a reader could change (SQLite's shared-memory index and an empty
    write-ahead log, which a read-only connection may create, say nothing)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in ("study.lock", "study.db-shm", "study.open")
            and not (p.name == "study.db-wal" and p.stat().st_size == 0)}


def request(server: DashboardServer, method: str, path: str, host: str | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest(method, path, skip_host=host is not None)
    if host is not None:
        connection.putheader("Host", host)
    connection.endheaders()
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    return answer.status, answer.headers, body


@pytest.fixture
def served(tmp_path):
    storage, outside = tmp_path / "runs", tmp_path / "outside"
    for folder in (storage / "mine", outside / "theirs"):
        study = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0, storage=folder)
        study.optimize(lambda p: p["x"], n_trials=3)
        del study
    gc.collect()  # the writers are closed: from here on only the dashboard reads the folders
    (storage / "link").symlink_to(outside / "theirs", target_is_directory=True)
    server = DashboardServer(storage).start()
    yield server, storage
    server.stop()


def test_server_is_read_only_and_stays_inside_the_storage_folder(served):
    server, storage = served
    before = digest(storage.resolve()) | digest(storage.parent / "outside")
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and b"hpsearch dashboard" in body
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert b"http://" not in body and b"https://" not in body
    runs = json.loads(request(server, "GET", "/api/runs")[2])
    assert [r["name"] for r in runs["runs"]] == ["mine"]  # the link out is not a run of it
    status, _, body = request(server, "GET", "/api/run?run=mine")
    assert status == 200 and len(json.loads(body)["table"]["rows"]) == 3
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for path in ("/", "/api/runs", "/api/run?run=mine", "/anything"):
            assert request(server, method, path)[0] == 405, (method, path)
    for path in ("/api/run?run=link", "/api/run?run=../outside/theirs",
                 "/api/run?run=" + str(storage.parent / "outside" / "theirs"),
                 "/api/report?run=..", "/../outside/theirs/study.db", "/%2e%2e/etc/passwd",
                 "/api/run?run=", "/study.db", "/mine/study.db"):
        assert request(server, "GET", path)[0] == 404, path
    assert request(server, "GET", "/api/runs", host="evil.example")[0] == 403
    assert digest(storage.resolve()) | digest(storage.parent / "outside") == before


DRIVER = textwrap.dedent("""
    import pathlib, sys, time
    import hpsearch as hp

    def quick(params):
        return params["x"]

    def slow(params, trial):
        for step in range(40):
            trial.report(step, params["x"] + 1.0 / (step + 1))
            time.sleep(0.1)
        return params["x"]

    folder, ready, go = sys.argv[1:4]
    study = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0, storage=folder)
    study.optimize(quick, n_trials=3)
    pathlib.Path(ready).touch()
    while not pathlib.Path(go).exists():
        time.sleep(0.05)
    study.optimize(slow, n_trials=4)
""")


def wait_file(path: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the driver stopped"
        time.sleep(0.05)


@pytest.mark.slow
@needs_chromium
def test_dashboard_in_headless_chromium_updates_live(tmp_path):
    storage = tmp_path / "runs"
    ready, go = tmp_path / "ready", tmp_path / "go"
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(storage / "live"), str(ready),
                               str(go)])
    env = dict(os.environ, COLUMNS="200")
    dashboard = subprocess.Popen([sys.executable, "-c", "from hpsearch.cli import main; main()",
                                  "dashboard", str(storage), "--port", "0"],
                                 stdout=subprocess.PIPE, text=True, env=env)
    try:
        wait_file(ready, driver)
        url = dashboard.stdout.readline().split()[2]
        assert url.startswith("http://127.0.0.1:"), url
        urllib.request.urlopen(url, timeout=30).read()
        asyncio.run(_scenario(url, go))
        assert driver.wait(timeout=60) == 0
    finally:
        for process in (driver, dashboard):
            stop_tree(process)  # the dashboard's figure worker and resource tracker too


async def _scenario(url: str, go: Path) -> None:
    async with Browser() as page:
        await page.open(url + "#run=live")
        await page.wait_for("document.querySelectorAll('#table tr[data-trial]').length == 3", 20)
        await page.wait_for("document.querySelectorAll('#report-body img').length > 0", 60)
        go.touch()  # the driver starts trial 3, which reports a value every 0.1 s
        running = ("document.querySelector('#live-curves polyline[data-trial=\"3\"]"
                   "[data-running=\"true\"]') !== null")
        await page.wait_for(running, 10)  # its curve, while it reports
        # finished: in the summary and the table without a reload (20 s: it does not hang)
        await page.wait_for("document.querySelector('#run-summary dl')"
                            ".textContent.indexOf('4 complete') >= 0", 20)
        assert await page.eval("document.querySelector('#table tr[data-trial=\"3\"]') !== null")
        assert not await page.eval(running)
        await page.wait_for("document.querySelector('#report-note').textContent"
                            ".indexOf('of 4 finished') >= 0", 60)
        assert await page.eval("document.documentElement.getAttribute('data-errors')") is None
        assert await page.eval("document.querySelectorAll('nav li[data-run]').length") == 1
        assert page.errors == [], page.errors
