"""The Matern 5/2 kernels, computed in place for speed, give bit for bit what their written
formulas give (the strategies' decisions depend on every bit: a last-digit change moves
L-BFGS-B's path), including at distance zero."""

from __future__ import annotations

import numpy as np

from hpsearch.gp.kernels import matern52, matern52_and_g, matern52_grad_x

ROOT5 = np.sqrt(5.0)


def written(X1, X2, lengthscales, signal):
    """k, G (n, m) and dk (n, m, d) as the module docstring writes them, one expression each."""
    diff = X1[:, None, :] - X2[None, :, :]
    A, B = X1 / lengthscales, X2 / lengthscales
    s = ROOT5 * np.sqrt(np.maximum((A * A).sum(1)[:, None] + (B * B).sum(1)[None, :]
                                   - 2.0 * (A @ B.T), 0.0))
    k = signal * (1.0 + s + s * s / 3.0) * np.exp(-s)
    G = signal * (5.0 / 3.0) * (1.0 + s) * np.exp(-s)
    scaled = diff / lengthscales
    s_x = ROOT5 * np.sqrt((scaled * scaled).sum(-1))
    k_x = signal * (1.0 + s_x + s_x * s_x / 3.0) * np.exp(-s_x)
    G_x = signal * (5.0 / 3.0) * (1.0 + s_x) * np.exp(-s_x)
    return k, G, k_x, -G_x[:, :, None] * diff / (lengthscales * lengthscales)


def test_kernels_equal_their_written_formulas_bit_for_bit():
    rng = np.random.default_rng(0)
    for n, m, d in [(1, 1, 1), (7, 5, 3), (40, 90, 8), (120, 33, 2)]:
        X1, X2 = rng.random((n, d)), rng.random((m, d))
        X2[: min(n, m) // 2] = X1[: min(n, m) // 2]  # some distances are zero
        lengthscales, signal = np.exp(rng.normal(0.0, 1.0, d)), float(np.exp(rng.normal()))
        k, _, k_x, dk = written(X1, X2, lengthscales, signal)
        np.testing.assert_array_equal(matern52(X1, X2, lengthscales, signal), k)
        got_k, got_dk = matern52_grad_x(X1, X2, lengthscales, signal)
        np.testing.assert_array_equal(got_k, k_x)
        np.testing.assert_array_equal(got_dk, dk)
        K, G, _, _ = written(X1, X1, lengthscales, signal)
        got_K, got_G = matern52_and_g(X1, lengthscales, signal)
        np.testing.assert_array_equal(got_K, K)
        np.testing.assert_array_equal(got_G, G)
