"""Artifact names: any storable name round-trips, and one that cannot be stored fails its trial
with a clear error (the driver goes on, nothing is written for it)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.storage.artifacts import MAX_NAME_CHARS, artifact_problem

# np.savez's own keywords, a name that looks like a member, non-ASCII, the longest allowed
AWKWARD = ["file", "allow_pickle", "args", "kwds", "x.npy", "x", "ünïcode ☃", "a b.c",
           "n" * MAX_NAME_CHARS, "..", "-"]


def test_any_storable_name_round_trips(tmp_path):
    arrays = {name: np.arange(k + 1, dtype=float) * (k + 1) for k, name in enumerate(AWKWARD)}
    arrays["text"] = np.array(["a", "bc"])

    def objective(params):
        return hp.Result(params["x"], artifacts=arrays)

    study = hp.Study({"x": hp.Float(0, 1)}, seed=0, storage=tmp_path / "run")
    study.optimize(objective, n_trials=1)
    assert str(study.trials[0].state) == "complete", study.trials[0].error
    for loaded in (study.artifacts(0), hp.load_study(tmp_path / "run").artifacts(0)):
        assert sorted(loaded) == sorted(arrays)
        for name, array in arrays.items():
            np.testing.assert_array_equal(loaded[name], array)
            assert loaded[name].dtype == array.dtype


BAD = {"with/slash": "'/'", "back\\slash": "'\\'", "nul\0": "NUL", "": "1 to 200",
       "n" * (MAX_NAME_CHARS + 1): "1 to 200", 7: "must be strings", ("a",): "must be strings",
       "\ud800": "UTF-8"}


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_name_that_cannot_be_stored_fails_its_trial_and_the_study_goes_on(tmp_path,
                                                                            n_jobs):
    names = list(BAD)

    def objective(params, trial):
        name = names[trial.number % (len(names) + 1)] if trial.number < len(names) else "ok"
        return hp.Result(params["x"], artifacts={name: np.ones(2)})

    study = hp.Study({"x": hp.Float(0, 1)}, seed=0, storage=tmp_path / "run",
                     max_consecutive_failures=None)
    study.optimize(objective, n_trials=len(names) + 1, n_jobs=n_jobs)
    trials = study.trials
    for trial, (name, expected) in zip(trials, BAD.items(), strict=False):
        assert str(trial.state) == "failed", name
        assert trial.error.startswith("ObjectiveError: ") and expected in trial.error, \
            (name, trial.error)
        assert not os.path.exists(tmp_path / "run" / "trials" / str(trial.number))
    assert str(trials[-1].state) == "complete" and list(study.artifacts(trials[-1].number)) \
        == ["ok"]


def test_object_arrays_inside_a_structured_dtype_are_refused():
    mixed = np.array([(1, None)], dtype=[("a", int), ("b", object)])
    assert "holds Python objects" in artifact_problem("m", mixed)
    assert artifact_problem("m", np.zeros(3)) is None


def test_tell_refuses_an_unstorable_name_before_writing(tmp_path):
    study = hp.Study({"x": hp.Float(0, 1)}, seed=0, storage=tmp_path / "run")
    trial = study.ask()
    with pytest.raises(hp.StorageError, match="contains '/'"):
        study.tell(trial, hp.Result(0.5, artifacts={"../escape": np.ones(1)}))
    assert not os.path.exists(tmp_path / "run" / "trials")
    study.tell(trial, hp.Result(0.5, artifacts={"fine": np.ones(1)}))
    assert list(study.artifacts(trial.number)) == ["fine"]


def test_files_written_by_np_savez_still_read(tmp_path):
    study = hp.Study({"x": hp.Float(0, 1)}, seed=0, storage=tmp_path / "run")
    study.optimize(lambda p: hp.Result(p["x"], artifacts={"w": np.ones(1)}), n_trials=1)
    path = tmp_path / "run" / "trials" / "0" / "artifacts.npz"
    np.savez(path, w=np.arange(3.0), b=np.array([True]))
    loaded = study.artifacts(0)
    assert sorted(loaded) == ["b", "w"] and loaded["w"].tolist() == [0.0, 1.0, 2.0]
