"""Item 5 of issue 20: `hpsearch list` and `status` find runs and say whether a driver is
running them; a dead driver's running trials read as interrupted; JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

import hpsearch as hp
from tests.hpsearch.cli.conftest import invoke

DRIVER = textwrap.dedent("""
    import os, sys, time
    import hpsearch as hp
    study = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0, storage=sys.argv[1])
    with study.lock():  # a driver in the middle of its run
        trial = study.ask()
        open(sys.argv[2], "w").write(str(trial.number))
        if sys.argv[3] == "die":
            os._exit(9)  # killed: the kernel releases the lock, the trial stays running
        time.sleep(60)
""")


def start_driver(run_dir, tmp_path, mode: str) -> subprocess.Popen:
    ready = tmp_path / f"ready-{mode}"
    process = subprocess.Popen([sys.executable, "-c", DRIVER, str(run_dir), str(ready), mode])
    deadline = time.monotonic() + 60
    while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), "the driver did not start"
    return process


@pytest.fixture
def storage(tmp_path):
    """runs/done (3 complete trials), runs/group/live (a driver running it) and runs/dead
    (its driver was killed with a trial running)."""
    runs = tmp_path / "runs"
    done = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0, storage=runs / "done")
    done.optimize(lambda p: p["x"], n_trials=3)
    killed = start_driver(runs / "dead", tmp_path, "die")
    killed.wait(timeout=60)
    live = start_driver(runs / "group" / "live", tmp_path, "live")
    yield runs
    live.kill()
    live.wait(timeout=60)


def test_list_and_status_tell_live_from_dead_runs(storage):
    result = invoke("list", storage, width=120)
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[2:] if line.strip()}
    assert set(lines) == {"dead", "done", "group/live"}
    assert "3 complete" in lines["done"] and "random" in lines["done"]
    assert "1 interrupted" in lines["dead"] and "running" not in lines["dead"]
    assert "1 running" in lines["group/live"] and "running (pid" in lines["group/live"]

    records = json.loads(invoke("list", storage, "--format", "json").stdout)
    by_name = {r["name"]: r for r in records}
    assert by_name["done"]["best_value"] == min(
        t.value for t in hp.load_study(storage / "done").trials)
    assert by_name["group/live"]["alive"] and not by_name["dead"]["alive"]

    status = invoke("status", storage / "group" / "live", width=120)
    assert status.exit_code == 0, status.output
    assert "driver    running (pid" in status.stdout and "x=" in status.stdout
    dead = json.loads(invoke("status", storage / "dead", "--format", "json").stdout)
    assert dead["counts"] == {"interrupted": 1} and dead["running"] == []
    # readers (results, load_study) see the dead driver's trial as interrupted too
    assert [t.state for t in hp.load_study(storage / "dead").trials] == ["interrupted"]


def test_list_and_status_errors(tmp_path):
    assert invoke("list", tmp_path / "nowhere").exit_code == 2
    empty = invoke("list", tmp_path)
    assert empty.exit_code == 0 and "no run folders" in empty.stderr
    result = invoke("status", tmp_path)
    assert result.exit_code == 2 and "not a study run folder" in result.stderr
