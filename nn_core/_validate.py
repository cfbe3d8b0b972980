"""Small argument checks shared by nn_core modules.

Every failed check raises ValueError whose message names the argument and what was expected,
so a user can fix the call without reading the source.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return `value` if it is one of `choices`, else raise ValueError listing them."""
    valid = tuple(choices)
    if not isinstance(value, str) or value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, valid))}; got {value!r}")
    return value


def check_positive_int(name: str, value: object) -> int:
    """Return `value` as int if it is an integer >= 1 (not a bool), else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_probability(name: str, value: float, *, low_open: bool, high_open: bool) -> float:
    """Return `value` as float if it lies in the interval between 0 and 1 described by the flags."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    low_ok = number > 0.0 if low_open else number >= 0.0
    high_ok = number < 1.0 if high_open else number <= 1.0
    if not (low_ok and high_ok):
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}; got {value!r}")
    return number


def check_generator(name: str, rng: object) -> np.random.Generator:
    """Return `rng` if it is a NumPy Generator (the project never uses the global RNG)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"{name} must be a numpy.random.Generator (np.random.default_rng(seed)); "
            f"got {type(rng).__name__}"
        )
    return rng
