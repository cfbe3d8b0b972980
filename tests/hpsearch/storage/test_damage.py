"""Run folders that are gone, wrong or held: every case is one line and exit 2 through the
command line (`StorageError` or `StudyFileError` from Python), nothing in the folder changes,
and no trial ever writes over a trial folder the database does not own.

- names and places a run folder cannot have (NUL, over 255 bytes, under a file, /proc);
- a study.db zeroed in the middle;
- a deleted or 0-byte study.db beside an earlier study's trial folders;
- a deleted, emptied or damaged WAL after a driver died (the `study.open` marker);
- trial folders the database has no row for;
- the lock held from `Study(...)` to `close()` (a second writer, even with overwrite=True or
  `--fresh`, is refused; readers take no lock).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hpsearch as hp
from hpsearch.cli import app
from hpsearch.storage.folder import OPEN_MARKER

SPACE = {"x": hp.Float(0.0, 1.0)}


def one_line(result, *expected: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpsearch: error: "), result.stderr
    assert "Traceback" not in result.output
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def digest(folder: Path, skip=("study.db-shm", "study.db-wal", "study.lock")) -> dict:
    """Every file's hash (SQLite's own side files, which readers may create empty, aside)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in skip}


@pytest.fixture
def study_file(tmp_path, python_study, objective_file):
    def write(name="damaged", **keys):
        return python_study(tmp_path / "study.toml", objective_file("with_artifacts"),
                            name=name, **{"n_trials": 4, **keys})
    return write


# ----------------------------------------------------------------------------- names, places
@pytest.mark.parametrize("keys, expected", [
    ({"name": "a\0b"}, "[study].name"),
    ({"name": "tab\there"}, "[study].name"),
    ({"name": "n" * 300}, "255 bytes"),
    ({"storage": "/proc"}, "/proc"),
    ({"storage": "runs\0x"}, "[study].storage"),
])
def test_names_and_places_a_run_folder_cannot_have_are_one_line(tmp_path, study_file, keys,
                                                                 expected):
    path = study_file(**{k: v for k, v in keys.items() if k == "name"})
    if "storage" in keys:  # rewrite the storage line with the bad value
        text = path.read_text().splitlines()
        path.write_text("\n".join(f"storage = {json.dumps(keys['storage'])}"
                                  if line.startswith("storage") else line for line in text))
    for command in ("validate", "run"):
        one_line(CliRunner().invoke(app, [command, str(path)]), expected)
    assert not (tmp_path / "runs").exists()


def test_storage_under_a_file_is_one_line_and_the_file_is_untouched(tmp_path, study_file):
    (tmp_path / "afile").write_text("mine")
    path = study_file(storage=str(tmp_path / "afile" / "sub"))
    for command in ("validate", "run"):
        one_line(CliRunner().invoke(app, [command, str(path)]), "afile is a file")
    assert (tmp_path / "afile").read_text() == "mine"


@pytest.mark.parametrize("storage", ["a\0b", "{tmp}/afile/run", "/proc/run",
                                     "{tmp}/" + "n" * 300])
def test_storage_the_api_cannot_make_is_a_storage_error(tmp_path, storage):
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(hp.StorageError, match="storage"):
        hp.Study(SPACE, storage=storage.format(tmp=tmp_path))
    assert (tmp_path / "afile").read_text() == "mine"


# ----------------------------------------------------------------------------- a zeroed study.db
@pytest.mark.parametrize("page", ["second", "last"])
def test_study_db_zeroed_in_the_middle_is_one_line_for_every_command(tmp_path, study_file,
                                                                      page):
    path = study_file(n_trials=30)
    assert CliRunner().invoke(app, ["run", str(path)]).exit_code == 0
    run = tmp_path / "runs" / "damaged"
    db = run / "study.db"
    raw = bytearray(db.read_bytes())
    assert len(raw) >= 3 * 4096
    start = 4096 if page == "second" else len(raw) - 4096
    raw[start:start + 4096] = bytes(4096)
    db.write_bytes(bytes(raw))
    before = digest(run)
    for command in (["validate", str(path)], ["run", str(path)], ["results", str(run)]):
        one_line(CliRunner().invoke(app, command), "study.db")
    assert digest(run) == before
    with pytest.raises(hp.StorageError, match="study.db is damaged"):
        hp.Study(SPACE, storage=run)


