"""The Matern 5/2 kernel with one length scale per input column (ARD), and its derivatives.

Notation (shapes):

    n, m        numbers of points in X1 and X2
    d           number of model input columns (unit-cube floats/ints, one-hot categoricals)
    X1: (n, d), X2: (m, d)      points, each column in [0, 1]
    lengthscales: (d,)          one positive length scale per column
    signal_variance: float      the kernel's value at distance zero
    r: (n, m)                   scaled distance sqrt(sum_j (X1[:, j] - X2[:, j])**2 / l_j**2)

    k(r) = signal_variance * (1 + sqrt5 r + 5/3 r**2) * exp(-sqrt5 r)

Derivatives used by the model (all finite at r = 0, so no special case is needed):

    dk/d(log l_j)   = signal_variance * 5/3 (1 + sqrt5 r) exp(-sqrt5 r) * (x_j - x'_j)**2 / l_j**2
    dk/d(x_j)       = -signal_variance * 5/3 (1 + sqrt5 r) exp(-sqrt5 r) * (x_j - x'_j) / l_j**2
"""

from __future__ import annotations

import numpy as np

__all__ = ["matern52", "matern52_and_g", "matern52_grad_x"]

_SQRT5 = np.sqrt(5.0)


def _sqdist(X1: np.ndarray, X2: np.ndarray, lengthscales: np.ndarray) -> np.ndarray:
    """Scaled squared distance, shape (n, m), without the (n, m, d) intermediate."""
    A = X1 / lengthscales
    B = X2 / lengthscales
    sq = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * (A @ B.T)
    return np.maximum(sq, 0.0)


def matern52(X1: np.ndarray, X2: np.ndarray, lengthscales: np.ndarray,
             signal_variance: float) -> np.ndarray:
    """Kernel matrix k(X1, X2), shape (n, m)."""
    r = np.sqrt(_sqdist(X1, X2, lengthscales))
    s = _SQRT5 * r
    return signal_variance * (1.0 + s + s * s / 3.0) * np.exp(-s)


def matern52_and_g(X: np.ndarray, lengthscales: np.ndarray, signal_variance: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """k(X, X) (n, n) and what its length-scale gradients need, from (n, n) arrays only.

    Returns K (n, n) and G (n, n) = signal_variance * 5/3 (1 + sqrt5 r) exp(-sqrt5 r), so that
    dK/d(log l_j) = G * (X[:, j] - X[:, j]^T)**2 / l_j**2 (see `hpsearch.gp.model` for the
    gradient without an (n, n, d) array).
    """
    r = np.sqrt(_sqdist(X, X, lengthscales))
    s = _SQRT5 * r
    e = np.exp(-s)
    K = signal_variance * (1.0 + s + s * s / 3.0) * e
    G = signal_variance * (5.0 / 3.0) * (1.0 + s) * e
    return K, G


def matern52_grad_x(x: np.ndarray, X: np.ndarray, lengthscales: np.ndarray,
                    signal_variance: float) -> tuple[np.ndarray, np.ndarray]:
    """k(x, X) and its gradient with respect to x.

    x: (m, d) query points; X: (n, d). Returns k (m, n) and dk (m, n, d) with
    dk[a, i, j] = d k(x_a, X_i) / d x_a[j].
    """
    diff = x[:, None, :] - X[None, :, :]
    scaled = diff / lengthscales
    r = np.sqrt((scaled * scaled).sum(-1))
    s = _SQRT5 * r
    e = np.exp(-s)
    k = signal_variance * (1.0 + s + s * s / 3.0) * e
    G = signal_variance * (5.0 / 3.0) * (1.0 + s) * e
    dk = -G[:, :, None] * diff / (lengthscales * lengthscales)
    return k, dk
