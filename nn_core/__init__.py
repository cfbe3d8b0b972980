"""nn_core: a NumPy neural-network library (layers, losses, initialisation, regularisation,
a config-built network and gradient checks). It knows nothing about hyperparameter search."""

from nn_core import gradcheck, init, layers, losses, regularization
from nn_core.gradcheck import GradientCheckReport, check_network_gradients
from nn_core.network import Network, NetworkConfig

__all__ = [
    "GradientCheckReport",
    "Network",
    "NetworkConfig",
    "check_network_gradients",
    "gradcheck",
    "init",
    "layers",
    "losses",
    "regularization",
]

# Training side (issue 3): update rules, schedules, preprocessing, data, trainer, estimators.
from nn_core import data, optim, preprocess, sanity, schedules, trainer  # noqa: E402
from nn_core.estimator import KEYWORDS, MLPClassifier, MLPRegressor, keyword_table  # noqa: E402
from nn_core.trainer import History, StopTraining, TrainConfig, train  # noqa: E402

__all__ += [
    "KEYWORDS",
    "History",
    "MLPClassifier",
    "MLPRegressor",
    "StopTraining",
    "TrainConfig",
    "data",
    "keyword_table",
    "optim",
    "preprocess",
    "sanity",
    "schedules",
    "train",
    "trainer",
]
