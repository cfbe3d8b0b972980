"""OptunaHub's entry point for hpsearch's sampler: the class lives in hpsearch itself
(`hpsearch.integrations.optuna`), so this package is one import and stays in step with it."""

from hpsearch.integrations.optuna import HpsearchSampler

__all__ = ["HpsearchSampler"]
