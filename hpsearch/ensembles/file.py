"""The ensemble file: one self-contained, pickle-free `.npz`, and the `Ensemble` it loads into.

Contract:
- An `Ensemble` is a weighted set of fitted networks that share the task, the class labels and
  the input features. `predict_proba(X)` (classification, multi-label) is the weighted mean of
  the members' probabilities, (N, C); `predict(X)` gives labels (N,) from `classes` (the
  argmax of that mean; a 0/1 matrix (N, L) for multi-label, probability > 0.5), or for
  regression the weighted mean of the members' predictions, (N,) or (N, L). X is raw features
  (N, D) in the order of `feature_names`: each member applies its own stored preprocessing.
- The file holds one array per member array, named `m<i>.<name>` (`<name>` as in nn_core's
  `to_arrays`: `param.*`, `buffer.*`, `preprocess.*`), plus `manifest`: a 0-d string array
  holding JSON with `format` ("hpsearch-ensemble"), `format_version` (`FORMAT_VERSION`), `task`,
  `classes` and `classes_dtype` (None for regression), `feature_names`, `n_features`, `method`
  and `options`, `metrics` (the ensemble's and the best single trial's), `study` (where it came
  from) and `members`: per member its `key` (`m<i>`), `trial`, `source` ("member0",
  "checkpoint12", "average"...), `weight` (the weights sum to 1), `config` (architecture,
  hyperparameters, preprocessing name, classes: nn_core's `to_arrays` config) and `arrays`
  ({name: {shape, dtype, sha256}}).
- `save_ensemble(ensemble, path)` writes atomically (a temporary file, then a rename).
  `load_ensemble(path)` checks before it allocates anything: the .npy header of every member
  of the zip (read without its data: no object dtype, declared size = stored bytes), the
  manifest's (a string of at most `MAX_MANIFEST_BYTES`), the format and its version, the
  manifest against its schema (`hpsearch.ensembles.schema`: types, sizes, finite positive
  weights that sum to 1, nesting depth), and that the arrays are exactly those the manifest
  lists with its shapes and numeric dtypes, and that no member's network would allocate more
  weights than its arrays declare. Only then it reads the arrays (with `allow_pickle=False`),
  checks each SHA-256, rebuilds every member, runs each on one row of zeros, and checks the
  feature count and labels. Memory is bounded by the file's own declared sizes. Any failure,
  including a truncated, tampered, crafted, foreign or non-npz file, raises `EnsembleError`
  with a one-line reason. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.ensembles.schema import FORMAT, FORMAT_VERSION, check_manifest, implied_weights
from hpsearch.exceptions import EnsembleError, FormatError

__all__ = ["FORMAT", "FORMAT_VERSION", "MAX_MANIFEST_BYTES", "Ensemble", "load_ensemble",
           "make_ensemble", "save_ensemble"]

_MANIFEST = "manifest"
_TASKS = ("classification", "multilabel", "regression")
MAX_MANIFEST_BYTES = 32 * 2**20  # the manifest's .npy string (UTF-32: 8 M characters)
_ZIP_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error,
               NotImplementedError, RuntimeError, struct.error, OverflowError)


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _describe(array: np.ndarray) -> dict[str, Any]:
    return {"shape": list(array.shape), "dtype": array.dtype.str, "sha256": _digest(array)}


def make_ensemble(task: str, members: Sequence[Mapping[str, Any]], feature_names: Sequence[str],
                  **manifest: Any) -> Ensemble:
    """An `Ensemble` from members given as dicts with `config` (nn_core `to_arrays` config),
    `arrays` ({name: array}), `weight`, and optionally `trial`, `source`, `metrics`.

    Weights are normalised to sum to 1. Extra keywords (method, options, metrics, study) go
    into the manifest as they are (JSON-able values only).
    """
    if task not in _TASKS:
        raise EnsembleError(f"unknown task {task!r}; expected one of {', '.join(_TASKS)}")
    if not members:
        raise EnsembleError("an ensemble needs at least one member")
    total = float(sum(m["weight"] for m in members))
    if not total > 0:
        raise EnsembleError("member weights must sum to a positive number")
    arrays: dict[str, np.ndarray] = {}
    entries = []
    for i, member in enumerate(members):
        key = f"m{i}"
        described = {}
        for name, value in member["arrays"].items():
            value = np.asarray(value)
            arrays[f"{key}.{name}"] = value
            described[name] = _describe(value)
        entries.append({"key": key, "trial": member.get("trial"),
                        "source": member.get("source", "member0"),
                        "weight": float(member["weight"]) / total,
                        "config": dict(member["config"]), "metrics": member.get("metrics", {}),
                        "arrays": described})
    config = entries[0]["config"]
    # The preprocessing may change the width (pca), so the raw feature count comes from it.
    n_in = members[0]["arrays"].get("preprocess.n_features_in_")
    n_features = int(n_in) if n_in is not None else int(config["network"]["input_dim"])
    if feature_names and len(feature_names) != n_features:
        raise EnsembleError(f"{len(feature_names)} feature names for {n_features} features")
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "task": task,
                "classes": config.get("classes"), "classes_dtype": config.get("classes_dtype"),
                "feature_names": [str(f) for f in feature_names], "n_features": n_features,
                **manifest, "members": entries}
    return Ensemble(json.loads(json.dumps(document)), arrays)


class Ensemble:
    """A weighted set of fitted networks; see the module docstring."""

    def __init__(self, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        from hpsearch.objectives.mlp import model_from_arrays

        self.manifest: dict[str, Any] = dict(manifest)
        self._arrays = dict(arrays)
        self.models = []
        for entry in self.manifest["members"]:
            prefix = entry["key"] + "."
            own = {k[len(prefix):]: v for k, v in self._arrays.items() if k.startswith(prefix)}
            try:
                model = model_from_arrays(entry["config"], own)
            except ValueError as err:
                raise EnsembleError(f"member {entry['key']} does not rebuild: {err}") from err
            self.models.append(model)
        self.weights = np.array([e["weight"] for e in self.manifest["members"]], dtype=np.float64)

    @property
    def task(self) -> str:
        return self.manifest["task"]

    @property
    def classes(self) -> np.ndarray | None:
        """The class labels (C,) in the order of `predict_proba`'s columns (None: regression)."""
        if self.manifest.get("classes") is None:
            return None
        return np.array(self.manifest["classes"], dtype=np.dtype(self.manifest["classes_dtype"]))

    @property
    def feature_names(self) -> list[str]:
        return list(self.manifest["feature_names"])

    @property
    def n_features(self) -> int:
        return int(self.manifest["n_features"])

    def __len__(self) -> int:
        return len(self.models)

    def __repr__(self) -> str:
        return (f"Ensemble(task={self.task!r}, method={self.manifest.get('method')!r}, "
                f"members={len(self)}, features={self.n_features})")

    def _check_features(self, X: Any) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2:
            raise EnsembleError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}")
        if X.shape[1] != self.n_features:
            raise EnsembleError(f"X has {X.shape[1]} features; the ensemble expects "
                                f"{self.n_features}")
        if not np.issubdtype(X.dtype, np.number):
            raise EnsembleError(f"X must be numeric; got dtype {X.dtype}")
        return X

    def predict_proba(self, X: Any) -> np.ndarray:
        """Weighted mean of the members' probabilities: X (N, D) -> (N, C), float64."""
        if self.task == "regression":
            raise EnsembleError("a regression ensemble has no probabilities; use predict")
        X = self._check_features(X)
        total = np.zeros((X.shape[0], len(self.manifest["classes"])), dtype=np.float64)
        for weight, model in zip(self.weights, self.models, strict=True):
            total += weight * np.asarray(model.predict_proba(X), dtype=np.float64)
        return total

    def predict(self, X: Any) -> np.ndarray:
        """Labels (N,) from `classes`, 0/1 (N, L) for multi-label, or regression values
        (N,) / (N, L) (the weighted mean of the members' predictions)."""
        if self.task == "regression":
            X = self._check_features(X)
            return sum(w * np.asarray(m.predict(X), dtype=np.float64)
                       for w, m in zip(self.weights, self.models, strict=True))
        proba = self.predict_proba(X)
        if self.task == "multilabel":
            return (proba > 0.5).astype(np.int64)
        return self.classes[proba.argmax(axis=1)]


