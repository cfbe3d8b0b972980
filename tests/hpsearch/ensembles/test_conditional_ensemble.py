"""Ensembles of a conditional network study: members of different depths and optimizers
average their predictions, and the exported file predicts on its own."""

from __future__ import annotations

import numpy as np

import hpsearch as hp
from hpsearch.studyfile.reader import load_study_file
from hpsearch.studyfile.runner import run

STUDY = """
[study]
name = "cond"
strategy = "random"
n_trials = 6
seed = 3
storage = "{storage}"

[objective]
dataset = "spiral"

[objective.fixed]
epochs = 3
batch_size = 32

[space]
optimizer = {{ type = "categorical", choices = ["momentum", "adam"] }}
mu = {{ type = "float", low = 0.5, high = 0.95, when = {{ optimizer = ["momentum"] }} }}
learning_rate = {{ type = "float", low = 1e-3, high = 1e-1, log = true }}
hidden_size = {{ type = "int", low = 8, high = 24 }}
num_layers = {{ type = "int", low = 1, high = 2 }}
hidden_size_2 = {{ type = "int", low = 4, high = 12, when = {{ num_layers = [2] }} }}
"""


def test_prediction_ensemble_of_a_conditional_study(tmp_path):
    path = tmp_path / "cond.toml"
    path.write_text(STUDY.format(storage=tmp_path / "runs"))
    study = run(load_study_file(path))
    assert {frozenset(t.params) for t in study.trials} != {frozenset(study.trials[0].params)}
    built = hp.build_ensemble(tmp_path / "runs" / "cond", "predictions", top_k=4)
    hp.save_ensemble(built.ensemble, tmp_path / "model.npz")
    model = hp.load_ensemble(tmp_path / "model.npz")
    X = np.random.default_rng(0).normal(size=(7, 2))
    proba = model.predict_proba(X)
    assert proba.shape == (7, 3) and np.allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba, built.ensemble.predict_proba(X), rtol=1e-6)
