"""Greedy ensemble selection (Caruana et al., 2004), plain and bagged: pure functions on arrays.

Contract: `greedy_selection(outputs, key, size)` and `bagged_greedy_selection(outputs, key, size,
bags, fraction, rng)` take the validation predictions of M candidates, `outputs` (M, N, ...),
and `key(mean_prediction) -> comparable` (larger is better), and return counts (M,): how many
times each candidate was picked. `EnsembleError` for a size or bag count below 1 or a fraction
outside (0, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hpsearch.exceptions import EnsembleError

__all__ = ["bagged_greedy_selection", "greedy_selection"]


def greedy_selection(outputs: np.ndarray, key: Callable[[np.ndarray], Any],
                     size: int) -> np.ndarray:
    """Ensemble selection with replacement (Caruana et al., 2004).

    outputs: (M, N, ...) validation predictions of M candidates; key(mean_prediction) -> a
    comparable value, larger is better. Returns counts (M,) summing to `size`: the number of
    times each candidate was added. Ties go to the lower candidate index.
    """
    if size < 1:
        raise EnsembleError(f"the ensemble size must be at least 1, got {size}")
    outputs = np.asarray(outputs, dtype=np.float64)
    counts = np.zeros(len(outputs), dtype=np.int64)
    total = np.zeros(outputs.shape[1:], dtype=np.float64)
    for step in range(1, size + 1):
        best, best_key = 0, None
        for m in range(len(outputs)):
            value = key((total + outputs[m]) / step)
            if best_key is None or value > best_key:
                best, best_key = m, value
        counts[best] += 1
        total += outputs[best]
    return counts


def bagged_greedy_selection(outputs: np.ndarray, key: Callable[[np.ndarray], Any], size: int,
                            bags: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Bagged ensemble selection (Caruana et al., 2004, section 2.5), their remedy for greedy
    selection overfitting a small validation set: `bags` times, `greedy_selection` of `size`
    picks among a random `fraction` of the candidates (at least one); returns the summed counts
    (M,). With bags=1 and fraction=1 it is `greedy_selection` itself."""
    if bags < 1:
        raise EnsembleError(f"the number of bags must be at least 1, got {bags}")
    if not 0.0 < fraction <= 1.0:
        raise EnsembleError(f"the bag fraction must be in (0, 1], got {fraction}")
    outputs = np.asarray(outputs, dtype=np.float64)
    m = len(outputs)
    chosen = max(1, int(fraction * m + 0.5))  # half up (round() would round half to even)
    counts = np.zeros(m, dtype=np.int64)
    for _ in range(bags):
        subset = np.arange(m) if chosen == m else np.sort(rng.choice(m, chosen, replace=False))
        counts[subset] += greedy_selection(outputs[subset], key, size)
    return counts
