"""Weight penalties and the max-norm constraint.

Contract: a penalty is `penalty(w, reg, ...) -> (value, grad)` with value a Python float and
grad an array of w's shape and dtype; it is added to the data loss of the weight matrices
only. Biases, batchnorm gamma/beta and PReLU slopes are never regularised (the network only
passes its `weight_keys` here).

- l2:      1/2 * reg * sum(w^2)                        grad reg * w
- l1:      reg * sum(|w|)                              grad reg * sign(w)
- elastic: reg * (l1_ratio * |w| + (1 - l1_ratio) * 1/2 * w^2), summed
- none:    0
- max_norm(w, c): projects each unit's incoming weight vector (each column of w (D, M), or of
  w.reshape(D, -1) for maxout weights) onto the L2 ball of radius c.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nn_core._validate import check_choice

__all__ = ["REGULARIZERS", "elastic", "l1", "l2", "max_norm", "no_penalty", "penalty"]


def l2(w: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    """1/2 * reg * sum(w**2) and its gradient reg * w (same shape as w)."""
    flat = w.reshape(-1)
    return 0.5 * reg * float(np.dot(flat, flat)), w * reg


def l1(w: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    """reg * sum(|w|) and its (sub)gradient reg * sign(w)."""
    grad = np.sign(w)
    grad *= reg
    return reg * float(np.abs(w).sum()), grad


def elastic(w: np.ndarray, reg: float, l1_ratio: float = 0.5) -> tuple[float, np.ndarray]:
    """reg * (l1_ratio * sum|w| + (1 - l1_ratio) * 1/2 * sum w^2) and its gradient."""
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must be in [0, 1]; got {l1_ratio}")
    value_1, grad = l1(w, reg * l1_ratio)
    value_2, grad_2 = l2(w, reg * (1.0 - l1_ratio))
    grad += grad_2
    return value_1 + value_2, grad


def no_penalty(w: np.ndarray, reg: float) -> tuple[float, np.ndarray]:
    """No regularisation: 0 and a zero gradient."""
    return 0.0, np.zeros_like(w)


REGULARIZERS: dict[str, Callable[..., tuple[float, np.ndarray]]] = {
    "l2": l2,
    "l1": l1,
    "elastic": elastic,
    "none": no_penalty,
}


def penalty(
    name: str, w: np.ndarray, reg: float, l1_ratio: float = 0.5
) -> tuple[float, np.ndarray]:
    """The penalty registered under `name` (l2 | l1 | elastic | none) for weights w."""
    check_choice("regularization", name, REGULARIZERS)
    if name == "elastic":
        return elastic(w, reg, l1_ratio)
    return REGULARIZERS[name](w, reg)


def max_norm(w: np.ndarray, c: float, out: np.ndarray | None = None) -> np.ndarray:
    """Clip each column of w (D, M) (or of w.reshape(D, -1)) to L2 norm at most c.

    Returns the projected weights: a new array, or `out` (which may be w itself, for an
    in-place projection).
    """
    if not c > 0:
        raise ValueError(f"c (the max-norm radius) must be positive; got {c}")
    columns = w.reshape(w.shape[0], -1)
    norms = np.sqrt(np.einsum("dm,dm->m", columns, columns))
    # Columns already inside the ball keep scale 1; the others are shrunk onto its surface.
    scale = np.minimum(1.0, c / np.maximum(norms, 1e-12)).astype(w.dtype, copy=False)
    if out is None:
        return (columns * scale).reshape(w.shape)
    np.multiply(columns, scale, out=out.reshape(w.shape[0], -1))
    return out
