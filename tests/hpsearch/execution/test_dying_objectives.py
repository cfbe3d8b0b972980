"""Objectives that try to end the process they run in: sys.exit is a failed trial; a trial that
takes the driver down (os._exit with n_jobs=1) is failed on the next resume, not rerun forever;
SIGTERM is handled like Ctrl-C; loky workers do not outlive a killed driver."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

import hpsearch as hp
from hpsearch.storage.sqlite import DRIVER_DIED_ERROR, MAX_DRIVER_DEATHS

SPACE = {"x": hp.Float(0.0, 1.0)}


@pytest.mark.parametrize("code", [0, 3, None, "bye"])
def test_sys_exit_in_an_objective_is_a_failed_trial_and_the_study_goes_on(code):
    def objective(params, trial):
        if trial.number == 1:
            sys.exit(code)
        return params["x"]

    study = hp.Study(SPACE, seed=0)
    study.optimize(objective, n_trials=3)
    states = [str(t.state) for t in study.trials]
    assert states == ["complete", "failed", "complete"]
    shown = "" if code is None else repr(code)
    assert study.trials[1].error.startswith(f"the objective called sys.exit({shown})")


def test_sys_exit_in_a_worker_is_a_failed_trial_too():
    def objective(params, trial):
        if trial.number == 1:
            sys.exit(0)
        return params["x"]

    study = hp.Study(SPACE, seed=0)
    study.optimize(objective, n_trials=3, n_jobs=2)
    assert [str(t.state) for t in study.trials] == ["complete", "failed", "complete"]
    assert study.trials[1].error.startswith("the objective called sys.exit(0)")


# ----- an objective that takes the driver down (n_jobs=1), and the driver-deaths counter
EXITS_ON_0 = '''
import os, sys
import hpsearch as hp

def objective(params, trial):
    if trial.number == 0:
        os._exit(5)
    return params["x"]

study = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0, storage=sys.argv[1])
study.optimize(objective, n_trials=3)
'''


def run_script(path, *args, timeout=300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, str(path), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_a_trial_that_kills_its_driver_twice_is_failed_on_the_next_resume(tmp_path):
    script = tmp_path / "exits.py"
    script.write_text(textwrap.dedent(EXITS_ON_0))
    run = tmp_path / "run"
    for _ in range(MAX_DRIVER_DEATHS):  # the trial runs, and takes the driver with it
        assert run_script(script, run).returncode == 5
    done = run_script(script, run)
    assert done.returncode == 0, done.stderr[-2000:]
    trials = hp.load_study(run).trials
    assert [str(t.state) for t in trials] == ["failed", "complete", "complete"]
    assert trials[0].error == DRIVER_DIED_ERROR and "n_jobs >= 2" in trials[0].error


ASK = '''
import os, sys
import hpsearch as hp

study = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0, storage=sys.argv[1])
print(study.trials[0].state if study.trials else "new", study.ask().number, flush=True)
if sys.argv[2] == "dies":
    os._exit(9)  # the trial asked is left running, as by a driver killed with SIGKILL
study.interrupt_running()  # a clean stop (Ctrl-C, SIGTERM): not a death
'''


def test_one_driver_death_reruns_the_trial_and_a_clean_stop_counts_nothing(tmp_path):
    script = tmp_path / "ask.py"
    script.write_text(textwrap.dedent(ASK))
    run = tmp_path / "run"
    seen = [run_script(script, run, how).stdout.split() for how in ("dies", "stops", "dies")]
    assert seen == [["new", "0"], ["interrupted", "0"], ["interrupted", "0"]]
    con = sqlite3.connect(run / "study.db")  # as the last driver left it
    assert con.execute("SELECT state, driver_deaths FROM trials").fetchall() == [("running", 1)]
    con.close()
    study = hp.Study(SPACE, seed=0, storage=run)
    assert str(study.trials[0].state) == "failed" and study.trials[0].error == DRIVER_DIED_ERROR
    assert study.ask().number == 1


def test_a_run_folder_without_the_counter_column_opens_and_counts(tmp_path):
    script = tmp_path / "ask.py"
    script.write_text(textwrap.dedent(ASK))
    run = tmp_path / "run"
    run_script(script, run, "dies")
    con = sqlite3.connect(run / "study.db")
    with con:  # as an older hpsearch wrote it
        con.execute("ALTER TABLE trials DROP COLUMN driver_deaths")
    con.close()
    study = hp.Study(SPACE, seed=0, storage=run)
    assert str(study.trials[0].state) == "interrupted"
    con = sqlite3.connect(run / "study.db")
    assert con.execute("SELECT driver_deaths FROM trials").fetchall() == [(1,)]
    con.close()


# ----- SIGTERM on the command line
@pytest.mark.slow
def test_sigterm_is_handled_like_ctrl_c_and_exits_143(tmp_path, objective_file, python_study):
    study_file = python_study(tmp_path / "slow.toml", objective_file("sleepy"), n_trials=40,
                              n_jobs=2)
    run = tmp_path / "runs" / "slow"
    command = [sys.executable, "-c", "from hpsearch.cli import main; main()", "run",
               str(study_file)]
    env = dict(os.environ, HPSEARCH_TEST_SLEEP="0.4")
    proc = subprocess.Popen(command, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            time.sleep(0.1)
            try:
                trials = hp.load_study(run).trials
            except hp.StorageError:
                continue
            if sum(str(t.state) == "complete" for t in trials) >= 2 and any(
                    str(t.state) == "running" for t in trials):
                break
        os.kill(proc.pid, signal.SIGTERM)  # the driver only, as a service manager would
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143, stderr.decode()[-2000:]
    assert b"Traceback" not in stderr and b"terminated (SIGTERM)" in stderr
    states = [str(t.state) for t in hp.load_study(run).trials]
    assert "running" not in states and "interrupted" in states
    import pandas as pd

    assert list(pd.read_csv(run / "trials.csv")["state"]) == states


# ----- loky workers and a killed driver
ORPHANS = '''
import os, sys, time
import hpsearch as hp

def objective(params, trial):
    with open(os.path.join(sys.argv[1], str(os.getpid())), "w"):
        pass
    time.sleep(600)
    return params["x"]

study = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0)
study.optimize(objective, n_trials=4, n_jobs=2)
'''


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_loky_workers_exit_soon_after_their_driver_is_killed(tmp_path):
    script = tmp_path / "orphans.py"
    script.write_text(textwrap.dedent(ORPHANS))
    pids = tmp_path / "pids"
    pids.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script), str(pids)], env=env,
                            start_new_session=True, stderr=subprocess.PIPE)
    workers: list[int] = []
    try:
        for _ in range(1200):
            workers = [int(p.name) for p in pids.iterdir()]
            if len(workers) == 2 or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert len(workers) == 2, proc.stderr.read().decode()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)  # the driver only; its trials sleep for 10 minutes
        proc.wait()
        for _ in range(600):  # generous: 60 s, against the 600 s the trials would still run
            if not any(alive(pid) for pid in workers):
                break
            time.sleep(0.1)
        assert not any(alive(pid) for pid in workers), "loky workers outlived the driver"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_trial_submitted_to_a_pool_that_just_broke_runs_again():
    """A worker died a moment before the next submit (the pool is broken, its futures not yet):
    the new trial gets a broken future, which the loop treats as a worker death, not a crash."""
    from concurrent.futures.process import BrokenProcessPool

    from hpsearch.execution.local import LokyExecutor
    from hpsearch.execution.objective import objective_ref
    from hpsearch.execution.task import TrialTask

    class BrokenPool:
        def submit(self, *args, **kwargs):
            raise BrokenProcessPool("a worker died")

    executor = LokyExecutor(1)
    try:
        executor._pool = BrokenPool()
        task = TrialTask(0, {"x": 0.5}, 1, objective_ref(lambda params: params["x"]))
        future = executor.submit(task)
        assert future.done() and executor.is_worker_death(future.exception())
        assert executor.started([0]) == set()  # it never started: run again, not blamed
    finally:
        executor.shutdown()
