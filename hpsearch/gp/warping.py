"""Monotone transforms of objective values before the GP sees them (output warping).

Notation: y (n,) finite values to minimise; returns (n,) standardised values (mean 0, std 1)
in the same order, the transform monotone increasing so the minimiser is unchanged.

- "none": standardise only.
- "log": log(y - min(y) + eps), eps = `LOG_EPS` times the interquartile range (falling back
  to the full range); it spreads out the values near the best one, where a search spends most
  of its evaluations, and squashes the far-away bad ones that otherwise dominate the fit.
- "yeo-johnson": SciPy's Yeo-Johnson power transform with its maximum-likelihood lambda,
  applied to standardised values.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.stats

__all__ = ["WARPINGS", "standardize", "warp"]

WARPINGS = ("none", "log", "yeo-johnson")
LOG_EPS = 0.02


def standardize(y: np.ndarray) -> np.ndarray:
    """(y - mean) / std, with std taken as 1 when y is constant."""
    std = float(np.std(y))
    return (y - float(np.mean(y))) / (std if std > 1e-12 else 1.0)


def warp(y: np.ndarray, method: str) -> np.ndarray:
    """The standardised, warped values (n,)."""
    y = np.asarray(y, dtype=float)
    if method == "log":
        spread = float(np.subtract(*np.percentile(y, [75, 25])))
        if spread <= 0:
            spread = float(np.ptp(y))
        if spread <= 0:
            return np.zeros_like(y)
        return standardize(np.log(y - y.min() + LOG_EPS * spread))
    if method == "yeo-johnson":
        z = standardize(y)
        if np.ptp(z) <= 0:
            return z
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            transformed, _ = scipy.stats.yeojohnson(z)
        if not np.all(np.isfinite(transformed)):
            return z
        return standardize(transformed)
    return standardize(y)
