"""Reading trials back: a row whose stored data does not decode is reported as a damaged
database naming the trial, with the decoding error as its cause; an error in hpsearch's own
reading code is not disguised as damage (it propagates as itself)."""

from __future__ import annotations

import json
import sqlite3

import pytest

import hpsearch as hp
from hpsearch.storage import rows
from hpsearch.storage.sqlite import SqliteStorage


@pytest.fixture
def run_dir(tmp_path):
    run_dir = tmp_path / "run"
    study = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0, storage=run_dir)
    study.optimize(lambda p: p["x"], n_trials=3)
    study.close()
    return run_dir


def damage(run_dir, column: str, text: str, number: int = 1) -> None:
    with sqlite3.connect(run_dir / "study.db") as con:
        con.execute(f"UPDATE trials SET {column} = ? WHERE number = ?", (text, number))
    con.close()


@pytest.mark.parametrize(("column", "text", "cause"), [
    ("params", "{not json", json.JSONDecodeError),
    ("params", "[1, 2]", ValueError),
    ("intermediate", '{"one": 0.5}', ValueError),
    ("state", "exploded", ValueError),
])
def test_undecodable_stored_data_is_damage_naming_the_trial(run_dir, column, text, cause):
    damage(run_dir, column, text)
    storage = SqliteStorage.open_readonly(run_dir)
    with pytest.raises(hp.StorageError, match=r"study\.db: trial 1 cannot be read .*; the "
                                              r"database is damaged") as caught:
        storage.load_trials()
    assert isinstance(caught.value.__cause__, cause)


def test_a_bug_in_the_reading_code_is_not_called_damage(run_dir, monkeypatch):
    def broken_trial(**fields):
        raise TypeError("FrozenTrial() got an unexpected keyword argument")  # a planted bug

    monkeypatch.setattr(rows, "FrozenTrial", broken_trial)
    storage = SqliteStorage.open_readonly(run_dir)
    with pytest.raises(TypeError, match="unexpected keyword") as caught:
        storage.load_trials()
    assert not isinstance(caught.value, hp.StorageError)
