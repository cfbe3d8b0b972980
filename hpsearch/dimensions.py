"""Search-space dimensions: `Float`, `Int`, `Categorical`.

Contract:
- Dimensions are frozen dataclasses, validated at construction (a bad dimension raises
  `SpaceError`, which is also a `ValueError`, naming the dimension's field).
- `sample(rng)` draws one value with the given `np.random.Generator` (log dimensions uniformly
  in log space; `step` respected).
- `to_unit(value) -> float in [0, 1]` and `from_unit(u) -> value` map a dimension onto the unit
  interval (log dimensions in log space; integers and steps rounded on the way back by
  `quantise`; categoricals by index, `from_unit` picks the bin `floor(u * n)`), for model-based
  strategies.
- `grid()` lists a dimension's grid points: explicit `values`, else `grid_points` evenly spaced
  (in log space for log dimensions), else every integer / every step / every choice when that is
  finite; a continuous dimension without them raises `SpaceError`.
- `when={"parent": [values...]}` (any dimension): the dimension is active only when every
  listed parent is active and takes one of the listed values. Stored normalised as a tuple of
  `(parent, (values...))` pairs so dimensions stay hashable (`to_dict` gives it back as a dict).
  The parents themselves are checked by `hpsearch.space.Space`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpsearch.exceptions import SpaceError, SpaceTypeError

__all__ = ["Float", "Int", "Categorical", "Dimension", "Conditions", "dimension_from_dict",
           "normalise_when"]

#: normalised `when`: ((parent name, (allowed values, ...)), ...)
Conditions = tuple[tuple[str, tuple[Any, ...]], ...]


def normalise_when(kind: str, when: Any) -> Conditions | None:
    """`when` as given ({parent: [values]} or the normalised tuple) -> the normalised tuple."""
    if when is None:
        return None
    items = when.items() if isinstance(when, Mapping) else when
    try:
        pairs = [(parent, values) for parent, values in items]
    except (TypeError, ValueError):
        raise SpaceError(f"{kind}: when must map a parent dimension's name to a list of its "
                         f"values, got {when!r}") from None
    if not pairs:
        raise SpaceError(f"{kind}: when must name at least one parent dimension")
    out = []
    for parent, values in pairs:
        if not isinstance(parent, str) or not parent:
            raise SpaceError(f"{kind}: when: parent names must be strings, got {parent!r}")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
            raise SpaceError(f"{kind}: when.{parent} must be a non-empty list of the parent's "
                             f"values, got {values!r}")
        out.append((parent, tuple(values)))
    return tuple(out)


def _with_when(d: dict[str, Any], when: Conditions | None) -> dict[str, Any]:
    if when is not None:
        d["when"] = {parent: list(values) for parent, values in when}
    return d


def check_number(kind: str, name: str, value: Any, integer: bool = False) -> None:
    """Refuse a numeric field that is not a number (a string, a bool, None...) with
    `SpaceTypeError` naming the field; a string is refused even when it reads as a number."""
    numbers = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers):
        raise SpaceTypeError(f"{kind}: {name} must be {'an integer' if integer else 'a number'}"
                             f", got {type(value).__name__} {value!r}")


def _check_numbers(kind: str, dim: Float | Int, integer: bool) -> None:
    """Every numeric field given to a Float or an Int (None: not given) is a number; `integer`:
    low, high and step must be integers (an Int's values are checked for integrality later)."""
    for name in ("low", "high", "step", "grid_points"):
        value = getattr(dim, name)
        if value is not None:
            check_number(kind, name, value, integer or name == "grid_points")
    if dim.values is not None:
        if isinstance(dim.values, str | bytes) or not isinstance(dim.values, Sequence):
            raise SpaceTypeError(f"{kind}: values must be a list of numbers, got "
                                 f"{dim.values!r}")
        for value in dim.values:
            check_number(kind, "each value", value)


def _check_bounds(kind: str, low: float, high: float, log: bool, step: float | None) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise SpaceError(f"{kind}: low and high must be finite numbers, got low={low}, high={high}")
    if low >= high:
        raise SpaceError(f"{kind}: low must be below high, got low={low}, high={high}")
    if log and low <= 0:
        raise SpaceError(f"{kind}: log=True needs low > 0, got low={low}")
    if step is not None:
        if not step > 0:
            raise SpaceError(f"{kind}: step must be positive, got step={step}")
        if log:
            raise SpaceError(f"{kind}: step and log=True cannot be combined")


def _resolve_values(kind: str, low, high, values):
    """Fill low/high from explicit grid values and check that they lie inside the bounds."""
    if values is None:
        return low, high, None
    values = tuple(values)
    if not values:
        raise SpaceError(f"{kind}: values must not be empty")
    if low is None:
        low = min(values)
    if high is None:
        high = max(values)
    if low == high:  # a single explicit value: widen the bounds so transforms stay defined
        high = low + 1
    bad = [v for v in values if not low <= v <= high]
    if bad:
        raise SpaceError(f"{kind}: values {bad} lie outside [low={low}, high={high}]")
    return low, high, values


@dataclass(frozen=True)
class Float:
    """A real-valued dimension on [low, high].

    `log=True` samples and models it in log space; `step` quantises it to low + k*step;
    `grid_points` (a count) or `values` (explicit points) say what grid search tries.
    `Float(values=[1e-3, 1e-2])` takes its bounds from the values.
    """

    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    grid_points: int | None = None
    values: tuple[float, ...] | None = None
    when: Conditions | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "when", normalise_when("Float", self.when))
        _check_numbers("Float", self, integer=False)
        low, high, values = _resolve_values("Float", self.low, self.high, self.values)
        if low is None or high is None:
            raise SpaceError("Float: low and high are required (or give values=[...])")
        object.__setattr__(self, "low", float(low))
        object.__setattr__(self, "high", float(high))
        if values is not None:
            values = tuple(float(v) for v in values)
        object.__setattr__(self, "values", values)
        _check_bounds("Float", self.low, self.high, self.log, self.step)
        if self.grid_points is not None and (int(self.grid_points) != self.grid_points
                                             or self.grid_points < 1):
            raise SpaceError(
                f"Float: grid_points must be a positive integer, got {self.grid_points}"
            )

    def quantise(self, x: float) -> float:
        if self.step is not None:
            k = round((x - self.low) / self.step)
            x = self.low + k * self.step
            while x > self.high + 1e-12 * max(1.0, abs(self.high)):
                x -= self.step
        return float(min(max(x, self.low), self.high))

    def sample(self, rng: np.random.Generator) -> float:
        return self.from_unit(float(rng.random()))

    def to_unit(self, value: float) -> float:
        if self.log:
            u = (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        else:
            u = (value - self.low) / (self.high - self.low)
        return float(min(max(u, 0.0), 1.0))

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return self.quantise(x)

    def grid(self) -> list[float]:
        if self.values is not None:
            return list(self.values)
        if self.grid_points is not None:
            n = int(self.grid_points)
            if n == 1:
                return [self.from_unit(0.5)]
            return list(dict.fromkeys(self.from_unit(u) for u in np.linspace(0.0, 1.0, n)))
        if self.step is not None:
            n = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
            return [self.quantise(self.low + k * self.step) for k in range(n)]
        raise SpaceError(
            "Float: grid search needs grid_points=N or values=[...] on a continuous dimension"
        )

    def contains(self, value: Any) -> bool:
        return isinstance(value, int | float) and self.low <= value <= self.high

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "float", "low": self.low, "high": self.high, "log": self.log}
        for key in ("step", "grid_points"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.values is not None:
            d["values"] = list(self.values)
        return _with_when(d, self.when)


@dataclass(frozen=True)
class Int:
    """An integer dimension on [low, high], both included; `log`, `step`, `grid_points`, `values`
    as for `Float`."""

    low: int | None = None
    high: int | None = None
    log: bool = False
    step: int = 1
    grid_points: int | None = None
    values: tuple[int, ...] | None = None
    when: Conditions | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "when", normalise_when("Int", self.when))
        _check_numbers("Int", self, integer=True)
        low, high, values = _resolve_values("Int", self.low, self.high, self.values)
        if low is None or high is None:
            raise SpaceError("Int: low and high are required (or give values=[...])")
        object.__setattr__(self, "low", int(low))
        object.__setattr__(self, "high", int(high))
        object.__setattr__(self, "step", int(self.step))
        if values is not None:
            if any(int(v) != v for v in values):
                raise SpaceError(f"Int: values must be integers, got {list(values)}")
            values = tuple(int(v) for v in values)
        object.__setattr__(self, "values", values)
        _check_bounds("Int", self.low, self.high, self.log, None if self.step == 1 else self.step)
        if self.step < 1:
            raise SpaceError(f"Int: step must be a positive integer, got {self.step}")
        if self.grid_points is not None and (int(self.grid_points) != self.grid_points
                                             or self.grid_points < 1):
            raise SpaceError(f"Int: grid_points must be a positive integer, got {self.grid_points}")

    def quantise(self, x: float) -> int:
        k = round((x - self.low) / self.step)
        v = self.low + k * self.step
        while v > self.high:
            v -= self.step
        return int(max(v, self.low))

    def sample(self, rng: np.random.Generator) -> int:
        return self.from_unit(float(rng.random()))

    def _span(self) -> tuple[float, float]:
        # Widen by half a unit so every integer owns an equal share of the unit interval.
        if self.log:
            return math.log(self.low - 0.5), math.log(self.high + 0.5)
        return self.low - 0.5, self.high + 0.5

    def to_unit(self, value: float) -> float:
        lo, hi = self._span()
        x = math.log(max(value, 1e-300)) if self.log else float(value)
        return float(min(max((x - lo) / (hi - lo), 0.0), 1.0))

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        lo, hi = self._span()
        x = lo + u * (hi - lo)
        if self.log:
            x = math.exp(x)
        return self.quantise(x)

    def grid(self) -> list[int]:
        if self.values is not None:
            return list(self.values)
        if self.grid_points is not None:
            n = int(self.grid_points)
            if self.log:
                raw = np.exp(np.linspace(math.log(self.low), math.log(self.high), n))
            else:
                raw = np.linspace(self.low, self.high, n)
            return list(dict.fromkeys(self.quantise(float(x)) for x in raw))
        return list(range(self.low, self.high + 1, self.step))

    def contains(self, value: Any) -> bool:
        return (isinstance(value, int | np.integer) and not isinstance(value, bool)
                and self.low <= value <= self.high)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "int", "low": self.low, "high": self.high, "log": self.log}
        if self.step != 1:
            d["step"] = self.step
        if self.grid_points is not None:
            d["grid_points"] = self.grid_points
        if self.values is not None:
            d["values"] = list(self.values)
        return _with_when(d, self.when)


