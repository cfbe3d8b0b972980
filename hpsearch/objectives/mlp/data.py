"""The network objective's data: the study's dataset, and the split stored once in the run folder.

Contract: `load_data(spec)` reads the dataset (digits, spiral, CSV or NPZ) and checks it fits the
task (`StudyFileError` naming the file and key otherwise). `store_split(spec, data, run_dir)`
draws the train/val/test split once from the study seed and writes `<run_dir>/data.npz`
(`DATA_FILE`): the features `X` (N, D), targets `y` (N,) or (N, L), the row indices `train`,
`val`, `test`, the data's `fingerprint` and its `feature_names`; when the file exists (a study
that resumes) it checks the data is the same and keeps it. `read_split(data_file)` gives back
`{"<part>_X": (n, D), "<part>_y": ...}` for each part and the feature names; `load_split` is the
same arrays, read once per process (worker processes run many trials on the same data).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from hpsearch.objectives.mlp.hyperparameters import spec_error
from hpsearch.study.seeds import DATASET_STREAM, SPLIT_STREAM, objective_rng
from hpsearch.studyfile.reader import StudySpec
from nn_core.data import Dataset, load_csv, load_dataset, split

__all__ = ["DATA_FILE", "PARTS", "load_data", "load_split", "read_split", "store_split"]

DATA_FILE = "data.npz"
PARTS = ("train", "val", "test")


def load_data(spec: StudySpec) -> Dataset:
    """Read the study's dataset and check it suits the task; StudyFileError on any problem."""
    where = "[objective].dataset"
    source = spec.resolve_dataset()
    rng = objective_rng(spec.seed, DATASET_STREAM)
    try:
        if source.lower().endswith(".csv"):
            data = load_csv(source, label_column=spec.objective.target)
        else:
            if spec.objective.target is not None:
                raise ValueError("target names a CSV column; this dataset is not a CSV")
            data = load_dataset(source, rng)
    except ValueError as err:
        raise spec_error(spec, where, str(err)) from None
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


def store_split(spec: StudySpec, data: Dataset, run_dir: Path) -> Path:
    """Write `<run_dir>/data.npz` once (see the module docstring); returns its path."""
    fingerprint = _fingerprint(data.X, data.y)
    path = Path(run_dir) / DATA_FILE
    if path.exists():
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["fingerprint"]) != fingerprint:
                raise spec_error(spec, "[objective].dataset",
                                 f"the data differs from what this study started with ({path}); "
                                 "run with --fresh to start afresh")
        return path
    o = spec.objective
    rows = np.arange(len(data.y))[:, None]
    parts = split(rows, data.y, o.val_fraction, o.test_fraction,
                  objective_rng(spec.seed, SPLIT_STREAM), stratify=o.task == "classification")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("data.tmp.npz")
    np.savez(tmp, X=data.X, y=data.y, train=parts.X_train[:, 0], val=parts.X_val[:, 0],
             test=parts.X_test[:, 0], fingerprint=np.array(fingerprint),
             feature_names=np.array(data.feature_names, dtype=str))
    tmp.replace(path)
    return path


def read_split(data_file: str | Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """({"<part>_X": features, "<part>_y": targets} for train, val and test; feature names)."""
    with np.load(data_file, allow_pickle=False) as stored:
        X, y = stored["X"], stored["y"]
        arrays = {f"{part}_{name}": array[stored[part]]
                  for part in PARTS for name, array in (("X", X), ("y", y))}
        names = [str(n) for n in stored["feature_names"]] if "feature_names" in stored else []
    return arrays, names


_DATA_CACHE: dict[str, dict[str, np.ndarray]] = {}


def load_split(data_file: str) -> dict[str, np.ndarray]:
    """`read_split`'s arrays, read once per process."""
    if data_file not in _DATA_CACHE:
        _DATA_CACHE[data_file] = read_split(data_file)[0]
    return _DATA_CACHE[data_file]
