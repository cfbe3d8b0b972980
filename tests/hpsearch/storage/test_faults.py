"""Faults: per-trial timeout and memory cap, damaged run folders, failing writes, Ctrl-C."""

from __future__ import annotations

import errno
import hashlib
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import hpsearch as hp
from hpsearch.cli import app
from hpsearch.storage import sqlite as storage_module
from hpsearch.study.seeds import trial_seed

SPACE = {"x": hp.Float(0.0, 10.0)}

OBJECTIVES = '''
import os
import resource
import time

import numpy as np

import hpsearch as hp


def sleeps_on_1(params, trial):
    time.sleep(60 if trial.number == 1 else 0.1)
    return params["x"]


def big_on_odd(params, trial):
    size = 1024**3 if trial.number % 2 else 50 * 1024**2  # 1 GB or 50 MB
    block = np.ones(size // 8)
    return float(block[0]) + params["x"]


def soft_address_limit(params):
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return float(soft)


def with_artifacts(params, trial):
    return hp.Result(params["x"], artifacts={"w": trial.rng.normal(size=(4, 3))})


def slow(params, trial):
    time.sleep(float(os.environ.get("HPSEARCH_TEST_SLEEP", "0.4")))
    return params["x"] ** 2
'''


@pytest.fixture(scope="module")
def objective(tmp_path_factory):
    path = tmp_path_factory.mktemp("fault_objectives") / "objectives.py"
    path.write_text(textwrap.dedent(OBJECTIVES))
    return lambda name: f"{path}:{name}"


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "study.lock"}


# ----- per-trial timeout and memory cap (local)
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_trial_past_its_timeout_fails_and_the_others_keep_their_params(objective, n_jobs):
    study = hp.Study(SPACE, seed=4)
    # the trials after the stop wait for a fresh pool: that wait does not count (issue 31:
    # it did, and they timed out on a loaded machine)
    study.optimize(objective("sleeps_on_1"), n_trials=5, n_jobs=n_jobs, trial_timeout=1.5)
    states = {t.number: str(t.state) for t in study.trials}
    assert states == {n: "failed" if n == 1 else "complete" for n in range(5)}
    assert study.trials[1].error.startswith("timed out after 1.5 s")
    plain = hp.Study(SPACE, seed=4)
    plain.optimize(lambda p: p["x"], n_trials=5)
    assert [t.params for t in study.trials] == [t.params for t in plain.trials]
    assert [t.seed for t in study.trials] == [trial_seed(4, n) for n in range(5)]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_memory_cap_fails_the_trial_that_allocates_too_much(objective, n_jobs):
    study = hp.Study(SPACE, seed=0, max_consecutive_failures=None)
    study.optimize(objective("big_on_odd"), n_trials=4, n_jobs=n_jobs, max_memory_mb=300)
    for trial in study.trials:
        if trial.number % 2:
            assert str(trial.state) == "failed"
            assert trial.error.startswith("exceeded the memory cap of 300 MB")
        else:
            assert str(trial.state) == "complete"


def test_memory_cap_is_restored_after_each_trial(objective):
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)  # RLIM_INFINITY (-1) when unlimited
    capped = hp.Study(SPACE, seed=0)
    capped.optimize(objective("soft_address_limit"), n_trials=2, n_jobs=2, max_memory_mb=300)
    assert all(t.value > 300 * 2**20 and t.value != soft for t in capped.trials)
    free = hp.Study(SPACE, seed=0)  # the same reusable loky workers
    free.optimize(objective("soft_address_limit"), n_trials=4, n_jobs=2)
    assert {t.value for t in free.trials} == {float(soft)}


def test_bad_limits_are_study_errors():
    with pytest.raises(hp.StudyError, match="trial_timeout"):
        hp.Study(SPACE).optimize(lambda p: 0.0, n_trials=1, trial_timeout=0)
    with pytest.raises(hp.StudyError, match="max_memory_mb"):
        hp.Study(SPACE).optimize(lambda p: 0.0, n_trials=1, max_memory_mb=2.5)
    with pytest.raises(hp.StudyError, match="backend"):
        hp.Study(SPACE).optimize(lambda p: 0.0, n_trials=1, backend="spark")
    with pytest.raises(hp.StudyError, match="scheduler"):
        hp.Study(SPACE).optimize(lambda p: 0.0, n_trials=1, backend="dask")


# ----- damaged run folders
def test_garbage_database_is_a_storage_error_and_nothing_is_overwritten(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "study.db").write_bytes(np.random.default_rng(0).bytes(8192))
    (run / "trials.csv").write_text("number,state\n0,complete\n")
    before = digest(run)
    with pytest.raises(hp.StorageError, match="study.db"):
        hp.Study(SPACE, storage=run)
    with pytest.raises(hp.StorageError, match="study.db"):
        hp.load_study(run)
    assert digest(run) == before


