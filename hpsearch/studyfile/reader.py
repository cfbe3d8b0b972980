"""Study files: TOML in, a validated, frozen `StudySpec` out.

Contract: `load_study_file(path, **overrides)` reads the file with `tomllib`, checks every
section and key strictly (unknown keys get a did-you-mean), and returns a `StudySpec`. Every
mistake raises `StudyFileError` whose message starts with the file's path and names the key path
(`[study].n_trials`, `[space].learning_rate.low`) and what was expected.
`study_spec(data, path, served=False)` runs the same checks on a document already parsed (the
service's create-study JSON body, named by `path` in its errors; a `served` study may leave
`[study].n_trials` out, no budget, and `[objective].entry`, named by each worker instead).
`name_problem(name)` says why a name cannot be a run folder's (None when it can). Checks that
need the objective's vocabulary (the built-in network's hyperparameter names, the dataset)
live with the objective (`hpsearch.objectives`), which `hpsearch run` and `hpsearch validate`
call next.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hpsearch.direction import DIRECTIONS
from hpsearch.exceptions import SpaceError, StudyError, StudyFileError
from hpsearch.execution.workers import check_n_jobs
from hpsearch.objectives.mlp.settings import ObjectiveSpec
from hpsearch.pruners import PRUNER_OPTIONS, Scheduler, make_pruner
from hpsearch.space import Space, dimension_from_dict
from hpsearch.strategies import STRATEGY_NAMES
from hpsearch.studyfile.starts import parse_enqueue, warm_start_folders
from hpsearch.studyfile.tomlfile import Reader, did_you_mean, read_toml, show

STRATEGIES = tuple(STRATEGY_NAMES)
TASKS = ("classification", "regression", "multilabel")
IMPUTE = ("mean",)  # [objective].impute: how missing (NaN, empty) feature cells are filled
BACKENDS = ("local", "dask")

_STUDY_KEYS = {
    "name", "strategy", "n_trials", "n_jobs", "seed", "direction", "metric", "storage",
    "timeout", "trial_timeout", "max_memory_mb", "backend", "scheduler",
    "max_consecutive_failures", "stop_after_no_improvement", "enqueue", "warm_start",
}
_OBJECTIVE_KEYS = {
    "kind", "task", "dataset", "target", "val_fraction", "test_fraction", "entry", "fixed",
    "repeats", "checkpoint_epochs", "impute",
}
_TOP_KEYS = {"study", "strategy_options", "objective", "space", "pruner"}
# The typed keys of a float or int hyperparameter, read with `Reader.get` like every other
# number of a study file (the dimension classes check the ranges and the rest).
_DIMENSION_KEYS = {
    "float": {"low": "float", "high": "float", "step": "float", "grid_points": "int",
              "values": "float_list", "log": "bool"},
    "int": {"low": "int", "high": "int", "step": "int", "grid_points": "int",
            "values": "int_list", "log": "bool"},
}


@dataclass(frozen=True)
class StudySpec:
    """A whole study file, resolved. `run_dir` is `<storage>/<name>`."""

    path: Path
    name: str
    strategy: str
    n_trials: int | None  # None only for a served study without a budget (`study_spec`)
    n_jobs: int
    seed: int
    direction: str | tuple[str, ...]  # several: one per metric (multi-objective)
    metric: str | tuple[str, ...]
    storage: Path
    space: Space
    objective: ObjectiveSpec
    strategy_options: Mapping[str, Any] = field(default_factory=dict)
    pruner: Mapping[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    trial_timeout: float | None = None
    max_memory_mb: int | None = None
    backend: str = "local"
    scheduler: str | None = None
    max_consecutive_failures: int | None = None
    stop_after_no_improvement: int | None = None
    enqueue: tuple[Mapping[str, Any], ...] = ()  # [[study.enqueue]] tables, tried first
    warm_start: tuple[Path, ...] = ()  # earlier run folders told to the strategy first

    @property
    def run_dir(self) -> Path:
        return self.storage / self.name

    def resolve_dataset(self) -> str:
        """`digits`/`spiral` as they are; a file path made absolute, relative to the study file."""
        ds = self.objective.dataset
        if ds in ("digits", "spiral"):
            return ds
        p = Path(ds).expanduser()
        return str(p if p.is_absolute() else (self.path.parent / p).resolve())


def parse_space(path: Path, table: Any) -> Space:
    """The `[space]` table -> Space; each entry an inline table with `type` and its fields."""
    if not isinstance(table, dict) or not table:
        raise StudyFileError(f"{path}: [space]: expected at least one hyperparameter, e.g. "
                             "learning_rate = { type = \"float\", low = 1e-4, high = 1e-1, "
                             "log = true }")
    dims = {}
    for name, spec in table.items():
        if not name or not name.isprintable():  # a line break or control in it would split
            raise StudyFileError(f"{path}: [space]: a hyperparameter name must be printable "
                                 f"text, got {name!r}")
        if not isinstance(spec, dict):
            raise StudyFileError(
                f"{path}: [space].{name}: expected an inline table such as "
                f"{{ type = \"float\", low = 0.0, high = 1.0 }}, got {show(spec)}")
        dimension = Reader(path, "space", spec, within=name)
        for key, kind in _DIMENSION_KEYS.get(spec.get("type"), {}).items():
            dimension.get(key, kind)
        try:
            dims[name] = dimension_from_dict(name, spec)
        except SpaceError as err:
            raise StudyFileError(f"{path}: [{err}".replace("space.", "space].", 1)) from None
    return Space(dims)


def load_study_file(path: str | Path, **overrides: Any) -> StudySpec:
    """Read and check a study file. `overrides` (n_trials, n_jobs, storage, backend, scheduler,
    seed) replace the file's values after its own checks, as the command line's options do;
    `warm_start` (run folders) and `enqueue` (checked configurations) are added to the file's."""
    path = Path(path)
    return _with_overrides(study_spec(read_toml(path), path), overrides)


