"""Data sets and seeded splits.

- `load_digits()`: scikit-learn's bundled 8x8 digits (1797 samples, 64 features scaled to
  [0, 16], 10 classes); shipped inside scikit-learn, no download. scikit-learn is imported
  inside the function only, because importing it takes about a second.
- `make_spiral(n_per_class, n_classes, rng)`: the CS231n spiral, K*N points in 2-D.
- `load_csv(path, label_column=None)`: a header row, then numeric feature cells; the label
  column is named (default: the last column) and may hold strings.
- `load_npz(path)`: arrays `X` (N, D) and `y` (N,) or (N, L), read with allow_pickle=False.
- `load_dataset(name_or_path)`: "digits", "spiral", or a .csv/.npz path.
- `split(X, y, val_fraction, test_fraction, rng, stratify=True)`: seeded train/val/test split,
  stratified by class for 1-D labels.

Malformed files raise ValueError naming the file and the line and column, or the key.
Every function that draws random numbers takes a `np.random.Generator`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nn_core._validate import check_generator


@dataclass(frozen=True)
class Dataset:
    """Features X (N, D), labels or targets y (N,) or (N, L), and where they came from."""

    X: np.ndarray
    y: np.ndarray
    name: str
    feature_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Split:
    """Train/validation/test arrays; a split with no samples has 0 rows."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_digits() -> Dataset:
    """scikit-learn's bundled digits: X (1797, 64) float64 in [0, 16], y (1797,) int64."""
    from sklearn.datasets import load_digits as _load  # slow import, only when asked for

    bunch = _load()
    return Dataset(
        X=np.asarray(bunch.data, dtype=np.float64),
        y=np.asarray(bunch.target, dtype=np.int64),
        name="digits",
        feature_names=tuple(bunch.feature_names),
    )


def make_spiral(
    n_per_class: int = 100, n_classes: int = 3, rng: np.random.Generator | None = None
) -> Dataset:
    """The CS231n spiral: X (K*N, 2), y (K*N,) in 0..K-1; not linearly separable.

    Class k's points lie on an arm with radius r in [0, 1] and angle
    t = 4k + 4r + 0.2 * noise (the course's recipe).
    """
    rng = check_generator("rng", rng if rng is not None else np.random.default_rng(0))
    if n_per_class < 1 or n_classes < 1:
        raise ValueError(
            f"n_per_class and n_classes must be >= 1; got {n_per_class} and {n_classes}"
        )
    X = np.zeros((n_per_class * n_classes, 2))
    y = np.zeros(n_per_class * n_classes, dtype=np.int64)
    for k in range(n_classes):
        rows = slice(n_per_class * k, n_per_class * (k + 1))
        radius = np.linspace(0.0, 1.0, n_per_class)
        angle = np.linspace(k * 4.0, (k + 1) * 4.0, n_per_class)
        angle = angle + rng.normal(size=n_per_class) * 0.2
        X[rows] = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
        y[rows] = k
    return Dataset(X=X, y=y, name="spiral", feature_names=("x0", "x1"))


def _parse_labels(cells: list[str]) -> np.ndarray:
    """Integers if every label is an integer, floats if every label is a number, else str."""
    try:
        values = [float(cell) for cell in cells]
    except ValueError:
        return np.array(cells, dtype=str)
    if all(math.isfinite(v) and v.is_integer() for v in values):
        return np.array(values, dtype=np.int64)
    return np.array(values, dtype=np.float64)


