"""Item 6 of issue 20: one Parquet schema for every run of a study, whatever happened in it,
UTC timestamps, and lossless JSON records."""

from __future__ import annotations

import json

import pyarrow.dataset as ds
import pyarrow.parquet as pq

import hpsearch as hp
from hpsearch.study.columns import json_records
from hpsearch.study.tables import read_table

SPACE = {"x": hp.Float(0.0, 1.0), "n": hp.Int(1, 4), "kind": hp.Categorical(["a", "b"]),
         "flag": hp.Categorical([True, False]), "depth": hp.Int(1, 3, when={"kind": ["a"]})}


def objective(fail: bool):
    def run(params):
        if fail and params["n"] % 2:
            raise ValueError("odd n")
        return hp.Result(params["x"], metrics={"m": 2 * params["x"]})
    return run


def test_parquet_schema_is_the_same_with_and_without_failures(tmp_path):
    clean = hp.Study(SPACE, seed=0, storage=tmp_path / "clean")
    clean.optimize(objective(False), n_trials=8)
    flaky = hp.Study(SPACE, seed=0, storage=tmp_path / "flaky", max_consecutive_failures=None)
    flaky.optimize(objective(True), n_trials=8)
    assert {t.state for t in flaky.trials} == {hp.TrialState.COMPLETE, hp.TrialState.FAILED}
    assert clean.results()["error"].isna().all()
    paths = [str(tmp_path / name / "trials.parquet") for name in ("clean", "flaky")]
    first, second = (pq.read_schema(p).remove_metadata() for p in paths)
    assert first.equals(second), (first, second)
    assert str(first.field("error").type) == "string"
    assert str(first.field("started_at").type) == "timestamp[us, tz=UTC]"
    assert str(first.field("params_depth").type) == "int64"  # inactive in some rows: nullable
    assert str(first.field("params_flag").type) == "bool"
    assert ds.dataset(paths, format="parquet").to_table().num_rows == 16  # scans as one table


def test_timestamps_are_utc_and_read_back_from_csv_and_parquet(tmp_path):
    study = hp.Study(SPACE, seed=1, storage=tmp_path / "t")
    study.optimize(objective(False), n_trials=3)
    frame = study.results()
    assert str(frame["finished_at"].dtype) == "datetime64[us, UTC]"
    trial = study.trials[0]
    assert abs(frame["started_at"][0].timestamp() - trial.started_at) < 1e-5
    assert "+00:00" in (tmp_path / "t" / "trials.csv").read_text().splitlines()[1]
    for name in ("trials.csv", "trials.parquet"):
        back = read_table(str(tmp_path / "t" / name))
        assert (back["finished_at"] == frame["finished_at"]).all()


def test_json_records_are_lossless_and_plain():
    study = hp.Study(SPACE, seed=2)
    study.optimize(lambda p: p["x"] / 3.0, n_trials=4)
    frame = study.results()
    records = json.loads(json.dumps(json_records(frame), allow_nan=False))
    assert [r["value"] for r in records] == [t.value for t in study.trials]
    assert all(r["error"] is None for r in records)