def study_spec(data: Any, path: Path, served: bool = False) -> StudySpec:
    """A parsed study document (see the module docstring) checked into a `StudySpec`."""
    top = Reader(path, "top level", data)
    for key in data:
        if key not in _TOP_KEYS:
            top.fail(key, f"unknown section{did_you_mean(key, _TOP_KEYS)}; expected "
                          f"{', '.join('[' + k + ']' for k in sorted(_TOP_KEYS))}")
    if "study" not in data:
        raise StudyFileError(f"{path}: [study]: missing section; it needs at least strategy "
                             "and n_trials")
    study = Reader(path, "study", data["study"])
    study.check_keys(_STUDY_KEYS)
    return _read_spec(path, data, study, served)


def name_problem(name: Any) -> str | None:
    """Why `name` cannot name a run folder (a path, '..', control characters, too long), or
    None when it can."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or \
            name in (".", "..") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return (f"expected a plain folder name (no '/', '\\' or control characters), "
                f"got {name!r}")
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > 255:
        return (f"expected a folder name of at most 255 bytes (the file systems' limit), "
                f"got {size}")
    return None


def _folder_name(study: Reader, path: Path) -> str:
    """`[study].name`, a name the run folder can have (checked with `[study].storage`)."""
    name = study.get("name", "str", default=path.stem)
    problem = name_problem(name)
    if problem is not None:
        study.fail("name", problem)
    storage = study.table.get("storage")
    if isinstance(storage, str) and "\0" in storage:
        study.fail("storage", "a folder path cannot hold a NUL character")
    return name


def _read_spec(path: Path, data: dict[str, Any], study: Reader,
               served: bool = False) -> StudySpec:
    """Every section of a parsed study file, checked, as a StudySpec."""
    name = _folder_name(study, path)
    objective = _parse_objective(path, data.get("objective", {}), served)
    strategy_options = data.get("strategy_options", {})
    Reader(path, "strategy_options", strategy_options)
    space = parse_space(path, data.get("space"))
    pruner = _parse_pruner(path, data.get("pruner", {}), space)
    metric, direction = _objectives(study, objective)
    return StudySpec(
        path=path,
        name=name,
        strategy=study.get("strategy", "str", choices=STRATEGIES, required=True),
        n_trials=study.get("n_trials", "int", low=1, required=not served),
        n_jobs=_n_jobs(study),
        seed=study.get("seed", "int", default=0, low=0),
        direction=direction,
        metric=metric,
        storage=Path(study.get("storage", "str", default="runs")),
        space=space,
        objective=objective,
        strategy_options=dict(strategy_options),
        pruner=dict(pruner),
        timeout=study.get("timeout", "float", low=0),
        trial_timeout=study.get("trial_timeout", "float", low=0),
        max_memory_mb=study.get("max_memory_mb", "int", low=1),
        backend=study.get("backend", "str", default="local", choices=BACKENDS),
        scheduler=study.get("scheduler", "str"),
        max_consecutive_failures=study.get("max_consecutive_failures", "int", low=1),
        stop_after_no_improvement=study.get("stop_after_no_improvement", "int", low=1),
        enqueue=parse_enqueue(path, "[[study.enqueue]]", study.table.get("enqueue", []), space),
        warm_start=warm_start_folders(study),
    )


def _default_direction(metric: str) -> str:
    return "minimize" if metric.endswith(("loss", "error", "_ms", "_s")) or metric in (
        "value", "n_params") else "maximize"


def _objectives(study: Reader, objective: ObjectiveSpec) -> tuple[Any, Any]:
    """`metric` and `direction`: a name each, or lists of the same length (several
    objectives; a Python objective without `metric` then returns one value per direction)."""
    default_metric = {"regression": "val_loss", "multilabel": "val_accuracy"}.get(
        objective.task, "val_accuracy") if objective.kind == "mlp" else "value"
    metric = study.table.get("metric", default_metric)
    direction = study.table.get("direction")
    for key, value in (("metric", metric), ("direction", direction)):
        if isinstance(value, list) and (len(value) < 1 or not all(
                isinstance(v, str) and v for v in value)):
            study.fail(key, f"expected a name or a list of names, got {show(value)}")
        if value is not None and not isinstance(value, str | list):
            study.fail(key, f"expected a name or a list of names, got {show(value)}")
    if isinstance(direction, list):
        for d in direction:
            if d not in DIRECTIONS:
                study.fail("direction", f"expected one of {DIRECTIONS}, got {d!r}")
    elif direction is not None:
        study.get("direction", "str", choices=DIRECTIONS)
    if isinstance(metric, list):
        if direction is None:
            direction = [_default_direction(m) for m in metric]
        if not isinstance(direction, list) or len(direction) != len(metric):
            study.fail("direction", f"expected a list of {len(metric)} directions, one per "
                                    f"metric in {metric}, got {show(direction)}")
        return (tuple(metric), tuple(direction)) if len(metric) > 1 else (metric[0],
                                                                            direction[0])
    if isinstance(direction, list):
        if metric != "value":
            study.fail("direction", f"has {len(direction)} directions but metric {metric!r} "
                                    "names one value: give metric a list of the same length")
        return metric, tuple(direction) if len(direction) > 1 else direction[0]
    return metric, direction or _default_direction(metric)


def _with_overrides(spec: StudySpec, overrides: dict[str, Any]) -> StudySpec:
    """The command line's options over the file's values (see `load_study_file`)."""
    path = spec.path
    clean = {k: v for k, v in overrides.items() if v is not None}
    if "storage" in clean:
        clean["storage"] = Path(clean["storage"])
    if "warm_start" in clean:
        clean["warm_start"] = spec.warm_start + tuple(Path(p) for p in clean["warm_start"])
    if "enqueue" in clean:
        clean["enqueue"] = spec.enqueue + tuple(clean["enqueue"])
    if clean.get("n_trials", 1) < 1:
        raise StudyFileError(f"{path}: --n-trials must be a positive integer, got "
                             f"{clean['n_trials']}")
    if "n_jobs" in clean:
        try:
            check_n_jobs(clean["n_jobs"], "--n-jobs")
        except StudyError as err:
            raise StudyFileError(f"{path}: {err}") from None
    return replace(spec, **clean)


#: the `[pruner]` keys a kind cannot go without
_REQUIRED_PRUNER_KEYS = {"threshold": ("threshold",), "hyperband": ("max_resource",),
                         "pbt": ("interval",)}


def _parse_pruner(path: Path, table: Any, space: Space) -> dict[str, Any]:
    """The `[pruner]` table: `kind` ("none" when absent) and that kind's keywords, each
    checked against `hpsearch.pruners.PRUNER_OPTIONS`, a scheduler's against `space` too;
    returns {"kind": ..., **keywords}."""
    pruner = Reader(path, "pruner", table)
    if not table:
        return {}
    pruner.check_keys({"kind"}.union(*PRUNER_OPTIONS.values()))  # typos first
    kind = pruner.get("kind", "str", choices=tuple(PRUNER_OPTIONS), required=True)
    options = PRUNER_OPTIONS[kind]
    pruner.check_keys({"kind", *options})
    out: dict[str, Any] = {"kind": kind}
    for key, (kind_of_value, low) in options.items():
        value = pruner.get(key, kind_of_value, low=low if math.isfinite(low) else None,
                           required=key in _REQUIRED_PRUNER_KEYS.get(kind, ()))
        if value is not None:
            out[key] = value
    try:  # the rules between keys (Hyperband: max_resource above min_resource; PBT quantile)
        built = make_pruner(out)
        if isinstance(built, Scheduler):  # and against the space (PBT: perturb's names)
            built.check_space(space)
    except ValueError as err:
        what = str(err).split(": ", 1)[-1]  # "<key> must be ...", after the class's name
        pruner.fail(what.split()[0] if what.split()[0] in options else "kind", what)
    return out


def _n_jobs(study: Reader) -> int:
    """Workers: a positive integer, or -1 for every core (every Dask worker thread)."""
    n_jobs = study.table.get("n_jobs", 1)
    try:
        return check_n_jobs(n_jobs, "n_jobs")
    except StudyError:
        study.fail("n_jobs", f"expected a positive integer or -1 (every core), got "
                             f"{show(n_jobs)}")
        raise


def _parse_objective(path: Path, table: Any, served: bool = False) -> ObjectiveSpec:
    obj = Reader(path, "objective", table)
    obj.check_keys(_OBJECTIVE_KEYS)
    kind = obj.get("kind", "str", default="mlp", choices=("mlp", "python"))
    entry = obj.get("entry", "str")
    if kind == "python" and not entry and not served:
        obj.fail("entry", "missing; kind = \"python\" needs entry = \"module:function\" or "
                          "\"file.py:function\"")
    if entry is not None and (entry.count(":") != 1 or not all(entry.split(":"))):
        obj.fail("entry", f"expected \"module:function\" or \"file.py:function\", got {entry!r}")
    fixed = table.get("fixed", {}) if isinstance(table, dict) else {}
    Reader(path, "objective.fixed", fixed)
    val_fraction = obj.get("val_fraction", "float", default=0.2, low=0.0, high=0.9)
    test_fraction = obj.get("test_fraction", "float", default=0.2, low=0.0, high=0.9)
    if val_fraction <= 0:
        obj.fail("val_fraction", f"expected a fraction in (0, 0.9], got {val_fraction}")
    if val_fraction + test_fraction >= 0.95:
        obj.fail("test_fraction", f"val_fraction + test_fraction must leave data to train on, "
                                  f"got {val_fraction} + {test_fraction}")
    impute = obj.get("impute", "str", choices=IMPUTE)
    if impute is not None and kind != "mlp":
        obj.fail("impute", "only kind = \"mlp\" reads a data set; a Python objective loads "
                           "its own")
    checkpoints = tuple(obj.get("checkpoint_epochs", "int_list", default=[]))
    if any(c < 1 for c in checkpoints):
        obj.fail("checkpoint_epochs", f"expected positive epoch numbers, got {list(checkpoints)}")
    return ObjectiveSpec(
        kind=kind,
        task=obj.get("task", "str", default="classification", choices=TASKS),
        dataset=obj.get("dataset", "str", default="digits"),
        target=obj.get("target", "str"),
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        entry=entry,
        fixed=dict(fixed),
        repeats=obj.get("repeats", "int", default=1, low=1),
        checkpoint_epochs=checkpoints,
        impute=impute,
    )
