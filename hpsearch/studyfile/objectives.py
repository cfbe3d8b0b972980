"""The objective a study file names: the built-in network (`mlp`) or a Python function.

Contract: `check(spec, fresh=False)` does every check that can fail before the first trial
(hyperparameter names and values, the dataset and, unless `fresh`, the split a run folder
already holds, importing a Python entry) and raises a `StudyFileError` naming
the file and key; `build(spec, run_dir)` returns the objective to hand to `Study.optimize`;
`study_pruner(spec)` the `[pruner]` table's pruner or scheduler, fitted to the objective: with
the built-in network, population-based training without `perturb` perturbs only the searched
hyperparameters a checkpoint survives (all but `mlp.SHAPE_HYPERPARAMETERS`), and a `perturb`
that lists one of those is refused (`StudyFileError` naming `[pruner].perturb`; `check` calls
it, so before any trial).
This package imports `nn_core` only through `hpsearch.objectives.mlp`, and only when a study
uses the network, so the command line stays quick to start.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hpsearch.exceptions import ObjectiveError, StudyFileError
from hpsearch.execution.objective import (
    call_objective,
    check_objective_style,
    load_objective,
    to_result,
)
from hpsearch.pruners import PopulationBasedTraining, Pruner, Scheduler, make_pruner
from hpsearch.studyfile.reader import StudySpec
from hpsearch.trial import Result

__all__ = ["MetricObjective", "build", "check", "resolve_entry", "study_pruner"]


def resolve_entry(spec: StudySpec) -> str:
    """`[objective].entry` with a file, or a module beside the study file, made absolute."""
    source, _, name = (spec.objective.entry or "").rpartition(":")
    folder = spec.path.parent
    if source.endswith(".py") or "/" in source:
        path = Path(source).expanduser()
        return f"{path if path.is_absolute() else (folder / path).resolve()}:{name}"
    beside = folder / (source.replace(".", "/") + ".py")
    return f"{beside.resolve()}:{name}" if beside.is_file() else f"{source}:{name}"


@dataclass(frozen=True)
class MetricObjective:
    """A Python objective whose study metric is one of the metrics it returns.

    Sent to workers as the entry string and imported there (see `hpsearch.execution.objective`).
    """

    entry: str
    metric: str | tuple[str, ...]  # several: one value per metric (multi-objective)

    def __call__(self, params: dict[str, Any], trial: Any) -> Result:
        function = load_objective(self.entry)
        result = to_result(call_objective(function, params, trial))
        if self.metric == "value":
            return result
        names = (self.metric,) if isinstance(self.metric, str) else tuple(self.metric)
        missing = [name for name in names if name not in result.metrics]
        if missing:
            returned = ", ".join(sorted(result.metrics)) or "none (it returned a bare value)"
            raise ObjectiveError(f"the study's metric {missing[0]!r} is not among the metrics "
                                 f"the objective returned: {returned}")
        if len(names) == 1:
            return Result(result.metrics[names[0]], result.metrics, result.artifacts)
        return Result(metrics=result.metrics, artifacts=result.artifacts,
                      values=[result.metrics[name] for name in names])


def check(spec: StudySpec, fresh: bool = False) -> Any:
    """Up-front checks; returns the loaded dataset for `mlp` (None for `python`). Unless
    `fresh`, an `mlp` run folder's stored split must be readable and of the same data."""
    if spec.objective.kind == "mlp":
        from hpsearch.objectives import mlp
        from hpsearch.objectives.mlp.data import check_stored_split

        mlp.check_hyperparameters(spec)
        study_pruner(spec)
        data = mlp.load_data(spec)
        if not fresh:
            check_stored_split(spec, data, spec.run_dir)
        return data
    if spec.objective.fixed:
        raise StudyFileError(f"{spec.path}: [objective.fixed]: only kind = \"mlp\" takes fixed "
                             "hyperparameters; a Python objective sets its own")
    entry = resolve_entry(spec)
    try:
        check_objective_style(load_objective(entry))
    except ObjectiveError as err:
        raise StudyFileError(f"{spec.path}: [objective].entry: {err}") from None
    return None


def build(spec: StudySpec, run_dir: Path, data: Any = None) -> Any:
    """The objective for `Study.optimize`; `data` is what `check` returned."""
    if spec.objective.kind == "mlp":
        from hpsearch.objectives import mlp

        return mlp.prepare(spec, run_dir, data)
    entry = resolve_entry(spec)
    return entry if spec.metric == "value" else MetricObjective(entry, spec.metric)


def study_pruner(spec: StudySpec) -> Pruner | Scheduler | None:
    """The `[pruner]` table's pruner, fitted to the objective (see the module docstring)."""
    pruner = make_pruner(spec.pruner)
    if spec.objective.kind != "mlp" or not isinstance(pruner, PopulationBasedTraining):
        return pruner
    from hpsearch.objectives import mlp

    shaped = mlp.SHAPE_HYPERPARAMETERS
    if pruner.perturb is None:  # a copy resumes its source's network: keep its shapes
        return replace(pruner, perturb=tuple(name for name in spec.space if name not in shaped))
    listed = [name for name in pruner.perturb if name in shaped]
    if listed:
        raise StudyFileError(
            f"{spec.path}: [pruner].perturb: {', '.join(map(repr, listed))} "
            f"{'changes' if len(listed) == 1 else 'change'} the network's shapes, so a copy "
            f"could not resume its source's checkpoint; list only "
            f"hyperparameters a checkpoint survives (none of {', '.join(shaped)}), or leave "
            f"perturb out to perturb all the others")
    return pruner
