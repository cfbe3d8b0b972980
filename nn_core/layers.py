"""Layers as forward/backward pairs.

Contract: every `*_forward` returns `(out, cache)`; the matching `*_backward(dout, cache)`
takes the upstream gradient `dout` (same shape as `out`) and returns the gradient for each
input in the order of the forward's array arguments (`dx` first). Caches are opaque except
for batch normalisation, whose cache also carries the updated running statistics.
Arrays keep their dtype: float32 in, float32 out. Nothing here touches a global RNG; dropout
takes a `np.random.Generator`, and `training` is always an explicit boolean.

Notation: N samples, D input features, M output units, k maxout pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn_core._validate import check_generator, check_probability

__all__ = [
    "BatchNormCache",
    "affine_backward",
    "affine_forward",
    "batchnorm_backward",
    "batchnorm_forward",
    "dropout_backward",
    "dropout_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "maxout_backward",
    "maxout_forward",
    "prelu_backward",
    "prelu_forward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "tanh_backward",
    "tanh_forward",
]


# --- affine ---------------------------------------------------------------------------------


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, tuple]:
    """Fully connected layer `out = x.reshape(N, D) @ w + b`.

    x: (N, d1, ..., dk) with d1*...*dk = D, flattened row-major; w: (D, M); b: (M,) or None
    (no bias, as before a batchnorm layer). Returns out (N, M).
    """
    x2 = x.reshape(x.shape[0], -1)
    out = x2 @ w
    if b is not None:
        out += b
    return out, (x, w, b is not None)


def affine_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of the affine layer: dx (x's original shape), dw (D, M), db (M,) or None."""
    x, w, has_bias = cache
    x2 = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2.T @ dout
    db = dout.sum(axis=0) if has_bias else None
    return dx, dw, db


# --- elementwise activations ----------------------------------------------------------------


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ReLU `max(0, x)`, any shape. The cache is the output, whose sign gives the mask."""
    out = np.maximum(x, 0)
    return out, out


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx = dout where the output was positive, else 0."""
    return dout * (cache > 0)


def leaky_relu_forward(x: np.ndarray, alpha: float = 0.01) -> tuple[np.ndarray, tuple]:
    """Leaky ReLU: x where x > 0 else alpha * x, any shape."""
    positive = x > 0
    out = np.where(positive, x, x * alpha)
    return out, (positive, alpha)


def leaky_relu_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dx = dout where the input was positive, alpha * dout elsewhere."""
    positive, alpha = cache
    return np.where(positive, dout, dout * alpha)


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logistic sigmoid, any shape. Written through tanh so it never overflows."""
    out = np.tanh(x * 0.5)
    out += 1.0
    out *= 0.5
    return out, out


def sigmoid_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx from the activation's output s: dout * s * (1 - s)."""
    s = cache
    return dout * s * (1.0 - s)


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hyperbolic tangent, any shape; the cache is the output."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dx from the activation's output t: dout * (1 - t**2)."""
    t = cache
    return dout * (1.0 - t * t)


# --- PReLU ----------------------------------------------------------------------------------