# ----------------------------------------------------------------------------- study.db gone
@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_lost_study_db_beside_trial_folders_is_refused_and_they_are_kept(
        tmp_path, study_file, how):
    path = study_file()
    assert CliRunner().invoke(app, ["run", str(path)]).exit_code == 0
    run = tmp_path / "runs" / "damaged"
    assert sorted(p.name for p in (run / "trials").iterdir()) == ["0", "1", "2", "3"]
    if how == "deleted":
        (run / "study.db").unlink()
    else:
        (run / "study.db").write_bytes(b"")
    before = digest(run)
    for command in ("validate", "run"):
        one_line(CliRunner().invoke(app, [command, str(path)]),
                 "study.db is missing or empty", "trials/0", "--fresh")
    with pytest.raises(hp.StorageError, match="earlier study left"):
        hp.Study(SPACE, storage=run)
    assert digest(run) == before
    result = CliRunner().invoke(app, ["run", str(path), "--fresh"])
    assert result.exit_code == 0, result.output


# ----------------------------------------------------------------------------- the WAL
DRIVER = """
import os, sys
import numpy as np
import hpsearch as hp

def objective(params, trial):
    if trial.number == int(sys.argv[2]):
        os._exit(9)  # the driver dies (n_jobs = 1): the WAL holds what it committed
    return hp.Result(params["x"], artifacts={"w": np.full(3, params["x"])})

study = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0, storage=sys.argv[1])
study.optimize(objective, n_trials=int(sys.argv[3]))
"""


def run_driver(tmp_path, run: Path, die_at: int, n_trials: int = 12):
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(DRIVER))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, str(script), str(run), str(die_at), str(n_trials)],
                          capture_output=True, text=True, timeout=300, env=env)


def test_a_driver_that_dies_leaves_the_marker_and_a_clean_close_removes_it(tmp_path):
    run = tmp_path / "run"
    assert run_driver(tmp_path, run, die_at=5).returncode == 9
    assert (run / OPEN_MARKER).exists() and (run / "study.db-wal").stat().st_size > 0
    with hp.Study(SPACE, storage=run) as study:  # the WAL is there: a normal resume
        assert [str(t.state) for t in study.trials][:5] == ["complete"] * 5
        assert (run / OPEN_MARKER).exists()
    assert not (run / OPEN_MARKER).exists() and not (run / "study.db-wal").exists()
    assert run_driver(tmp_path, run, die_at=-1, n_trials=6).returncode == 0
    assert not (run / OPEN_MARKER).exists()


@pytest.mark.parametrize("damage", ["deleted", "emptied", "zeroed in the middle",
                                    "header damaged"])
def test_a_lost_or_damaged_wal_after_a_crash_is_refused(tmp_path, damage):
    run = tmp_path / "run"
    assert run_driver(tmp_path, run, die_at=-1, n_trials=3).returncode == 0  # in study.db
    assert run_driver(tmp_path, run, die_at=8).returncode == 9  # trials 3..7 in the WAL
    wal = run / "study.db-wal"
    raw = bytearray(wal.read_bytes())
    if damage == "deleted":
        wal.unlink()
    elif damage == "emptied":
        wal.write_bytes(b"")
    elif damage == "zeroed in the middle":
        middle = len(raw) // 2
        raw[middle:middle + 8192] = bytes(8192)
        wal.write_bytes(bytes(raw))
    else:
        raw[8:12] = b"\xff\xff\xff\xff"  # the page size: the header checksum no longer holds
        wal.write_bytes(bytes(raw))
    before = digest(run)
    with pytest.raises(hp.StorageError, match="write-ahead log study.db-wal is "
                                              "(missing or empty|damaged)"):
        hp.Study(SPACE, storage=run)
    assert digest(run) == before
    assert len(hp.load_study(run).trials) >= 3  # readers still read what is there


def test_a_wal_lost_before_any_checkpoint_is_named_not_taken_for_a_new_study(tmp_path):
    run = tmp_path / "run"
    assert run_driver(tmp_path, run, die_at=4).returncode == 9  # everything in the WAL
    (run / "study.db-wal").unlink()
    with pytest.raises(hp.StorageError, match="write-ahead log study.db-wal is missing"):
        hp.Study(SPACE, storage=run)


def test_a_checkpoint_by_another_sqlite_tool_is_not_a_lost_wal(tmp_path):
    run = tmp_path / "run"
    assert run_driver(tmp_path, run, die_at=5).returncode == 9
    con = sqlite3.connect(run / "study.db")  # the sqlite3 shell, say: it checkpoints on close
    assert con.execute("SELECT count(*) FROM trials").fetchone()[0] == 6
    con.close()
    assert not (run / "study.db-wal").exists()
    with hp.Study(SPACE, storage=run) as study:
        assert len(study.trials) == 6


