"""What a trained network costs to ship: its size and its prediction time.

Contract: `n_params(arrays)` counts the learned parameters (the `param.*` arrays of
`to_arrays()`; preprocessing statistics and batch-norm running averages are not parameters).
`predict_ms(model, X)` is the median over `repeats` timings (after one warm-up) of predicting
1,000 rows (X's rows repeated or cut to 1,000) on one BLAS thread, in milliseconds: the same
measure whatever the worker's thread budget. `ensemble_predict_ms(ensemble, X)` times an
exported ensemble the same way.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from hpsearch.objectives.mlp.networks import network_output

__all__ = ["n_params", "predict_ms", "ensemble_predict_ms", "ROWS", "MEASURED"]

ROWS = 1000
#: the network's metrics that are wall-clock measurements: they differ between two runs of the
#: same trial, so reproducibility means every other metric
MEASURED = ("train_s", "predict_ms")


def n_params(arrays: Mapping[str, np.ndarray]) -> int:
    """Learned parameters in a network's arrays (see the module docstring)."""
    return int(sum(np.asarray(a).size for name, a in arrays.items()
                   if name.startswith("param.")))


def _timed(predict: Callable[[np.ndarray], Any], X: np.ndarray, repeats: int) -> float:
    if len(X) == 0:
        return float("nan")
    rows = np.resize(np.asarray(X), (ROWS, X.shape[1]))
    times = []
    with threadpool_limits(limits=1):
        predict(rows[:10])  # warm-up: buffers, imports
        for _ in range(repeats):
            start = time.perf_counter()
            predict(rows)
            times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def predict_ms(model: Any, X: np.ndarray, repeats: int = 5) -> float:
    """Milliseconds for one network to predict 1,000 rows on one thread (median)."""
    return _timed(lambda rows: network_output(model, rows), X, repeats)


def ensemble_predict_ms(ensemble: Any, X: np.ndarray, repeats: int = 5) -> float:
    """The same for an ensemble's `predict_proba` (or `predict` for regression), on raw
    features as a user gives them."""
    method = ensemble.predict_proba if ensemble.task != "regression" else ensemble.predict
    return _timed(method, X, repeats)
