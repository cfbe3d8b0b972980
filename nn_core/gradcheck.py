"""Gradient checks: centred differences compared with analytic gradients, by relative error.

Contract:
- `numerical_gradient(f, x, h)`: gradient of a scalar function f(x) by (f(x+h) - f(x-h)) / 2h,
  perturbing x in place one entry at a time and restoring it. Returns float64, x's shape.
- `numerical_gradient_array(f, x, dout, h)`: the same for an array-valued f, contracted with the
  upstream gradient: sum((f(x+h) - f(x-h)) * dout) / 2h, i.e. what a layer's backward returns.
- `relative_error(a, b)`: max over entries of |a - b| / max(|a|, |b|, 1e-8).
- `check_network_gradients(...)`: samples entries of every parameter of a float64 copy of a
  network and returns a `GradientCheckReport` (one row per parameter). Entries whose +h and -h
  evaluations lie on different sides of a kink (ReLU/leaky/PReLU at 0, a maxout winner change,
  an SVM margin or L1 residual at 0, an L1-regularised weight at 0) are flagged, counted and
  left out of the worst error: the numerical gradient is meaningless there. An entry whose
  analytic and numerical gradients are both below the rounding noise of the centred difference
  (8 eps max(|f|, 1) / h, about 2e-10 for h=1e-5) counts as agreement: it cannot be measured,
  and an exactly-zero gradient must not be reported as an error.

As the seed advises: float64, a small batch, regularisation off by default (it can hide a
backprop bug), and dropout made deterministic by re-seeding the same Generator for every
evaluation so that each one draws the same mask.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from nn_core.network import Network, NetworkConfig

# Relative rounding error of a float64 loss value, with headroom for the sums inside it.
_ROUNDING_NOISE = 8 * np.finfo(np.float64).eps

__all__ = [
    "GradientCheckReport",
    "GradientCheckRow",
    "check_network_gradients",
    "numerical_gradient",
    "numerical_gradient_array",
    "relative_error",
]


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Centred-difference gradient of scalar f at x (any shape); x is restored afterwards."""
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(*x.shape):
        old = x[index]
        x[index] = old + h
        plus = float(f(x))
        x[index] = old - h
        minus = float(f(x))
        x[index] = old
        grad[index] = (plus - minus) / (2.0 * h)
    return grad


def numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Centred-difference gradient of sum(f(x) * dout) at x; x is restored afterwards."""
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(*x.shape):
        old = x[index]
        x[index] = old + h
        plus = np.array(f(x), dtype=np.float64)  # a copy: f may return a view of its input
        x[index] = old - h
        minus = np.array(f(x), dtype=np.float64)
        x[index] = old
        grad[index] = np.sum((plus - minus) * dout) / (2.0 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max over entries of |a - b| / max(|a|, |b|, 1e-8); 0.0 for empty arrays."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-8)
    return float(np.max(np.abs(a - b) / scale))


@dataclass(frozen=True)
class GradientCheckRow:
    """One parameter's result. worst_relative_error is NaN when every entry was at a kink."""

    parameter: str
    worst_relative_error: float
    num_checked: int
    num_kinks: int