def save_ensemble(ensemble: Ensemble, path: str | os.PathLike) -> Path:
    """Write the ensemble to `path` (an .npz, written atomically); returns the path."""
    path = Path(path)
    arrays = dict(ensemble._arrays)
    arrays[_MANIFEST] = np.array(json.dumps(ensemble.manifest))
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        tmp.replace(path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise EnsembleError(f"{path}: cannot write: {err.strerror or err}") from err
    return path


def _reason(err: BaseException) -> str:
    return " ".join(str(err).split())[:200] or type(err).__name__


def _npy_header(member: Any, name: str, stored: int) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) a .npy member of the zip declares, checked against its stored bytes."""
    version = np.lib.format.read_magic(member)
    if version not in ((1, 0), (2, 0)):
        raise FormatError(f"array {name!r}: unsupported .npy version {version}")
    reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
              else np.lib.format.read_array_header_2_0)
    shape, _, dtype = reader(member)
    if dtype.hasobject:
        raise FormatError(f"array {name!r} holds Python objects (it would need pickle)")
    if any(n < 0 for n in shape) or math.prod(shape) * dtype.itemsize != stored - member.tell():
        raise FormatError(f"array {name!r} declares {dtype} {list(shape)}, which is not the "
                         f"{stored - member.tell()} bytes stored")
    return tuple(shape), dtype


def _headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """{name: (shape, dtype)} of every array in the file, from the headers alone."""
    if not path.is_file():
        raise EnsembleError(f"{path}: no such file")
    try:
        with open(path, "rb") as handle:
            single = handle.read(6) == np.lib.format.MAGIC_PREFIX
    except OSError as err:
        raise EnsembleError(f"{path}: cannot read: {err.strerror}") from err
    if single:
        raise EnsembleError(f"{path}: not an ensemble file (a single .npy array, not an .npz)")
    headers: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename.removesuffix(".npy")
                if name == info.filename or name in headers:
                    raise FormatError(f"member {info.filename!r} is not one .npy array")
                with archive.open(info) as member:
                    headers[name] = _npy_header(member, name, info.file_size)
    except _ZIP_ERRORS as err:
        raise EnsembleError(f"{path}: not a readable ensemble file (.npz): {_reason(err)}"
                            ) from err
    return headers


def _read_arrays(path: Path, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The named arrays (headers already checked), read with allow_pickle=False."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in names}
    except _ZIP_ERRORS as err:
        raise EnsembleError(f"{path}: not a readable ensemble file (.npz): {_reason(err)}"
                            ) from err


def _read_manifest(path: Path, headers: Mapping[str, tuple]) -> dict[str, Any]:
    """The manifest, parsed and checked: format, version, then the schema."""
    shape, dtype = headers.get(_MANIFEST, (None, None))
    if shape != () or dtype.kind != "U":
        raise EnsembleError(f"{path}: not an hpsearch ensemble file (no manifest)")
    if dtype.itemsize > MAX_MANIFEST_BYTES:
        raise EnsembleError(f"{path}: damaged manifest: {dtype.itemsize} bytes, more than the "
                            f"{MAX_MANIFEST_BYTES} a manifest may have")
    try:
        manifest = json.loads(str(_read_arrays(path, [_MANIFEST])[_MANIFEST]))
    except (json.JSONDecodeError, RecursionError) as err:
        raise EnsembleError(f"{path}: damaged manifest: {_reason(err)}") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise EnsembleError(f"{path}: not an hpsearch ensemble file (format is "
                            f"{manifest.get('format') if isinstance(manifest, dict) else None!r})")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        hint = "; it was written by a newer hpsearch: upgrade" if newer else ""
        raise EnsembleError(f"{path}: format version {version!r} is not supported (this "
                            f"hpsearch reads version {FORMAT_VERSION}){hint}")
    try:
        check_manifest(manifest)
    except ValueError as err:
        raise EnsembleError(f"{path}: damaged manifest: {err}") from err
    return manifest


def _check_listed(path: Path, manifest: Mapping[str, Any], headers: Mapping[str, tuple]) -> None:
    """The arrays are exactly those the manifest lists, with its shapes and numeric dtypes,
    and no member's network allocates more weights than its arrays declare."""
    expected = {_MANIFEST}
    for entry in manifest["members"]:
        declared = 0
        for name, spec in entry["arrays"].items():
            full = f"{entry['key']}.{name}"
            expected.add(full)
            if full not in headers:
                raise EnsembleError(f"{path}: array {full!r} listed in the manifest is missing")
            shape, dtype = headers[full]
            if list(shape) != spec["shape"] or dtype.str != spec["dtype"] or \
                    dtype.kind not in "biuf":
                raise EnsembleError(f"{path}: array {full!r} is {dtype.str} {list(shape)} but "
                                    f"the manifest says {spec['dtype']} {spec['shape']} (numbers "
                                    "expected)")
            declared += math.prod(shape) if name.startswith("param.") else 0
        if implied_weights(entry["config"]) > declared:
            raise EnsembleError(f"{path}: member {entry['key']}'s config describes a network of "
                                f"{implied_weights(entry['config'])} weights but its arrays "
                                f"hold {declared} parameters")
    extra = sorted(set(headers) - expected)
    if extra:
        raise EnsembleError(f"{path}: arrays not listed in the manifest: {', '.join(extra[:3])}")


