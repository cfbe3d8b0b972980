"""The seed's sanity checks before training, as library calls that return what they saw.

- `initial_loss_check(network, X, y, tolerance=0.25)`: with small random weights and no
  regularisation, the softmax loss of C classes starts near ln C (each class gets
  probability about 1/C; 2.302 for 10 classes). Returns the observed data loss, the expected
  ln C, the relative gap and whether it is within `tolerance`.
- `overfit_check(network_config, X, y, n_samples=20, ...)`: trains a fresh network without
  regularisation or dropout on a tiny subset; a correct implementation reaches 100% training
  accuracy (loss near 0). Returns the accuracy, the first and last loss and whether it passed.

Both return frozen dataclasses; neither raises on a failed check (the caller decides).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from nn_core._validate import check_generator
from nn_core.metrics import network_score, task_of
from nn_core.network import Network, NetworkConfig
from nn_core.trainer import TrainConfig, train

__all__ = ["InitialLossCheck", "OverfitCheck", "initial_loss_check", "overfit_check"]


@dataclass(frozen=True)
class InitialLossCheck:
    """observed: data loss at initialisation; expected: ln C; relative_gap: |obs - exp| / exp."""

    observed: float
    expected: float
    relative_gap: float
    tolerance: float
    passed: bool


@dataclass(frozen=True)
class OverfitCheck:
    """Training accuracy reached on the tiny subset, and the loss at the first and last step."""

    n_samples: int
    train_accuracy: float
    first_loss: float
    final_loss: float
    epochs: int
    passed: bool


def initial_loss_check(
    network: Network, X: np.ndarray, y: np.ndarray, tolerance: float = 0.25
) -> InitialLossCheck:
    """Compare the softmax data loss of `network` on X (N, D), y (N,) with ln C.

    The penalty is left out (the seed: check with regularisation off, or the figure moves).
    Only meaningful for the softmax loss; ValueError otherwise.
    """
    if network.config.loss != "softmax":
        raise ValueError(f"initial_loss_check needs loss='softmax'; got {network.config.loss!r}")
    from nn_core.losses import softmax_loss

    scores = network.loss(X)
    observed, _ = softmax_loss(scores, np.asarray(y))
    expected = math.log(network.config.output_dim)
    gap = abs(observed - expected) / expected
    return InitialLossCheck(float(observed), expected, gap, tolerance, bool(gap <= tolerance))


def overfit_check(
    network_config: NetworkConfig,
    X: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    n_samples: int = 20,
    epochs: int = 200,
    train_config: TrainConfig | None = None,
    target_accuracy: float = 1.0,
) -> OverfitCheck:
    """Overfit `n_samples` rows of (X, y) with a fresh network: no penalty, no dropout.

    rng draws the subset, the initial weights and the shuffling. The default training is Adam
    with learning rate 1e-2, full batch, `epochs` steps. Passed when the training accuracy
    (score for regression) reaches `target_accuracy`.
    """
    rng = check_generator("rng", rng)
    X = np.asarray(X)
    y = np.asarray(y)
    rows = rng.choice(X.shape[0], size=min(n_samples, X.shape[0]), replace=False)
    X_small, y_small = X[rows], y[rows]
    config = replace(network_config, reg=0.0, dropout=0.0)
    network = Network(config, rng)
    settings: dict[str, Any] = {"optimizer": "adam", "learning_rate": 1e-2}
    train_config = train_config or TrainConfig(
        **settings, batch_size=len(rows), epochs=epochs
    )
    history = train(network, X_small, y_small, config=train_config, rng=rng)
    task = task_of(config.loss)
    accuracy = network_score(task, network.predict_scores(X_small), y_small)
    return OverfitCheck(
        n_samples=len(rows),
        train_accuracy=accuracy,
        first_loss=float(history.loss[0]),
        final_loss=float(history.loss[-1]),
        epochs=history.epochs,
        passed=bool(accuracy >= target_accuracy),
    )
