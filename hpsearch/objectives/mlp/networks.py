"""Member networks as the objective stores them: rebuilt from a config and arrays, and run.

Contract: `model_from_arrays(config, arrays)` rebuilds a fitted `MLPClassifier` / `MLPRegressor`
from a member's config and arrays (nn_core's `to_arrays`; no pickle), ValueError when they do
not describe a network. `network_output(model, X)` is what the objective stores as a network's
predictions for features X (N, D): probabilities (N, C) (N, L for multi-label) or, for a
regressor, values (N,) or (N, L); float64 either way. These are the seam through which
`hpsearch.ensembles` runs members without importing nn_core. `estimator_class(name)` is the
class a member config names (None for another name). nn_core's estimator module imports
scikit-learn, so it is imported on first use: `import hpsearch` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hpsearch.exceptions import FormatError

__all__ = ["ESTIMATOR_NAMES", "estimator_class", "estimator_for", "model_from_arrays",
           "network_output"]

#: the estimator class names a member config records
ESTIMATOR_NAMES = ("MLPClassifier", "MLPRegressor")


def estimator_class(name: Any) -> type | None:
    """The nn_core estimator class called `name`, or None."""
    if name not in ESTIMATOR_NAMES:
        return None
    from nn_core import estimator

    return getattr(estimator, name)


def estimator_for(task: str) -> type:
    """The estimator class that trains networks for `task`."""
    return estimator_class("MLPRegressor" if task == "regression" else "MLPClassifier")


def model_from_arrays(config: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Any:
    """A fitted MLPClassifier/MLPRegressor from a member's config and arrays (no pickle).

    The seam through which `hpsearch.ensembles` rebuilds members without importing nn_core;
    ValueError when the config or arrays do not describe a network.
    """
    cls = estimator_class(config.get("estimator"))
    if cls is None:
        raise FormatError(f"unknown estimator {config.get('estimator')!r}")
    try:
        return cls.from_arrays(dict(config), dict(arrays))
    except (KeyError, TypeError) as err:
        raise FormatError(f"config does not describe a network: {err!r}") from err


def network_output(model: Any, X: np.ndarray) -> np.ndarray:
    """A fitted network's predictions for X (N, D), as stored: see the module docstring."""
    if type(model).__name__ == "MLPRegressor":
        return np.asarray(model.predict(X), dtype=np.float64)
    return np.asarray(model.predict_proba(X), dtype=np.float64)
