"""The built-in network objective: vocabulary checks, the stored split, results and artifacts."""

import json
from pathlib import Path

import numpy as np
import pytest

from hpsearch.exceptions import StudyFileError
from hpsearch.objectives import mlp
from hpsearch.objectives.mlp.cost import MEASURED
from hpsearch.studyfile.reader import load_study_file
from hpsearch.trial import TrialHandle
from nn_core import MLPClassifier

STUDY = """
[study]
strategy = "random"
n_trials = 2
seed = {seed}
[objective]
dataset = "spiral"
repeats = {repeats}
[objective.fixed]
epochs = 4
batch_size = 32
hidden_size = 12
[space]
{space}
"""
SPACE = 'learning_rate = { type = "float", low = 1e-3, high = 1e-1, log = true }'


def spec_for(tmp_path: Path, space: str = SPACE, seed: int = 0, repeats: int = 1, **fixed):
    text = STUDY.format(seed=seed, repeats=repeats, space=space)
    for name, value in fixed.items():
        text = text.replace("[space]", f"{name} = {json.dumps(value)}\n[space]")
    path = tmp_path / "s.toml"
    path.write_text(text)
    return load_study_file(path)


@pytest.mark.parametrize(("space", "fixed", "message"), [
    ('lr = { type = "float", low = 1e-3, high = 1e-1 }', {}, "did you mean 'learning_rate'"),
    (SPACE, {"learning_rate": 0.1}, "both fixed"),
    ('activation = { type = "categorical", choices = ["relu", "gelu"] }', {}, "activation"),
    ('lr_step = { type = "float", low = 1, high = 9 }', {}, "integer"),
    ('batchnorm = { type = "int", low = 0, high = 1 }', {}, "categorical"),
    ('dropout = { type = "float", low = 0.0, high = 1.0 }', {}, "dropout"),
    (SPACE, {"momentum": 1.5}, "[objective.fixed].momentum"),
    (SPACE, {"hidden_sizes": [8, 8]}, "not both"),
    (SPACE, {"loss": "l2"}, "classification takes loss softmax | svm"),
])
def test_vocabulary_errors_name_the_key(tmp_path, space, fixed, message):
    with pytest.raises(StudyFileError) as info:
        mlp.check_hyperparameters(spec_for(tmp_path, space, **fixed))
    assert message in str(info.value) and str(tmp_path / "s.toml") in str(info.value)


def test_every_keyword_can_be_fixed_or_searched(tmp_path):
    space = "\n".join([SPACE,
                       'optimizer = { type = "categorical", choices = ["sgd", "nesterov"] }',
                       'batchnorm = { type = "categorical", choices = [true, false] }',
                       'num_layers = { type = "int", low = 0, high = 2 }'])
    fixed = {"activation": "tanh", "init": "xavier", "regularization": "elastic",
             "reg": 1e-4, "max_norm": 3.0, "lr_schedule": "step", "preprocess": "whiten"}
    mlp.check_hyperparameters(spec_for(tmp_path, space, **fixed))  # no error


def test_keywords_translate_the_convenience_pair():
    assert mlp.estimator_keywords({"hidden_size": 32, "num_layers": 3})["hidden_sizes"] == \
        (32, 32, 32)
    assert mlp.estimator_keywords({"num_layers": 0})["hidden_sizes"] == ()
    assert mlp.estimator_keywords({"hidden_sizes": [5, 6]})["hidden_sizes"] == (5, 6)


def test_split_is_stored_once_and_reused(tmp_path):
    spec = spec_for(tmp_path)
    objective = mlp.prepare(spec, tmp_path / "run")
    with np.load(objective.data_file) as stored:
        train, val, test = stored["train"], stored["val"], stored["test"]
        y = stored["y"]
    assert len(set(train) | set(val) | set(test)) == len(y) == 300
    assert not (set(train) & set(val) or set(train) & set(test) or set(val) & set(test))
    assert len(val) == len(test) == 60
    assert np.bincount(y[val]).tolist() == [20, 20, 20]  # stratified
    again = mlp.prepare(spec, tmp_path / "run")
    assert again == objective
    with np.load(again.data_file) as stored:
        assert np.array_equal(stored["train"], train)
    # the same seed draws the same split into a new folder; another seed another one
    with np.load(mlp.prepare(spec, tmp_path / "run2").data_file) as stored:
        assert np.array_equal(stored["val"], val)
    with np.load(mlp.prepare(spec_for(tmp_path, seed=1), tmp_path / "run3").data_file) as s:
        assert not np.array_equal(s["val"], val)


def test_result_metrics_and_artifacts_round_trip(tmp_path):
    spec = spec_for(tmp_path, repeats=2)
    objective = mlp.prepare(spec, tmp_path / "run")
    reports = []

    class Handle(TrialHandle):
        def report(self, step, value):
            reports.append((step, value))
            return False

    result = objective({"learning_rate": 0.05}, Handle(number=0, seed=123))
    assert result.value == result.metrics["val_accuracy"]
    assert {"val_accuracy", "val_loss", "test_accuracy", "test_loss", "train_accuracy",
            "epochs"} <= set(result.metrics)
    assert [step for step, _ in reports] == [1, 2, 3, 4]  # one report per epoch, first member
    assert result.artifacts["curve.val_score"][-1] == pytest.approx(reports[-1][1])
    data = mlp.load_split(objective.data_file, objective.data_fingerprint)
    probas = []
    for r in range(2):
        config = json.loads(str(result.artifacts[f"member{r}.config"]))
        prefix = f"member{r}."
        arrays = {k[len(prefix):]: v for k, v in result.artifacts.items() if k.startswith(prefix)
                  and k != f"member{r}.config"}
        model = MLPClassifier.from_arrays(config, arrays)
        probas.append(model.predict_proba(data["val_X"]))
    # the two members differ (different seeds); the trial's probabilities are their mean
    assert not np.allclose(probas[0], probas[1])
    np.testing.assert_allclose(result.artifacts["val_proba"], np.mean(probas, axis=0),
                               rtol=1e-5, atol=1e-7)
    # the same trial seed gives the same result
    again = objective({"learning_rate": 0.05}, Handle(number=0, seed=123))
    measured = set(MEASURED)  # wall-clock timings: measurements, not results
    assert {k: v for k, v in again.metrics.items() if k not in measured} == {
        k: v for k, v in result.metrics.items() if k not in measured}
    assert measured <= set(result.metrics) and result.metrics["n_params"] > 0
