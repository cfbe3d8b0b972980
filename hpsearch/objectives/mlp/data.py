"""The network objective's data: the study's dataset, and the split stored once in the run folder.

Contract: `load_data(spec)` reads the dataset (digits, spiral, CSV or NPZ) and checks it fits the
task (`StudyFileError` naming the file and key otherwise). Feature cells and numeric targets
must be finite and within float32's range (`nn_core.data.check_finite`: the error names the
file, row and column); with `[objective].impute = "mean"` missing feature cells (NaN, or empty
in a CSV) are allowed and `store_split` fills each with its column's mean over the training
rows (inf, values beyond float32 and missing targets are still refused).
`store_split(spec, data, run_dir)` draws the train/val/test split once from the study seed and
writes `<run_dir>/data.npz` (`DATA_FILE`): the features `X` (N, D), targets `y` (N,) or (N, L),
the row indices `train`, `val`, `test`, the data's `fingerprint` and its `feature_names`; when
the file exists (a study that resumes) it checks the data is the same and keeps it
(`check_stored_split`, which only reads: `hpsearch validate` and `run` call it up front).
`read_split(data_file)` gives back `{"<part>_X": (n, D), "<part>_y": ...}` for each part and the
feature names; `split_fingerprint(data_file)` the stored data's fingerprint;
`load_split(data_file, fingerprint)` is the same arrays, read once per process while the same
split is asked for (worker processes run many trials on the same data; the last split read is
kept, by file and fingerprint: a study started afresh in the same folder never trains on the
arrays read for the one before, and an objective whose split the file no longer holds gets
`StorageError`). A damaged or foreign `data.npz` raises `StorageError` naming it
(its headers are checked before anything is read; nothing is overwritten).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

from hpsearch.exceptions import StorageError
from hpsearch.objectives.mlp.hyperparameters import spec_error
from hpsearch.objectives.mlp.settings import NetworkStudy
from hpsearch.study.seeds import DATASET_STREAM, SPLIT_STREAM, objective_rng
from nn_core.data import (
    Dataset,
    NonFiniteError,
    check_finite,
    load_csv,
    load_dataset,
    read_npz,
    split,
)

__all__ = ["check_finite", "NonFiniteError", "DATA_FILE", "PARTS", "check_stored_split",
           "load_data", "load_split", "read_split", "split_fingerprint", "store_split"]

DATA_FILE = "data.npz"
PARTS = ("train", "val", "test")
_KEYS = ("X", "y", *PARTS, "fingerprint")


def load_data(spec: NetworkStudy) -> Dataset:
    """Read the study's dataset and check it suits the task; StudyFileError on any problem."""
    where = "[objective].dataset"
    source = spec.resolve_dataset()
    rng = objective_rng(spec.seed, DATASET_STREAM)
    allow_missing = spec.objective.impute is not None
    try:
        if source.lower().endswith(".csv"):
            data = load_csv(source, label_column=spec.objective.target,
                            allow_missing=allow_missing)
        else:
            if spec.objective.target is not None:
                raise spec_error(spec, where, "target names a CSV column; this dataset is not "
                                              "a CSV")
            data = load_dataset(source, rng, allow_missing=allow_missing)
    except NonFiniteError as err:
        hint = ("; to fill missing feature cells, set [objective].impute = \"mean\""
                if math.isnan(err.value) and not allow_missing else "")
        raise spec_error(spec, where, f"{err}{hint}") from err
    except ValueError as err:
        raise spec_error(spec, where, str(err)) from err
    task, y = spec.objective.task, data.y
    if task == "multilabel" and (y.ndim != 2 or not np.isin(y, (0, 1)).all()):
        raise spec_error(spec, where, f"task multilabel needs y as a 0/1 matrix (N, L); got "
                                      f"shape {y.shape}")
    if task == "classification" and y.ndim != 1:
        raise spec_error(spec, where, f"task classification needs 1-D labels; got shape "
                                      f"{y.shape} (use task = \"multilabel\" for a 0/1 label "
                                      "matrix)")
    if task == "regression" and not np.issubdtype(y.dtype, np.number):
        raise spec_error(spec, where, f"task regression needs numeric targets; got {y.dtype}")
    if len(y) < 10:
        raise spec_error(spec, where, f"has {len(y)} rows; need at least 10 to split")
    return data


def _fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(X).tobytes())
    digest.update(np.ascontiguousarray(y).astype(str).tobytes())
    return digest.hexdigest()


