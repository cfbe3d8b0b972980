"""The network objective reads its split once per process, keyed by the data's fingerprint, not
by the path alone: a spiral study and then a digits study started afresh in the same folder, in
one process, train the digits trials on digits (issue 31: they trained on the cached spiral
arrays), and an objective whose split the file no longer holds gets a clear StorageError."""

from __future__ import annotations

import pytest

from hpsearch.exceptions import StorageError
from hpsearch.objectives import mlp
from hpsearch.studyfile import runner
from hpsearch.studyfile.reader import load_study_file

STUDY = """
[study]
name = "same_folder"
strategy = "random"
n_trials = 2
storage = "{storage}"
[objective]
dataset = "{dataset}"
[objective.fixed]
epochs = 2
batch_size = 64
hidden_size = 12
num_layers = 1
[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-1, log = true }}
"""
HIDDEN = 12
SHAPES = {"spiral": (2, 3), "digits": (64, 10)}  # (features, classes)


def spec(tmp_path, dataset: str):
    path = tmp_path / f"{dataset}.toml"
    path.write_text(STUDY.format(storage=tmp_path / "runs", dataset=dataset))
    return load_study_file(path)


def n_params(dataset: str) -> float:
    features, classes = SHAPES[dataset]
    return float((features + 1) * HIDDEN + (HIDDEN + 1) * classes)


def test_a_fresh_study_in_the_same_folder_trains_on_its_own_data(tmp_path):
    for dataset in ("spiral", "digits", "spiral"):
        study = runner.run(spec(tmp_path, dataset), fresh=True)
        assert [t.metrics["n_params"] for t in study.trials] == [n_params(dataset)] * 2


def test_an_objective_built_for_other_data_is_refused(tmp_path):
    spiral = mlp.prepare(spec(tmp_path, "spiral"), tmp_path / "run")
    assert mlp.load_split(spiral.data_file, spiral.data_fingerprint)["train_X"].shape[1] == 2
    (tmp_path / "run" / mlp.DATA_FILE).unlink()  # what --fresh does
    digits = mlp.prepare(spec(tmp_path, "digits"), tmp_path / "run")
    assert digits.data_file == spiral.data_file
    assert mlp.load_split(digits.data_file, digits.data_fingerprint)["train_X"].shape[1] == 64
    with pytest.raises(StorageError, match="holds other data than this study's objective"):
        mlp.load_split(spiral.data_file, spiral.data_fingerprint)
