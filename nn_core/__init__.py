"""nn_core: a NumPy neural-network library covering the CS231n "Neural Networks" notes.

Layers, losses, initialisation, regularisation, a config-built network and gradient checks
(the model half); update rules, schedules, preprocessing, data, a trainer, metrics, sanity
checks and scikit-learn estimators (the training half). It knows nothing about
hyperparameter search. `MLPClassifier` and `MLPRegressor` load `nn_core.estimator`, and with it
scikit-learn, on first use, so `import nn_core` stays light.
"""

import importlib
from typing import Any

from nn_core import (
    data,
    gradcheck,
    init,
    layers,
    losses,
    metrics,
    optim,
    preprocess,
    regularization,
    sanity,
    schedules,
    trainer,
)
from nn_core.gradcheck import GradientCheckReport, check_network_gradients
from nn_core.keywords import KEYWORDS, keyword_table
from nn_core.network import Network, NetworkConfig
from nn_core.trainer import History, StopTraining, TrainConfig, train

__all__ = [
    "KEYWORDS", "GradientCheckReport", "History", "MLPClassifier", "MLPRegressor", "Network",
    "NetworkConfig", "StopTraining", "TrainConfig", "check_network_gradients", "data",
    "gradcheck", "init", "keyword_table", "layers", "losses", "metrics", "optim", "preprocess",
    "regularization", "sanity", "schedules", "train", "trainer",
]


_ESTIMATORS = ("MLPClassifier", "MLPRegressor")


def __getattr__(name: str) -> Any:
    if name not in _ESTIMATORS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("nn_core.estimator"), name)
    globals()[name] = value
    return value