def prelu_forward(x: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Parametric ReLU with one learned slope per feature.

    x: (N, M); alpha: (M,). Returns out (N, M) = x where x > 0 else alpha * x.
    """
    positive = x > 0
    out = np.where(positive, x, x * alpha)
    return out, (x, alpha, positive)


def prelu_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Returns dx (N, M) and dalpha (M,) = sum over samples of dout * x where x <= 0."""
    x, alpha, positive = cache
    dx = np.where(positive, dout, dout * alpha)
    dalpha = np.where(positive, 0, dout * x).sum(axis=0).astype(x.dtype, copy=False)
    return dx, dalpha


# --- maxout ---------------------------------------------------------------------------------


def maxout_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Maxout: the maximum of k affine pieces, `out[n, m] = max_j x[n] @ w[:, j, m] + b[j, m]`.

    x: (N, d1, ..., dk) flattened to (N, D); w: (D, k, M); b: (k, M). Returns out (N, M).
    """
    n = x.shape[0]
    d, k, m = w.shape
    x2 = x.reshape(n, -1)
    z = (x2 @ w.reshape(d, k * m)).reshape(n, k, m)
    z += b
    out, winners = max_over_pieces(z)
    return out, (x, w, winners)


def maxout_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns dx (x's shape), dw (D, k, M), db (k, M); only the winning piece gets gradient."""
    x, w, winners = cache
    n = x.shape[0]
    d, k, m = w.shape
    dz = max_over_pieces_backward(dout, winners, k)
    dz2 = dz.reshape(n, k * m)
    dw = (x.reshape(n, -1).T @ dz2).reshape(d, k, m)
    db = dz.sum(axis=0)
    dx = (dz2 @ w.reshape(d, k * m).T).reshape(x.shape)
    return dx, dw, db


def max_over_pieces(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum over axis 1 of z (N, k, M): returns out (N, M) and the winning index (N, 1, M)."""
    winners = z.argmax(axis=1)[:, None, :]
    out = np.take_along_axis(z, winners, axis=1)[:, 0, :]
    return out, winners


def max_over_pieces_backward(dout: np.ndarray, winners: np.ndarray, pieces: int) -> np.ndarray:
    """Routes dout (N, M) to the winning piece: returns dz (N, k, M)."""
    n, m = dout.shape
    dz = np.zeros((n, pieces, m), dtype=dout.dtype)
    np.put_along_axis(dz, winners, dout[:, None, :], axis=1)
    return dz


# --- batch normalisation --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BatchNormCache:
    """What batchnorm_backward needs, plus the running statistics after this forward pass.

    running_mean, running_var: (D,), new arrays in training mode (the caller's are untouched),
    the caller's own arrays in evaluation mode.
    """

    xhat: np.ndarray
    gamma: np.ndarray
    inv_std: np.ndarray
    training: bool
    running_mean: np.ndarray
    running_var: np.ndarray


def batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    training: bool,
    momentum: float = 0.9,
    eps: float = 1e-5,
) -> tuple[np.ndarray, BatchNormCache]:
    """Batch normalisation over the batch axis.

    x: (N, D); gamma, beta, running_mean, running_var: (D,).
    Training: normalise with the batch mean and biased variance (eps inside the square root);
    the updated running statistics `momentum * running + (1 - momentum) * batch` are returned
    in `cache.running_mean` / `cache.running_var` as new arrays. Evaluation: normalise with the
    running statistics. Returns out (N, D) and the cache.
    """
    if training:
        mean = x.mean(axis=0)
        centred = x - mean
        var = np.mean(centred * centred, axis=0)
        new_mean = momentum * running_mean + (1.0 - momentum) * mean
        new_var = momentum * running_var + (1.0 - momentum) * var
    else:
        centred = x - running_mean
        var = running_var
        new_mean, new_var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = centred
    xhat *= inv_std
    out = xhat * gamma
    out += beta
    cache = BatchNormCache(xhat, gamma, inv_std, bool(training), new_mean, new_var)
    return out, cache


def batchnorm_backward(
    dout: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compact closed form: dx = gamma * inv_std / N * (N * dout - dbeta - xhat * dgamma).

    Returns dx (N, D), dgamma (D,), dbeta (D,). In evaluation mode the statistics are
    constants, so dx = dout * gamma * inv_std.
    """
    xhat, gamma = cache.xhat, cache.gamma
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum("nd,nd->d", dout, xhat)
    scale = gamma * cache.inv_std
    if not cache.training:
        return dout * scale, dgamma, dbeta
    n = dout.shape[0]
    dx = dout * n
    dx -= dbeta
    dx -= xhat * dgamma
    dx *= scale * (1.0 / n)
    return dx, dgamma, dbeta


# --- inverted dropout -----------------------------------------------------------------------


def dropout_forward(
    x: np.ndarray, keep_prob: float, training: bool, rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Inverted dropout: each unit is kept with probability keep_prob and scaled by 1/keep_prob.

    x: any shape. mask = (rng.random(x.shape) < keep_prob) / keep_prob; the identity when not
    training (the cache is then None). keep_prob must be in (0, 1]; rng is needed only in
    training.
    """
    keep_prob = check_probability("keep_prob", keep_prob, low_open=True, high_open=False)
    if not training:
        return x, None
    rng = check_generator("rng", rng)
    mask = dropout_mask(x.shape, keep_prob, rng, x.dtype)
    return x * mask, mask


def dropout_backward(dout: np.ndarray, cache: np.ndarray | None) -> np.ndarray:
    """dx = dout * mask (the identity if the forward pass was not in training mode)."""
    return dout if cache is None else dout * cache


def dropout_mask(
    shape: tuple[int, ...], keep_prob: float, rng: np.random.Generator, dtype: np.dtype
) -> np.ndarray:
    """The scaled keep mask (rng.random(shape) < keep_prob) / keep_prob in `dtype`."""
    dtype = np.dtype(dtype)
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
    mask = (rng.random(shape, dtype=draw_dtype) < keep_prob).astype(dtype)
    mask *= 1.0 / keep_prob
    return mask
