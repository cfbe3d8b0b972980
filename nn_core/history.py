"""What one training run saw: `History`, returned by `nn_core.trainer.train`.

Per-epoch tuples have one entry per finished epoch; `to_dict()` gives plain JSON-able values.
`METRIC_OF_TASK` names the score a run records for each task (`nn_core.metrics.TASKS`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["METRIC_OF_TASK", "History"]

METRIC_OF_TASK = {"classification": "accuracy", "multilabel": "subset_accuracy",
                  "regression": "r2"}


@dataclass(frozen=True)
class History:
    """What one training run saw. Per-epoch tuples have one entry per finished epoch.

    loss: (n_iterations,) minibatch loss (with the penalty) of every step.
    metric: "accuracy" (multiclass), "subset_accuracy" (multi-label) or "r2" (regression).
    """

    loss: np.ndarray
    epoch_loss: tuple[float, ...]
    train_score: tuple[float, ...]
    val_score: tuple[float, ...]
    val_loss: tuple[float, ...]
    learning_rate: tuple[float, ...]
    update_ratio: dict[str, tuple[float, ...]]
    epoch_time: tuple[float, ...]
    wall_time: float
    stop_reason: str
    best_epoch: int | None
    metric: str
    n_iterations: int = field(default=0)

    @property
    def epochs(self) -> int:
        """Number of finished epochs."""
        return len(self.epoch_loss)

    @property
    def train_accuracy(self) -> tuple[float, ...]:
        """Alias of train_score for classifiers."""
        return self.train_score

    @property
    def val_accuracy(self) -> tuple[float, ...]:
        """Alias of val_score for classifiers."""
        return self.val_score

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able values (lists and floats)."""
        out = asdict(self)
        out["loss"] = [float(v) for v in self.loss]
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        out["update_ratio"] = {k: list(v) for k, v in self.update_ratio.items()}
        return out
