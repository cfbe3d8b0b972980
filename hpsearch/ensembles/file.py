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
  `load_ensemble(path)` reads with `allow_pickle=False` and checks the format and its version,
  that the arrays are exactly those the manifest lists, each one's shape, dtype and SHA-256,
  and that every member rebuilds with the manifest's feature count and labels. Any failure,
  including a truncated, tampered, foreign or non-npz file, raises `EnsembleError` with a
  one-line reason. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.exceptions import EnsembleError

__all__ = ["FORMAT", "FORMAT_VERSION", "Ensemble", "load_ensemble", "make_ensemble",
           "save_ensemble"]

FORMAT = "hpsearch-ensemble"
FORMAT_VERSION = 1
_MANIFEST = "manifest"
_TASKS = ("classification", "multilabel", "regression")


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
                raise EnsembleError(f"member {entry['key']} does not rebuild: {err}") from None
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
        raise EnsembleError(f"{path}: cannot write: {err.strerror or err}") from None
    return path


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise EnsembleError(f"{path}: no such file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not hasattr(loaded, "files"):  # a plain .npy array, not an archive
            raise EnsembleError(f"{path}: not an ensemble file (a single .npy array, not an "
                                ".npz)")
        with loaded as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise EnsembleError(f"{path}: not a readable ensemble file (.npz): {reason}") from None


def _check_manifest(path: Path, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    raw = arrays.get(_MANIFEST)
    if raw is None or raw.shape != () or raw.dtype.kind != "U":
        raise EnsembleError(f"{path}: not an hpsearch ensemble file (no manifest)")
    try:
        manifest = json.loads(str(raw))
    except json.JSONDecodeError as err:
        raise EnsembleError(f"{path}: damaged manifest: {err}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise EnsembleError(f"{path}: not an hpsearch ensemble file (format is "
                            f"{manifest.get('format') if isinstance(manifest, dict) else None!r})")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        hint = "; it was written by a newer hpsearch: upgrade" if newer else ""
        raise EnsembleError(f"{path}: format version {version!r} is not supported (this "
                            f"hpsearch reads version {FORMAT_VERSION}){hint}")
    missing = [k for k in ("task", "members", "feature_names", "n_features", "classes")
               if k not in manifest]
    if missing or manifest["task"] not in _TASKS or not manifest["members"]:
        raise EnsembleError(f"{path}: damaged manifest (missing or bad: "
                            f"{', '.join(missing) or 'task/members'})")
    return manifest


def load_ensemble(path: str | os.PathLike) -> Ensemble:
    """Read and check an ensemble file; EnsembleError says what is wrong (module docstring)."""
    path = Path(path)
    arrays = _read(path)
    manifest = _check_manifest(path, arrays)
    expected: set[str] = {_MANIFEST}
    try:
        for entry in manifest["members"]:
            for name, spec in entry["arrays"].items():
                full = f"{entry['key']}.{name}"
                expected.add(full)
                if full not in arrays:
                    raise EnsembleError(f"{path}: array {full!r} listed in the manifest is missing")
                array = arrays[full]
                if list(array.shape) != list(spec["shape"]) or array.dtype.str != spec["dtype"]:
                    raise EnsembleError(
                        f"{path}: array {full!r} is {array.dtype.str} {list(array.shape)} but the "
                        f"manifest says {spec['dtype']} {list(spec['shape'])}")
                if _digest(array) != spec["sha256"]:
                    raise EnsembleError(f"{path}: array {full!r} does not match its checksum "
                                        "(the file was altered)")
    except (KeyError, TypeError, AttributeError) as err:
        raise EnsembleError(f"{path}: damaged manifest: bad member entry ({err!r})") from None
    extra = sorted(set(arrays) - expected)
    if extra:
        raise EnsembleError(f"{path}: arrays not listed in the manifest: {', '.join(extra[:3])}")
    try:
        ensemble = Ensemble(manifest, arrays)
    except (KeyError, TypeError, ValueError) as err:
        raise EnsembleError(f"{path}: damaged manifest: {err!r}") from None
    for entry, model in zip(manifest["members"], ensemble.models, strict=True):
        if int(model.n_features_in_) != ensemble.n_features:
            raise EnsembleError(f"{path}: member {entry['key']} takes {model.n_features_in_} "
                                f"features; the manifest says {ensemble.n_features}")
        classes = getattr(model, "classes_", None)
        if ensemble.classes is not None and (
                classes is None or not np.array_equal(classes, ensemble.classes)):
            raise EnsembleError(f"{path}: member {entry['key']} has other class labels than "
                                "the manifest")
    return ensemble
