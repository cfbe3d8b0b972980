"""What a trained network costs to ship: its size and its prediction time.

Contract: `n_params(arrays)` counts the learned parameters (the `param.*` arrays of
`to_arrays()`; preprocessing statistics and batch-norm running averages are not parameters).
`predict_ms(model, X)` is the median over `repeats` timings (after one warm-up) of predicting
1,000 rows (X's rows repeated or cut to 1,000) on one BLAS thread, in milliseconds: the same
measure whatever the worker's thread budget.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from hpsearch.objectives.mlp.networks import network_output

__all__ = ["n_params", "predict_ms", "ROWS"]

ROWS = 1000


def n_params(arrays: Mapping[str, np.ndarray]) -> int:
    """Learned parameters in a network's arrays (see the module docstring)."""
    return int(sum(np.asarray(a).size for name, a in arrays.items()
                   if name.startswith("param.")))


def predict_ms(model: Any, X: np.ndarray, repeats: int = 5) -> float:
    """Milliseconds to predict 1,000 rows on one thread (median of `repeats`)."""
    if len(X) == 0:
        return float("nan")
    rows = np.resize(np.asarray(X), (ROWS, X.shape[1]))
    times = []
    with threadpool_limits(limits=1):
        network_output(model, rows[:10])  # warm-up: buffers, imports
        for _ in range(repeats):
            start = time.perf_counter()
            network_output(model, rows)
            times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)
