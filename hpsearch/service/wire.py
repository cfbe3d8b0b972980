"""What crosses the wire: trials, values and artifacts as JSON, and checked request bodies.

Contract:
- `trial_json(trial)` / `trial_from_json(data)`: a `FrozenTrial` as a JSON object with the
  fields of the record (`number`, `state`, `params`, `seed`, `value`, `values`, `metrics`,
  `intermediate` with string steps, `error`, `started_at`, `finished_at`); a number that is
  not finite is written as null (JSON has no NaN) and read back as NaN in metrics and reports.
- `encode_artifacts({name: ndarray})` / `decode_artifacts(data)`: each array as
  {"npy": base64 of NumPy's .npy bytes}, read with `allow_pickle=False`, so nothing received
  is ever unpickled (an object array is refused on both sides).
- `Body(data)`: typed access to a request's JSON object; a missing or mistyped field raises
  `ServiceError` (status 400) naming the field. `parse_json(raw)` is the body's object, or a
  400 for anything that is not a JSON object.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpsearch.exceptions import ServiceError
from hpsearch.storage.artifacts import artifact_problem
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["Body", "decode_artifacts", "encode_artifacts", "finite", "parse_json",
           "trial_from_json", "trial_json"]


def finite(value: float | None) -> float | None:
    """`value` as a float, or None when it is None or not finite (JSON has no NaN)."""
    return None if value is None or not math.isfinite(value) else float(value)


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def trial_json(trial: FrozenTrial) -> dict[str, Any]:
    """A trial record as JSON (see the module docstring)."""
    return {
        "number": trial.number, "state": str(trial.state), "params": dict(trial.params),
        "seed": trial.seed, "value": finite(trial.value),
        "values": None if trial.values is None else [finite(v) for v in trial.values],
        "metrics": {k: finite(v) for k, v in trial.metrics.items()},
        "intermediate": {str(k): finite(v) for k, v in trial.intermediate.items()},
        "error": trial.error, "started_at": trial.started_at, "finished_at": trial.finished_at,
    }


def trial_from_json(data: Mapping[str, Any]) -> FrozenTrial:
    """The record `trial_json` wrote."""
    values = data.get("values")
    several = values is not None and len(values) > 1
    return FrozenTrial(
        int(data["number"]), dict(data["params"]), TrialState(data["state"]), int(data["seed"]),
        value=None if several or data.get("value") is None else float(data["value"]),
        metrics={k: _nan(v) for k, v in data.get("metrics", {}).items()},
        intermediate={int(k): _nan(v) for k, v in data.get("intermediate", {}).items()},
        error=data.get("error"), started_at=data.get("started_at"),
        finished_at=data.get("finished_at"),
        values=tuple(_nan(v) for v in values) if several else None)


def encode_artifacts(artifacts: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """{name: {"npy": base64}} (see the module docstring)."""
    out = {}
    for name, array in artifacts.items():
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(array), allow_pickle=False)
        out[name] = {"npy": base64.b64encode(buffer.getvalue()).decode("ascii")}
    return out


def decode_artifacts(data: Any) -> dict[str, np.ndarray]:
    """The arrays `encode_artifacts` sent; ServiceError (400, key "artifacts") otherwise."""
    if not isinstance(data, dict):
        raise ServiceError("artifacts: expected an object {name: {\"npy\": base64}}", 400,
                           "artifacts")
    arrays = {}
    for name, item in data.items():
        try:
            raw = base64.b64decode(item["npy"], validate=True)
            array = np.load(io.BytesIO(raw), allow_pickle=False)
        except (TypeError, KeyError, ValueError, binascii.Error, OSError) as err:
            raise ServiceError(f"artifacts.{name}: not a base64 .npy array without objects "
                               f"({type(err).__name__})", 400, f"artifacts.{name}") from err
        problem = artifact_problem(name, array)
        if problem is not None:
            raise ServiceError(f"artifacts.{name}: {problem}", 400, f"artifacts.{name}")
        arrays[name] = array
    return arrays


def parse_json(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object ({} for an empty body)."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ServiceError(f"the request body is not JSON: {err}", 400) from err
    if not isinstance(data, dict):
        raise ServiceError(f"the request body must be a JSON object, got "
                           f"{type(data).__name__}", 400)
    return data


_KINDS = {
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "number": (lambda v: isinstance(v, int | float) and not isinstance(v, bool), "a number"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "object": (lambda v: isinstance(v, dict), "an object"),
    "list": (lambda v: isinstance(v, list), "a list"),
}


class Body:
    """Typed access to a request's JSON object (see the module docstring)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def get(self, key: str, kind: str, default: Any = None, required: bool = False,
            low: float | None = None) -> Any:
        if self.data.get(key) is None:
            if required:
                raise ServiceError(f"{key}: missing; expected {_KINDS[kind][1]}", 400, key)
            return default
        value = self.data[key]
        check, what = _KINDS[kind]
        if not check(value):
            raise ServiceError(f"{key}: expected {what}, got {json.dumps(value)[:80]}", 400, key)
        if low is not None and value < low:
            raise ServiceError(f"{key}: expected a value >= {low}, got {value}", 400, key)
        return value

    def numbers(self, key: str) -> dict[str, float]:
        """An object of numbers ({name: number or null}; null reads as NaN)."""
        table = self.get(key, "object", default={})
        for name, value in table.items():
            if value is not None and not _KINDS["number"][0](value):
                raise ServiceError(f"{key}.{name}: expected a number, got "
                                   f"{json.dumps(value)[:80]}", 400, f"{key}.{name}")
        return {str(name): _nan(value) for name, value in table.items()}

    def steps(self, key: str) -> dict[int, float]:
        """An object {step: number} whose keys are integers written as strings."""
        out = {}
        for name, value in self.numbers(key).items():
            try:
                out[int(name)] = value
            except ValueError as err:
                raise ServiceError(f"{key}.{name}: steps are integers", 400,
                                   f"{key}.{name}") from err
        return out
