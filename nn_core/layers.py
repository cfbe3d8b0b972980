"""Layers as forward/backward pairs.

Contract: every `*_forward` returns `(out, cache)`; the matching `*_backward(dout, cache)`
takes the upstream gradient `dout` (same shape as `out`) and returns the gradient for each
input in the order of the forward's array arguments (`dx` first). Caches are opaque except
for batch normalisation, whose cache also carries the updated running statistics. Arrays keep
their dtype: float32 in, float32 out. No global RNG: dropout takes a `np.random.Generator`;
`training` is always an explicit boolean.

These are the functions `nn_core.network.Network` runs (one implementation of each layer,
gradient-checked once in the tests): for speed it passes the optional `out=` arrays (reused
buffers; an activation may write over its own input), cached scratch arrays (ReLU's zeros and
mask, the bias gradient's ones vector) and calls the two halves of `affine_backward` itself.
Called without them, every function allocates its result and leaves its inputs untouched.
Products: `nn_core.blas.matmul`. Notation: N samples, D input features, M outputs, k pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn_core._validate import check_generator, check_probability
from nn_core.blas import matmul

__all__ = [
    "BatchNormCache",
    "affine_backward",
    "affine_forward",
    "affine_input_gradient",
    "affine_weight_gradients",
    "batchnorm_backward",
    "batchnorm_forward",
    "dropout_backward",
    "dropout_forward",
    "dropout_mask",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "matmul_into",
    "max_over_pieces",
    "max_over_pieces_backward",
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


def affine_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, out: np.ndarray | None = None
) -> tuple[np.ndarray, tuple]:
    """Fully connected layer `out = x.reshape(N, D) @ w + b`.

    x: (N, d1, ..., dk) with d1*...*dk = D, flattened row-major; w: (D, M); b: (M,) or None
    (no bias, as before a batchnorm layer). out: optional (N, M) array the result is written
    into (the network's reused activation buffer). Returns out (N, M).
    """
    x2 = x if x.ndim == 2 else x.reshape(x.shape[0], -1)
    out = matmul(x2, w, out=out)
    if b is not None:
        out += b
    return out, (x, w, b is not None)


def affine_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of the affine layer: dx (x's original shape), dw (D, M), db (M,) or None."""
    x, w, has_bias = cache
    dx = affine_input_gradient(dout, w).reshape(x.shape)
    dw, db = affine_weight_gradients(dout, x, has_bias)
    return dx, dw, db


def affine_input_gradient(
    dout: np.ndarray, w: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """The affine layer's dx as (N, D) = dout (N, M) @ w.T, written into `out` when given.

    Half of `affine_backward`: a network skips it for its first layer, whose input needs
    no gradient.
    """
    return matmul(dout, w.T, out=out)


def affine_weight_gradients(
    dout: np.ndarray,
    x: np.ndarray,
    has_bias: bool = True,
    dw_out: np.ndarray | None = None,
    db_out: np.ndarray | None = None,
    ones: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The affine layer's dw (D, M) = x.reshape(N, D).T @ dout and db (M,) = ones(N) @ dout.

    The other half of `affine_backward`. db is None without a bias. dw_out, db_out: optional
    arrays receiving the gradients (see `matmul_into`: a maxout weight's (D, k, M) may
    receive a (D, k*M) gradient); ones: an optional cached ones vector (N,) (the bias
    gradient as a matrix-vector product runs about 2x faster than dout.sum(axis=0)).
    """
    x2 = x if x.ndim == 2 else x.reshape(x.shape[0], -1)
    dw = matmul(x2.T, dout) if dw_out is None else matmul_into(x2.T, dout, dw_out)
    if not has_bias:
        return dw, None
    if ones is None:
        ones = np.ones(dout.shape[0], dtype=dout.dtype)
    db = matmul(ones, dout) if db_out is None else matmul_into(ones, dout, db_out)
    return dw, db


def matmul_into(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """a @ b written into `out` and returned: a (N, D) or (D,), b (D, M).

    out has the product's shape, or any shape with as many entries (a maxout weight's
    (D, k, M) for a (D, k*M) product); a C-contiguous out receives the product directly.
    """
    try:
        return matmul(a, b, out=out)
    except ValueError:  # out has another shape (matmul checks before it writes)
        pass
    product_shape = (a.shape[0], b.shape[1]) if a.ndim == 2 else (b.shape[1],)
    if out.flags.c_contiguous:  # then the reshape is a view of out
        matmul(a, b, out=out.reshape(product_shape))
    else:
        np.copyto(out, matmul(a, b).reshape(out.shape))
    return out


# --- elementwise activations ----------------------------------------------------------------
# Each takes an optional `out` (which may be its input: in place); its backward computes the
# derivative from the activation's output, as scikit-learn does, so the output is the cache.


def relu_forward(
    x: np.ndarray, out: np.ndarray | None = None, zeros: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """ReLU `max(0, x)`, any shape. The cache is the output, whose sign gives the mask.

    zeros: an optional array of zeros shaped like x (NumPy's maximum is vectorised only
    between arrays and runs about 2x slower against the scalar 0).
    """
    out = np.maximum(x, 0 if zeros is None else zeros, out=out)
    return out, out


def relu_backward(
    dout: np.ndarray,
    cache: np.ndarray,
    out: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """dx = dout where the output was positive, else 0; mask: optional boolean scratch array
    shaped like dout; out may be dout itself."""
    mask = np.greater(cache, 0, out=mask)
    return np.multiply(dout, mask, out=out)


def leaky_relu_forward(
    x: np.ndarray, alpha: float = 0.01, out: np.ndarray | None = None
) -> tuple[np.ndarray, tuple]:
    """Leaky ReLU: x where x > 0 else alpha * x, any shape; 0 <= alpha < 1.

    Computed as max(x, alpha * x), which is the leaky ReLU for those slopes; the output keeps
    the input's sign, so the backward pass reads it from the output.
    """
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha must be in [0, 1); got {alpha!r}")
    out = np.maximum(x, x * alpha, out=out)
    return out, (out, alpha)


def leaky_relu_backward(dout: np.ndarray, cache: tuple) -> np.ndarray:
    """dx = dout where the output was positive, alpha * dout elsewhere."""
    output, alpha = cache
    return np.where(output > 0, dout, dout * alpha)


def sigmoid_forward(
    x: np.ndarray, out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Logistic sigmoid, any shape. Written through tanh so it never overflows."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out, out


def sigmoid_backward(
    dout: np.ndarray, cache: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """dx from the activation's output s: dout * s * (1 - s); out may be dout itself."""
    s = cache
    return np.multiply(dout, s * (1.0 - s), out=out)


def tanh_forward(x: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hyperbolic tangent, any shape; the cache is the output."""
    out = np.tanh(x, out=out)
    return out, out


def tanh_backward(
    dout: np.ndarray, cache: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """dx from the activation's output t: dout * (1 - t**2); out may be dout itself."""
    t = cache
    return np.multiply(dout, 1.0 - t * t, out=out)


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
    An affine layer onto the k*M pieces, then `max_over_pieces` (a network puts batchnorm
    between the two).
    """
    d, k, m = w.shape
    z, affine_cache = affine_forward(x, w.reshape(d, k * m), b.reshape(-1))
    out, winners = max_over_pieces(z.reshape(z.shape[0], k, m))
    return out, (affine_cache, w.shape, winners)


def maxout_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns dx (x's shape), dw (D, k, M), db (k, M); only the winning piece gets gradient."""
    affine_cache, w_shape, winners = cache
    _, k, m = w_shape
    dz = max_over_pieces_backward(dout, winners, k).reshape(dout.shape[0], k * m)
    dx, dw, db = affine_backward(dz, affine_cache)
    return dx, dw.reshape(w_shape), db.reshape(k, m)


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
    x: np.ndarray,
    keep_prob: float,
    training: bool,
    rng: np.random.Generator | None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Inverted dropout: each unit is kept with probability keep_prob and scaled by 1/keep_prob.

    x: any shape. mask = (rng.random(x.shape) < keep_prob) / keep_prob; the identity when not
    training (x itself is returned and the cache is None). keep_prob must be in (0, 1]; rng is
    needed only in training. out: optional array for x * mask (may be x itself, in place).
    """
    keep_prob = check_probability("keep_prob", keep_prob, low_open=True, high_open=False)
    if not training:
        return x, None
    rng = check_generator("rng", rng)
    mask = dropout_mask(x.shape, keep_prob, rng, x.dtype)
    return np.multiply(x, mask, out=out), mask


def dropout_backward(
    dout: np.ndarray, cache: np.ndarray | None, out: np.ndarray | None = None
) -> np.ndarray:
    """dx = dout * mask (the identity if the forward pass was not in training mode); out may
    be dout itself."""
    return dout if cache is None else np.multiply(dout, cache, out=out)


def dropout_mask(
    shape: tuple[int, ...], keep_prob: float, rng: np.random.Generator, dtype: np.dtype
) -> np.ndarray:
    """The scaled keep mask (rng.random(shape) < keep_prob) / keep_prob in `dtype`."""
    dtype = np.dtype(dtype)
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
    mask = (rng.random(shape, dtype=draw_dtype) < keep_prob).astype(dtype)
    mask *= 1.0 / keep_prob
    return mask
