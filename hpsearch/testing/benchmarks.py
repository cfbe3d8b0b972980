"""Closed-form test functions with known minima, each with its bounds as an hp space.

Contract: every benchmark is an objective in hpsearch's calling convention,
`function(params: dict) -> float`, defined at module level (so worker processes import it by
reference). `BENCHMARKS[name]` gives a frozen `Benchmark(name, function, space, minimum)`;
`space` is a `Space`, `minimum` the global minimum value.

- branin: x in [-5, 10], y in [0, 15]; minimum 0.397887 at three points.
- hartmann6: x1..x6 in [0, 1]; minimum -3.32237.
- styblinski_tang: x1..xd in [-5, 5]; minimum -39.16617 * d (d = 2 here; `styblinski_tang_space(d)`
  builds other sizes, and the function works for any d).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpsearch.space import Float, Space

__all__ = ["Benchmark", "BENCHMARKS", "branin", "branin_space", "hartmann6", "hartmann6_space",
           "styblinski_tang", "styblinski_tang_space"]


def branin(params: Mapping[str, Any]) -> float:
    """Branin-Hoo on x in [-5, 10], y in [0, 15]; minimum 0.397887."""
    x, y = float(params["x"]), float(params["y"])
    b = 5.1 / (4 * math.pi**2)
    c = 5 / math.pi
    t = 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


def branin_space() -> Space:
    return Space({"x": Float(-5.0, 10.0), "y": Float(0.0, 15.0)})


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8],
                  [0.05, 10, 17, 0.1, 8, 14],
                  [3, 3.5, 1.7, 10, 17, 8],
                  [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886],
                         [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650],
                         [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann6(params: Mapping[str, Any]) -> float:
    """Hartmann 6-d on [0, 1]^6 (params x1..x6); minimum -3.32237."""
    x = np.array([float(params[f"x{i}"]) for i in range(1, 7)])  # shape (6,)
    inner = np.sum(_H6_A * (x - _H6_P) ** 2, axis=1)  # shape (4,)
    return float(-np.sum(_H6_ALPHA * np.exp(-inner)))


def hartmann6_space() -> Space:
    return Space({f"x{i}": Float(0.0, 1.0) for i in range(1, 7)})


def styblinski_tang(params: Mapping[str, Any]) -> float:
    """Styblinski-Tang over every param (x1..xd in [-5, 5]); minimum -39.16617 * d."""
    x = np.array([float(v) for v in params.values()])
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


def styblinski_tang_space(d: int = 2) -> Space:
    return Space({f"x{i}": Float(-5.0, 5.0) for i in range(1, d + 1)})


@dataclass(frozen=True)
class Benchmark:
    name: str
    function: Callable[[Mapping[str, Any]], float]
    space: Space
    minimum: float


BENCHMARKS: dict[str, Benchmark] = {
    "branin": Benchmark("branin", branin, branin_space(), 0.397887),
    "hartmann6": Benchmark("hartmann6", hartmann6, hartmann6_space(), -3.32237),
    "styblinski_tang": Benchmark("styblinski_tang", styblinski_tang, styblinski_tang_space(2),
                                 -39.16617 * 2),
}
