"""Pruners: stop poor trials early from the values they report per step.

Contract:
- The objective calls `trial.report(step, value)` (see `hpsearch.trial.Trial`). The value goes
  to the driver through a `ReportClient` (see `hpsearch.execution.reports`); the driver's
  `PruningService` (`hpsearch.pruners.service`) records it and asks the `Pruner`, and the
  decision (True = prune) comes back as report's return value. The objective then stops by
  raising `hp.TrialPruned` (or checks `trial.should_prune()` later). A pruned trial is
  recorded with state `pruned`, value = its last reported value, and all its intermediate
  values.
- `Pruner.prune(step, value, intermediate, history, direction) -> bool` runs in the driver,
  under the service's lock, with `intermediate` = this trial's {step: value} so far
  (including this report) and `history` = the other trials: the finished ones as recorded,
  then the ones still running as `FrozenTrial`s in state `running` whose `intermediate` holds
  their reports so far (params empty). Pruners pick the states they trust. It must be cheap.
- Pruners: `MedianPruner` (median stopping rule), `ASHAPruner` (asynchronous successive
  halving, Li et al. 2020), written from the papers, and `ThresholdPruner`. All are
  stateless: every decision is a function of the reports, so a resumed study or a pruner
  rebuilt in another driver decides the same way.
- Schedulers (`hpsearch.pruners.scheduler`) pause trials and promote them later: `Hyperband`
  (promotion-based asynchronous Hyperband; brackets=1 is ASHA with promotion) and
  `PopulationBasedTraining`. They go in the same `pruner=` keyword and `[pruner]` kinds
  ("hyperband", "pbt"); unlike the pruners they keep state, rebuilt from the stored trials.
- `make_pruner({"kind": ..., **options})` builds one from a study file's `[pruner]` table
  (`PRUNER_OPTIONS` lists each kind's keywords, their types and lowest values, -inf where a
  value has no lower bound or is not a number; `kind = "none"` gives None).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from hpsearch.exceptions import ParameterError
from hpsearch.pruners.asha import ASHAPruner
from hpsearch.pruners.base import Pruner
from hpsearch.pruners.hyperband import Hyperband
from hpsearch.pruners.median import MedianPruner
from hpsearch.pruners.pbt import PopulationBasedTraining
from hpsearch.pruners.scheduler import Scheduler
from hpsearch.pruners.threshold import ThresholdPruner

__all__ = ["Pruner", "ThresholdPruner", "MedianPruner", "ASHAPruner", "Scheduler", "Hyperband",
           "PopulationBasedTraining", "PRUNER_OPTIONS", "make_pruner"]


#: keywords each `[pruner]` kind takes: {kind: {keyword: (type, lowest value or -inf)}}
PRUNER_OPTIONS: dict[str, dict[str, tuple[str, float]]] = {
    "none": {},
    "median": {"n_startup_trials": ("int", 0), "n_warmup_steps": ("int", 0),
               "interval_steps": ("int", 1), "n_min_trials": ("int", 1),
               "min_rank_correlation": ("float", -1.0)},
    "asha": {"min_resource": ("int", 1), "reduction_factor": ("int", 2),
             "min_early_stopping_rate": ("int", 0), "max_resource": ("int", 1),
             "min_rank_correlation": ("float", -1.0)},
    "threshold": {"threshold": ("float", -math.inf), "min_step": ("int", 0)},
    "hyperband": {"min_resource": ("int", 1), "max_resource": ("int", 2),
                  "reduction_factor": ("int", 2), "brackets": ("int", 1),
                  "min_rank_correlation": ("float", -1.0)},
    "pbt": {"interval": ("int", 1), "population": ("int", 2), "quantile": ("float", 0.0),
            "resample_probability": ("float", 0.0), "max_step": ("int", 1),
            "perturb": ("str_list", -math.inf)},
}


_PRUNER_CLASSES = {"median": MedianPruner, "asha": ASHAPruner, "threshold": ThresholdPruner,
                   "hyperband": Hyperband,
                   "pbt": PopulationBasedTraining}


def make_pruner(table: Mapping[str, object] | None) -> Pruner | Scheduler | None:
    """A pruner from a checked `[pruner]` table ({"kind": ..., **keywords}); None for an
    empty table or kind "none"."""
    options = dict(table or {})
    kind = options.pop("kind", "none")
    if kind == "none":
        return None
    if kind not in _PRUNER_CLASSES:
        raise ParameterError(f"unknown pruner kind {kind!r}; expected one of "
                         f"{', '.join(map(repr, PRUNER_OPTIONS))}")
    return _PRUNER_CLASSES[kind](**options)
