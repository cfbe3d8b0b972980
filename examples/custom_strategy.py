"""A third-party strategy, plugged into a study as an object: local search around the best.

`LocalSearch` draws its first `n_startup` points at random, then perturbs the best complete
trial so far: each float or int dimension moves by a Gaussian step of `scale` times its range
(in the unit cube of the dimension, so log dimensions move on the log scale), and each
categorical one takes a random choice with probability `scale`. It needs nothing from hpsearch
but the `Strategy` base class and the space's unit-cube transforms, and it passes hpsearch's
strategy contract suite (`tests/hpsearch/strategies/test_custom_strategy.py`).

Run it: `python examples/custom_strategy.py` (a 40-trial study on the Branin function).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import hpsearch as hp
from hpsearch.strategies.base import Strategy
from hpsearch.trial import FrozenTrial, TrialState


class LocalSearch(Strategy):
    """Random start-up points, then Gaussian steps around the best trial (one objective)."""

    name = "local_search"

    def __init__(self, space: hp.Space, rng: np.random.Generator,
                 direction: str = "minimize", *, n_startup: int = 8,
                 scale: float = 0.1) -> None:
        super().__init__(space, rng, direction)
        self.n_startup, self.scale = n_startup, scale
        self.best: FrozenTrial | None = None
        self.n_told = 0

    def tell(self, trial: FrozenTrial) -> None:
        self.n_told += 1
        if trial.state is TrialState.COMPLETE and trial.value is not None and math.isfinite(
                trial.value) and (self.best is None or self.sign() * trial.value
                                  < self.sign() * self.best.value):
            self.best = trial

    def ask(self, n: int, pending: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        return [self._one() for _ in range(n)]

    def _one(self) -> dict[str, Any]:
        if self.best is None or self.n_told < self.n_startup:
            return self.space.sample(self.rng)
        # every dimension gets a value (those the best trial lacks, conditional ones, drawn
        # afresh); the space then keeps the ones active for the moved parents
        point = {name: self.space[name].sample(self.rng) for name in self.space}
        for name, value in self.best.params.items():
            dimension = self.space[name]
            if isinstance(dimension, hp.Categorical):
                point[name] = (dimension.choices[self.rng.integers(len(dimension.choices))]
                               if self.rng.random() < self.scale else value)
            else:
                unit = dimension.to_unit(value) + self.scale * self.rng.normal()
                point[name] = dimension.from_unit(float(np.clip(unit, 0.0, 1.0)))
        return self.space.active(point)


def branin(params: dict[str, float]) -> float:
    x, y = params["x"], params["y"]
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x ** 2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


def main() -> hp.Study:
    space = hp.Space({"x": hp.Float(-5, 10), "y": hp.Float(0, 15)})
    strategy = LocalSearch(space, np.random.default_rng(0), "minimize", scale=0.05)
    study = hp.Study(space, direction="minimize", strategy=strategy, seed=0)
    study.optimize(branin, n_trials=40)
    print(f"best {study.best_value:.4f} at {study.best_params} (optimum 0.3979)")
    return study


if __name__ == "__main__":
    main()
