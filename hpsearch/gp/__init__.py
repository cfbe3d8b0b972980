"""Gaussian-process maths for the `gp` strategy: kernel, model, acquisition, optimiser.

Pure functions over NumPy arrays (see each module's notation block); the adapter that turns
trials into arrays is `hpsearch.strategies.gp`.
"""

from hpsearch.gp.acquisition import (
    expected_improvement,
    log_expected_improvement,
    log_probability_of_improvement,
    lower_confidence_bound,
)
from hpsearch.gp.kernels import matern52
from hpsearch.gp.model import GaussianProcess, Prior, condition, fit, predict, predict_with_grad

__all__ = ["GaussianProcess", "Prior", "condition", "fit", "predict", "predict_with_grad",
           "matern52", "expected_improvement", "log_expected_improvement",
           "log_probability_of_improvement", "lower_confidence_bound"]
