"""`hpsearch dashboard` stops its children with it: its figure worker (a spawned process) and
multiprocessing's resource tracker end after SIGTERM (exit code 143) and after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

import hpsearch as hp
from tests.hpsearch.dashboard.processes import descendants, kill, stop_tree


@pytest.fixture
def dashboard(tmp_path):
    """A dashboard process over a storage folder with one finished run, its report drawn
    once (so its figure worker has started); yields (process, its children)."""
    hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0,
             storage=tmp_path / "runs" / "done").optimize(lambda p: p["x"], n_trials=3)
    children: list[psutil.Process] = []
    process = subprocess.Popen([sys.executable, "-c", "from hpsearch.cli import main; main()",
                                "dashboard", str(tmp_path / "runs"), "--port", "0"],
                               stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, COLUMNS="200"))
    try:
        url = process.stdout.readline().split()[2]
        deadline = time.monotonic() + 120
        while True:  # until the worker has drawn the report
            with urllib.request.urlopen(url + "api/report?run=done", timeout=30) as answer:
                if json.loads(answer.read())["current"]:
                    break
            assert time.monotonic() < deadline, "the report was never drawn"
            time.sleep(0.2)
        children = descendants(process.pid)
        assert len(children) >= 2, children  # the figure worker and the resource tracker
        yield process, children
    finally:
        stop_tree(process)
        kill(children)  # any the test found still running


def gone(children: list[psutil.Process]) -> list[psutil.Process]:
    """Wait (up to a minute) for the children to end; the ones still running."""
    _, alive = psutil.wait_procs(children, timeout=60)
    return alive


@pytest.mark.slow  # a dashboard process drawing a report: about 15 s of CPU
def test_sigterm_stops_the_figure_worker_and_the_resource_tracker(dashboard):
    process, children = dashboard
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 128 + signal.SIGTERM
    assert gone(children) == []


@pytest.mark.slow
def test_a_killed_dashboard_leaves_no_child_behind(dashboard):
    process, children = dashboard
    process.kill()
    process.wait(timeout=60)
    assert gone(children) == []