def _impute_mean(spec: NetworkStudy, X: np.ndarray, train: np.ndarray) -> np.ndarray:
    """X (N, D) with each NaN replaced by its column's mean over the training rows."""
    missing = np.isnan(X)
    if not missing.any():
        return X
    counts = (~missing[train]).sum(axis=0)
    if (counts == 0).any():
        column = int(np.flatnonzero(counts == 0)[0])
        raise spec_error(spec, "[objective].impute", f"feature column {column} has no value in "
                                                     "the training rows to take a mean of")
    means = np.nansum(X[train], axis=0) / counts
    return np.where(missing, means, X)


def check_stored_split(spec: NetworkStudy, data: Dataset, run_dir: Path) -> bool:
    """Whether `<run_dir>/data.npz` exists; if it does, that it is readable and holds this data
    (a resume). StorageError for a damaged file, StudyFileError for other data; reads only."""
    path = Path(run_dir) / DATA_FILE
    if not path.exists():
        return False
    try:
        stored = read_npz(path, ("fingerprint",))["fingerprint"]
    except ValueError as err:
        raise StorageError(f"{err}; delete {path} to have it written again from the data set "
                           "(the split is drawn from the study seed)") from err
    if stored.shape != () or str(stored) != _fingerprint(data.X, data.y):
        raise spec_error(spec, "[objective].dataset",
                         f"the data differs from what this study started with ({path}); "
                         "run with --fresh to start afresh")
    return True


def store_split(spec: NetworkStudy, data: Dataset, run_dir: Path) -> Path:
    """Write `<run_dir>/data.npz` once (see the module docstring); returns its path."""
    path = Path(run_dir) / DATA_FILE
    if check_stored_split(spec, data, run_dir):
        return path
    fingerprint = _fingerprint(data.X, data.y)
    o = spec.objective
    rows = np.arange(len(data.y))[:, None]
    parts = split(rows, data.y, o.val_fraction, o.test_fraction,
                  objective_rng(spec.seed, SPLIT_STREAM), stratify=o.task == "classification")
    X = _impute_mean(spec, data.X, parts.X_train[:, 0]) if o.impute == "mean" else data.X
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("data.tmp.npz")
    np.savez(tmp, X=X, y=data.y, train=parts.X_train[:, 0], val=parts.X_val[:, 0],
             test=parts.X_test[:, 0], fingerprint=np.array(fingerprint),
             feature_names=np.array(data.feature_names, dtype=str))
    tmp.replace(path)
    return path


def read_split(data_file: str | Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """({"<part>_X": features, "<part>_y": targets} for train, val and test; feature names).
    StorageError naming the file when it is damaged or not what `store_split` writes."""
    arrays, names, _ = _read_split(data_file)
    return arrays, names


def split_fingerprint(data_file: str | Path) -> str:
    """The fingerprint of the data `<run_dir>/data.npz` holds (StorageError when damaged)."""
    try:
        return str(read_npz(data_file, ("fingerprint",))["fingerprint"])
    except ValueError as err:
        raise StorageError(str(err)) from err


def _read_split(data_file: str | Path) -> tuple[dict[str, np.ndarray], list[str], str]:
    """`read_split`'s arrays and names, and the data's fingerprint, from one read."""
    try:
        stored = read_npz(data_file, _KEYS, ("feature_names",))
    except ValueError as err:
        raise StorageError(str(err)) from err
    X, y = stored["X"], stored["y"]
    if X.ndim != 2 or y.shape[:1] != X.shape[:1]:
        raise StorageError(f"{data_file}: damaged: X {X.shape} and y {y.shape} do not match")
    arrays = {}
    for part in PARTS:
        rows = stored[part]
        if rows.ndim != 1 or rows.dtype.kind not in "iu" or (
                rows.size and (rows.min() < 0 or rows.max() >= len(X))):
            raise StorageError(f"{data_file}: damaged: the {part} rows are not row numbers of X")
        arrays[f"{part}_X"], arrays[f"{part}_y"] = X[rows], y[rows]
    names = [str(n) for n in stored.get("feature_names", ())]
    return arrays, names, str(stored["fingerprint"])


# The split last read in this process, {(data file, fingerprint): arrays}: one entry at most.
_LAST_SPLIT: dict[tuple[str, str], dict[str, np.ndarray]] = {}


def load_split(data_file: str, fingerprint: str) -> dict[str, np.ndarray]:
    """`read_split`'s arrays of the data with this fingerprint (see the module docstring)."""
    key = (data_file, fingerprint)
    if key not in _LAST_SPLIT:
        arrays, _, found = _read_split(data_file)
        if found != fingerprint:
            raise StorageError(f"{data_file}: holds other data than this study's objective was "
                               "built for (its run folder was started afresh since); run the "
                               "study again")
        _LAST_SPLIT.clear()
        _LAST_SPLIT[key] = arrays
    return _LAST_SPLIT[key]
