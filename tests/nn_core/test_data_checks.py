"""Data sets that would train on garbage are refused by the loaders: NaN, inf and values beyond
float32 (naming the file, row and column), and damaged or crafted .npz files (checked from
their .npy headers before anything is allocated)."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import numpy as np
import pytest

from nn_core import data


def write_csv(path, cells):
    path.write_text("a,b,label\n" + "".join(f"{x},{y},{label}\n" for x, y, label in cells))
    return path


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-inf", "1e39", "-3.5e38"])
def test_csv_feature_that_is_not_finite_in_float32_names_line_and_column(tmp_path, bad):
    path = write_csv(tmp_path / "d.csv", [(1, 2, 0), (3, bad, 1), (5, 6, 0)])
    with pytest.raises(data.NonFiniteError, match=r"d\.csv: line 3, column 'b': .* is not a "
                                                  r"finite number within float32's range"):
        data.load_csv(path)


def test_csv_counts_the_other_bad_cells_and_refuses_a_nan_label(tmp_path):
    path = write_csv(tmp_path / "d.csv", [("nan", 2, 0), (3, "inf", 1), (5, 6, 0)])
    with pytest.raises(ValueError, match=r"line 2, column 'a'.*\(1 more cells like it\)"):
        data.load_csv(path)
    labels = write_csv(tmp_path / "y.csv", [(1, 2, 0.5), (3, 4, "nan"), (5, 6, 1.5)])
    with pytest.raises(ValueError, match=r"y\.csv: line 3, column 'label': nan"):
        data.load_csv(labels)


def test_csv_allow_missing_keeps_nan_and_empty_cells_but_not_inf(tmp_path):
    path = write_csv(tmp_path / "d.csv", [(1, "", 0), (3, "nan", 1), (5, 6, 0)])
    with pytest.raises(ValueError, match="line 2, column 'b': not a number: ''"):
        data.load_csv(path)
    loaded = data.load_csv(path, allow_missing=True)
    assert np.isnan(loaded.X[:2, 1]).all() and loaded.X[2, 1] == 6
    infinite = write_csv(tmp_path / "i.csv", [(1, "", 0), (3, "inf", 1)])
    with pytest.raises(ValueError, match="line 3, column 'b': inf"):
        data.load_csv(infinite, allow_missing=True)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e300])
def test_npz_features_that_are_not_finite_in_float32_name_the_cell(tmp_path, bad):
    X = np.ones((4, 3))
    X[2, 1] = bad
    np.savez(tmp_path / "d.npz", X=X, y=np.arange(4))
    with pytest.raises(data.NonFiniteError, match=r"d\.npz: X\[2, 1\]: .* is not a finite"):
        data.load_npz(tmp_path / "d.npz")


def test_npz_refuses_complex_features_and_nan_targets(tmp_path):
    np.savez(tmp_path / "c.npz", X=np.ones((4, 2), dtype=complex), y=np.arange(4))
    with pytest.raises(ValueError, match="must be real numbers"):
        data.load_npz(tmp_path / "c.npz")
    np.savez(tmp_path / "t.npz", X=np.ones((4, 2)), y=np.array([0.5, np.nan, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"t\.npz: y\[1\]: nan"):
        data.load_npz(tmp_path / "t.npz")
    X = np.ones((4, 2))
    X[0, 0] = np.nan
    np.savez(tmp_path / "m.npz", X=X, y=np.arange(4))
    assert np.isnan(data.load_npz(tmp_path / "m.npz", allow_missing=True).X[0, 0])


def npy_bytes(header: dict, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + payload


def crafted_npz(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def test_npz_header_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    huge = npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**5)},
                     b"\0" * 64)
    path = crafted_npz(tmp_path / "huge.npz", {"X.npy": huge, "y.npy": npy_bytes(
        {"descr": "<i8", "fortran_order": False, "shape": (10**6,)}, b"")})
    tracemalloc.start()
    with pytest.raises(ValueError, match=r"huge\.npz: .*array 'X' declares shape "
                                         r"\(1000000, 100000\).* but 64 bytes are stored"):
        data.load_npz(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 * 2**20  # 800 GB declared; nothing near it allocated


@pytest.mark.parametrize("members, reason", [
    ({"X.npy": b"not an npy file at all"}, "not a readable .npz"),
    ({"X.txt": b"hello"}, "is not one .npy array"),
    ({"X.npy": npy_bytes({"descr": "|O", "fortran_order": False, "shape": (2,)}, b"\0" * 16)},
     "would need pickle"),
    ({"X.npy": npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (-2, 3)}, b"")},
     "not a readable .npz"),
])
def test_damaged_or_foreign_npz_members_are_one_value_error(tmp_path, members, reason):
    path = crafted_npz(tmp_path / "bad.npz", members)
    with pytest.raises(ValueError, match=reason):
        data.load_npz(path)


def test_truncated_and_zeroed_npz_files_are_one_value_error(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, X=np.ones((50, 4)), y=np.arange(50))
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    zeroed = tmp_path / "zeroed.npz"
    zeroed.write_bytes(raw[:300] + b"\0" * 400 + raw[700:])
    for path in (truncated, zeroed, tmp_path / "absent.npz"):
        with pytest.raises(ValueError, match=path.name):
            data.load_npz(path)


def test_read_npz_reads_only_the_named_arrays_and_names_a_missing_one(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, X=np.ones(3), extra=np.zeros(2))
    assert set(data.read_npz(path, ("X",))) == {"X"}
    assert set(data.read_npz(path, ("X",), ("extra", "absent"))) == {"X", "extra"}
    with pytest.raises(ValueError, match="missing key 'y'; the file holds X, extra"):
        data.read_npz(path, ("y",))
