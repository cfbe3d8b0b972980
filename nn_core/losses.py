"""Data losses: `loss_fn(scores, y) -> (loss, dscores)`.

Contract: scores (N, C) are the network's raw outputs (no activation); the loss is averaged
over the N samples and returned as a Python float; dscores (N, C) is its gradient, in the
scores' dtype. All losses are numerically stable for scores of any magnitude (shift by the
row maximum, log-sum-exp, |s| inside the sigmoid cross-entropy).

- softmax_loss: cross-entropy, y int labels (N,).
- svm_loss: multiclass hinge with margin 1, y int labels (N,).
- sigmoid_cross_entropy_loss: independent binary attributes, y a 0/1 matrix (N, C); summed
  over C, averaged over N.
- l2_loss / l1_loss: regression, L_i = ||f_i - y_i||_2^2 or ||f_i - y_i||_1; y (N, C), or (N,)
  when C == 1.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from nn_core._validate import check_choice

__all__ = [
    "LOSSES",
    "get_loss",
    "l1_loss",
    "l2_loss",
    "sigmoid_cross_entropy_loss",
    "softmax_loss",
    "svm_loss",
]

LossFunction = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def _as_float(scores: np.ndarray) -> np.ndarray:
    """Scores as a floating-point array (integer scores become float64)."""
    scores = np.asarray(scores)
    return scores if scores.dtype.kind == "f" else scores.astype(np.float64)


def _check_scores(scores: np.ndarray) -> None:
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (N, C); got shape {scores.shape}")


def _check_labels(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    _check_scores(scores)
    n, c = scores.shape
    y = np.asarray(y)
    if y.shape != (n,) or y.dtype.kind not in "iu":
        raise ValueError(
            f"y must be integer class labels of shape ({n},); got {y.dtype} of shape {y.shape}"
        )
    if n and (y.min() < 0 or y.max() >= c):
        raise ValueError(
            f"y must hold class labels in [0, {c}); got values in [{y.min()}, {y.max()}]"
        )
    return y


def _check_targets(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    _check_scores(scores)
    n, c = scores.shape
    y = np.asarray(y)
    if y.shape == (n,) and c == 1:
        y = y.reshape(n, 1)
    if y.shape != (n, c):
        raise ValueError(f"y must have shape ({n}, {c}); got shape {y.shape}")
    return y


@functools.lru_cache(maxsize=32)
def _row_starts(n: int, c: int) -> np.ndarray:
    """Flat index of each row's first entry in a C-contiguous (n, c) array (read-only)."""
    starts = np.arange(0, n * c, c)
    starts.flags.writeable = False
    return starts


@functools.lru_cache(maxsize=32)
def _ones(c: int, dtype: np.dtype) -> np.ndarray:
    ones = np.ones(c, dtype=dtype)
    ones.flags.writeable = False
    return ones


def softmax_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy. scores (N, C), y int (N,). Returns (loss, dscores (N, C))."""
    scores = _as_float(scores)
    y = _check_labels(scores, y)
    n, c = scores.shape
    if n == 0:
        return 0.0, np.zeros_like(scores)
    # Written for small C at minibatch size, where each NumPy call costs more than its
    # arithmetic: entries picked by flat index (8x faster than [rows, cols] indexing), the row
    # maximum through argmax (max(axis=1) is slower for small C) and the row sums as a
    # matrix-vector product (3x faster than sum(axis=1)).
    row_starts = _row_starts(n, c)
    shift = scores.reshape(-1)[row_starts + scores.argmax(axis=1)]
    probs = np.subtract(scores, shift[:, None], order="C")  # flat is then a view of probs
    flat = probs.reshape(-1)
    picked = row_starts + y.astype(np.intp, copy=False)  # uint64 + int64 would be float
    # -log p_y = log(sum_j exp(s_j)) - s_y, both taken after the max shift.
    picked_sum = float(flat[picked].sum(dtype=np.float64))
    np.exp(probs, out=probs)
    sums = probs @ _ones(c, probs.dtype)
    loss = (float(np.log(sums).sum(dtype=np.float64)) - picked_sum) / n
    sums *= n
    probs /= sums[:, None]
    flat[picked] -= 1.0 / n
    return loss, probs


def svm_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Multiclass hinge: sum over j != y of max(0, s_j - s_y + 1). scores (N, C), y int (N,)."""
    scores = _as_float(scores)
    y = _check_labels(scores, y)
    n = scores.shape[0]
    rows = np.arange(n)
    margins = scores - scores[rows, y][:, None]
    margins += 1.0
    np.maximum(margins, 0, out=margins)
    margins[rows, y] = 0
    loss = float(margins.sum()) / n
    dscores = (margins > 0).astype(scores.dtype)
    dscores[rows, y] = -dscores.sum(axis=1)
    dscores *= 1.0 / n
    return loss, dscores


def sigmoid_cross_entropy_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Binary cross-entropy per attribute. scores (N, C), y 0/1 (N, C).

    Uses the stable form max(s, 0) - s * y + log1p(exp(-|s|)); the gradient is sigmoid(s) - y.
    """
    scores = _as_float(scores)
    y = _check_targets(scores, y).astype(scores.dtype, copy=False)
    n = scores.shape[0]
    per_entry = np.maximum(scores, 0) - scores * y + np.log1p(np.exp(-np.abs(scores)))
    loss = float(per_entry.sum()) / n
    dscores = np.tanh(scores * 0.5)  # sigmoid(s) = (1 + tanh(s / 2)) / 2, overflow-free
    dscores += 1.0
    dscores *= 0.5
    dscores -= y
    dscores *= 1.0 / n
    return loss, dscores


def l2_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Squared L2 regression loss ||f_i - y_i||^2, averaged over N. scores (N, C), y (N, C)."""
    scores = _as_float(scores)
    y = _check_targets(scores, y)
    n = scores.shape[0]
    diff = scores - y.astype(scores.dtype, copy=False)
    loss = float(np.einsum("nc,nc->", diff, diff)) / n
    diff *= 2.0 / n
    return loss, diff


def l1_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """L1 regression loss ||f_i - y_i||_1, averaged over N. scores (N, C), y (N, C)."""
    scores = _as_float(scores)
    y = _check_targets(scores, y)
    n = scores.shape[0]
    diff = scores - y.astype(scores.dtype, copy=False)
    loss = float(np.abs(diff).sum()) / n
    dscores = np.sign(diff)
    dscores *= 1.0 / n
    return loss, dscores


LOSSES: dict[str, LossFunction] = {
    "softmax": softmax_loss,
    "svm": svm_loss,
    "sigmoid_cross_entropy": sigmoid_cross_entropy_loss,
    "l2": l2_loss,
    "l1": l1_loss,
}


def get_loss(name: str) -> LossFunction:
    """The loss function registered under `name` (one of LOSSES)."""
    return LOSSES[check_choice("loss", name, LOSSES)]
