"""A custom objective for studies/branin.toml: any function of a params dict works."""

import math


def branin(params: dict) -> float:
    """The Branin-Hoo function; three global minima of 0.397887."""
    x, y = params["x"], params["y"]
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (y - b * x**2 + c * x - r) ** 2 + s * (1 - t) * math.cos(x) + s
