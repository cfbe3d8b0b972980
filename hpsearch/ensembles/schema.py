"""The ensemble file's manifest schema: what every field must be before anything is built.

Contract: `check_manifest(manifest) -> None` raises `ValueError` naming the first field that
is not what `hpsearch.ensembles.file` writes (the caller prefixes the file): the format and its
version; `task`; `classes` (JSON scalars, at most `MAX_CLASSES`) and `classes_dtype` (a numpy
dtype of booleans, integers, floats or strings of at most 1 KiB an item, into which the classes
convert); `feature_names` (strings, none or one per feature); `n_features` (a positive
integer); `members` (1 to `MAX_MEMBERS`), each with `key` "m<i>", a finite positive `weight`
(the weights sum to 1; NaN is refused), `trial`, `source`, `arrays` ({name: {shape, dtype,
sha256}}) and a `config` whose estimator fits the task, whose `network` has positive integer
sizes (at most `MAX_LAYERS` hidden layers), float32 or float64, and whose classes follow the
same rules. Nesting deeper than `MAX_DEPTH` anywhere is refused (the free-form `options`,
`metrics` and `study` are only displayed).

`implied_weights(config) -> int` is how many weights the member's network allocates when it is
built (`sum fan_in x pieces x size`, the output layer included); `file` refuses a member whose
declared `param.*` arrays hold fewer numbers, so building a network never takes more memory
than the file's own declared sizes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpsearch.exceptions import FormatError

__all__ = ["FORMAT", "FORMAT_VERSION", "MAX_CLASSES", "MAX_DEPTH", "MAX_LAYERS", "MAX_MEMBERS",
           "check_manifest", "implied_weights"]

FORMAT = "hpsearch-ensemble"
FORMAT_VERSION = 1

MAX_DEPTH = 32
MAX_MEMBERS = 1000
MAX_CLASSES = 10_000
MAX_LAYERS = 1000
MAX_ARRAY_DIMS = 32
_LABEL_ITEM_BYTES = 1024
_TASKS = ("classification", "multilabel", "regression")
_ESTIMATORS = {"classification": "MLPClassifier", "multilabel": "MLPClassifier",
               "regression": "MLPRegressor"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _need(ok: bool, where: str, what: str, value: Any = None) -> None:
    if not ok:
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise FormatError(f"{where}: expected {what}, got {shown}")


def _depth(document: Any) -> int:
    """The nesting depth of a JSON value, without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        if isinstance(value, dict):
            stack.extend((v, level + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, level + 1) for v in value)
    return deepest


