"""nn_core: a NumPy neural-network library covering the CS231n "Neural Networks" notes.

Layers, losses, initialisation, regularisation, a config-built network and gradient checks
(the model half); update rules, schedules, preprocessing, data, a trainer, metrics, sanity
checks and scikit-learn-style estimators (the training half). It knows nothing about
hyperparameter search.
"""

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
from nn_core.estimator import KEYWORDS, MLPClassifier, MLPRegressor, keyword_table
from nn_core.gradcheck import GradientCheckReport, check_network_gradients
from nn_core.network import Network, NetworkConfig
from nn_core.trainer import History, StopTraining, TrainConfig, train

__all__ = [
    "KEYWORDS", "GradientCheckReport", "History", "MLPClassifier", "MLPRegressor", "Network",
    "NetworkConfig", "StopTraining", "TrainConfig", "check_network_gradients", "data",
    "gradcheck", "init", "keyword_table", "layers", "losses", "metrics", "optim", "preprocess",
    "regularization", "sanity", "schedules", "train", "trainer",
]
