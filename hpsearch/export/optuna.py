"""Copy a run's trials into an Optuna study, so Optuna's tools (plots, optuna-dashboard) work.

Contract:
- `optuna_distributions(space)` maps each dimension to an Optuna distribution:
  `Float(low, high, log, step)` -> `FloatDistribution(low, high, log=log, step=step)`,
  `Int(low, high, log, step)` -> `IntDistribution(low, high, log=log, step=step)`,
  `Categorical(choices)` -> `CategoricalDistribution(choices)`.
- `optuna_trials(trials, space)` builds one `optuna.trial.FrozenTrial` per trial with
  `optuna.trial.create_trial`, in trial-number order, and returns them with the numbers it
  skipped. States: complete -> COMPLETE (with its value), pruned -> PRUNED (with its last
  reported value when it kept one), failed -> FAIL, interrupted -> FAIL (the driver died or was
  stopped; `hpsearch run` would run it again), running and paused -> skipped (no outcome yet;
  Optuna has no paused state; export again once the run is over). Intermediate reports become
  `intermediate_values` (non-finite ones
  dropped); the metrics become `user_attrs`, plus `hpsearch_number`, `hpsearch_seed`,
  `hpsearch_state` and, for failures, `hpsearch_error` (the error's last line). Start and end
  times are kept when they were recorded. Optuna numbers the trials afresh from 0, so a
  skipped trial shifts the numbers after it; `hpsearch_number` keeps ours.
- A multi-objective study exports as a multi-objective Optuna study: its directions, each
  trial's values, and the metric names (optuna-dashboard shows the Pareto front).
- `in_memory_study(trials, space, direction)` is the same trials in an in-memory Optuna study
  (used by the report for hyperparameter importances).
- `export_to_optuna(run_dir, storage_url, study_name=None, overwrite=False)` creates the study
  (default name: the run folder's name) in the storage and adds the trials in one call. A name
  that already exists in the storage raises `StorageError` unless `overwrite`, which deletes
  that study first; an unusable storage URL raises `StorageError` too. The run folder is only
  read. Returns an `OptunaExport` (name, storage, how many trials were added and skipped).
Optuna is imported inside the functions only.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsearch.exceptions import StorageError
from hpsearch.space import Categorical, Float, Int, Space
from hpsearch.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    import optuna

__all__ = ["OptunaExport", "export_to_optuna", "in_memory_study", "optuna_distributions",
           "optuna_trials"]

logger = logging.getLogger("hpsearch")


@dataclasses.dataclass(frozen=True)
class OptunaExport:
    """What `export_to_optuna` wrote: the study's name and storage, trials added and skipped."""

    study_name: str
    storage_url: str
    direction: str
    added: int
    skipped: tuple[int, ...]
    overwritten: bool


