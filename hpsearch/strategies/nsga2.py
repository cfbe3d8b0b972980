"""`strategy="nsga2"`: Optuna's NSGA-II sampler (Deb et al. 2002), for several objectives.

Options: population_size (20: Optuna's 50 spends a 50-trial budget on its first, random
generation; 20 gives two and a half generations), mutation_prob (None: 1 / number of
parameters), crossover_prob (0.9), swapping_prob (0.5). It also runs on one objective, as a
genetic algorithm. Asked through the same adapter as `tpe` (`hpsearch.strategies.tpe`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hpsearch.space import Space
from hpsearch.strategies.tpe import OptunaSamplerStrategy

__all__ = ["NSGA2Strategy"]


class NSGA2Strategy(OptunaSamplerStrategy):
    """Optuna's NSGAIISampler (see the module docstring)."""

    name = "nsga2"

    def __init__(self, space: Space, rng: np.random.Generator,
                 direction: str | Sequence[str] = "minimize", *, population_size: int = 20,
                 mutation_prob: float | None = None, crossover_prob: float = 0.9,
                 swapping_prob: float = 0.5) -> None:
        self._options = dict(population_size=population_size, mutation_prob=mutation_prob,
                             crossover_prob=crossover_prob, swapping_prob=swapping_prob)
        super().__init__(space, rng, direction)

    def make_sampler(self, optuna: Any, seed: int) -> Any:
        return optuna.samplers.NSGAIISampler(seed=seed, **self._options)
