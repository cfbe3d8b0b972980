"""`hpsearch status` and `hpsearch list` on a live run read well at 80 and 120 columns: every
heading and every number whole (a long params cell wraps instead), no line wider than the
terminal, and the best trial's number never cut."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time

import pytest

from hpsearch.monitor.live import read_live
from tests.hpsearch.cli.conftest import invoke

HEADERS = ["running", "for", "step", "reported", "params"]
DRIVER = textwrap.dedent("""
    import os, sys, time
    import hpsearch as hp
    space = {"learning_rate": hp.Float(1e-4, 1e-1, log=True),
             "hidden_size": hp.Int(32, 512, log=True), "num_layers": hp.Int(1, 3),
             "dropout": hp.Float(0.0, 0.5),
             "optimizer": hp.Categorical(["momentum", "nesterov", "adam", "rmsprop"]),
             "init": hp.Categorical(["he", "xavier"]), "reg": hp.Float(1e-6, 1e-1, log=True)}
    study = hp.Study(space, seed=0, storage=sys.argv[1], direction="maximize")
    # trial 12 is the best: the list's best column must show '#12' whole
    study.optimize(lambda p, t: 0.5 + 0.01 * (t.number == 12), n_trials=13)

    def slow(params, trial):
        for step in range(1, 31):
            trial.report(step, 0.912345678 + step / 1000)
        open(sys.argv[2], "w").write("reported")
        for _ in range(600):  # the live file is written at most once a second, on a report
            trial.report(30, 0.942345678)
            time.sleep(0.2)
        return 0.0

    study.optimize(slow, n_trials=14)  # n_trials counts the study's finished trials
""")


@pytest.fixture(scope="module")
def live_run(tmp_path_factory):
    """runs/a_rather_long_run_name: 13 finished trials (#12 the best) and trial 13 running,
    30 steps reported."""
    tmp = tmp_path_factory.mktemp("live")
    run_dir, ready = tmp / "runs" / "a_rather_long_run_name", tmp / "ready"
    process = subprocess.Popen([sys.executable, "-c", DRIVER, str(run_dir), str(ready)])
    deadline = time.monotonic() + 120
    while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert ready.exists(), "the driver did not start"
        while 30 not in read_live(run_dir).get(13, {}):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        yield run_dir
    finally:
        process.kill()
        process.wait(timeout=60)


@pytest.mark.parametrize("width", [80, 120])
def test_status_of_a_live_run_is_readable(live_run, width):
    result = invoke("status", live_run, width=width)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in result.stdout
    header = next(line for line in lines if line.startswith("running"))
    assert header.split() == HEADERS
    row = lines[lines.index(header) + 2].split()
    assert row[0] == "13" and row[2:5] == ["s", "30", "0.9423"], row  # '13  4 s  30  0.9423'
    params = " ".join(lines[lines.index(header) + 2:])
    for name in ("learning_rate=", "hidden_size=", "optimizer=", "init=", "reg="):
        assert name in params


@pytest.mark.parametrize("width", [80, 120])
def test_list_never_cuts_names_or_the_best_trial(live_run, width):
    result = invoke("list", live_run.parent, width=width)
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= width
    assert "…" not in result.stdout
    assert "a_rather_long_run_name" in result.stdout
    assert re.search(r"0\.51 \(#12\)", result.stdout), result.stdout
    words = result.stdout.split()
    assert {"run", "strategy", "trials", "best", "last", "activity", "driver"} <= set(words)