@dataclass(frozen=True)
class Categorical:
    """A choice among a fixed list of values (str, int, float, bool or None)."""

    choices: tuple[Any, ...] = field(default=())
    when: Conditions | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "when", normalise_when("Categorical", self.when))
        if isinstance(self.choices, str | bytes) or not isinstance(self.choices, Sequence):
            raise SpaceError(f"Categorical: choices must be a list, got {self.choices!r}")
        choices = tuple(self.choices)
        if not choices:
            raise SpaceError("Categorical: choices must not be empty")
        for c in choices:
            if c is not None and not isinstance(c, str | int | float | bool):
                raise SpaceError(
                    f"Categorical: choices must be str, int, float, bool or None, got {c!r}"
                )
        if len(set(map(repr, choices))) != len(choices):
            raise SpaceError(f"Categorical: choices must be distinct, got {list(choices)}")
        object.__setattr__(self, "choices", choices)

    def index(self, value: Any) -> int:
        for i, c in enumerate(self.choices):
            if c == value and type(c) is type(value):
                return i
        for i, c in enumerate(self.choices):
            if c == value:
                return i
        raise SpaceError(f"Categorical: {value!r} is not one of {list(self.choices)}")

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> Any:
        i = min(int(math.floor(float(u) * len(self.choices))), len(self.choices) - 1)
        return self.choices[max(i, 0)]

    def grid(self) -> list[Any]:
        return list(self.choices)

    def contains(self, value: Any) -> bool:
        return any(c == value for c in self.choices)

    def to_dict(self) -> dict[str, Any]:
        return _with_when({"type": "categorical", "choices": list(self.choices)}, self.when)


