"""The unit-cube encoding of a space for model-based strategies (the GP's model rows).

Each dimension maps onto [0, 1] by its own `to_unit` (log dimensions in log space; integers and
stepped floats are relaxed to the unit interval and snapped back to their nearest valid value
by `snap`); each categorical becomes a one-hot block of columns. Shapes: a model row is (D,),
D = `n_columns`; a batch of rows is (m, D); a space-unit point is (len(space),).

The width is bounded: a categorical with more than `MAX_ONE_HOT` (32) choices, or one that
would take the one-hot columns past `MAX_ONE_HOT_COLUMNS` (256) in all (in the space's order),
is one index column instead: choice i of k sits at (i + 0.5) / k, in the order listed, and is
snapped like an integer. So D <= len(space) + 256 for any space, whatever its categoricals
(10,000 choices are one column, not 10,000), and the GP's cost per ask (see
`hpsearch.strategies.gp`) depends on the number of dimensions, not of choices. An index column
orders choices the model then treats as near or far; list them in a meaningful order (or keep
a categorical at 32 choices or fewer) where that matters.

Conditional spaces: an inactive dimension is imputed with a fixed value (`INACTIVE_VALUE` for
a numeric column, an all-zero block for a categorical, which no active point has). Points of
one branch then agree on the dimensions they lack, so those add nothing to their distance,
while the parent's own columns (its one-hot, or its integer value) tell branches apart;
`project` re-imputes rows after any move, so the acquisition is only evaluated at points that
exist.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpsearch.space import Categorical, Float, Int, Space

__all__ = ["Encoding", "INACTIVE_VALUE", "INACTIVE_CATEGORICAL", "MAX_ONE_HOT",
           "MAX_ONE_HOT_COLUMNS"]

INACTIVE_VALUE = 0.5  # the centre of the unit interval: no active value is farther than 1/2
INACTIVE_CATEGORICAL = 0.0  # every column of the block
_MAX_GRID = 200_000
MAX_ONE_HOT = 32  # choices a categorical may have and still be one-hot
MAX_ONE_HOT_COLUMNS = 256  # one-hot columns in all; categoricals past it are index columns


class Encoding:
    """Maps between space-unit vectors (one entry per dimension) and model rows (D columns)."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.dims = list(space.values())
        columns = 0
        self.continuous: list[int] = []  # model columns L-BFGS-B may move
        self.discrete: list[tuple[int, Any, np.ndarray | None]] = []  # (column, dim, unit grid)
        self.groups: list[np.ndarray] = []
        self.layout: list[tuple[str, int | np.ndarray]] = []
        self._index: dict[int, dict[tuple[type, Any], int]] = {}  # index columns: choice -> i
        one_hot_left = MAX_ONE_HOT_COLUMNS
        for j, dim in enumerate(self.dims):
            k = len(dim.choices) if isinstance(dim, Categorical) else 0
            if k and k <= min(MAX_ONE_HOT, one_hot_left):
                group = np.arange(columns, columns + k)
                self.groups.append(group)
                self.layout.append(("categorical", group))
                columns += k
                one_hot_left -= k
                continue
            self.continuous.append(columns)
            if k:  # too many choices for one-hot: one index column (module docstring)
                self._index[j] = {(type(c), c): i for i, c in enumerate(dim.choices)}
                self.discrete.append((columns, dim, (np.arange(k) + 0.5) / k))
                self.layout.append(("index", columns))
            elif isinstance(dim, Int) or (isinstance(dim, Float) and dim.step is not None):
                self.discrete.append((columns, dim, _unit_grid(dim)))
                self.layout.append(("discrete", columns))
            else:
                self.layout.append(("float", columns))
            columns += 1
        self.n_columns = columns
        self.continuous_array = np.array(self.continuous, dtype=int)

    def encode_params(self, params: Mapping[str, Any]) -> np.ndarray:
        """Params -> model row (D,); an inactive (absent) dimension gets its imputed value."""
        row = np.zeros(self.n_columns)
        for j, ((name, dim), (kind, where)) in enumerate(zip(self.space.items(), self.layout,
                                                             strict=True)):
            if name not in params:
                row[where] = INACTIVE_CATEGORICAL if kind == "categorical" else INACTIVE_VALUE
            elif kind == "categorical":
                row[where[dim.index(params[name])]] = 1.0
            elif kind == "index":
                row[where] = (self._choice(j, params[name]) + 0.5) / len(dim.choices)
            else:
                row[where] = dim.to_unit(params[name])
        return row

    def _choice(self, j: int, value: Any) -> int:
        """The index of `value` among the choices of index-column dimension j (a dict lookup,
        not `Categorical.index`'s scan of every choice)."""
        try:
            found = self._index[j].get((type(value), value))
        except TypeError:  # unhashable: not a choice, let the dimension say so
            found = None
        return found if found is not None else self.dims[j].index(value)

    def encode_units(self, u: np.ndarray) -> np.ndarray:
        """Space-unit points (m, n_dims) -> valid model rows (m, D)."""
        rows = np.zeros((len(u), self.n_columns))
        for j, (dim, (kind, where)) in enumerate(zip(self.dims, self.layout, strict=True)):
            if kind == "categorical":
                k = len(dim.choices)
                index = np.minimum((u[:, j] * k).astype(int), k - 1)
                rows[np.arange(len(u)), where[index]] = 1.0
            else:
                rows[:, where] = u[:, j]
        return self.snap(rows)

    def snap(self, rows: np.ndarray) -> np.ndarray:
        """Round relaxed integer/step columns to their nearest valid value, in place."""
        for column, dim, grid in self.discrete:
            values = np.clip(rows[:, column], 0.0, 1.0)
            if grid is None:
                rows[:, column] = [dim.to_unit(dim.from_unit(v)) for v in values]
                continue
            i = np.clip(np.searchsorted(grid, values), 1, len(grid) - 1)
            left, right = grid[i - 1], grid[i]
            rows[:, column] = np.where(values - left <= right - values, left, right)
        return self.project(rows)[0]

    def project(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Impute the inactive dimensions of model rows (m, D) in place, parents first;
        returns the rows and a (m, D) mask of the imputed entries (None: flat space)."""
        if not self.space.conditional:
            return rows, None
        mask = np.zeros(rows.shape, dtype=bool)
        active: dict[str, np.ndarray] = {}
        index = dict(zip(self.space, range(len(self.dims)), strict=True))
        for name in self.space.order:
            on = np.ones(len(rows), dtype=bool)
            for parent, allowed in self.space.parents(name).items():
                on &= active[parent] & self._takes(rows, index[parent], allowed)
            active[name] = on
            kind, where = self.layout[index[name]]
            columns = where if kind == "categorical" else np.array([where])
            off = np.flatnonzero(~on)
            rows[np.ix_(off, columns)] = (INACTIVE_CATEGORICAL if kind == "categorical"
                                          else INACTIVE_VALUE)
            mask[np.ix_(off, columns)] = True
        return rows, mask

    def _takes(self, rows: np.ndarray, j: int, allowed: tuple) -> np.ndarray:
        """(m,) whether parent dimension j's value in each row is one of `allowed`."""
        dim, (kind, where) = self.dims[j], self.layout[j]
        if kind == "categorical":
            chosen = np.argmax(rows[:, where], axis=1)
            return np.isin(chosen, [dim.index(v) for v in allowed])
        if kind == "index":
            k = len(dim.choices)
            chosen = np.clip(np.floor(rows[:, where] * k).astype(int), 0, k - 1)
            return np.isin(chosen, [self._choice(j, v) for v in allowed])
        values = [dim.from_unit(float(u)) for u in rows[:, where]]
        return np.isin(values, list(allowed))

    def decode(self, row: np.ndarray) -> dict[str, Any]:
        """Model row (D,) -> params (active dimensions only)."""
        params = {}
        for (name, dim), (kind, where) in zip(self.space.items(), self.layout, strict=True):
            if kind == "categorical":
                params[name] = dim.choices[int(np.argmax(row[where]))]
            else:
                params[name] = dim.from_unit(float(row[where]))
        return self.space.active(params)


def _unit_grid(dim: Int | Float) -> np.ndarray | None:
    """Sorted unit positions of every value an Int / stepped Float can take (None if huge)."""
    if isinstance(dim, Int):
        count = (dim.high - dim.low) // dim.step + 1
        values = dim.low + dim.step * np.arange(min(count, _MAX_GRID + 1))
    else:
        count = int(math.floor((dim.high - dim.low) / dim.step + 1e-9)) + 1
        values = [dim.quantise(dim.low + k * dim.step) for k in range(min(count, _MAX_GRID + 1))]
    if count > _MAX_GRID:
        return None
    return np.unique([dim.to_unit(v) for v in values])
