"""The search space: an ordered mapping of names to dimensions, with conditions between them.

Contract:
- `Space({name: dimension})` (dimension objects from `hpsearch.dimensions` or their plain-dict
  form) is ordered and immutable. A dimension with `when={"parent": [values]}` is active only
  when each parent is active and takes one of the values; parents must be categorical or
  integer dimensions of the same space, the values must be among the parent's, and the
  conditions must not form a cycle (chains are fine). A broken condition raises `SpaceError`
  naming the dimension and its parent.
- A point (`params`) holds exactly the active dimensions: an inactive one is absent, never
  None or a default. `active(full)` keeps the active part of an assignment of every dimension;
  `validate(params)` refuses missing active or present inactive names and out-of-range values.
- `sample(rng)` draws parents before children (declaration order otherwise) and draws only the
  active dimensions, so an unconditional space draws exactly as it always did.
- `from_unit(u)` decodes a vector of shape (len(space),) and keeps the active part;
  `grid()` enumerates only the active combinations, parents first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from hpsearch.dimensions import Categorical, Dimension, Float, Int, dimension_from_dict
from hpsearch.exceptions import SpaceError

__all__ = ["Float", "Int", "Categorical", "Dimension", "Space", "dimension_from_dict",
           "same_value"]


def same_value(a: Any, b: Any) -> bool:
    """Equality that keeps True and 1, "1" and 1 apart (the way Categorical.index does)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b and (isinstance(a, str) == isinstance(b, str))