def test_garbage_database_through_the_cli_exits_2_with_one_line(tmp_path, objective,
                                                                 python_study):
    run = tmp_path / "runs" / "broken"
    run.mkdir(parents=True)
    (run / "study.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    study_file = python_study(tmp_path / "broken.toml", objective("slow"), n_trials=2)
    before = digest(run)
    result = CliRunner().invoke(app, ["run", str(study_file)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "study.db" in lines[0] and "Traceback" not in result.output
    assert digest(run) == before


def test_truncated_artifacts_are_a_storage_error_naming_the_file(tmp_path, objective):
    run = tmp_path / "run"
    study = hp.Study(SPACE, seed=0, storage=run)
    study.optimize(objective("with_artifacts"), n_trials=3)
    npz = run / "trials" / "1" / "artifacts.npz"
    npz.write_bytes(npz.read_bytes()[:100])
    before = digest(run / "trials")
    with pytest.raises(hp.StorageError, match=r"trials/1/artifacts\.npz"):
        study.artifacts(1)
    again = hp.Study(SPACE, storage=run)
    again.optimize(objective("with_artifacts"), n_trials=4)
    assert {k: v for k, v in digest(run / "trials").items() if not k.startswith("3/")} == before
    assert set(again.artifacts(0)) == {"w"}


# ----- failing writes (disk full, read-only): injected at the storage write layer
class FailingConnection:
    """A sqlite3 connection whose trial writes fail after `budget` of them."""

    def __init__(self, con: sqlite3.Connection, budget: int, message: str) -> None:
        self._con, self.budget, self.message = con, budget, message

    def execute(self, sql: str, *args):
        if sql.startswith(("INSERT OR REPLACE INTO trials", "INSERT INTO trials")):
            if self.budget <= 0:
                raise sqlite3.OperationalError(self.message)
            self.budget -= 1
        return self._con.execute(sql, *args)

    def __enter__(self):
        return self._con.__enter__()

    def __exit__(self, *exc):
        return self._con.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self._con, name)


def failing_connect(monkeypatch, budget: int, message: str) -> None:
    real = sqlite3.connect
    monkeypatch.setattr(storage_module.sqlite3, "connect",
                        lambda *a, **k: FailingConnection(real(*a, **k), budget, message))


def committed(run: Path) -> dict[int, tuple[str, float | None]]:
    con = sqlite3.connect(run / "study.db")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {n: (s, v) for n, s, v in con.execute("SELECT number, state, value FROM trials")}
    finally:
        con.close()


@pytest.mark.parametrize("message", ["database or disk is full",
                                     "attempt to write a readonly database"])
def test_database_write_fault_is_a_storage_error_and_keeps_finished_trials(
        tmp_path, monkeypatch, message):
    run = tmp_path / "run"
    first = hp.Study(SPACE, seed=0, storage=run)
    first.optimize(lambda p: p["x"], n_trials=3)
    kept = committed(run)
    failing_connect(monkeypatch, budget=5, message=message)  # 2 more trials, then the disk
    study = hp.Study(SPACE, storage=run)
    with pytest.raises(hp.StorageError, match=f"study.db.*{message}"):
        study.optimize(lambda p: p["x"], n_trials=10)
    monkeypatch.undo()
    after = committed(run)
    assert {n: after[n] for n in kept} == kept
    assert sum(state == "complete" for state, _ in after.values()) == 5
    study.close()  # the driver that met the fault lets go of the folder
    resumed = hp.Study(SPACE, storage=run)
    resumed.optimize(lambda p: p["x"], n_trials=10)
    assert [str(t.state) for t in resumed.trials] == ["complete"] * 10


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_artifact_write_fault_is_a_storage_error(tmp_path, monkeypatch, objective, code):
    run = tmp_path / "run"
    study = hp.Study(SPACE, seed=0, storage=run)
    study.optimize(objective("with_artifacts"), n_trials=2)

    def no_space(path, arrays):
        Path(path).write_bytes(b"partial")
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(storage_module, "write_artifacts", no_space)
    with pytest.raises(hp.StorageError, match=r"trials/2/artifacts\.npz"):
        study.optimize(objective("with_artifacts"), n_trials=4)
    monkeypatch.undo()
    assert not (run / "trials" / "2" / "artifacts.tmp.npz").exists()
    after = committed(run)
    assert after[0][0] == after[1][0] == "complete" and after[2][0] == "interrupted"
    assert set(study.artifacts(1)) == {"w"}


def test_write_fault_through_the_cli_exits_2_with_one_line(tmp_path, monkeypatch, objective,
                                                             python_study):
    study_file = tmp_path / "study.toml"
    python_study(study_file, objective("with_artifacts"), name="full", n_trials=6)
    failing_connect(monkeypatch, budget=6, message="database or disk is full")
    result = CliRunner().invoke(app, ["run", str(study_file)])
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("hpsearch: error: ") and "disk is full" in lines[-1]
    assert "Traceback" not in result.output
    after = committed(tmp_path / "runs" / "full")
    assert [after[n][0] for n in range(3)] == ["complete"] * 3  # 6 writes = 3 trials


# ----- Ctrl-C on the command line
@pytest.mark.slow
def test_ctrl_c_exits_130_and_writes_the_tables(tmp_path, objective, python_study):
    study_file = tmp_path / "slow.toml"
    run = tmp_path / "runs" / "slow"
    python_study(study_file, objective("slow"), n_trials=40, n_jobs=2)
    command = [sys.executable, "-c", "from hpsearch.cli import main; main()", "run",
               str(study_file)]
    env = dict(os.environ, HPSEARCH_TEST_SLEEP="0.4")
    proc = subprocess.Popen(command, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        complete: set[int] = set()
        for _ in range(600):
            time.sleep(0.1)
            try:
                complete = {t.number for t in hp.load_study(run).trials
                            if str(t.state) == "complete"}
            except hp.StorageError:
                continue
            if len(complete) >= 3:
                break
        assert len(complete) >= 3, proc.stderr.read().decode() if proc.poll() else ""
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, stderr.decode()[-2000:]
    assert b"Traceback" not in stderr
    table = (run / "trials.csv").read_text().splitlines()
    import pandas as pd

    frame = pd.read_csv(run / "trials.csv")
    assert len(table) == len(frame) + 1
    assert complete <= set(frame.loc[frame["state"] == "complete", "number"])
    assert "running" not in set(frame["state"])
