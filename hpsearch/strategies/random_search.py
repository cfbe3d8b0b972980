"""Random search: independent draws from the space.

Contract: the k-th point asked (k = 0, 1, ...) is drawn from its own Generator built from
(entropy, k), where `entropy` is taken once from the strategy's rng at construction. The study
asks in trial-number order, so on a fresh study the params of trial i depend only on the study
seed and i, however many workers run and whatever order results come back in, and across
resumes: `tell` (finished trials) and `reserve` (interrupted ones, run again by the study)
move the counter past the trials already numbered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpsearch.space import Space
from hpsearch.strategies.base import Strategy
from hpsearch.trial import FrozenTrial


class RandomStrategy(Strategy):
    name = "random"
    multi_objective = True  # the values play no part in its proposals

    def __init__(self, space: Space, rng: np.random.Generator,
                 direction: str = "minimize") -> None:
        super().__init__(space, rng, direction)
        self._entropy = int(rng.integers(2**63))
        self._next_index = 0

    def point(self, index: int) -> dict[str, Any]:
        """The point of index `index` (a pure function of the entropy and index)."""
        seq = np.random.SeedSequence(entropy=self._entropy, spawn_key=(index,))
        return self.space.sample(np.random.default_rng(seq))

    def ask(self, n: int, pending: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        out = [self.point(self._next_index + k) for k in range(n)]
        self._next_index += n
        return out

    def tell(self, trial: FrozenTrial) -> None:
        self._next_index = max(self._next_index, trial.number + 1)

    def reserve(self, number: int) -> None:
        """New asks continue after a reserved number too (`Strategy.reserve`)."""
        self._next_index = max(self._next_index, number + 1)
