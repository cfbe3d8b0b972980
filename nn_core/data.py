"""Data sets and seeded splits.

- `load_digits()`: scikit-learn's bundled 8x8 digits (1797 samples, 64 features scaled to
  [0, 16], 10 classes); shipped inside scikit-learn, no download. scikit-learn is imported
  inside the function only, because importing it takes about a second.
- `make_spiral(n_per_class, n_classes, rng)`: the CS231n spiral, K*N points in 2-D.
- `load_csv(path, label_column=None, allow_missing=False)`: a header row, then numeric feature
  cells; the label column is named (default: the last column) and may hold strings.
- `load_npz(path, allow_missing=False)`: arrays `X` (N, D) and `y` (N,) or (N, L), read with
  allow_pickle=False.
- `read_npz(path, required, optional=())`: named arrays of an .npz, every member's .npy header
  checked (no object arrays, declared size = stored size) before any array is allocated.
- `check_finite(X, source, ...)`: refuse NaN, inf and values beyond float32's range.
- `load_dataset(name_or_path, rng=None, allow_missing=False)`: "digits", "spiral", or a
  .csv/.npz path.
- `split(X, y, val_fraction, test_fraction, rng, stratify=True)`: seeded train/val/test split,
  stratified by class for 1-D labels.

Malformed files raise ValueError naming the file and the line and column, or the key. Feature
cells and numeric targets must be finite and within float32's range (a network may compute in
float32): NaN, inf or a value such as 1e300 raises `NonFiniteError` (a ValueError) naming the
file, row and column. With `allow_missing=True` a NaN feature (or an empty CSV cell) is kept
as NaN for the caller to impute; inf and out-of-range values are still refused. Memory:
`read_npz` allocates no more than the sizes the file itself declares, and checks those against
the stored bytes first.
Every function that draws random numbers takes a `np.random.Generator`.
"""

from __future__ import annotations

import csv
import math
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nn_core._validate import check_generator

#: the largest magnitude a feature or target may have (a network may compute in float32)
FLOAT32_MAX = float(np.finfo(np.float32).max)


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


class NonFiniteError(ValueError):
    """A feature or target cell is NaN, inf or beyond float32's range; `value` is the first."""

    def __init__(self, message: str, value: float) -> None:
        super().__init__(message)
        self.value = value


def check_finite(values: np.ndarray, source: str, rows: Sequence[str] | None = None,
                 columns: Sequence[str] | None = None, allow_missing: bool = False) -> None:
    """`NonFiniteError` (a ValueError) naming the first cell of `values` (N,) or (N, D) that is
    NaN, inf or beyond float32's range (|x| > 3.4e38), and how many there are. `rows` and
    `columns` name the rows ("line 7") and columns (the header's names); without them the cell
    is named by its index, `source[i, j]`. NaN passes with `allow_missing`."""
    if values.dtype == bool or not np.issubdtype(values.dtype, np.number):
        return
    grid = values.reshape(len(values), -1)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(grid) | (np.abs(grid) > FLOAT32_MAX)
    if allow_missing:
        bad &= ~np.isnan(grid)
    if not bad.any():
        return
    i, j = (int(k) for k in np.argwhere(bad)[0])
    if rows is None:  # an array: its index
        where = f"{source}[{i}, {j}]" if values.ndim > 1 else f"{source}[{i}]"
    else:
        where = f"{source}: {rows[i]}, column {columns[j]!r}"
    count = int(bad.sum())
    others = f" ({count - 1} more cells like it)" if count > 1 else ""
    value = grid[i, j].item()
    raise NonFiniteError(f"{where}: {value!r} is not a finite number "
                         f"within float32's range{others}; NaN, inf and values beyond "
                         f"+/-{FLOAT32_MAX:.3g} are refused", value)


def _parse_cell(path: Path, line: int, column: str, cell: str, allow_missing: bool) -> float:
    if allow_missing and not cell.strip():
        return math.nan
    try:
        return float(cell)
    except ValueError:
        raise ValueError(f"{path}: line {line}, column {column!r}: not a number: {cell!r}"
                         ) from None


def load_csv(path: str | Path, label_column: str | None = None,
             allow_missing: bool = False) -> Dataset:
    """Read a CSV with a header row; every column but the label column is a numeric feature.

    `label_column` names the label column (default: the last one). Labels that are all
    integers become int64, all numbers float64, otherwise strings. A non-numeric feature cell,
    a row with the wrong number of cells, a missing label column name or an empty file raise
    ValueError naming the file (and line and column); so does a feature cell or a numeric label
    that is NaN, inf or beyond float32's range (`check_finite`). `allow_missing`: empty and NaN
    feature cells become NaN instead (the caller imputes them).
    """
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{path}: cannot open: {error.strerror or error}") from None
    try:
        with handle:
            header, label_index, rows, labels, lines = _read_csv_rows(
                path, csv.reader(handle), label_column, allow_missing)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    except csv.Error as error:
        raise ValueError(f"{path}: not a readable CSV: {error}") from None
    if not rows:
        raise ValueError(f"{path}: no data rows after the header")
    names = tuple(header[i] for i in range(len(header)) if i != label_index)
    X = np.array(rows, dtype=np.float64)
    y = _parse_labels(labels)
    check_finite(X, str(path), lines, names, allow_missing=allow_missing)
    check_finite(y, str(path), lines, [header[label_index]])
    return Dataset(X=X, y=y, name=path.stem, feature_names=names)


