"""The network objective's data through the command line: NaN, inf or values beyond float32 in a
CSV or NPZ data set stop `validate` and `run` up front (exit 2, one line naming the file, row and
column; no run folder), `[objective].impute = "mean"` fills missing cells from the training
rows, and a damaged data set or stored split (`data.npz`) is one line, exit 2, nothing changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hpsearch.cli import app
from hpsearch.exceptions import StorageError
from hpsearch.objectives.mlp import read_split

STUDY = """
[study]
name = "bad_data"
strategy = "random"
n_trials = {n_trials}
seed = 0
storage = "{storage}"

[objective]
dataset = "{dataset}"
{extra}

[objective.fixed]
epochs = 2
hidden_size = 8

[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-1, log = true }}
"""


def features(n=40):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int)


def write_csv(path: Path, X, y) -> Path:
    rows = "".join(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + f",{label}\n"
                   for row, label in zip(X, y, strict=True))
    path.write_text("a,b,c,label\n" + rows)
    return path


def study_file(tmp_path: Path, dataset: Path, extra: str = "", n_trials: int = 1) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(storage=tmp_path / "runs", dataset=dataset.name, extra=extra,
                                 n_trials=n_trials))
    return path


def one_line_error(result, *expected: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpsearch: error: "), result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("bad, shown", [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf"),
                                        (1e39, "1e+39")])
def test_csv_with_a_bad_cell_stops_validate_and_run_naming_file_line_and_column(
        tmp_path, bad, shown):
    X, y = features()
    X[5, 1] = bad
    data = tmp_path / "cells.csv"
    data.write_text("a,b,c,label\n" + "".join(
        ",".join(str(v) for v in row) + f",{label}\n" for row, label in zip(X, y, strict=True)))
    path = study_file(tmp_path, data)
    for command in ("validate", "run"):
        line = one_line_error(CliRunner().invoke(app, [command, str(path)]),
                              "cells.csv: line 7, column 'b'", shown, "float32")
        assert ("impute" in line) == (shown == "nan")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e300])
def test_npz_with_a_bad_value_stops_validate_and_run_naming_the_cell(tmp_path, bad):
    X, y = features()
    X[3, 2] = bad
    np.savez(tmp_path / "cells.npz", X=X, y=y)
    path = study_file(tmp_path, tmp_path / "cells.npz")
    for command in ("validate", "run"):
        one_line_error(CliRunner().invoke(app, [command, str(path)]), "cells.npz: X[3, 2]")
    assert not (tmp_path / "runs").exists()


def test_impute_mean_fills_missing_cells_with_the_training_rows_mean(tmp_path):
    X, y = features()
    X[[2, 9, 30], 1] = np.nan
    data = write_csv(tmp_path / "gaps.csv", X, y)
    result = CliRunner().invoke(app, ["run", str(study_file(tmp_path, data,
                                                             'impute = "mean"'))])
    assert result.exit_code == 0, (result.output, result.exception)
    with np.load(tmp_path / "runs" / "bad_data" / "data.npz") as stored:
        filled, train = stored["X"], stored["train"]
    assert np.isfinite(filled).all()
    expected = np.nanmean(X[train, 1])
    np.testing.assert_allclose(filled[[2, 9, 30], 1], expected)
    np.testing.assert_array_equal(np.delete(filled, [2, 9, 30], axis=0),
                                  np.delete(X, [2, 9, 30], axis=0))


def test_impute_does_not_let_inf_through_and_is_only_for_the_network(tmp_path):
    X, y = features()
    X[2, 1], X[4, 0] = np.nan, np.inf
    data = write_csv(tmp_path / "gaps.csv", X, y)
    path = study_file(tmp_path, data, 'impute = "mean"')
    one_line_error(CliRunner().invoke(app, ["validate", str(path)]), "line 6, column 'a': inf")
    python = tmp_path / "python.toml"
    python.write_text('[study]\nstrategy = "random"\nn_trials = 1\n[objective]\nkind = "python"\n'
                      'entry = "x.py:f"\nimpute = "mean"\n[space]\nx = { type = "float", '
                      'low = 0.0, high = 1.0 }\n')
    one_line_error(CliRunner().invoke(app, ["validate", str(python)]), "[objective].impute")


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("damage", ["truncated", "zeroed", "not a zip"])
def test_damaged_dataset_npz_is_one_line(tmp_path, damage):
    X, y = features()
    np.savez(tmp_path / "d.npz", X=X, y=y)
    raw = (tmp_path / "d.npz").read_bytes()
    broken = {"truncated": raw[: len(raw) // 2], "zeroed": raw[:200] + b"\0" * 300 + raw[500:],
              "not a zip": b"PK" + b"x" * 100}[damage]
    (tmp_path / "d.npz").write_bytes(broken)
    path = study_file(tmp_path, tmp_path / "d.npz")
    for command in ("validate", "run"):
        one_line_error(CliRunner().invoke(app, [command, str(path)]), "d.npz")
    assert not (tmp_path / "runs").exists()


def test_damaged_stored_split_is_one_line_and_nothing_changes(tmp_path):
    X, y = features()
    path = study_file(tmp_path, write_csv(tmp_path / "d.csv", X, y))
    assert CliRunner().invoke(app, ["run", str(path)]).exit_code == 0
    run_dir = tmp_path / "runs" / "bad_data"
    raw = (run_dir / "data.npz").read_bytes()
    (run_dir / "data.npz").write_bytes(raw[: len(raw) // 2])
    before = digest(run_dir)
    for command in ("validate", "run"):
        one_line_error(CliRunner().invoke(app, [command, str(path)]),
                       "data.npz: not a readable .npz", "delete")
    assert digest(run_dir) == before
    with pytest.raises(StorageError, match="data.npz"):
        read_split(run_dir / "data.npz")


def test_stored_split_with_rows_out_of_range_is_a_storage_error(tmp_path):
    X, y = features()
    np.savez(tmp_path / "data.npz", X=X, y=y, train=np.array([0, 1, 99]), val=np.array([2]),
             test=np.array([3]), fingerprint=np.array("x"))
    with pytest.raises(StorageError, match="the train rows are not row numbers of X"):
        read_split(tmp_path / "data.npz")
