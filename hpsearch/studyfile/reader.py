"""Study files: TOML in, a validated, frozen `StudySpec` out.

Contract: `load_study_file(path, **overrides)` reads the file with `tomllib`, checks every
section and key strictly (unknown keys get a did-you-mean), and returns a `StudySpec`. Every
mistake raises `StudyFileError` whose message starts with the file's path and names the key path
(`[study].n_trials`, `[space].learning_rate.low`) and what was expected. Checks that need the
objective's vocabulary (the built-in network's hyperparameter names, the dataset) live with the
objective (`hpsearch.objectives`), which `hpsearch run` and `hpsearch validate` call next.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hpsearch.exceptions import SpaceError, StudyError, StudyFileError
from hpsearch.execution.workers import check_n_jobs
from hpsearch.pruners import PRUNER_OPTIONS
from hpsearch.space import Space, dimension_from_dict
from hpsearch.strategies import STRATEGY_NAMES
from hpsearch.study.proposals import check_partial

STRATEGIES = tuple(STRATEGY_NAMES)
TASKS = ("classification", "regression", "multilabel")
BACKENDS = ("local", "dask")

_STUDY_KEYS = {
    "name", "strategy", "n_trials", "n_jobs", "seed", "direction", "metric", "storage",
    "timeout", "trial_timeout", "max_memory_mb", "backend", "scheduler",
    "max_consecutive_failures", "stop_after_no_improvement", "enqueue", "warm_start",
}
_OBJECTIVE_KEYS = {
    "kind", "task", "dataset", "target", "val_fraction", "test_fraction", "entry", "fixed",
    "repeats", "checkpoint_epochs",
}
_TOP_KEYS = {"study", "strategy_options", "objective", "space", "pruner"}


@dataclass(frozen=True)
class ObjectiveSpec:
    """The `[objective]` section; `fixed` holds `[objective.fixed]` (constant hyperparameters)."""

    kind: str = "mlp"
    task: str = "classification"
    dataset: str = "digits"
    target: str | None = None
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    entry: str | None = None
    fixed: Mapping[str, Any] = field(default_factory=dict)
    repeats: int = 1
    checkpoint_epochs: tuple[int, ...] = ()


@dataclass(frozen=True)
class StudySpec:
    """A whole study file, resolved. `run_dir` is `<storage>/<name>`."""

    path: Path
    name: str
    strategy: str
    n_trials: int
    n_jobs: int
    seed: int
    direction: str
    metric: str
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


class _Reader:
    """Typed access to one TOML table, with error messages naming the file and key path."""

    def __init__(self, path: Path, section: str, table: Any) -> None:
        self.path, self.section = path, section
        if not isinstance(table, dict):
            self.fail("", f"expected a table, got {_show(table)}")
        self.table = table

    def fail(self, key: str, what: str) -> None:
        where = f"[{self.section}]" + (f".{key}" if key else "")
        raise StudyFileError(f"{self.path}: {where}: {what}")

    def check_keys(self, allowed: set[str]) -> None:
        for key in self.table:
            if key not in allowed:
                self.fail(key, f"unknown key{_did_you_mean(key, allowed)}; "
                               f"expected one of: {', '.join(sorted(allowed))}")

    def get(self, key: str, kind: str, default: Any = None, choices: tuple = (),
            low: float | None = None, high: float | None = None, required: bool = False) -> Any:
        if key not in self.table:
            if required:
                self.fail(key, f"missing; expected {_expect(kind, choices)}")
            return default
        value = self.table[key]
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value),
            "bool": isinstance(value, bool),
            "int_list": isinstance(value, list)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value),
        }[kind]
        if not ok:
            self.fail(key, f"expected {_expect(kind, choices)}, got {_show(value)}")
        if choices and value not in choices:
            self.fail(key, f"expected one of {', '.join(map(repr, choices))}"
                           f"{_did_you_mean(str(value), set(choices))}, got {_show(value)}")
        if low is not None and value < low:
            self.fail(key, f"expected a value >= {low}, got {_show(value)}")
        if high is not None and value > high:
            self.fail(key, f"expected a value <= {high}, got {_show(value)}")
        return float(value) if kind == "float" else value


def _show(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, dict) else "a table"


def _expect(kind: str, choices: tuple) -> str:
    if choices:
        return "one of " + ", ".join(map(repr, choices))
    return {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
            "int_list": "a list of integers"}[kind]


def _did_you_mean(key: str, allowed: set[str] | Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    if not close:
        aliases = {"lr": "learning_rate", "wd": "reg", "weight_decay": "reg", "l2": "reg",
                   "bs": "batch_size", "layers": "num_layers", "units": "hidden_size",
                   "n_layers": "num_layers", "hidden": "hidden_size", "act": "activation",
                   "algorithm": "strategy", "sampler": "strategy", "trials": "n_trials",
                   "jobs": "n_jobs", "workers": "n_jobs"}
        if aliases.get(key) in allowed:
            close = [aliases[key]]
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a missing or malformed file raises StudyFileError naming it."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise StudyFileError(f"{path}: no such study file") from None
    except IsADirectoryError:
        raise StudyFileError(f"{path}: is a folder, expected a study file (.toml)") from None
    except tomllib.TOMLDecodeError as err:
        raise StudyFileError(f"{path}: not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise StudyFileError(f"{path}: not valid TOML: the file is not UTF-8 text") from None


def parse_space(path: Path, table: Any) -> Space:
    """The `[space]` table -> Space; each entry an inline table with `type` and its fields."""
    if not isinstance(table, dict) or not table:
        raise StudyFileError(f"{path}: [space]: expected at least one hyperparameter, e.g. "
                             "learning_rate = { type = \"float\", low = 1e-4, high = 1e-1, "
                             "log = true }")
    dims = {}
    for name, spec in table.items():
        if not isinstance(spec, dict):
            raise StudyFileError(
                f"{path}: [space].{name}: expected an inline table such as "
                f"{{ type = \"float\", low = 0.0, high = 1.0 }}, got {_show(spec)}")
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
    data = read_toml(path)
    top = _Reader(path, "top level", data)
    for key in data:
        if key not in _TOP_KEYS:
            top.fail(key, f"unknown section{_did_you_mean(key, _TOP_KEYS)}; expected "
                          f"{', '.join('[' + k + ']' for k in sorted(_TOP_KEYS))}")
    if "study" not in data:
        raise StudyFileError(f"{path}: [study]: missing section; it needs at least strategy "
                             "and n_trials")
    study = _Reader(path, "study", data["study"])
    study.check_keys(_STUDY_KEYS)
    return _with_overrides(_read_spec(path, data, study), overrides)


def _read_spec(path: Path, data: dict[str, Any], study: _Reader) -> StudySpec:
    """Every section of a parsed study file, checked, as a StudySpec."""
    name = study.get("name", "str", default=path.stem)
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        study.fail("name", f"expected a plain folder name, got {name!r}")
    objective = _parse_objective(path, data.get("objective", {}))
    strategy_options = data.get("strategy_options", {})
    _Reader(path, "strategy_options", strategy_options)
    pruner = _parse_pruner(path, data.get("pruner", {}))

    space = parse_space(path, data.get("space"))
    default_metric = {"regression": "val_loss", "multilabel": "val_accuracy"}.get(
        objective.task, "val_accuracy") if objective.kind == "mlp" else "value"
    metric = study.get("metric", "str", default=default_metric)
    default_direction = "minimize" if metric.endswith(("loss", "error")) or \
        metric == "value" else "maximize"
    return StudySpec(
        path=path,
        name=name,
        strategy=study.get("strategy", "str", choices=STRATEGIES, required=True),
        n_trials=study.get("n_trials", "int", low=1, required=True),
        n_jobs=_n_jobs(study),
        seed=study.get("seed", "int", default=0, low=0),
        direction=study.get("direction", "str", default=default_direction,
                            choices=("minimize", "maximize")),
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
        warm_start=_warm_start(study),
    )


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


def parse_enqueue(path: Path, where: str, tables: Any, space: Space
                  ) -> tuple[dict[str, Any], ...]:
    """`[[study.enqueue]]` (a list of {name: value} tables) checked against the space."""
    if isinstance(tables, dict):
        tables = [tables]
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise StudyFileError(f"{path}: {where}: expected tables of hyperparameter values, "
                             f"e.g. [[study.enqueue]] learning_rate = 1e-3, got {_show(tables)}")
    out = []
    for k, table in enumerate(tables):
        try:
            out.append(check_partial(space, table))
        except SpaceError as err:
            raise StudyFileError(f"{path}: {where} #{k + 1}: "
                                 f"{str(err).removeprefix('enqueue: ')}") from None
    return tuple(out)


def read_enqueue_file(path: str | Path, space: Space) -> tuple[dict[str, Any], ...]:
    """Configurations to enqueue from a TOML file (`hpsearch run --enqueue FILE`): its
    `[[study.enqueue]]` tables, or its `[objective.fixed]` table (what `hpsearch best --toml`
    prints), or its top-level keys; only the names of `space` are kept from `[objective.fixed]`
    (it may also hold the study's constant hyperparameters)."""
    path = Path(path)
    data = read_toml(path)
    if isinstance(data.get("study"), dict) and "enqueue" in data["study"]:
        return parse_enqueue(path, "[[study.enqueue]]", data["study"]["enqueue"], space)
    if isinstance(data.get("objective"), dict) and isinstance(data["objective"].get("fixed"),
                                                              dict):
        fixed = {k: v for k, v in data["objective"]["fixed"].items() if k in space}
        return parse_enqueue(path, "[objective.fixed]", [fixed], space)
    return parse_enqueue(path, "top level", [data], space)


def _warm_start(study: _Reader) -> tuple[Path, ...]:
    """`[study].warm_start`: a run folder or a list of them (relative to the working folder,
    like `storage`)."""
    value = study.table.get("warm_start", [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        study.fail("warm_start", f"expected a run folder or a list of run folders, got "
                                 f"{_show(value)}")
    return tuple(Path(v) for v in value)


def _parse_pruner(path: Path, table: Any) -> dict[str, Any]:
    """The `[pruner]` table: `kind` ("none" when absent) and that kind's keywords, each
    checked against `hpsearch.pruners.PRUNER_OPTIONS`; returns {"kind": ..., **keywords}."""
    pruner = _Reader(path, "pruner", table)
    if not table:
        return {}
    pruner.check_keys({"kind"}.union(*PRUNER_OPTIONS.values()))  # typos first
    kind = pruner.get("kind", "str", choices=tuple(PRUNER_OPTIONS), required=True)
    options = PRUNER_OPTIONS[kind]
    pruner.check_keys({"kind", *options})
    out: dict[str, Any] = {"kind": kind}
    for key, (kind_of_value, low) in options.items():
        value = pruner.get(key, kind_of_value, low=low if math.isfinite(low) else None,
                           required=key == "threshold")
        if value is not None:
            out[key] = value
    return out


def _n_jobs(study: _Reader) -> int:
    """Workers: a positive integer, or -1 for every core (every Dask worker thread)."""
    n_jobs = study.table.get("n_jobs", 1)
    try:
        return check_n_jobs(n_jobs, "n_jobs")
    except StudyError:
        study.fail("n_jobs", f"expected a positive integer or -1 (every core), got "
                             f"{_show(n_jobs)}")
        raise


def _parse_objective(path: Path, table: Any) -> ObjectiveSpec:
    obj = _Reader(path, "objective", table)
    obj.check_keys(_OBJECTIVE_KEYS)
    kind = obj.get("kind", "str", default="mlp", choices=("mlp", "python"))
    entry = obj.get("entry", "str")
    if kind == "python" and not entry:
        obj.fail("entry", "missing; kind = \"python\" needs entry = \"module:function\" or "
                          "\"file.py:function\"")
    if entry is not None and (entry.count(":") != 1 or not all(entry.split(":"))):
        obj.fail("entry", f"expected \"module:function\" or \"file.py:function\", got {entry!r}")
    fixed = table.get("fixed", {}) if isinstance(table, dict) else {}
    _Reader(path, "objective.fixed", fixed)
    val_fraction = obj.get("val_fraction", "float", default=0.2, low=0.0, high=0.9)
    test_fraction = obj.get("test_fraction", "float", default=0.2, low=0.0, high=0.9)
    if val_fraction <= 0:
        obj.fail("val_fraction", f"expected a fraction in (0, 0.9], got {val_fraction}")
    if val_fraction + test_fraction >= 0.95:
        obj.fail("test_fraction", f"val_fraction + test_fraction must leave data to train on, "
                                  f"got {val_fraction} + {test_fraction}")
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
    )
