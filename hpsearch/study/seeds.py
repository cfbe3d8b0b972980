"""Every named random stream of a study, in one place.

A study seed feeds several independent streams; each has a name here so no module invents a
spawn key of its own:

- trial `i`'s seed: child `i` of `SeedSequence(study_seed)` (`trial_seed`);
- the strategy's Generator: child `STRATEGY_STREAM` (beyond any trial number) of the same seed
  (`strategy_rng`);
- the built-in objective's data streams, from the objective's own `seed` key:
  `SeedSequence([seed, DATASET_STREAM])` (reading or generating the data set, such as the
  spiral) and `SeedSequence([seed, SPLIT_STREAM])` (the train/val/test split);
- ensemble bagging: `SeedSequence([study_seed, BAGGING_STREAM])` (`bagging_rng`).

The values are part of the file format in effect (a resumed study must draw what it drew
before), so they never change.
"""

from __future__ import annotations

import numpy as np

from hpsearch.exceptions import StudyError

__all__ = ["STRATEGY_STREAM", "SPLIT_STREAM", "DATASET_STREAM", "BAGGING_STREAM",
           "trial_seed", "strategy_rng", "objective_rng", "bagging_rng", "fresh_seed"]

STRATEGY_STREAM = 2**32  # spawn key of the strategy's Generator, beyond any trial number
DATASET_STREAM = 1
SPLIT_STREAM = 2
BAGGING_STREAM = 7


def trial_seed(study_seed: int, number: int) -> int:
    """The integer seed of trial `number`: child `number` of SeedSequence(study_seed)."""
    child = np.random.SeedSequence(entropy=study_seed, spawn_key=(number,))
    return int(child.generate_state(1)[0])


def strategy_rng(study_seed: int) -> np.random.Generator:
    """The strategy's Generator: a child of the study seed no trial number reaches."""
    return np.random.default_rng(
        np.random.SeedSequence(entropy=study_seed, spawn_key=(STRATEGY_STREAM,)))


def objective_rng(seed: int, stream: int) -> np.random.Generator:
    """A Generator of the built-in objective: `SeedSequence([seed, stream])`."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream]))


def bagging_rng(study_seed: int | None) -> np.random.Generator:
    """The Generator of bagged ensemble selection over a run folder's trials."""
    return np.random.default_rng(np.random.SeedSequence([study_seed or 0, BAGGING_STREAM]))


def check_seed(seed: object) -> None:
    """StudyError unless `seed` is None or an integer >= 0 (a bool is not one)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)
                             or seed < 0):
        raise StudyError(f"seed must be a non-negative integer or None, got {seed!r}")


def fresh_seed() -> int:
    """A new study seed from the operating system's entropy (seed=None)."""
    return int(np.random.SeedSequence().entropy)
