"""Acquisition functions for minimisation, as pure vectorised functions (larger is better).

Notation (shapes):

    m           number of candidate points
    mean: (m,)  posterior mean of the (standardised) objective at the candidates
    var: (m,)   posterior variance; sigma = sqrt(var)
    best: float the best (lowest) standardised value observed so far
    xi: float   the improvement asked for beyond `best` (EI and PI); kappa: float (LCB)
    z: (m,)     (best - xi - mean) / sigma

Each function returns `(value, dvalue_dmean, dvalue_dvar)`, three arrays of shape (m,), so a
caller with dmean/dvar (m, d) gets the gradient as `dv_dmean[:, None] * dmean + dv_dvar[:,
None] * dvar`.

- `expected_improvement`: EI = sigma h(z), h(z) = z Phi(z) + phi(z).
- `log_expected_improvement`: log EI, computed without forming EI, so it stays finite and
  informative far in the tail where EI underflows to 0 (Ament et al., 2023, "Unexpected
  improvements to expected improvement").
- `lower_confidence_bound`: -(mean - kappa sigma).
- `log_probability_of_improvement`: log Phi(z).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

__all__ = ["log_h", "expected_improvement", "log_expected_improvement",
           "lower_confidence_bound", "log_probability_of_improvement"]

_C1 = 0.5 * math.log(2 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2)
_TAIL = -1.0 / math.sqrt(np.finfo(float).eps)  # below this, h(z) ~ phi(z) / z^2 to float precision


def _log1mexp(a: np.ndarray) -> np.ndarray:
    """log(1 - exp(a)) for a < 0, accurate on both sides of -log 2."""
    return np.where(a > -math.log(2), np.log(-np.expm1(a)), np.log1p(-np.exp(a)))


def log_h(z: np.ndarray) -> np.ndarray:
    """log(z Phi(z) + phi(z)), finite for every finite z."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    tail = z <= _TAIL
    middle = ~upper & ~tail
    zu = z[upper]
    out[upper] = np.log(zu * ndtr(zu) + np.exp(-0.5 * zu * zu - _C1))
    zm = z[middle]
    out[middle] = (-0.5 * zm * zm - _C1
                   + _log1mexp(np.log(erfcx(-zm / math.sqrt(2)) * np.abs(zm)) + _C2))
    zt = z[tail]
    out[tail] = -0.5 * zt * zt - _C1 - 2.0 * np.log(np.abs(zt))
    return out


def _z(mean: np.ndarray, var: np.ndarray, best: float, xi: float
       ) -> tuple[np.ndarray, np.ndarray]:
    sigma = np.sqrt(var)
    return (best - xi - mean) / sigma, sigma


def expected_improvement(mean: np.ndarray, var: np.ndarray, best: float, xi: float = 0.0
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E[max(best - xi - f, 0)] and its derivatives with respect to mean and var."""
    z, sigma = _z(mean, var, best, xi)
    cdf = ndtr(z)
    pdf = np.exp(-0.5 * z * z - _C1)
    value = sigma * (z * cdf + pdf)
    return value, -cdf, pdf / (2.0 * sigma)


def log_expected_improvement(mean: np.ndarray, var: np.ndarray, best: float, xi: float = 0.0
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log EI and its derivatives with respect to mean and var."""
    z, sigma = _z(mean, var, best, xi)
    lh = log_h(z)
    ratio = np.exp(log_ndtr(z) - lh)  # d log h / dz = Phi(z) / h(z)
    value = np.log(sigma) + lh
    d_mean = -ratio / sigma
    d_sigma = (1.0 - ratio * z) / sigma
    return value, d_mean, d_sigma / (2.0 * sigma)


def lower_confidence_bound(mean: np.ndarray, var: np.ndarray, kappa: float = 1.96
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-(mean - kappa sigma), to maximise, and its derivatives."""
    sigma = np.sqrt(var)
    return -(mean - kappa * sigma), -np.ones_like(mean), kappa / (2.0 * sigma)


def log_probability_of_improvement(mean: np.ndarray, var: np.ndarray, best: float,
                                   xi: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log P(f < best - xi) and its derivatives."""
    z, sigma = _z(mean, var, best, xi)
    value = log_ndtr(z)
    ratio = np.exp(-0.5 * z * z - _C1 - value)  # phi(z) / Phi(z)
    return value, -ratio / sigma, -ratio * z / (2.0 * var)
