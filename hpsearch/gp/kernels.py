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
    # (|a|^2 + |b|^2) - 2 a.b, operation by operation, on two (n, m) arrays only (these
    # kernels score thousands of candidates an ask: the temporaries cost more than the maths)
    cross = A @ B.T
    cross *= 2.0
    sq = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :]
    sq -= cross
    return np.maximum(sq, 0.0, out=sq)


def _distance_terms(X1: np.ndarray, X2: np.ndarray, lengthscales: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For s = sqrt5 r (n, m): 1 + s, s^2 / 3 and exp(-s), each a fresh (n, m) array."""
    return _terms(np.sqrt(_sqdist(X1, X2, lengthscales)))


def _terms(s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From the scaled distances r (overwritten): 1 + sqrt5 r, 5 r^2 / 3 and exp(-sqrt5 r)."""
    s *= _SQRT5
    e = np.negative(s)
    np.exp(e, out=e)
    q = s * s
    q /= 3.0
    s += 1.0
    return s, q, e


def matern52(X1: np.ndarray, X2: np.ndarray, lengthscales: np.ndarray,
             signal_variance: float) -> np.ndarray:
    """Kernel matrix k(X1, X2), shape (n, m)."""
    k, q, e = _distance_terms(X1, X2, lengthscales)
    k += q  # signal_variance * (1 + s + s^2 / 3) * exp(-s)
    k *= signal_variance
    k *= e
    return k


def matern52_and_g(X: np.ndarray, lengthscales: np.ndarray, signal_variance: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """k(X, X) (n, n) and what its length-scale gradients need, from (n, n) arrays only.

    Returns K (n, n) and G (n, n) = signal_variance * 5/3 (1 + sqrt5 r) exp(-sqrt5 r), so that
    dK/d(log l_j) = G * (X[:, j] - X[:, j]^T)**2 / l_j**2 (see `hpsearch.gp.model` for the
    gradient without an (n, n, d) array).
    """
    K, q, e = _distance_terms(X, X, lengthscales)
    G = K * (signal_variance * (5.0 / 3.0))
    G *= e
    K += q
    K *= signal_variance
    K *= e
    return K, G


def matern52_grad_x(x: np.ndarray, X: np.ndarray, lengthscales: np.ndarray,
                    signal_variance: float) -> tuple[np.ndarray, np.ndarray]:
    """k(x, X) and its gradient with respect to x.

    x: (m, d) query points; X: (n, d). Returns k (m, n) and dk (m, n, d) with
    dk[a, i, j] = d k(x_a, X_i) / d x_a[j].
    """
    diff = x[:, None, :] - X[None, :, :]
    squared = diff / lengthscales
    squared *= squared
    s, q, e = _terms(np.sqrt(squared.sum(-1)))
    minus_g = s * (signal_variance * (5.0 / 3.0))  # G = signal_variance 5/3 (1 + s) e^-s
    minus_g *= e
    np.negative(minus_g, out=minus_g)
    s += q
    s *= signal_variance
    s *= e
    diff *= minus_g[:, :, None]  # dk = -G (x - X) / l^2
    diff /= lengthscales * lengthscales
    return s, diff