Dimension = Float | Int | Categorical


def dimension_from_dict(name: str, spec: Mapping[str, Any]) -> Dimension:
    """Build a dimension from its plain-dict form (as written by `to_dict` or a study file)."""
    spec = dict(spec)
    kind = spec.pop("type", None)
    builders = {"float": Float, "int": Int, "categorical": Categorical}
    if kind not in builders:
        raise SpaceError(
            f"space.{name}: type must be one of {sorted(builders)}, got {kind!r}"
        )
    try:
        if kind == "categorical":
            unknown = set(spec) - {"choices", "when"}
            if unknown:
                raise SpaceError(f"unknown keys {sorted(unknown)}; expected: choices, when")
            return Categorical(tuple(spec.get("choices", ())), when=spec.get("when"))
        allowed = {"low", "high", "log", "step", "grid_points", "values", "when"}
        unknown = set(spec) - allowed
        if unknown:
            raise SpaceError(f"unknown keys {sorted(unknown)}; expected some of {sorted(allowed)}")
        if "values" in spec:
            spec["values"] = tuple(spec["values"])
        return builders[kind](**spec)
    except SpaceError as err:
        raise SpaceError(f"space.{name}: {err}") from None
    except TypeError as err:
        raise SpaceError(f"space.{name}: {err}") from err
