"""Item 1 of issue 20: tables that fit an 80-column terminal, hide what says nothing, and let
the user choose columns and a descending sort."""

from __future__ import annotations

import json

from tests.hpsearch.cli.conftest import invoke


def table_lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.strip()]


def test_table_fits_80_columns_and_hides_constant_and_empty_columns(wide_run):
    result = invoke("results", wide_run)
    assert result.exit_code == 0, result.output
    lines = table_lines(result)
    assert len(lines) == 2 + 6  # header, rule, one line per trial: nothing wraps
    assert max(len(line) for line in lines) <= 80
    header = lines[0].split()
    assert header[:3] == ["trial", "value", "learning_rate"]  # the value, then the params
    for hidden in ("epochs", "source", "error", "seed", "state"):
        assert hidden not in header
    assert "epochs (3 in every row)" in result.stderr and "source (empty)" in result.stderr
    assert "not shown at 80 columns" in result.stderr and "--all" in result.stderr


def test_columns_all_and_descending_sort(wide_run):
    result = invoke("results", wide_run, "--columns", "trial,hidden_size,seed",
                    "--sort", "-hidden_size")
    assert result.exit_code == 0, result.output
    lines = table_lines(result)
    assert lines[0].split() == ["trial", "hidden_size", "seed"]
    sizes = [int(line.split()[1]) for line in lines[2:]]
    assert sizes == sorted(sizes, reverse=True) and len(sizes) == 6
    ascending = invoke("results", wide_run, "--sort", "hidden_size", "--columns",
                       "hidden_size", "--format", "csv")
    values = [int(v) for v in ascending.stdout.split()[1:]]
    assert values == sorted(values)

    everything = invoke("results", wide_run, "--all", width=400)
    header = table_lines(everything)[0].split()
    assert {"epochs", "seed", "started_at", "finished_at", "source", "state"} <= set(header)
    assert "hidden:" not in everything.stderr

    long_cells = invoke("results", wide_run, "--columns", "trial,started_at,a key with spaces",
                        width=30)
    assert max(len(line) for line in table_lines(long_cells)) <= 30


def test_unknown_column_is_one_line_and_exit_2(wide_run):
    for args in (("--columns", "trial,nonsense"), ("--sort", "-nonsense")):
        result = invoke("results", wide_run, *args)
        assert result.exit_code == 2, result.output
        assert "nonsense" in result.stderr and "learning_rate" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_end_of_run_table_fits_80_columns(study_file, tmp_path):
    result = invoke("run", study_file(name="again"))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if str(tmp_path) not in line]
    assert len(lines) > 8 and max(len(line) for line in lines) <= 80


def test_json_holds_every_column_and_exact_floats(wide_run):
    import pandas as pd

    rows = json.loads(invoke("results", wide_run, "--format", "json").stdout)
    frame = pd.read_parquet(wide_run / "trials.parquet").sort_values("number")
    by_number = {row["number"]: row for row in rows}
    for _, expected in frame.iterrows():
        row = by_number[int(expected["number"])]
        assert row["value"] == expected["value"]  # every bit: no rounding to 10 decimals
        assert row["params_learning_rate"] == expected["params_learning_rate"]
        assert row["started_at"].endswith("+00:00")
    assert set(rows[0]) == set(frame.columns)
