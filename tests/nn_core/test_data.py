"""Data loaders and splits: shapes, seeds, stratification, clear errors for malformed files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nn_core import data


def test_spiral_shapes_and_classes():
    dataset = data.make_spiral(100, 3, np.random.default_rng(0))
    assert dataset.X.shape == (300, 2)
    assert np.bincount(dataset.y).tolist() == [100, 100, 100]
    again = data.make_spiral(100, 3, np.random.default_rng(0))
    np.testing.assert_array_equal(dataset.X, again.X)
    assert np.abs(dataset.X).max() <= 1.0


def test_digits_loads_without_download():
    dataset = data.load_digits()
    assert dataset.X.shape == (1797, 64)
    assert set(np.unique(dataset.y)) == set(range(10))


def test_nn_core_imports_no_sklearn_at_module_level():
    # nn_core.estimator imports scikit-learn (its classes are scikit-learn estimators);
    # import nn_core loads it only when MLPClassifier or MLPRegressor is first used.
    code = (
        "import sys, nn_core, nn_core.data, nn_core.fitted, nn_core.keywords, nn_core.trainer, "
        "nn_core.preprocess, nn_core.optim, nn_core.sanity\n"
        "assert 'sklearn' not in sys.modules, 'sklearn imported'\n"
        "assert 'scipy.optimize' not in sys.modules, 'scipy.optimize imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_split_is_stratified_and_seeded():
    y = np.repeat(np.arange(3), [50, 30, 20])
    X = np.arange(100.0)[:, None]
    parts = data.split(X, y, 0.2, 0.1, np.random.default_rng(0))
    assert len(parts.y_train) + len(parts.y_val) + len(parts.y_test) == 100
    assert np.bincount(parts.y_val).tolist() == [10, 6, 4]
    assert np.bincount(parts.y_test).tolist() == [5, 3, 2]
    all_rows = np.concatenate([parts.X_train, parts.X_val, parts.X_test]).ravel()
    assert sorted(all_rows.tolist()) == list(range(100))
    np.testing.assert_array_equal(parts.y_train, y[parts.X_train[:, 0].astype(int)])
    again = data.split(X, y, 0.2, 0.1, np.random.default_rng(0))
    np.testing.assert_array_equal(parts.X_train, again.X_train)
    other = data.split(X, y, 0.2, 0.1, np.random.default_rng(1))
    assert not np.array_equal(parts.X_train, other.X_train)


def test_split_rejects_bad_fractions():
    with pytest.raises(ValueError, match="val_fraction"):
        data.split(np.zeros((4, 1)), np.zeros(4), 1.5, 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="< 1"):
        data.split(np.zeros((4, 1)), np.zeros(4), 0.5, 0.5, np.random.default_rng(0))


def test_csv_round_trip_with_string_labels(tmp_path):
    path = tmp_path / "pets.csv"
    path.write_text("weight,kind,height\n1.5,cat,3\n20,dog,4.5\n\n2.0,cat,1e1\n")
    dataset = data.load_csv(path, label_column="kind")
    np.testing.assert_allclose(dataset.X, [[1.5, 3.0], [20.0, 4.5], [2.0, 10.0]])
    assert dataset.y.tolist() == ["cat", "dog", "cat"]
    assert dataset.feature_names == ("weight", "height")
    with pytest.raises(ValueError, match="column 'kind'"):
        data.load_csv(path)  # the default label column is the last one, so 'kind' is a feature


def test_csv_integer_labels_default_last_column(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a,b,label\n1,2,0\n3,4,1\n")
    dataset = data.load_csv(path)
    assert dataset.y.dtype == np.int64 and dataset.y.tolist() == [0, 1]


def test_csv_non_numeric_cell_names_file_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,label\n1,2,0\n3,oops,1\n")
    with pytest.raises(ValueError, match=r"bad\.csv: line 3, column 'b': not a number: 'oops'"):
        data.load_csv(path)


def test_csv_ragged_row_and_missing_label_column(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,label\n1,2,0\n3,1\n")
    with pytest.raises(ValueError, match=r"ragged\.csv: line 3: expected 3 cells, found 2"):
        data.load_csv(path)
    with pytest.raises(ValueError, match=r"ragged\.csv: no label column 'kind'; columns are a, b"):
        data.load_csv(path, label_column="kind")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match=r"empty\.csv: empty file"):
        data.load_csv(empty)


def test_npz_round_trip_and_missing_key(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, X=np.ones((4, 3)), y=np.array([0, 1, 0, 1]))
    dataset = data.load_npz(good)
    assert dataset.X.shape == (4, 3) and dataset.y.tolist() == [0, 1, 0, 1]
    missing = tmp_path / "missing.npz"
    np.savez(missing, features=np.ones((4, 3)), y=np.zeros(4))
    with pytest.raises(ValueError, match=r"missing\.npz: missing key 'X'; the file holds"):
        data.load_npz(missing)
    mismatch = tmp_path / "mismatch.npz"
    np.savez(mismatch, X=np.ones((4, 3)), y=np.zeros(5))
    with pytest.raises(ValueError, match=r"mismatch\.npz: key 'y' must have 4 rows"):
        data.load_npz(mismatch)


def test_npz_refuses_pickled_objects(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, X=np.ones((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match=r"objects\.npz"):
        data.load_npz(path)


def test_load_dataset_by_name(tmp_path):
    assert data.load_dataset("spiral").X.shape == (300, 2)
    with pytest.raises(ValueError, match="dataset must be"):
        data.load_dataset(tmp_path / "x.txt")
