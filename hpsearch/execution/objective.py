"""Python objectives: the calling convention, checking what they return, loading by name.

Contract:
- An objective is `f(params)` or `f(params, trial)` (decided by signature inspection: two
  or more positional parameters, or *args, means it takes the trial handle). `params` is a
  plain {name: value} dict.
- It returns a number, or `Result(value, metrics={name: float}, artifacts={name: ndarray})`.
  A value that is not a finite number fails the trial. Artifacts travel back to the driver in
  memory; only the driver writes them (`<run>/trials/<number>/artifacts.npz`).
- The trial (`hp.Trial`, in `hpsearch.trial`) has `number`, `params`, `seed`, `rng`,
  `report(step, value) -> bool` (True when the pruner asks to stop; see `hpsearch.pruners`),
  `should_prune()` and `intermediate`. To stop, raise `hp.TrialPruned()`.
- `load_objective("path/to/file.py:name")` imports a file by path (under a private module
  name, its folder appended to sys.path) and `load_objective("package.module:name")` imports
  a module. `ObjectiveRef` is how the study sends an objective to a worker: loaded-by-spec
  objectives travel as the spec and are re-imported in the worker (once per process); other
  callables travel as themselves (cloudpickle in loky workers)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpsearch.exceptions import ObjectiveError
from hpsearch.trial import Result

_FILE_MODULE_PREFIX = "_hpsearch_objective_"


_FILE_MODULES: dict[str, str] = {}  # private module name -> absolute file path


_LOADED: dict[str, Callable] = {}  # spec -> objective, per process


def takes_trial(objective: Callable) -> bool:
    """True when `objective` accepts a second positional argument (the trial handle)."""
    try:
        params = list(inspect.signature(objective).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)


def _import_file(path: str) -> Any:
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise ObjectiveError(f"objective file {path} does not exist")
    name = _FILE_MODULE_PREFIX + hashlib.sha1(path.encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.append(folder)  # let the file import its neighbours
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ObjectiveError(f"cannot import objective file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    _FILE_MODULES[name] = path
    return module


def load_objective(spec: str) -> Callable:
    """Load "path/to/file.py:name" or "package.module:name" (cached per process)."""
    if spec in _LOADED:
        return _LOADED[spec]
    source, sep, attribute = spec.rpartition(":")
    if not sep or not source or not attribute:
        raise ObjectiveError(f"objective {spec!r}: expected 'file.py:name' or 'module:name'")
    try:
        if source.endswith(".py") or os.sep in source:
            module = _import_file(source)
        else:
            module = importlib.import_module(source)
    except ObjectiveError:
        raise
    except Exception as err:
        raise ObjectiveError(f"objective {spec!r}: import failed: "
                             f"{type(err).__name__}: {err}") from err
    objective = getattr(module, attribute, None)
    if not callable(objective):
        raise ObjectiveError(f"objective {spec!r}: {source} has no callable {attribute!r}")
    _LOADED[spec] = objective
    return objective


@dataclass(frozen=True)
class ObjectiveRef:
    """An objective as sent to a worker: a spec to import there, or the callable itself."""

    spec: str | None = None
    function: Callable | None = None

    def resolve(self) -> Callable:
        if self.spec is not None:
            return load_objective(self.spec)
        assert self.function is not None
        return self.function


def objective_ref(objective: Callable | str) -> ObjectiveRef:
    """How to send `objective` to workers (see the module docstring)."""
    if isinstance(objective, str):
        load_objective(objective)  # fail early, in the driver
        return ObjectiveRef(spec=objective)
    if not callable(objective):
        raise ObjectiveError(f"objective must be callable or 'file.py:name', got {objective!r}")
    module = getattr(objective, "__module__", None)
    if module in _FILE_MODULES and "." not in objective.__qualname__:
        return ObjectiveRef(spec=f"{_FILE_MODULES[module]}:{objective.__qualname__}")
    return ObjectiveRef(function=objective)


def _finite(value: Any, what: str) -> float:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ObjectiveError(f"objective returned {what} {type(value).__name__} {value!r}, "
                             "expected a number")
    value = float(value)
    if not math.isfinite(value):
        raise ObjectiveError(f"objective returned {what} {value}")
    return value


def to_result(returned: Any) -> Result:
    """Normalise an objective's return value: a number, a sequence of numbers (one per
    objective), or an `hp.Result` with `value` or `values`; raise `ObjectiveError` when it is
    unusable."""
    if isinstance(returned, Result):
        result = returned
    elif isinstance(returned, list | tuple) or (isinstance(returned, np.ndarray)
                                                and returned.ndim == 1 and returned.size > 1):
        result = Result(values=list(returned))
    else:
        result = Result(returned)
    if result.values is not None and result.value is not None:
        raise ObjectiveError("objective returned hp.Result with both value and values; give "
                             "value (one objective) or values (one per objective)")
    values = None
    if result.values is not None:
        if isinstance(result.values, str | bytes) or not len(result.values):
            raise ObjectiveError(f"objective returned values {result.values!r}, expected a "
                                 "non-empty sequence of numbers")
        values = tuple(_finite(v, f"values[{k}]") for k, v in enumerate(result.values))
    value = None if values is not None else _finite(result.value, "value")
    metrics = {}
    for name, metric in dict(result.metrics).items():
        try:
            metrics[str(name)] = float(metric)
        except (TypeError, ValueError):
            raise ObjectiveError(f"metric {name!r} is not a number: {metric!r}") from None
    artifacts = {}
    for name, array in dict(result.artifacts).items():
        array = np.asarray(array)
        if array.dtype == object:
            raise ObjectiveError(f"artifact {name!r} has dtype object; artifacts are saved "
                                 "without pickle, so give numeric or string arrays")
        artifacts[str(name)] = array
    return Result(value, metrics, artifacts, values)