def load_csv(path: str | Path, label_column: str | None = None) -> Dataset:
    """Read a CSV with a header row; every column but the label column is a numeric feature.

    `label_column` names the label column (default: the last one). Labels that are all
    integers become int64, all numbers float64, otherwise strings. A non-numeric feature cell,
    a row with the wrong number of cells, a missing label column name or an empty file raise
    ValueError naming the file (and line and column).
    """
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{path}: cannot open: {error.strerror or error}") from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ValueError(f"{path}: empty file, expected a header row")
        header = [cell.strip() for cell in header]
        if label_column is None:
            label_index = len(header) - 1
        elif label_column in header:
            label_index = header.index(label_column)
        else:
            raise ValueError(
                f"{path}: no label column {label_column!r}; columns are {', '.join(header)}"
            )
        if len(header) < 2:
            raise ValueError(f"{path}: line 1: need at least one feature and one label column")
        feature_index = [i for i in range(len(header)) if i != label_index]
        rows: list[list[float]] = []
        labels: list[str] = []
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"{path}: line {line}: expected {len(header)} cells, found {len(row)}"
                )
            values = []
            for i in feature_index:
                try:
                    values.append(float(row[i]))
                except ValueError:
                    raise ValueError(
                        f"{path}: line {line}, column {header[i]!r}: "
                        f"not a number: {row[i]!r}"
                    ) from None
            rows.append(values)
            labels.append(row[label_index].strip())
    if not rows:
        raise ValueError(f"{path}: no data rows after the header")
    return Dataset(
        X=np.array(rows, dtype=np.float64),
        y=_parse_labels(labels),
        name=path.stem,
        feature_names=tuple(header[i] for i in feature_index),
    )


def load_npz(path: str | Path) -> Dataset:
    """Read arrays `X` (N, D) and `y` (N,) or (N, L) from an .npz file (no pickle)."""
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except OSError as error:
        raise ValueError(f"{path}: cannot read as .npz: {error}") from None
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    with archive:
        for key in ("X", "y"):
            if key not in archive.files:
                raise ValueError(
                    f"{path}: missing key {key!r}; the file holds {', '.join(archive.files)}"
                )
        try:
            X = archive["X"]
            y = archive["y"]
        except ValueError as error:  # object arrays need pickle, which we refuse
            raise ValueError(f"{path}: {error}") from None
    if X.ndim != 2:
        raise ValueError(f"{path}: key 'X' must be 2-D (n_samples, n_features); got {X.shape}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"{path}: key 'X' must be numeric; got dtype {X.dtype}")
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{path}: key 'y' must have {X.shape[0]} rows like 'X'; got shape {y.shape}"
        )
    return Dataset(X=X.astype(np.float64, copy=False), y=y, name=path.stem)


def load_dataset(name_or_path: str | Path, rng: np.random.Generator | None = None) -> Dataset:
    """"digits", "spiral" (3 classes x 100 points), or a path ending in .csv or .npz."""
    if name_or_path == "digits":
        return load_digits()
    if name_or_path == "spiral":
        return make_spiral(100, 3, rng if rng is not None else np.random.default_rng(0))
    path = Path(name_or_path)
    if path.suffix.lower() == ".csv":
        return load_csv(path)
    if path.suffix.lower() == ".npz":
        return load_npz(path)
    raise ValueError(
        f"dataset must be 'digits', 'spiral' or a .csv/.npz path; got {str(name_or_path)!r}"
    )


def split(
    X: np.ndarray,
    y: np.ndarray,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    rng: np.random.Generator | None = None,
    stratify: bool = True,
) -> Split:
    """Shuffle and cut (X, y) into train/val/test with the given fractions.

    With `stratify` and 1-D labels every class is cut in the same proportions (rounding per
    class), so small classes appear in each split where they can. Same rng state, same split.
    """
    rng = check_generator("rng", rng if rng is not None else np.random.default_rng(0))
    X = np.asarray(X)
    y = np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1); got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must be < 1; got {val_fraction + test_fraction}"
        )
    if stratify and y.ndim == 1:
        groups = [np.flatnonzero(y == label) for label in np.unique(y)]
    else:
        groups = [np.arange(len(y))]
    train, val, test = [], [], []
    for group in groups:
        group = rng.permutation(group)
        n_test = int(round(test_fraction * len(group)))
        n_val = int(round(val_fraction * len(group)))
        test.append(group[:n_test])
        val.append(group[n_test : n_test + n_val])
        train.append(group[n_test + n_val :])
    index = [rng.permutation(np.concatenate(part)).astype(np.int64) for part in (train, val, test)]
    return Split(
        X_train=X[index[0]],
        y_train=y[index[0]],
        X_val=X[index[1]],
        y_val=y[index[1]],
        X_test=X[index[2]],
        y_test=y[index[2]],
    )
