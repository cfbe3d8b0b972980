"""Running a study file: everything `hpsearch run` and `hpsearch validate` do besides printing.

Contract:
- `validate(spec, fresh=False) -> Validation`: the checks that can fail before any trial (the
  strategy and its options, the space against the strategy, the objective's hyperparameters
  and dataset, unless `fresh` the split its run folder already holds, or its Python entry; the
  run folder's path and, unless `fresh`, its database, WAL and trial folders, as
  `hpsearch.storage.folder` checks them). Nothing is written. Raises `HpsearchError`
  subclasses with clear messages.
- `study_arguments(spec) -> dict`: the `hp.Study` keywords a study file gives (space,
  direction(s), strategy and options, seed, pruner, metric, warm start), for `run` and for
  `hpsearch serve`.
- `run(spec, fresh=False, callbacks=()) -> Study`: validate, open (or resume) the study in
  `spec.run_dir`, build the objective there and optimise until the study holds
  `spec.n_trials` finished trials, with the `[pruner]` table's pruner (`objectives.study_pruner`:
  the built-in network's population-based training keeps the network's shapes), and
  `NoImprovementStop` among the callbacks when `[study].stop_after_no_improvement` is set
  (`[study].timeout` is the wall-clock budget), on `[study].backend` ("local", or "dask" at
  `[study].scheduler`) with `[study].trial_timeout` and `[study].max_memory_mb` per trial
  (see `Study.optimize`). `[[study.enqueue]]` configurations are queued first (skipped when
  a trial already has them, so a resume does not repeat them) and `[study].warm_start` run
  folders are told to the strategy first. Tables are written by the study at the end of the
  run, also when it is interrupted or stopped early. The study holds the run folder's lock from
  opening to the end of the run (`--fresh`'s deletions included) and is closed when `run`
  returns or raises; the returned study answers from memory.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpsearch.exceptions import SpaceError, StudyFileError, StudyMismatchError
from hpsearch.storage.folder import check_run_folder, folder_problem
from hpsearch.strategies import make_strategy
from hpsearch.study.stopping import NoImprovementStop
from hpsearch.study.study import Study
from hpsearch.studyfile import objectives
from hpsearch.studyfile.reader import StudySpec
from hpsearch.studyfile.record import record

__all__ = ["Validation", "run", "validate", "grid_size", "study_arguments"]


@dataclass(frozen=True)
class Validation:
    """What `validate` found: the grid size (None when infinite) and the data's shape."""

    spec: StudySpec
    grid_size: int | None
    data_shape: tuple[int, ...] | None
    n_classes: int | None
    data: Any = None


_MAX_GRID_COUNT = 1_000_000


def grid_size(spec: StudySpec) -> int | None:
    """Number of points in the space's grid (only the active combinations of a conditional
    space), or None when a dimension is continuous."""
    total = 1
    for dim in spec.space.values():
        try:
            total *= len(dim.grid())
        except SpaceError:
            return None
    if spec.space.conditional and total <= _MAX_GRID_COUNT:
        return len(spec.space.grid())
    return total


def validate(spec: StudySpec, fresh: bool = False) -> Validation:
    """Every up-front check; see the module docstring."""
    try:
        make_strategy(spec.strategy, spec.space, np.random.default_rng(0), spec.direction,
                      **spec.strategy_options)
    except Exception as err:  # the strategy's own message says what is wrong
        where = "[strategy_options]" if spec.strategy_options else "[study].strategy"
        raise StudyFileError(f"{spec.path}: {where}: {err}") from err
    if not isinstance(spec.direction, str) and spec.pruner.get("kind", "none") != "none":
        raise StudyFileError(f"{spec.path}: [pruner]: a multi-objective study takes no pruner "
                             "(pruners compare one value per step); remove [pruner]")
    if spec.backend == "dask" and not spec.scheduler:
        raise StudyFileError(f"{spec.path}: [study].scheduler: missing; backend = \"dask\" "
                             "needs the scheduler's address, e.g. \"tcp://HOST:8786\" "
                             "(or --scheduler)")
    problem = folder_problem(spec.run_dir)
    if problem is not None:
        raise StudyFileError(f"{spec.path}: [study].storage / name: the run folder {problem}")
    if not fresh:
        check_run_folder(spec.run_dir)
    data = objectives.check(spec, fresh)
    shape = n_classes = None
    if data is not None:
        shape = tuple(data.X.shape)
        if data.y.ndim == 1 and spec.objective.task == "classification":
            n_classes = len(np.unique(data.y))
    return Validation(spec, grid_size(spec), shape, n_classes, data)


def study_arguments(spec: StudySpec) -> dict[str, Any]:
    """`hp.Study`'s keywords for a study file (all but storage and overwrite)."""
    several = not isinstance(spec.direction, str)
    # a Python objective without metric returns its values itself: name them 0, 1, ...
    metric = None if several and spec.metric == "value" else (
        list(spec.metric) if several else spec.metric)
    return dict(space=spec.space, direction=list(spec.direction) if several else spec.direction,
                strategy=spec.strategy, seed=spec.seed, strategy_options=spec.strategy_options,
                max_consecutive_failures=spec.max_consecutive_failures or 10,
                pruner=objectives.study_pruner(spec), metric=metric,
                warm_start=list(spec.warm_start))


def run(spec: StudySpec, fresh: bool = False,
        callbacks: Iterable[Callable[[Study, Any], None]] = (),
        on_start: Callable[[Study], None] | None = None,
        show_progress: bool = False) -> Study:
    """Validate, open or resume the study, and run it (`show_progress`: the live bar of
    `Study.optimize`); see the module docstring."""
    checked = validate(spec, fresh)
    run_dir = spec.run_dir
    try:
        study = Study(storage=run_dir, overwrite=fresh, **study_arguments(spec))
    except StudyMismatchError as err:
        message = str(err).replace("use overwrite=True", "run with --fresh")
        raise StudyMismatchError(f"{spec.path}: {message}") from None
    with study:  # the run folder is held, and closed cleanly, however the run ends
        if fresh:  # under the study's lock, like the rest of --fresh's deletion
            with contextlib.suppress(FileNotFoundError):
                os.remove(run_dir / "data.npz")
        for params in spec.enqueue:  # a resumed study does not try them twice
            study.enqueue(params, skip_if_exists=True)
        record(spec)  # <run_dir>/study.toml: what `hpsearch best --study-file` starts from
        objective = objectives.build(spec, run_dir, checked.data)
        if on_start is not None:
            on_start(study)
        timeout = None if spec.timeout is None or math.isinf(spec.timeout) else spec.timeout
        callbacks = tuple(callbacks)
        if spec.stop_after_no_improvement is not None:
            callbacks += (NoImprovementStop(spec.stop_after_no_improvement),)
        study.optimize(objective, n_trials=spec.n_trials, n_jobs=spec.n_jobs, timeout=timeout,
                       callbacks=callbacks, backend=spec.backend, scheduler=spec.scheduler,
                       trial_timeout=spec.trial_timeout, max_memory_mb=spec.max_memory_mb,
                       show_progress=show_progress)
    return study
