"""Scores: every score hpsearch reports for a network, computed by `nn_core.metrics`.

Contract: `score(metric, task, y, output, classes=None) -> float` is `nn_core.metrics.score` for
the stored predictions of the objective (`hpsearch.objectives.mlp.schema.output_name`): metric
accuracy, loss (log loss; MSE for regression) or r2; task classification, multilabel or
regression; y the rows' targets (N,) labels, (N, L) 0/1 or (N,) / (N, L) values; output class
probabilities (N, C), label probabilities (N, L) or predictions (N,) / (N, L); classes (C,) the
label of each probability column (classification). R^2 follows scikit-learn's `r2_score`,
constant targets included. The objective's metrics and the ensembles' scores both come from
here, so a trial scores the same in `hpsearch results` and in `hpsearch ensemble`.
`SCORES[task]` is the task's score metric (accuracy, or r2 for regression).
"""

from __future__ import annotations

import numpy as np

from nn_core import metrics

__all__ = ["SCORES", "score"]

SCORES = {"classification": "accuracy", "multilabel": "accuracy", "regression": "r2"}


def score(metric: str, task: str, y: np.ndarray, output: np.ndarray,
          classes: np.ndarray | None = None) -> float:
    """The `metric` of predictions `output` against targets `y`; see the module docstring."""
    return metrics.score(metric, y, output, task, classes)