class Space(Mapping[str, Dimension]):
    """An ordered, immutable mapping of parameter names to dimensions."""

    def __init__(self, dimensions: Mapping[str, Dimension]) -> None:
        if isinstance(dimensions, Space):
            dimensions = dict(dimensions.items())
        if not isinstance(dimensions, Mapping) or not dimensions:
            raise SpaceError("a space needs at least one dimension, given as {name: dimension}")
        dims: dict[str, Dimension] = {}
        for name, dim in dimensions.items():
            if not isinstance(name, str) or not name:
                raise SpaceError(f"parameter names must be non-empty strings, got {name!r}")
            if isinstance(dim, Mapping):
                dim = dimension_from_dict(name, dim)
            if not isinstance(dim, Float | Int | Categorical):
                raise SpaceError(
                    f"space.{name}: expected hp.Float, hp.Int or hp.Categorical, got {dim!r}"
                )
            dims[name] = dim
        self._dims = dims
        self._check_conditions()
        self._order = self._parents_first()

    # ----- conditions
    def _check_conditions(self) -> None:
        for name, dim in self._dims.items():
            for parent, values in dim.when or ():
                where = f"space.{name}.when.{parent}"
                if parent == name:
                    raise SpaceError(f"{where}: a dimension cannot depend on itself")
                if parent not in self._dims:
                    raise SpaceError(f"{where}: unknown parent dimension {parent!r}; the "
                                     f"space has {', '.join(self._dims)}")
                parent_dim = self._dims[parent]
                if not isinstance(parent_dim, Categorical | Int):
                    raise SpaceError(f"{where}: a parent must be categorical or integer, and "
                                     f"{parent!r} is a float dimension")
                bad = [v for v in values if not parent_dim.contains(v)]
                if bad:
                    raise SpaceError(f"{where}: {bad} are not values of {parent!r} "
                                     f"({parent_dim!r})")

    def _parents_first(self) -> list[str]:
        """Declaration order, each dimension after its parents; SpaceError on a cycle."""
        order: list[str] = []
        state: dict[str, str] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                cycle = " -> ".join((*path[path.index(name):], name))
                raise SpaceError(f"space: the conditions form a cycle: {cycle}")
            state[name] = "visiting"
            for parent, _ in self._dims[name].when or ():
                visit(parent, (*path, name))
            state[name] = "done"
            order.append(name)

        for name in self._dims:
            visit(name, ())
        return order

    @property
    def order(self) -> list[str]:
        """The names, parents before children (declaration order otherwise)."""
        return list(self._order)

    @property
    def conditional(self) -> bool:
        """True when some dimension has a `when`."""
        return any(dim.when for dim in self._dims.values())

    def parents(self, name: str) -> dict[str, tuple[Any, ...]]:
        """{parent: allowed values} of dimension `name` ({} when it is always active)."""
        return dict(self._dims[name].when or ())

    def is_active(self, name: str, params: Mapping[str, Any]) -> bool:
        """Whether `name` is active given the (active) parent values in `params`."""
        for parent, values in self._dims[name].when or ():
            if parent not in params or not any(same_value(params[parent], v) for v in values):
                return False
        return True

    def active(self, full: Mapping[str, Any]) -> dict[str, Any]:
        """The active part of an assignment of (at least) every active dimension, in
        declaration order."""
        kept: dict[str, Any] = {}
        for name in self._order:
            if self.is_active(name, kept):
                kept[name] = full[name]
        return {name: kept[name] for name in self._dims if name in kept}

    # ----- mapping
    def __getitem__(self, name: str) -> Dimension:
        return self._dims[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dims)

    def __len__(self) -> int:
        return len(self._dims)

    def __repr__(self) -> str:
        return f"Space({self._dims!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self._dims == other._dims

    def __hash__(self) -> int:
        return hash(tuple(self._dims.items()))

    # ----- points
    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One point: active dimensions drawn from `rng`, parents first."""
        drawn: dict[str, Any] = {}
        for name in self._order:
            if self.is_active(name, drawn):
                drawn[name] = self._dims[name].sample(rng)
        return {name: drawn[name] for name in self._dims if name in drawn}

    def from_unit(self, u: Sequence[float]) -> dict[str, Any]:
        """Array of shape (len(space),) in [0, 1] -> point (active dimensions only)."""
        dims = self._dims.items()
        return self.active({name: dim.from_unit(x)
                            for (name, dim), x in zip(dims, u, strict=True)})

    def grid(self) -> list[dict[str, Any]]:
        """Every active combination of the dimensions' grids: the full product for an
        unconditional space, in row-major (declaration) order."""
        axes = {}
        for name, dim in self._dims.items():
            try:
                axes[name] = dim.grid()
            except SpaceError as err:
                raise SpaceError(f"space.{name}: {err}") from None
        points: list[dict[str, Any]] = [{}]
        for name in self._order:
            extended: list[dict[str, Any]] = []
            for point in points:
                if self.is_active(name, point):
                    extended.extend({**point, name: value} for value in axes[name])
                else:
                    extended.append(point)
            points = extended
        return [{name: p[name] for name in self._dims if name in p} for p in points]

    def validate(self, params: Mapping[str, Any]) -> None:
        """Raise `SpaceError` unless `params` has exactly the active names, each in range."""
        unknown = set(params) - set(self._dims)
        if unknown:
            raise SpaceError(f"params do not match the space: unexpected {sorted(unknown)}")
        for name in self._order:
            active = self.is_active(name, params)
            if active and name not in params:
                raise SpaceError(f"params do not match the space: missing {name!r}")
            if not active and name in params:
                raise SpaceError(f"param {name!r} is inactive here (active only when "
                                 f"{self.describe_when(name)}) but was given")
            if active and not self._dims[name].contains(params[name]):
                raise SpaceError(f"param {name}={params[name]!r} is outside "
                                 f"{self._dims[name]!r}")

    def describe_when(self, name: str) -> str:
        """'optimizer in [momentum, nesterov] and ...' ('' for an unconditional dimension)."""
        return " and ".join(f"{parent} in [{', '.join(map(str, values))}]"
                            for parent, values in self._dims[name].when or ())

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain-dict form; a reopened study compares it with the stored one."""
        return {name: dim.to_dict() for name, dim in self._dims.items()}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Mapping[str, Any]]) -> Space:
        return cls({name: dimension_from_dict(name, d) for name, d in spec.items()})