def _read_csv_rows(path: Path, reader: Any, label_column: str | None, allow_missing: bool
                   ) -> tuple[list[str], int, list[list[float]], list[str], list[str]]:
    """(header, label index, feature rows, label cells, "line N" of each row)."""
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
    lines: list[str] = []
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ValueError(
                f"{path}: line {line}: expected {len(header)} cells, found {len(row)}"
            )
        rows.append([_parse_cell(path, line, header[i], row[i], allow_missing)
                     for i in feature_index])
        labels.append(row[label_index].strip())
        lines.append(f"line {line}")
    return header, label_index, rows, labels, lines


_ZIP_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error,
               NotImplementedError, RuntimeError, struct.error, OverflowError)


def npz_headers(path: str | Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """{name: (shape, dtype)} of every array in an .npz, from the .npy headers inside the
    zip, without reading any data. ValueError naming the file when it is not a zip of .npy
    arrays, an array needs pickle (object dtype), or a header declares another size than the
    bytes stored (a damaged or crafted file)."""
    path = Path(path)
    headers: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename.removesuffix(".npy")
                if name == info.filename or name in headers:
                    raise ValueError(f"member {info.filename!r} is not one .npy array")
                with archive.open(info) as member:
                    headers[name] = _npy_header(member, name, info.file_size)
    except _ZIP_ERRORS as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(f"{path}: not a readable .npz file: {reason}") from None
    return headers


def _npy_header(member: Any, name: str, stored: int) -> tuple[tuple[int, ...], np.dtype]:
    """The (shape, dtype) a .npy member declares, checked against its stored size."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise ValueError(f"array {name!r}: unsupported .npy version {version}")
    if dtype.hasobject:
        raise ValueError(f"array {name!r} holds Python objects (it would need pickle, which is "
                         "refused)")
    if any(n < 0 for n in shape):
        raise ValueError(f"array {name!r}: negative shape {shape}")
    declared = math.prod(shape) * dtype.itemsize
    if declared != stored - member.tell():
        raise ValueError(f"array {name!r} declares shape {shape} of {dtype} ({declared} bytes) "
                         f"but {stored - member.tell()} bytes are stored")
    return tuple(shape), dtype


def read_npz(path: str | Path, required: Sequence[str], optional: Sequence[str] = ()
             ) -> dict[str, np.ndarray]:
    """The arrays `required` (and those of `optional` that are there) of an .npz file, read
    with allow_pickle=False after `npz_headers` checked every member; ValueError naming the
    file for a missing key or a damaged file."""
    path = Path(path)
    headers = npz_headers(path)
    for key in required:
        if key not in headers:
            raise ValueError(f"{path}: missing key {key!r}; the file holds "
                             f"{', '.join(headers) or 'no arrays'}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in (*required, *optional) if key in headers}
    except _ZIP_ERRORS as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(f"{path}: damaged .npz file: {reason}") from None


def load_npz(path: str | Path, allow_missing: bool = False) -> Dataset:
    """Read arrays `X` (N, D) and `y` (N,) or (N, L) from an .npz file (no pickle). X must be
    real numbers (or bool) and, like numeric y, finite within float32's range (`check_finite`;
    NaN features pass with `allow_missing`)."""
    path = Path(path)
    arrays = read_npz(path, ("X", "y"))
    X, y = arrays["X"], arrays["y"]
    if X.ndim != 2:
        raise ValueError(f"{path}: key 'X' must be 2-D (n_samples, n_features); got {X.shape}")
    if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)
            or X.dtype == bool):
        raise ValueError(f"{path}: key 'X' must be real numbers; got dtype {X.dtype}")
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{path}: key 'y' must have {X.shape[0]} rows like 'X'; got shape {y.shape}"
        )
    if np.issubdtype(y.dtype, np.complexfloating) or y.dtype.kind == "V":
        raise ValueError(f"{path}: key 'y' must be numbers or labels; got dtype {y.dtype}")
    check_finite(X, f"{path}: X", allow_missing=allow_missing)
    check_finite(y, f"{path}: y")
    return Dataset(X=X.astype(np.float64, copy=False), y=y, name=path.stem)


def load_dataset(name_or_path: str | Path, rng: np.random.Generator | None = None,
                 allow_missing: bool = False) -> Dataset:
    """"digits", "spiral" (3 classes x 100 points), or a path ending in .csv or .npz
    (`allow_missing` as in `load_csv` / `load_npz`)."""
    if name_or_path == "digits":
        return load_digits()
    if name_or_path == "spiral":
        return make_spiral(100, 3, rng if rng is not None else np.random.default_rng(0))
    path = Path(name_or_path)
    if path.suffix.lower() == ".csv":
        return load_csv(path, allow_missing=allow_missing)
    if path.suffix.lower() == ".npz":
        return load_npz(path, allow_missing=allow_missing)
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
