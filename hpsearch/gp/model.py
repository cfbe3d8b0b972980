"""A small Gaussian-process regressor: fit by maximum a posteriori marginal likelihood, predict.

Pure functions over NumPy arrays; the strategy adapter (`hpsearch.strategies.gp`) turns trials
into these arrays. The prior mean is zero, so `y` should be standardised (or warped, see
`hpsearch.gp.warping`) first.

Notation (shapes):

    n           number of training points; m number of query points
    d           number of input columns, each in [0, 1]
    X: (n, d)   training inputs;   y: (n,) training targets
    x: (m, d)   query inputs
    theta: (d + 2,)  log hyperparameters: [log l_1 .. log l_d, log signal_variance,
                     log noise_variance]
    K: (n, n)   k(X, X) + noise_variance * I;  L: (n, n) its lower Cholesky factor
    alpha: (n,) K^-1 y
    mean, var: (m,) posterior mean and variance of the latent f at x (noise excluded)
    dmean, dvar: (m, d) their gradients with respect to x

The objective minimised by `fit` is the negative log marginal likelihood minus the log prior
density of theta (densities over the log parameters themselves):

    nll(theta) = 1/2 y^T alpha + sum(log diag L) + n/2 log(2 pi)
    d nll / d theta_p = -1/2 trace((alpha alpha^T - K^-1) dK/d theta_p)

For a length scale, dK/d log l_j = G * (x_j - x_j^T)**2 / l_j**2 (elementwise, G (n, n) from
`hpsearch.gp.kernels`), so with M = (alpha alpha^T - K^-1) * G (symmetric) the trace is
2 (sum_a (M 1)_a X_aj**2 - sum_a X_aj (M X)_aj) / l_j**2: two (n, n) x (n, d) products, no
(n, n, d) array. `extend` adds points to a conditioned GP by a bordered Cholesky update,
O(n^2 p) for p points instead of the O(n^3) of `condition`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.optimize

from hpsearch.gp.kernels import matern52, matern52_and_g, matern52_grad_x

__all__ = ["Prior", "GaussianProcess", "dimension_scaled", "default_theta", "theta_bounds",
           "neg_log_posterior", "fit", "condition", "extend", "retarget", "predict",
           "predict_with_grad", "training_mean"]

_JITTER = 1e-9


def _cho_solve(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """K^-1 b from K's lower Cholesky factor L: LAPACK's dpotrs itself (scipy's cho_solve
    wrapper costs more than the solve at these sizes, and it runs thousands of times an ask)."""
    x, info = scipy.linalg.lapack.dpotrs(L, b, lower=1)
    if info != 0:  # pragma: no cover - only on malformed input
        raise np.linalg.LinAlgError(f"dpotrs failed (info {info})")
    return x


@dataclass(frozen=True)
class Prior:
    """Priors and bounds on the log hyperparameters, for inputs in [0, 1]^d and standardised y.

    length scale l: with `lengthscale_loc` None, log density -lengthscale_weight * (l**2 +
    1 / l**2), peaked at l = 1; it keeps length scales from growing without bound, which would
    make a dimension look linear and send proposals to its edges, and from shrinking to a
    memorising fit. With `lengthscale_loc` set, log l ~ Normal(lengthscale_loc,
    lengthscale_scale**2) (`dimension_scaled` gives loc = sqrt(2) + log(d) / 2, scale =
    sqrt(3): Hvarfner et al. 2024, BoTorch's default), whose median grows with the dimension
    as the typical distance between points in [0, 1]^d does.
    signal variance s: density proportional to s^a exp(-b s) over log s (a Gamma(a, b) on s).
    noise variance v: the same form with (noise_a, noise_b), and never below `min_noise`.
    """

    lengthscale_weight: float = 0.1
    lengthscale_loc: float | None = None
    lengthscale_scale: float = math.sqrt(3.0)
    lengthscale_bounds: tuple[float, float] = (5e-3, 1e2)
    signal_a: float = 2.0
    signal_b: float = 1.0
    signal_bounds: tuple[float, float] = (1e-2, 1e2)
    noise_a: float = 1.1
    noise_b: float = 300.0
    min_noise: float = 1e-6
    max_noise: float = 1.0

    def log_density(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """log p(theta) up to a constant, and its gradient (d + 2,)."""
        d = theta.size - 2
        grad = np.empty_like(theta)
        if self.lengthscale_loc is None:
            up, down = np.exp(2.0 * theta[:d]), np.exp(-2.0 * theta[:d])
            grad[:d] = -2.0 * self.lengthscale_weight * (up - down)
            value = -self.lengthscale_weight * float((up + down).sum())
        else:
            z = (theta[:d] - self.lengthscale_loc) / self.lengthscale_scale
            grad[:d] = -z / self.lengthscale_scale
            value = -0.5 * float((z * z).sum())
        for index, a, b in ((d, self.signal_a, self.signal_b), (d + 1, self.noise_a, self.noise_b)):
            value += a * theta[index] - b * math.exp(theta[index])
            grad[index] = a - b * math.exp(theta[index])
        return value, grad


def dimension_scaled(d: int, **fields) -> Prior:
    """The Prior whose length scales scale with the dimension d (see `Prior`)."""
    return Prior(lengthscale_loc=math.sqrt(2.0) + 0.5 * math.log(max(d, 1)), **fields)


def default_theta(d: int, prior: Prior) -> np.ndarray:
    """A neutral starting point: the length-scale prior's median (1 for the default prior),
    unit signal, small noise."""
    loc = 0.0 if prior.lengthscale_loc is None else prior.lengthscale_loc
    return np.concatenate([np.full(d, loc), [0.0, math.log(max(1e-3, prior.min_noise))]])


def theta_bounds(d: int, prior: Prior) -> list[tuple[float, float]]:
    """L-BFGS-B bounds on theta, (d + 2) pairs."""
    lo, hi = (math.log(b) for b in prior.lengthscale_bounds)
    return ([(lo, hi)] * d + [tuple(math.log(b) for b in prior.signal_bounds)]
            + [(math.log(prior.min_noise), math.log(prior.max_noise))])


def _unpack(theta: np.ndarray) -> tuple[np.ndarray, float, float]:
    d = theta.size - 2
    return np.exp(theta[:d]), math.exp(theta[d]), math.exp(theta[d + 1])


def neg_log_posterior(theta: np.ndarray, X: np.ndarray, y: np.ndarray,
                      prior: Prior | None = None) -> tuple[float, np.ndarray]:
    """nll(theta) - log p(theta) and its gradient (d + 2,). `prior=None` gives the bare nll."""
    lengthscales, signal, noise = _unpack(theta)
    n, d = X.shape
    Kf, G = matern52_and_g(X, lengthscales, signal)
    K = Kf.copy()
    K[np.diag_indices(n)] += noise + _JITTER * signal
    # LAPACK directly (the fit calls this tens of times an ask; scipy's wrappers cost more
    # than the work at these sizes); clean=1 zeroes L's upper triangle
    L, info = scipy.linalg.lapack.dpotrf(K, lower=1, clean=1)
    if info != 0:
        return 1e25, np.zeros_like(theta)
    alpha = _cho_solve(L, y)
    K_inv, info = scipy.linalg.lapack.dpotri(L, lower=1)
    if info != 0:
        return 1e25, np.zeros_like(theta)
    # dpotri fills the lower triangle and keeps L's zero upper one: mirror it
    K_inv += K_inv.T
    K_inv[np.diag_indices(n)] *= 0.5
    value = (0.5 * float(y @ alpha) + float(np.log(np.diag(L)).sum())
             + 0.5 * n * math.log(2 * math.pi))
    W = np.outer(alpha, alpha) - K_inv
    M = W * G
    trace = 2.0 * (M.sum(1) @ (X * X) - (X * (M @ X)).sum(0))  # sum_ab M_ab (X_aj - X_bj)^2
    grad = np.empty_like(theta)
    grad[:d] = -0.5 * trace / (lengthscales ** 2)
    grad[d] = -0.5 * float((W * Kf).sum())
    grad[d + 1] = -0.5 * noise * float(np.trace(W))
    if prior is not None:
        log_p, grad_p = prior.log_density(theta)
        value -= log_p
        grad -= grad_p
    return value, grad


@dataclass(frozen=True)
class GaussianProcess:
    """A fitted GP: training data, hyperparameters and the cached Cholesky factor."""

    X: np.ndarray
    y: np.ndarray
    theta: np.ndarray
    L: np.ndarray = field(repr=False)
    alpha: np.ndarray = field(repr=False)
    diagonal: float = 0.0  # what was added to K's diagonal (noise + jitter)

    @property
    def lengthscales(self) -> np.ndarray:
        return np.exp(self.theta[:-2])

    @property
    def signal_variance(self) -> float:
        return math.exp(self.theta[-2])

    @property
    def noise_variance(self) -> float:
        return math.exp(self.theta[-1])


def condition(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> GaussianProcess:
    """The GP with hyperparameters theta conditioned on (X, y): Cholesky and alpha."""
    lengthscales, signal, noise = _unpack(theta)
    K = matern52(X, X, lengthscales, signal)
    jitter = noise + _JITTER * signal
    for _ in range(6):
        K[np.diag_indices(len(X))] += jitter
        try:
            L = scipy.linalg.cholesky(K, lower=True, check_finite=False)
            break
        except np.linalg.LinAlgError:
            jitter *= 10.0
    else:  # pragma: no cover - only on pathological inputs
        raise np.linalg.LinAlgError("kernel matrix is not positive definite")
    alpha = _cho_solve(L, y)
    return GaussianProcess(X=X, y=y, theta=np.array(theta, dtype=float), L=L, alpha=alpha,
                           diagonal=jitter)


def extend(gp: GaussianProcess, X_new: np.ndarray, y_new: np.ndarray) -> GaussianProcess:
    """`condition` on (X, y) plus (X_new (p, d), y_new (p,)) with the same theta, from gp's
    Cholesky factor: L_new = [[L, 0], [B^T, C]] with B = L^-1 k(X, X_new) and C the Cholesky
    factor of k(X_new, X_new) + diagonal - B^T B. O(n^2 p); falls back to `condition` when the
    Schur complement is not numerically positive definite."""
    if len(X_new) == 0:
        return gp
    lengthscales, signal = gp.lengthscales, gp.signal_variance
    X_all, y_all = np.vstack([gp.X, X_new]), np.concatenate([gp.y, y_new])
    B = scipy.linalg.solve_triangular(gp.L, matern52(gp.X, X_new, lengthscales, signal),
                                      lower=True, check_finite=False)
    S = matern52(X_new, X_new, lengthscales, signal) - B.T @ B
    S[np.diag_indices(len(X_new))] += gp.diagonal
    try:
        C = scipy.linalg.cholesky(S, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return condition(X_all, y_all, gp.theta)
    n, p = len(gp.X), len(X_new)
    L = np.zeros((n + p, n + p))
    L[:n, :n], L[n:, :n], L[n:, n:] = gp.L, B.T, C
    alpha = _cho_solve(L, y_all)
    return GaussianProcess(X=X_all, y=y_all, theta=gp.theta, L=L, alpha=alpha,
                           diagonal=gp.diagonal)


def retarget(gp: GaussianProcess, y: np.ndarray) -> GaussianProcess:
    """The same GP (X, theta, L) with targets y (n,): only alpha is solved again, O(n^2)."""
    alpha = _cho_solve(gp.L, y)
    return dataclasses.replace(gp, y=y, alpha=alpha)


def fit(X: np.ndarray, y: np.ndarray, initial_thetas: np.ndarray, prior: Prior | None = None,
        max_iterations: int = 200) -> GaussianProcess:
    """Fit theta by L-BFGS-B from each row of initial_thetas (k, d + 2); keep the best.

    The result is conditioned on (X, y). A start whose optimisation fails keeps its value
    if finite, so a fit always returns.
    """
    prior = Prior() if prior is None else prior
    d = X.shape[1]
    bounds = theta_bounds(d, prior)
    lows = np.array([b[0] for b in bounds])
    highs = np.array([b[1] for b in bounds])
    best_theta, best_value = None, math.inf
    for theta0 in np.atleast_2d(initial_thetas):
        theta0 = np.clip(theta0, lows, highs)
        result = scipy.optimize.minimize(
            neg_log_posterior, theta0, args=(X, y, prior), jac=True, method="L-BFGS-B",
            bounds=bounds, options={"maxiter": max_iterations, "gtol": 1e-4, "ftol": 1e-7},
        )
        if np.isfinite(result.fun) and result.fun < best_value:
            best_theta, best_value = result.x, float(result.fun)
    if best_theta is None:
        best_theta = default_theta(d, prior)
    return condition(X, y, best_theta)


def predict(gp: GaussianProcess, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and variance (m,) of the latent function at x (m, d)."""
    k = matern52(x, gp.X, gp.lengthscales, gp.signal_variance)
    mean = k @ gp.alpha
    v = scipy.linalg.solve_triangular(gp.L, k.T, lower=True, check_finite=False)
    var = gp.signal_variance - (v * v).sum(0)
    return mean, np.maximum(var, 1e-12 * gp.signal_variance)


def training_mean(gp: GaussianProcess) -> np.ndarray:
    """Posterior mean (n,) of the latent function at the training inputs gp.X, in O(n):
    k(X, X) alpha = (K - diagonal I) alpha = y - diagonal * alpha, with no k(X, X) and no
    triangular solve (`predict` at gp.X also computes the variances, O(n^3))."""
    return gp.y - gp.diagonal * gp.alpha


def predict_with_grad(gp: GaussianProcess, x: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Posterior mean, variance (m,) and their gradients dmean, dvar (m, d) at x (m, d)."""
    k, dk = matern52_grad_x(x, gp.X, gp.lengthscales, gp.signal_variance)
    mean = k @ gp.alpha
    w = _cho_solve(gp.L, k.T)  # (n, m)
    var = gp.signal_variance - (k * w.T).sum(1)
    dmean = np.einsum("anj,n->aj", dk, gp.alpha)
    dvar = -2.0 * np.einsum("anj,na->aj", dk, w)
    floor = 1e-12 * gp.signal_variance
    dvar[var <= floor] = 0.0
    return mean, np.maximum(var, floor), dmean, dvar
