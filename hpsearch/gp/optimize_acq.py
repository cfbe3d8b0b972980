"""Maximise an acquisition function over a mixed space encoded in [0, 1]^d.

Notation (shapes):

    d               number of encoded columns (floats, integer relaxations, one-hot groups)
    m               number of candidate points
    candidates: (m, d)     valid encoded points (random/Sobol draws and perturbed incumbents)
    acquisition(x, grad) -> (values (k,), grads (k, d) or None) for x (k, d); larger is better
    continuous: (c,)       column indices moved by L-BFGS-B (floats and relaxed integers)
    groups: list of (g_i,) column indices of each categorical's one-hot block
    lengthscales: (d,)     the GP's length scales, used to precondition L-BFGS-B
    snap(x) -> (k, d)      rounds relaxed columns back onto valid values
    box: ((d,), (d,))      optional bounds (low, high) within [0, 1] (a trust region)

Method: score every candidate; start L-BFGS-B from the best `n_local` of them at once (the
starts are independent, so one call on their stacked coordinates with the summed objective
optimises all of them), in coordinates scaled by the length scales so that the problem is well
conditioned; snap, then improve each categorical by trying all its choices in turn. Returns
every point scored, best first, so the caller can skip duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.optimize

__all__ = ["maximize"]

Acquisition = Callable[[np.ndarray, bool], tuple[np.ndarray, np.ndarray | None]]


def _sweep_categoricals(acquisition: Acquisition, x: np.ndarray, value: float,
                        groups: Sequence[np.ndarray]) -> tuple[np.ndarray, float]:
    """Coordinate ascent over categorical choices, one group at a time, until no change."""
    for _ in range(3):
        improved = False
        for group in groups:
            if len(group) < 2:
                continue
            trial = np.repeat(x[None, :], len(group), axis=0)
            trial[:, group] = np.eye(len(group))
            values, _ = acquisition(trial, False)
            i = int(np.argmax(values))
            if values[i] > value + 1e-12:
                x, value, improved = trial[i], float(values[i]), True
        if not improved:
            break
    return x, value


def maximize(acquisition: Acquisition, candidates: np.ndarray, continuous: np.ndarray,
             groups: Sequence[np.ndarray], lengthscales: np.ndarray,
             snap: Callable[[np.ndarray], np.ndarray], n_local: int = 8,
             max_iterations: int = 100,
             box: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return points (k, d) and their acquisition values (k,), best first."""
    values, _ = acquisition(candidates, False)
    order = np.argsort(-values, kind="stable")
    starts = candidates[order[:n_local]].copy()
    start_values = values[order[:n_local]]
    k = len(starts)
    if len(continuous) and k:
        scale = lengthscales[continuous]

        def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
            x = starts.copy()
            x[:, continuous] = flat.reshape(k, -1) * scale
            v, g = acquisition(x, True)
            finite = np.isfinite(v)
            v = np.where(finite, v, -1e10)
            g = np.where(finite[:, None] & np.isfinite(g), g, 0.0)
            return -float(v.sum()), -(g[:, continuous] * scale).ravel()

        low, high = box if box is not None else (np.zeros(len(lengthscales)),
                                                  np.ones(len(lengthscales)))
        low, high = low[continuous], high[continuous]
        bounds = [(lo / s, hi / s) for lo, hi, s in zip(low, high, scale, strict=True)] * k
        result = scipy.optimize.minimize(
            objective, (starts[:, continuous] / scale).ravel(), jac=True, method="L-BFGS-B",
            bounds=bounds, options={"maxiter": max_iterations, "gtol": 1e-6},
        )
        moved = starts.copy()
        moved[:, continuous] = np.clip(result.x.reshape(k, -1) * scale, low, high)
        moved = snap(moved)
        moved_values, _ = acquisition(moved, False)
        better = moved_values > start_values
        starts[better] = moved[better]
        start_values = np.where(better, moved_values, start_values)
    local = []
    local_values = []
    for x, v in zip(starts, start_values, strict=True):
        x, v = _sweep_categoricals(acquisition, x, float(v), groups)
        local.append(x)
        local_values.append(v)
    points = np.concatenate([np.array(local).reshape(-1, candidates.shape[1]), candidates[order]])
    scores = np.concatenate([np.array(local_values, dtype=float), values[order]])
    order = np.argsort(-scores, kind="stable")
    return points[order], scores[order]
