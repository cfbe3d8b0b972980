"""The network's conditional hyperparameters: per-layer widths, the seed's mu, and a conditional
study of the network that trains exactly the architecture and optimizer its params name."""

from __future__ import annotations

import json

import pytest

from hpsearch.exceptions import StudyFileError
from hpsearch.objectives import mlp
from hpsearch.studyfile.reader import load_study_file
from hpsearch.trial import Trial

STUDY = """
[study]
strategy = "random"
n_trials = 2
[objective]
dataset = "spiral"
[objective.fixed]
epochs = 2
batch_size = 32
[space]
{space}
"""
CONDITIONAL = """
optimizer = { type = "categorical", choices = ["sgd", "momentum", "adam", "rmsprop"] }
mu = { type = "float", low = 0.5, high = 0.99, when = { optimizer = ["momentum"] } }
beta2 = { type = "float", low = 0.9, high = 0.9999, when = { optimizer = ["adam"] } }
decay_rate = { type = "float", low = 0.9, high = 0.999, when = { optimizer = ["rmsprop"] } }
hidden_size = { type = "int", low = 8, high = 32 }
num_layers = { type = "int", low = 1, high = 3 }
hidden_size_2 = { type = "int", low = 4, high = 16, when = { num_layers = [2, 3] } }
hidden_size_3 = { type = "int", low = 4, high = 16, when = { num_layers = [3] } }
"""


def spec_for(tmp_path, space: str):
    path = tmp_path / "s.toml"
    path.write_text(STUDY.format(space=space))
    return load_study_file(path)


def test_per_layer_widths_and_mu_translate():
    keywords = mlp.estimator_keywords({"hidden_size": 64, "num_layers": 3, "hidden_size_2": 32,
                                       "mu": 0.8})
    assert keywords == {"hidden_sizes": (64, 32, 64), "momentum": 0.8}
    assert mlp.estimator_keywords({"hidden_size": 64, "num_layers": 2,
                                   "hidden_size_3": 8})["hidden_sizes"] == (64, 64)


@pytest.mark.parametrize("space, message", [
    ('mu = { type = "float", low = 0.5, high = 0.9 }\n'
     'momentum = { type = "float", low = 0.5, high = 0.9 }', "not both"),
    ('hidden_size_2 = { type = "int", low = 4, high = 16 }', "needs num_layers"),
    ('mu = { type = "float", low = 0.5, high = 1.5 }', "[space].mu"),
])
def test_conditional_keyword_mistakes_name_the_key(tmp_path, space, message):
    with pytest.raises(StudyFileError) as info:
        mlp.check_hyperparameters(spec_for(tmp_path, space))
    assert message in str(info.value)


def test_a_conditional_network_study_trains_what_its_params_say(tmp_path):
    spec = spec_for(tmp_path, CONDITIONAL)
    mlp.check_hyperparameters(spec)
    objective = mlp.prepare(spec, tmp_path / "run")
    params = {"optimizer": "momentum", "mu": 0.7, "hidden_size": 12, "num_layers": 3,
              "hidden_size_2": 6, "hidden_size_3": 5}
    spec.space.validate(params)
    result = objective(params, Trial(0, 7, params=params))
    config = json.loads(str(result.artifacts["member0.config"]))["params"]
    assert config["hidden_sizes"] == [12, 6, 5]
    assert config["optimizer"] == "momentum" and config["momentum"] == 0.7
    assert result.artifacts["member0.param.hidden2.w"].shape == (12, 6)
    assert result.artifacts["member0.param.hidden3.w"].shape == (6, 5)