def test_after_a_lost_wal_the_unknown_trial_folders_are_refused_until_moved(tmp_path):
    run = tmp_path / "run"
    assert run_driver(tmp_path, run, die_at=-1, n_trials=3).returncode == 0  # checkpointed
    assert run_driver(tmp_path, run, die_at=8, n_trials=12).returncode == 9
    (run / "study.db-wal").unlink()  # trials 3..7 were only in the log
    message = str(pytest.raises(hp.StorageError, hp.Study, SPACE, storage=run).value)
    assert f"delete {run / OPEN_MARKER}" in message
    (run / OPEN_MARKER).unlink()  # as the message says: go on with what the database has
    before = digest(run)
    with pytest.raises(hp.StorageError, match=r"trials/3, trials/4, .* belong to no trial"):
        hp.Study(SPACE, storage=run)
    assert digest(run) == before  # trial 3's folder was not written over
    con = sqlite3.connect(f"file:{run / 'study.db'}?mode=ro", uri=True)
    con_rows = [n for (n,) in con.execute("SELECT number FROM trials ORDER BY number")]
    con.close()
    assert con_rows == [0, 1, 2]
    aside = tmp_path / "aside"
    aside.mkdir()
    for number in range(3, 8):
        shutil.move(run / "trials" / str(number), aside / str(number))
    with hp.Study(SPACE, storage=run) as study:
        study.optimize(lambda p: p["x"], n_trials=5)
        assert [t.number for t in study.trials] == [0, 1, 2, 3, 4]


def test_trial_folders_the_database_does_not_know_stop_the_cli(tmp_path, study_file):
    path = study_file()
    assert CliRunner().invoke(app, ["run", str(path)]).exit_code == 0
    run = tmp_path / "runs" / "damaged"
    shutil.copytree(run / "trials" / "3", run / "trials" / "9")
    before = digest(run)
    for command in (["validate", str(path)], ["run", str(path), "--n-trials", "12"]):
        one_line(CliRunner().invoke(app, command), "trials/9 belong to no trial")
    assert digest(run) == before


# ----------------------------------------------------------------------------- the lock lifetime
def test_the_lock_is_held_from_opening_to_closing(tmp_path):
    run = tmp_path / "run"
    first = hp.Study(SPACE, seed=0, storage=run)
    first.optimize(lambda p: p["x"], n_trials=2)
    trial = first.ask()  # the first study is about to write into the folder
    with pytest.raises(hp.StudyLockedError):
        hp.Study(SPACE, storage=run, overwrite=True)
    assert (run / "study.db").exists()
    first.tell(trial, 0.5)
    assert [t.number for t in hp.load_study(run).trials] == [0, 1, 2]  # readers: no lock
    first.close()
    with hp.Study(SPACE, storage=run, overwrite=True) as again:
        assert again.trials == []
    with pytest.raises(hp.StudyError, match="closed"):
        first.ask()


def test_an_idle_study_in_this_process_yields_its_folder(tmp_path):
    run = tmp_path / "run"
    first = hp.Study(SPACE, seed=0, storage=run)
    first.optimize(lambda p: p["x"], n_trials=2)
    second = hp.Study(SPACE, storage=run)  # a notebook cell run again
    assert first.closed and len(second.trials) == 2
    with pytest.raises(hp.StudyError, match="another Study opened its run folder"):
        first.optimize(lambda p: p["x"], n_trials=3)
    second.optimize(lambda p: p["x"], n_trials=3)
    assert len(first.trials) == 2 and len(second.trials) == 3  # the closed one: from memory


HOLDER = """
import sys, time
import hpsearch as hp

study = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0, storage=sys.argv[1])
study.optimize(lambda p: p["x"], n_trials=2)
print("holding", flush=True)
time.sleep(120)
"""


def test_fresh_is_refused_while_another_process_holds_the_study(tmp_path, study_file):
    path = study_file()
    run = tmp_path / "runs" / "damaged"
    script = tmp_path / "holder.py"
    script.write_text(textwrap.dedent(HOLDER))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen([sys.executable, str(script), str(run)], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"  # idle, but alive
        before = digest(run)
        one_line(CliRunner().invoke(app, ["run", str(path), "--fresh"]), "another driver")
        with pytest.raises(hp.StudyLockedError):
            hp.Study(SPACE, storage=run, overwrite=True)
        assert digest(run) == before
        assert len(hp.load_study(run).trials) == 2
        (run / "trials" / "7").mkdir(parents=True)  # a live driver, just before committing 7
        assert CliRunner().invoke(app, ["validate", str(path)]).exit_code == 0
    finally:
        holder.kill()
        holder.wait()
