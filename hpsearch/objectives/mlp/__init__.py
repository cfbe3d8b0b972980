"""The built-in network objective: the one place where hpsearch meets nn_core.

Modules, one concept each:

- `hyperparameters`: the names a study may fix or search (nn_core's estimator keywords plus
  `hidden_size` / `num_layers`), `check_hyperparameters(spec)` and `estimator_keywords(params)`;
  `SHAPE_HYPERPARAMETERS`, those a checkpoint does not survive a change of.
- `data`: `load_data(spec)`, the split stored once in `<run_dir>/data.npz` (`store_split`,
  `read_split`, `load_split`).
- `objective`: `prepare(spec, run_dir) -> MLPObjective`, the objective the study calls.
- `schema`: the artifact keys a trial stores (`member<r>.config`, `checkpoint<e>.*`,
  `val_proba`, `curve.*`, `study_metric`), written and read there only. Pure, no nn_core.
- `networks`: `model_from_arrays(config, arrays)` and `network_output(model, X)`, how the
  ensembles rebuild and run members without importing nn_core themselves.
- `refit`: `refit_member(config, X, y)` and `RefitObjective`, a member trained again on other
  rows.
- `scoring`: `score(metric, task, y, output, classes)`, every score hpsearch reports, computed
  by `nn_core.metrics`.

Only this package imports nn_core. Its public names are importable from here; each loads its
module on first use, so importing `hpsearch` (or the `schema`) does not import nn_core,
scikit-learn or SciPy until a network is needed.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DATA_FILE", "HYPERPARAMETERS", "SCORES", "SHAPE_HYPERPARAMETERS", "MLPObjective",
           "RefitObjective",
           "check_hyperparameters", "estimator_keywords", "load_data", "load_split",
           "model_from_arrays", "network_output", "prepare", "read_split", "refit_member",
           "refit_result", "score", "store_split"]

_HOMES = {
    "HYPERPARAMETERS": "hyperparameters", "SHAPE_HYPERPARAMETERS": "hyperparameters",
    "check_hyperparameters": "hyperparameters",
    "estimator_keywords": "hyperparameters",
    "DATA_FILE": "data", "load_data": "data", "load_split": "data", "read_split": "data",
    "store_split": "data",
    "MLPObjective": "objective", "prepare": "objective",
    "model_from_arrays": "networks", "network_output": "networks",
    "RefitObjective": "refit", "refit_member": "refit", "refit_result": "refit",
    "SCORES": "scoring", "score": "scoring",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
