"""Durable studies in SqliteStorage: the run folder, resume after a crash, locks, mismatches,
tables, and what only this backend has (the lock between processes, read-only views). The
interface contract both backends pass is in test_contract.py."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import hpsearch as hp
from hpsearch.storage import SqliteStorage, StudyLock
from hpsearch.study.tables import read_table
from hpsearch.testing.storage import study_meta, trials_of_every_state

SPACE = {"x": hp.Float(0.0, 10.0), "k": hp.Categorical(["a", "b"])}


def test_run_folder_layout_and_schema(tmp_path, objective_file):
    run = tmp_path / "run"
    study = hp.Study({"x": hp.Float(0.0, 10.0)}, seed=0, storage=run)
    study.optimize(objective_file("with_artifacts"), n_trials=3)
    assert {"study.db", "study.lock", "trials.csv", "trials.parquet", "trials"} <= set(
        os.listdir(run))
    con = sqlite3.connect(run / "study.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    states = con.execute("SELECT number, state FROM trials ORDER BY number").fetchall()
    assert states == [(0, "complete"), (1, "complete"), (2, "complete")]
    con.close()
    with np.load(run / "trials" / "1" / "artifacts.npz", allow_pickle=False) as data:
        np.testing.assert_array_equal(data["weights"], study.artifacts(1)["weights"])
    assert (run / "trials" / "1" / "artifacts.json").exists()


def test_tables_round_trip(tmp_path):
    study = hp.Study(SPACE, seed=0, storage=tmp_path, max_consecutive_failures=None)
    study.optimize(lambda p: hp.Result(p["x"], metrics={"m": 1.0}) if p["k"] == "a"
                   else 1 / 0, n_trials=6)
    frame = study.results()
    for name in ("trials.csv", "trials.parquet"):
        back = read_table(str(tmp_path / name))
        pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert set(frame["state"]) <= {"complete", "failed"}


def test_reopen_resumes_and_n_trials_is_the_total(tmp_path):
    first = hp.Study(SPACE, seed=5, storage=tmp_path)
    first.optimize(lambda p: p["x"], n_trials=4)
    again = hp.Study(SPACE, storage=tmp_path)  # seed=None: the stored one
    assert again.seed == 5 and len(again.trials) == 4
    again.optimize(lambda p: p["x"], n_trials=6)
    assert len(again.trials) == 6
    fresh = hp.Study(SPACE, seed=5)
    fresh.optimize(lambda p: p["x"], n_trials=6)
    assert [t.params for t in fresh.trials] == [t.params for t in again.trials]


def test_grid_resume_skips_done_points(tmp_path):
    space = {"a": hp.Int(0, 3), "b": hp.Categorical(["u", "v"])}
    hp.Study(space, strategy="grid", seed=0, storage=tmp_path).optimize(
        lambda p: p["a"], n_trials=3)
    study = hp.Study(space, strategy="grid", storage=tmp_path)
    study.optimize(lambda p: p["a"], n_trials=100)
    params = [tuple(t.params.values()) for t in study.trials]
    assert len(params) == 8 and len(set(params)) == 8


def test_second_driver_is_refused_while_the_first_runs(tmp_path):
    errors = []

    def try_second_driver(study, trial):
        try:
            hp.Study(SPACE, storage=tmp_path)
        except hp.StudyLockedError as err:
            errors.append(str(err))

    hp.Study(SPACE, seed=0, storage=tmp_path).optimize(
        lambda p: p["x"], n_trials=2, callbacks=[try_second_driver])
    assert len(errors) == 2 and "another driver" in errors[0]
    hp.Study(SPACE, storage=tmp_path)  # free again once the first one is done


def test_mismatched_space_or_direction_is_refused(tmp_path):
    hp.Study(SPACE, seed=0, storage=tmp_path).optimize(lambda p: p["x"], n_trials=1)
    with pytest.raises(hp.StudyMismatchError, match="space"):
        hp.Study({"x": hp.Float(0.0, 5.0), "k": hp.Categorical(["a", "b"])}, storage=tmp_path)
    with pytest.raises(hp.StudyMismatchError, match="direction"):
        hp.Study(SPACE, direction="maximize", storage=tmp_path)
    with pytest.raises(hp.StudyMismatchError, match="seed"):
        hp.Study(SPACE, seed=1, storage=tmp_path)
    study = hp.Study({"y": hp.Float(0, 1)}, storage=tmp_path, overwrite=True)
    assert study.trials == []


def test_damaged_database_is_a_storage_error_and_left_alone(tmp_path):
    db = tmp_path / "study.db"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(hp.StorageError, match="study.db"):
        hp.Study(SPACE, storage=tmp_path)
    with pytest.raises(hp.StorageError, match="study.db"):
        hp.load_study(tmp_path)
    assert db.read_bytes() == b"this is not sqlite" * 100


def test_load_study_is_read_only(tmp_path):
    study = hp.Study(SPACE, seed=0, storage=tmp_path)
    study.optimize(lambda p: p["x"], n_trials=3)
    view = hp.load_study(tmp_path)
    assert view.best_value == study.best_value
    assert len(view.results()) == 3
    with pytest.raises(hp.StudyError, match="read-only"):
        view.optimize(lambda p: p["x"], n_trials=4)


DRIVER = """
import sys
import hpsearch as hp
study = hp.Study({{"x": hp.Float(0.0, 10.0)}}, seed=11, storage={run!r})
study.optimize({objective!r}, n_trials=12, n_jobs=2)
"""


@pytest.mark.slow
def test_study_killed_with_sigkill_resumes_and_finishes(tmp_path, objective_file):
    run = str(tmp_path / "run")
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER.format(run=run, objective=objective_file("sleepy"))))
    env = dict(os.environ, HPSEARCH_TEST_SLEEP="0.4")
    proc = subprocess.Popen([sys.executable, str(script)], env=env, start_new_session=True,
                            stderr=subprocess.PIPE)
    try:
        complete = []
        for _ in range(600):
            time.sleep(0.1)
            if os.path.exists(os.path.join(run, "study.db")):
                try:
                    view = hp.load_study(run)
                    complete = [t for t in view.trials if str(t.state) == "complete"]
                except hp.StorageError:
                    continue
                if len(complete) >= 3:
                    break
            assert proc.poll() is None, proc.stderr.read().decode()
        assert len(complete) >= 3
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    after_crash = hp.load_study(run)  # readable after a crash
    kept = {t.number: t.value for t in after_crash.trials if str(t.state) == "complete"}
    assert len(kept) >= 3
    study = hp.Study({"x": hp.Float(0.0, 10.0)}, storage=run)
    running_then = [t.number for t in after_crash.trials if str(t.state) == "running"]
    assert all(str(study.trials[n].state) == "interrupted" for n in running_then)
    study.optimize(objective_file("sleepy"), n_trials=12, n_jobs=2)
    trials = study.trials
    assert len(trials) == 12 and {str(t.state) for t in trials} == {"complete"}
    for number, value in kept.items():
        assert trials[number].value == value
    assert study.seed == 11


@pytest.mark.slow
def test_ctrl_c_marks_running_trials_interrupted_and_writes_tables(tmp_path, objective_file):
    run = str(tmp_path / "run")
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER.format(run=run, objective=objective_file("sleepy"))))
    env = dict(os.environ, HPSEARCH_TEST_SLEEP="0.5")
    proc = subprocess.Popen([sys.executable, str(script)], env=env, start_new_session=True,
                            stderr=subprocess.PIPE)
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
        os.kill(proc.pid, signal.SIGINT)  # the driver only, as Ctrl-C in its terminal would
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0 and b"KeyboardInterrupt" in stderr
    states = [str(t.state) for t in hp.load_study(run).trials]
    assert "running" not in states and "interrupted" in states
    table = read_table(os.path.join(run, "trials.csv"))
    assert list(table["state"]) == states


def test_random_params_of_trial_i_survive_an_interrupted_resume(tmp_path):
    def stop_at_2(params, trial):
        if trial.number == 2:
            raise KeyboardInterrupt
        return params["x"]

    with pytest.raises(KeyboardInterrupt):
        hp.Study(SPACE, strategy="random", seed=9, storage=tmp_path).optimize(stop_at_2,
                                                                              n_trials=5)
    resumed = hp.Study(SPACE, strategy="random", storage=tmp_path)
    assert str(resumed.trials[2].state) == "interrupted"
    resumed.optimize(lambda p: p["x"], n_trials=5)
    straight = hp.Study(SPACE, strategy="random", seed=9)
    straight.optimize(lambda p: p["x"], n_trials=5)
    assert [(t.params, t.seed) for t in resumed.trials] == [
        (t.params, t.seed) for t in straight.trials]


def test_lock_excludes_another_writer_until_the_outermost_exit(tmp_path):
    storage = SqliteStorage.open(tmp_path, study_meta())
    rival = StudyLock(str(tmp_path))
    with storage.lock():
        with storage.lock():
            pass
        with pytest.raises(hp.StudyLockedError, match="another driver"):
            rival.acquire()  # still held: only the inner level was left
        with pytest.raises(hp.StudyLockedError):
            SqliteStorage.open(tmp_path, study_meta())
    with pytest.raises(RuntimeError), storage.lock():
        raise RuntimeError("inside the lock")
    rival.acquire()  # free again, also after the exception
    rival.release()
    storage.close()


def test_read_only_view_refuses_writes_and_changes_nothing(tmp_path):
    storage = SqliteStorage.open(tmp_path, study_meta())
    running = trials_of_every_state()[0]
    storage.save_trial(running)
    view = SqliteStorage.open_readonly(tmp_path)
    assert view.readonly is True
    with pytest.raises(hp.StorageError, match="read-only"):
        view.save_trial(trials_of_every_state()[1], {"weights": np.ones(2)})
    assert view.load_trials() == [running]  # a reader leaves a running trial running
    assert not (tmp_path / "trials").exists()
    view.close()
    storage.close()