def optuna_distributions(space: Space) -> dict[str, Any]:
    """{name: optuna distribution} for every dimension of `space`, in space order."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for name, dim in space.items():
        if isinstance(dim, Float):
            out[name] = FloatDistribution(float(dim.low), float(dim.high), log=dim.log,
                                          step=None if dim.step is None else float(dim.step))
        elif isinstance(dim, Int):
            out[name] = IntDistribution(int(dim.low), int(dim.high), log=dim.log,
                                        step=int(dim.step))
        elif isinstance(dim, Categorical):
            out[name] = CategoricalDistribution(list(dim.choices))
        else:  # pragma: no cover - Space only holds the three kinds
            raise StorageError(f"dimension {name!r}: no Optuna distribution for {dim!r}")
    return out


_STATES = {TrialState.COMPLETE: "COMPLETE", TrialState.PRUNED: "PRUNED",
           TrialState.FAILED: "FAIL", TrialState.INTERRUPTED: "FAIL"}


def _when(stamp: float | None) -> datetime.datetime | None:
    return None if stamp is None else datetime.datetime.fromtimestamp(stamp)


def optuna_trials(trials: Sequence[FrozenTrial], space: Space,
                  ) -> tuple[list[optuna.trial.FrozenTrial], tuple[int, ...]]:
    """Optuna trials for `trials` (see the module docstring) and the numbers skipped."""
    from optuna.trial import TrialState as OptunaState
    from optuna.trial import create_trial

    distributions = optuna_distributions(space)
    out, skipped = [], []
    for trial in sorted(trials, key=lambda t: t.number):
        if trial.state not in _STATES:
            skipped.append(trial.number)
            continue
        state = getattr(OptunaState, _STATES[trial.state])
        keep_value = trial.state in (TrialState.COMPLETE, TrialState.PRUNED) and trial.has_value
        attrs: dict[str, Any] = {k: float(v) for k, v in trial.metrics.items()}
        attrs.update(hpsearch_number=trial.number, hpsearch_seed=int(trial.seed),
                     hpsearch_state=str(trial.state))
        if trial.error:
            attrs["hpsearch_error"] = trial.error.strip().splitlines()[-1][:500]
        params = {name: trial.params[name] for name in distributions if name in trial.params}
        values = list(trial.values) if keep_value else None
        try:
            frozen = create_trial(
                state=state, values=values,
                params=params, distributions={n: distributions[n] for n in params},
                user_attrs=attrs,
                intermediate_values={int(step): float(v) for step, v in trial.intermediate.items()
                                     if v is not None and math.isfinite(v)})
        except ValueError as err:
            raise StorageError(f"trial {trial.number}: Optuna refuses it: {err}") from err
        started, finished = _when(trial.started_at), _when(trial.finished_at)
        if started is not None:
            frozen.datetime_start = started
            frozen.datetime_complete = finished if finished is not None else started
        out.append(frozen)
    return out, tuple(skipped)


def _directions(direction: str | Sequence[str]) -> list[str]:
    return [direction] if isinstance(direction, str) else list(direction)


def in_memory_study(trials: Sequence[FrozenTrial], space: Space,
                    direction: str | Sequence[str]) -> optuna.Study:
    """An in-memory Optuna study holding `trials` (for Optuna's analysis functions)."""
    import optuna

    converted, _ = optuna_trials(trials, space)
    with _quiet_optuna():
        study = optuna.create_study(directions=_directions(direction))
        study.add_trials(converted)
    return study


class _quiet_optuna:
    """Silence Optuna's INFO lines ("A new study created ...") and restore the level after."""

    def __enter__(self) -> None:
        import optuna

        self.level = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        import optuna

        optuna.logging.set_verbosity(self.level)


def export_to_optuna(run_dir: str | os.PathLike, storage_url: str, study_name: str | None = None,
                     overwrite: bool = False) -> OptunaExport:
    """Copy the trials of `run_dir` into a new Optuna study; see the module docstring."""
    import optuna
    import sqlalchemy.exc

    from hpsearch.study.study import load_study

    path = Path(run_dir)
    study = load_study(path)
    name = study_name or path.resolve().name
    converted, skipped = optuna_trials(study.trials, study.space)
    replaced = False
    with _quiet_optuna():
        try:
            storage = optuna.storages.get_storage(storage_url)
        except (ValueError, ImportError, sqlalchemy.exc.SQLAlchemyError) as err:
            raise StorageError(f"{storage_url}: not a usable Optuna storage: "
                               f"{' '.join(str(err).split())[:300]}") from err
        if name in optuna.study.get_all_study_names(storage):
            if not overwrite:
                raise StorageError(f"{storage_url}: a study named {name!r} already exists; "
                                   "pass --overwrite to replace it or --study-name to pick "
                                   "another name")
            optuna.delete_study(study_name=name, storage=storage)
            replaced = True
        target = optuna.create_study(storage=storage, study_name=name,
                                     directions=_directions(study.direction))
        if study.n_objectives > 1:
            with warnings.catch_warnings():  # "experimental" since Optuna 3.2, and stable
                warnings.simplefilter("ignore")
                target.set_metric_names(study.objective_names)
        target.set_user_attr("hpsearch_run_dir", str(path.resolve()))
        target.set_user_attr("hpsearch_strategy", study.strategy_name)
        target.set_user_attr("hpsearch_seed", int(study.seed))
        target.add_trials(converted)
    logger.info("exported %d trials of %s to %s (study %r)", len(converted), path, storage_url,
                name)
    return OptunaExport(name, storage_url, study.direction, len(converted), skipped, replaced)
