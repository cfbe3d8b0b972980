"""hpsearch's strategies as an Optuna sampler: `HpsearchSampler(strategy="gp", seed=None,
**strategy_options)` (see `hpsearch.integrations.optuna.sampler`), and the mapping between
Optuna's distributions and hpsearch's dimensions it rests on
(`hpsearch.integrations.optuna.space`).

Importing this package imports Optuna; nothing else in hpsearch imports it at import time.
"""

from hpsearch.integrations.optuna.sampler import STRATEGIES, HpsearchSampler
from hpsearch.integrations.optuna.space import (
    InferredSpace,
    dimension_for,
    distribution_for,
    infer_space,
)

__all__ = ["STRATEGIES", "HpsearchSampler", "InferredSpace", "dimension_for",
           "distribution_for", "infer_space"]