def _check_members(path: Path, ensemble: Ensemble) -> None:
    """Every member predicts one row of zeros, takes the manifest's features and labels."""
    for entry, model in zip(ensemble.manifest["members"], ensemble.models, strict=True):
        try:
            model.predict(np.zeros((1, int(model.n_features_in_))))
        except Exception as err:  # a crafted member may fail anywhere: any error is the file's
            raise EnsembleError(f"{path}: member {entry['key']} does not run: "
                                f"{type(err).__name__}: {_reason(err)}") from err
        if int(model.n_features_in_) != ensemble.n_features:
            raise EnsembleError(f"{path}: member {entry['key']} takes {model.n_features_in_} "
                                f"features; the manifest says {ensemble.n_features}")
        classes = getattr(model, "classes_", None)
        if ensemble.classes is not None and (
                classes is None or not np.array_equal(classes, ensemble.classes)):
            raise EnsembleError(f"{path}: member {entry['key']} has other class labels than "
                                "the manifest")


def load_ensemble(path: str | os.PathLike) -> Ensemble:
    """Read and check an ensemble file; EnsembleError says what is wrong (module docstring)."""
    path = Path(path)
    headers = _headers(path)
    manifest = _read_manifest(path, headers)
    _check_listed(path, manifest, headers)
    arrays = _read_arrays(path, [name for name in headers if name != _MANIFEST])
    for entry in manifest["members"]:
        for name, spec in entry["arrays"].items():
            full = f"{entry['key']}.{name}"
            if _digest(arrays[full]) != spec["sha256"]:
                raise EnsembleError(f"{path}: array {full!r} does not match its checksum (the "
                                    "file was altered)")
    try:
        ensemble = Ensemble(manifest, arrays)
    except EnsembleError as err:  # a member that does not rebuild
        raise EnsembleError(f"{path}: {err}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise EnsembleError(f"{path}: damaged manifest: {_reason(err)}") from err
    _check_members(path, ensemble)
    return ensemble