def _check_classes(where: str, classes: Any, dtype_name: Any) -> None:
    _need(isinstance(classes, list) and 0 < len(classes) <= MAX_CLASSES, f"{where}classes",
          f"a list of 1 to {MAX_CLASSES} labels", classes)
    _need(all(isinstance(c, str | int | float | bool) for c in classes), f"{where}classes",
          "labels that are strings or numbers", classes)
    try:
        dtype = np.dtype(dtype_name) if isinstance(dtype_name, str) else None
    except (TypeError, ValueError):
        dtype = None
    _need(dtype is not None and dtype.kind in "biufU" and dtype.fields is None and
          dtype.subdtype is None and dtype.itemsize <= _LABEL_ITEM_BYTES,
          f"{where}classes_dtype", "a numpy dtype of booleans, integers, floats or short "
          "strings", dtype_name)
    try:
        np.array(classes, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        _need(False, f"{where}classes", f"labels that convert to {dtype}", classes)


def _check_network(where: str, network: Any) -> None:
    _need(isinstance(network, dict), where, "a table", network)
    for key in ("input_dim", "output_dim"):
        _need(_is_int(network.get(key)) and network[key] >= 1, f"{where}.{key}",
              "a positive integer", network.get(key))
    sizes = network.get("hidden_sizes")
    _need(isinstance(sizes, list) and len(sizes) <= MAX_LAYERS and
          all(_is_int(s) and s >= 1 for s in sizes), f"{where}.hidden_sizes",
          f"a list of at most {MAX_LAYERS} positive integers", sizes)
    pieces = network.get("maxout_pieces", 2)
    _need(_is_int(pieces) and pieces >= 1, f"{where}.maxout_pieces", "a positive integer",
          pieces)
    _need(network.get("dtype", "float32") in ("float32", "float64"), f"{where}.dtype",
          "\"float32\" or \"float64\"", network.get("dtype"))
    _need(isinstance(network.get("activation", "relu"), str), f"{where}.activation",
          "a string", network.get("activation"))


def _check_arrays(where: str, arrays: Any) -> None:
    _need(isinstance(arrays, dict) and arrays, where, "a table of arrays", arrays)
    for name, spec in arrays.items():
        here = f"{where}[{name!r}]"
        _need(isinstance(spec, dict), here, "{shape, dtype, sha256}", spec)
        shape = spec.get("shape")
        _need(isinstance(shape, list) and len(shape) <= MAX_ARRAY_DIMS and
              all(_is_int(n) and n >= 0 for n in shape), f"{here}.shape",
              "a list of non-negative integers", shape)
        _need(isinstance(spec.get("dtype"), str), f"{here}.dtype", "a dtype string",
              spec.get("dtype"))
        sha = spec.get("sha256")
        _need(isinstance(sha, str) and _SHA256.fullmatch(sha) is not None, f"{here}.sha256",
              "64 hexadecimal digits", sha)


def _check_member(i: int, task: str, entry: Any) -> float:
    where = f"members[{i}]"
    _need(isinstance(entry, dict), where, "a table", entry)
    _need(entry.get("key") == f"m{i}", f"{where}.key", f"\"m{i}\"", entry.get("key"))
    weight = entry.get("weight")
    _need(isinstance(weight, int | float) and not isinstance(weight, bool) and
          math.isfinite(weight) and weight > 0, f"{where}.weight",
          "a finite positive number", weight)
    _need(entry.get("trial") is None or _is_int(entry["trial"]), f"{where}.trial",
          "a trial number", entry.get("trial"))
    _need(isinstance(entry.get("source", ""), str), f"{where}.source", "a string",
          entry.get("source"))
    _check_arrays(f"{where}.arrays", entry.get("arrays"))
    config = entry.get("config")
    _need(isinstance(config, dict), f"{where}.config", "a table", config)
    _need(config.get("estimator") == _ESTIMATORS[task], f"{where}.config.estimator",
          f"\"{_ESTIMATORS[task]}\" for task {task}", config.get("estimator"))
    _need(isinstance(config.get("params"), dict), f"{where}.config.params", "a table",
          config.get("params"))
    _need(isinstance(config.get("preprocess"), str), f"{where}.config.preprocess",
          "a preprocessing name", config.get("preprocess"))
    _check_network(f"{where}.config.network", config.get("network"))
    if task != "regression":
        _check_classes(f"{where}.config.", config.get("classes"), config.get("classes_dtype"))
    return float(weight)


def check_manifest(manifest: Any) -> None:
    """ValueError naming the first field that breaks the schema (module docstring)."""
    _need(isinstance(manifest, dict), "manifest", "a JSON object", manifest)
    _need(_depth(manifest) <= MAX_DEPTH, "manifest", f"nesting at most {MAX_DEPTH} deep",
          "deeper")
    _need(manifest.get("format") == FORMAT, "format", repr(FORMAT), manifest.get("format"))
    _need(manifest.get("format_version") == FORMAT_VERSION, "format_version",
          str(FORMAT_VERSION), manifest.get("format_version"))
    task = manifest.get("task")
    _need(task in _TASKS, "task", f"one of {', '.join(_TASKS)}", task)
    if task == "regression":
        _need(manifest.get("classes") is None, "classes", "null for regression",
              manifest.get("classes"))
    else:
        _check_classes("", manifest.get("classes"), manifest.get("classes_dtype"))
    n_features = manifest.get("n_features")
    _need(_is_int(n_features) and n_features >= 1, "n_features", "a positive integer",
          n_features)
    names = manifest.get("feature_names")
    _need(isinstance(names, list) and all(isinstance(n, str) for n in names) and
          len(names) in (0, n_features), "feature_names",
          f"a list of {n_features} strings (or none)", names)
    members = manifest.get("members")
    _need(isinstance(members, list) and 0 < len(members) <= MAX_MEMBERS, "members",
          f"a list of 1 to {MAX_MEMBERS} members", members)
    total = sum(_check_member(i, task, entry) for i, entry in enumerate(members))
    _need(abs(total - 1.0) <= 1e-6, "members[].weight", "weights that sum to 1", total)


def implied_weights(config: Mapping[str, Any]) -> int:
    """The weights a member's network allocates when built (see the module docstring)."""
    network = config["network"]
    maxout = network.get("activation") == "maxout"
    pieces = network.get("maxout_pieces", 2) if maxout else 1
    total, fan_in = 0, network["input_dim"]
    for size in network["hidden_sizes"]:
        total += fan_in * pieces * size
        fan_in = size
    return total + fan_in * network["output_dim"]