@dataclass(frozen=True)
class GradientCheckReport:
    """Rows of a network gradient check, in parameter order."""

    rows: tuple[GradientCheckRow, ...]
    h: float

    @property
    def worst_relative_error(self) -> float:
        """Worst relative error over all parameters (kinks excluded); 0.0 if nothing checked."""
        errors = [
            r.worst_relative_error for r in self.rows if not math.isnan(r.worst_relative_error)
        ]
        return max(errors, default=0.0)

    def passed(self, tolerance: float = 1e-6) -> bool:
        """True when every non-kink entry has relative error at most `tolerance`."""
        return self.worst_relative_error <= tolerance

    def format_table(self) -> str:
        """A plain-text table: parameter, worst relative error, entries checked, kinks."""
        width = max([len("parameter")] + [len(r.parameter) for r in self.rows])
        lines = [f"{'parameter':<{width}}  {'worst rel. error':>16}  {'checked':>7}  {'kinks':>5}"]
        for r in self.rows:
            error = "-" if math.isnan(r.worst_relative_error) else f"{r.worst_relative_error:.3e}"
            lines.append(
                f"{r.parameter:<{width}}  {error:>16}  {r.num_checked:>7}  {r.num_kinks:>5}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_table()


def _float64_copy(
    network_or_config: Network | NetworkConfig, reg: float, rng: np.random.Generator
) -> Network:
    if isinstance(network_or_config, NetworkConfig):
        return Network(replace(network_or_config, dtype="float64", reg=reg), rng)
    if not isinstance(network_or_config, Network):
        raise ValueError(
            "network_or_config must be a Network or a NetworkConfig; "
            f"got {type(network_or_config).__name__}"
        )
    source = network_or_config
    # type(source) keeps subclasses (e.g. an instrumented network) under test.
    copy = type(source)(replace(source.config, dtype="float64", reg=reg), np.random.default_rng(0))
    copy.params = {k: np.array(v, dtype=np.float64) for k, v in source.params.items()}
    copy.buffers = {k: np.array(v, dtype=np.float64) for k, v in source.buffers.items()}
    return copy


def check_network_gradients(
    network_or_config: Network | NetworkConfig,
    X: np.ndarray,
    y: np.ndarray,
    num_checks: int = 10,
    reg: float = 0.0,
    rng: np.random.Generator | None = None,
    h: float = 1e-5,
    training: bool = True,
) -> GradientCheckReport:
    """Compare analytic and numerical gradients of every parameter on (X, y), in float64.

    network_or_config: a Network (copied to float64, the original is untouched) or a
    NetworkConfig (a fresh network is drawn from rng). X (N, input_dim), y as the loss expects.
    num_checks entries are sampled per parameter. reg replaces the config's regularisation
    strength (0 by default). training=True exercises batch statistics and dropout (one fixed
    mask). rng (default: np.random.default_rng(0)) draws the sampled entries, the dropout seed,
    and, for a config, the weights.
    """
    if rng is None:
        rng = np.random.default_rng(0)
    if num_checks < 1:
        raise ValueError(f"num_checks must be a positive integer; got {num_checks}")
    network = _float64_copy(network_or_config, reg, rng)
    X = np.asarray(X, dtype=np.float64)
    dropout_seed = int(rng.integers(2**32))

    def evaluate() -> tuple[float, list[np.ndarray]]:
        return network.loss_and_kinks(X, y, training, np.random.default_rng(dropout_seed))

    _, analytic = network.loss(X, y, training, np.random.default_rng(dropout_seed))
    rows = []
    for key, param in network.params.items():
        flat = param.reshape(-1)  # a view: params are contiguous
        grad = analytic[key].reshape(-1)
        count = min(int(num_checks), flat.size)
        worst, kinks = math.nan, 0
        for index in rng.choice(flat.size, size=count, replace=False):
            old = flat[index]
            flat[index] = old + h
            plus, kinks_plus = evaluate()
            flat[index] = old - h
            minus, kinks_minus = evaluate()
            flat[index] = old
            if any(not np.array_equal(a, b) for a, b in zip(kinks_plus, kinks_minus, strict=True)):
                kinks += 1
                continue
            numeric = (plus - minus) / (2.0 * h)
            # Both gradients below the rounding noise of (f(x+h) - f(x-h)) / 2h is agreement:
            # without this, an exactly-zero analytic gradient (e.g. a balanced SVM bias) scores
            # ~1e-3 against a numerical 1e-11.
            noise = _ROUNDING_NOISE * max(abs(plus), abs(minus), 1.0) / h
            if max(abs(grad[index]), abs(numeric)) <= noise:
                error = 0.0
            else:
                error = relative_error(np.array(grad[index]), np.array(numeric))
            worst = error if math.isnan(worst) else max(worst, error)
        rows.append(GradientCheckRow(key, worst, count, kinks))
    return GradientCheckReport(tuple(rows), h)
