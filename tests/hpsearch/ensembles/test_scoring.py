"""One scoring for the objective and the ensembles: R^2 on a constant target as scikit-learn's."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

import hpsearch as hp
from hpsearch.objectives.mlp import score
from hpsearch.studyfile.reader import load_study_file
from hpsearch.studyfile.runner import run

STUDY = """
[study]
name = "constant"
strategy = "random"
n_trials = 2
seed = 0
metric = "val_r2"
storage = "{storage}"

[objective]
kind = "mlp"
task = "regression"
dataset = "constant.csv"
target = "y"

[objective.fixed]
epochs = 3
hidden_size = 4

[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-2, log = true }}
"""


def test_score_follows_r2_score_on_constant_targets():
    rng = np.random.default_rng(0)
    constant = np.full(20, 3.0)
    varied = rng.normal(size=20)
    cases = [(constant, constant), (constant, constant + 1e-9), (constant, varied),
             (varied, varied + 0.1 * rng.normal(size=20)),
             (np.stack([constant, varied], axis=1), np.stack([constant + 0.5, varied], axis=1)),
             (np.stack([constant, varied], axis=1), np.stack([constant, varied + 1.0], axis=1))]
    for y, pred in cases:
        assert score("r2", "regression", y, pred) == pytest.approx(r2_score(y, pred), abs=1e-12)
    assert score("r2", "regression", constant, constant) == 1.0
    assert score("r2", "regression", constant, varied) == 0.0


def test_objective_and_ensemble_score_a_constant_target_alike(tmp_path):
    # Every target is 3.0: no trained network predicts it exactly, so R^2 is 0.0 everywhere
    # (the old ensemble formula divided by 1e-12 instead and gave about -1e13).
    X = np.random.default_rng(0).normal(size=(60, 2))
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": np.full(60, 3.0)}).to_csv(
        tmp_path / "constant.csv", index=False)
    (tmp_path / "study.toml").write_text(STUDY.format(storage=tmp_path / "runs"))
    spec = load_study_file(tmp_path / "study.toml")
    run(spec)
    with np.load(spec.run_dir / "data.npz", allow_pickle=False) as data:
        y_val, y_test = data["y"][data["val"]], data["y"][data["test"]]
    study = hp.load_study(spec.run_dir)
    for trial in study.trials:  # the objective's metrics
        stored = study.artifacts(trial.number)
        assert trial.metrics["val_r2"] == r2_score(y_val, stored["val_pred"]) == 0.0
        assert trial.metrics["test_r2"] == r2_score(y_test, stored["test_pred"])
    built = hp.build_ensemble(spec.run_dir, "predictions", top_k=2)  # the ensembles' scores
    assert built.metric == "r2"
    assert built.val_score == r2_score(y_val, built.val_output) == 0.0
    assert built.test_score == r2_score(y_test, built.test_output)
    assert built.best_val == study.best_trial.metrics["val_r2"]
    assert [row["val"] for row in built.rows] == [
        study.trials[row["trial"]].metrics["val_r2"] for row in built.rows]
