"""Weight initialisation schemes, by name.

Contract: every initialiser is `scheme(shape, rng, dtype="float64") -> ndarray` and draws only
from the `np.random.Generator` it is given, so the same seed gives the same weights. Shapes are
(n_in, n_out) for a dense layer, or (n_in, k, n_out) for a maxout layer; n_in is shape[0] and
n_out is shape[-1]. Values are drawn in float64 and then cast, so a seed gives the same weights
(up to rounding) in float32 and float64. Biases are always zero (`zeros_bias`).

- small:      0.01 * N(0, 1)
- calibrated: N(0, 1) / sqrt(n_in)                 (output variance independent of fan-in)
- xavier:     N(0, 2 / (n_in + n_out))            (Glorot)
- he:         N(0, 2 / n_in)                       (for ReLU networks)
- sparse:     each unit (column) connected to `connections` (10) random inputs, weights
              N(0, 0.01^2); all other weights zero.
- zeros:      all zero; allowed only when asked for by name, and warns, because identical
              units receive identical gradients and never become different.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np

from nn_core._validate import check_choice, check_generator

__all__ = [
    "INITIALIZERS",
    "calibrated",
    "he",
    "initialize",
    "small",
    "sparse",
    "xavier",
    "zeros",
    "zeros_bias",
]

Shape = tuple[int, ...]


def _fans(shape: Shape) -> tuple[int, int]:
    if len(shape) < 2 or any(int(s) <= 0 for s in shape):
        raise ValueError(
            f"shape must be (n_in, n_out) or (n_in, k, n_out) of positive sizes; got {shape}"
        )
    return int(shape[0]), int(shape[-1])


def _normal(shape: Shape, std: float, rng: np.random.Generator, dtype: str) -> np.ndarray:
    rng = check_generator("rng", rng)
    _fans(shape)
    return (rng.standard_normal(shape) * std).astype(dtype, copy=False)


def small(shape: Shape, rng: np.random.Generator, dtype: str = "float64") -> np.ndarray:
    """0.01 * N(0, 1) of `shape`."""
    return _normal(shape, 0.01, rng, dtype)


def calibrated(shape: Shape, rng: np.random.Generator, dtype: str = "float64") -> np.ndarray:
    """N(0, 1) / sqrt(n_in) of `shape`."""
    n_in, _ = _fans(shape)
    return _normal(shape, 1.0 / math.sqrt(n_in), rng, dtype)


def xavier(shape: Shape, rng: np.random.Generator, dtype: str = "float64") -> np.ndarray:
    """N(0, 2 / (n_in + n_out)) of `shape`."""
    n_in, n_out = _fans(shape)
    return _normal(shape, math.sqrt(2.0 / (n_in + n_out)), rng, dtype)


def he(shape: Shape, rng: np.random.Generator, dtype: str = "float64") -> np.ndarray:
    """N(0, 2 / n_in) of `shape`."""
    n_in, _ = _fans(shape)
    return _normal(shape, math.sqrt(2.0 / n_in), rng, dtype)


def sparse(
    shape: Shape,
    rng: np.random.Generator,
    dtype: str = "float64",
    connections: int = 10,
    std: float = 0.01,
) -> np.ndarray:
    """Each output unit gets min(connections, n_in) nonzero incoming weights drawn N(0, std^2).

    For a maxout shape (n_in, k, n_out) every piece of every unit is treated as a unit.
    """
    rng = check_generator("rng", rng)
    n_in, _ = _fans(shape)
    if connections < 1:
        raise ValueError(f"connections must be a positive integer; got {connections}")
    units = math.prod(shape[1:])
    used = min(int(connections), n_in)
    weights = np.zeros((n_in, units))
    # Pick `used` distinct inputs per unit: argsort of uniform noise is a random permutation.
    rows = np.argsort(rng.random((n_in, units)), axis=0)[:used]
    weights[rows, np.arange(units)] = rng.standard_normal((used, units)) * std
    return weights.reshape(shape).astype(dtype, copy=False)


def zeros(
    shape: Shape, rng: np.random.Generator | None = None, dtype: str = "float64"
) -> np.ndarray:
    """All-zero weights. Warns: every unit then computes the same thing forever."""
    _fans(shape)
    warnings.warn(
        "init='zeros' gives every unit of a layer the same output and gradient, so they never "
        "become different (no symmetry breaking); use a random scheme for weights",
        UserWarning,
        stacklevel=2,
    )
    return np.zeros(shape, dtype=dtype)


def zeros_bias(size: int | Shape, dtype: str = "float64") -> np.ndarray:
    """Zero biases (random biases buy nothing; zero is the convention)."""
    return np.zeros(size, dtype=dtype)


INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "small": small,
    "calibrated": calibrated,
    "xavier": xavier,
    "he": he,
    "sparse": sparse,
    "zeros": zeros,
}


def initialize(
    name: str, shape: Shape, rng: np.random.Generator, dtype: str = "float64"
) -> np.ndarray:
    """Weights of `shape` drawn by the scheme registered under `name` (see INITIALIZERS)."""
    scheme = INITIALIZERS[check_choice("init", name, INITIALIZERS)]
    return scheme(tuple(shape), rng, dtype)
