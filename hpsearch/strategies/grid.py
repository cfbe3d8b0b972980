"""Grid search: every point of `space.grid()`, in row-major order, each once.

Contract: built from the full product of the dimensions' grids (a continuous dimension needs
`grid_points` or `values`; otherwise construction raises `StrategyError` saying so). `ask`
returns the next points not yet told and not pending; told trials of any state (complete,
pruned, failed) count as done, so a resumed study skips them. Once every point is done or
pending, `ask` returns fewer points than asked (possibly none) and `exhausted` is True.
The rng is unused: the order is the grid's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpsearch.exceptions import SpaceError, StrategyError
from hpsearch.space import Space
from hpsearch.strategies.base import Strategy
from hpsearch.strategies.keys import point_key
from hpsearch.trial import FrozenTrial


class GridStrategy(Strategy):
    name = "grid"
    multi_objective = True  # the values play no part in its proposals

    def __init__(self, space: Space, rng: np.random.Generator,
                 direction: str = "minimize") -> None:
        super().__init__(space, rng, direction)
        try:
            self._points = space.grid()
        except SpaceError as err:
            raise StrategyError(
                f"strategy 'grid' needs a finite grid: {err} "
                "(give numeric dimensions grid_points=N or values=[...])"
            ) from None
        self._done: set[tuple] = set()

    @property
    def size(self) -> int:
        """Number of points in the full grid."""
        return len(self._points)

    def ask(self, n: int, pending: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        busy = self._done | {point_key(self.space, p) for p in pending}
        out: list[dict[str, Any]] = []
        for point in self._points:
            if len(out) >= n:
                break
            key = point_key(self.space, point)
            if key not in busy:
                out.append(dict(point))
                busy.add(key)
        return out

    def tell(self, trial: FrozenTrial) -> None:
        self._done.add(point_key(self.space, trial.params))

    @property
    def exhausted(self) -> bool:
        return len(self._done) >= len(self._points)
