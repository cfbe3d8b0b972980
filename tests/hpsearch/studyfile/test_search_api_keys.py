"""Study files and the CLI: conditional `when`, [[study.enqueue]], warm_start, --enqueue,
--warm-start, and `hpsearch validate` showing inactive parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import hpsearch as hp
from hpsearch.cli import app
from hpsearch.studyfile.reader import load_study_file

OBJECTIVE = '''
def f(params):
    value = (params["x"] - 0.3) ** 2
    if params["kind"] == "b":
        value += params["extra"]
    return value
'''

STUDY = """
[study]
name = "{name}"
strategy = "random"
n_trials = {n_trials}
seed = 0
storage = "{storage}"
{study_extra}

[objective]
kind = "python"
entry = "{entry}"

[space]
x = {{ type = "float", low = 0.0, high = 1.0 }}
kind = {{ type = "categorical", choices = ["a", "b"] }}
extra = {{ type = "float", low = 0.0, high = 1.0, when = {{ kind = ["b"] }} }}
{tail}
"""


def write(tmp_path: Path, name: str = "s", n_trials: int = 4, study_extra: str = "",
          tail: str = "") -> Path:
    entry = tmp_path / "objective.py"
    entry.write_text(OBJECTIVE)
    path = tmp_path / f"{name}.toml"
    path.write_text(STUDY.format(name=name, n_trials=n_trials, storage=tmp_path / "runs",
                                 entry=f"{entry}:f", study_extra=study_extra, tail=tail))
    return path


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_when_in_a_study_file_and_validate_shows_it(tmp_path):
    spec = load_study_file(write(tmp_path))
    assert spec.space.parents("extra") == {"kind": ("b",)}
    result = invoke("validate", write(tmp_path))
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "extra" in line)
    assert "inactive unless kind in [b]" in line


ENQUEUE = '\n[[study.enqueue]]\nx = 0.3\nkind = "a"\n\n[[study.enqueue]]\nkind = "b"\n'


def test_enqueue_tables_run_first_and_not_twice(tmp_path):
    path = write(tmp_path, n_trials=3)
    path.write_text(path.read_text() + ENQUEUE)
    assert load_study_file(path).enqueue == ({"x": 0.3, "kind": "a"}, {"kind": "b"})
    assert invoke("run", path).exit_code == 0
    study = hp.load_study(tmp_path / "runs" / "s")
    assert study.trials[0].params == {"x": 0.3, "kind": "a"}
    assert study.trials[1].params["kind"] == "b" and "extra" in study.trials[1].params
    path.write_text(path.read_text().replace("n_trials = 3", "n_trials = 5"))
    assert invoke("run", path).exit_code == 0  # resumed: the queue is not tried again
    params = [t.params for t in hp.load_study(tmp_path / "runs" / "s").trials]
    assert len(params) == 5 and params.count({"x": 0.3, "kind": "a"}) == 1


def test_bad_enqueue_is_one_line_naming_it(tmp_path):
    path = write(tmp_path)
    path.write_text(path.read_text() + '\n[[study.enqueue]]\nkind = "a"\nextra = 0.5\n')
    result = invoke("run", path)
    assert result.exit_code == 2
    assert "[[study.enqueue]] #1" in result.stderr and "'extra' is inactive" in result.stderr
    assert "Traceback" not in result.output


def test_cli_enqueue_file_and_warm_start(tmp_path):
    old = write(tmp_path, name="old", n_trials=6)
    assert invoke("run", old).exit_code == 0
    best = invoke("best", tmp_path / "runs" / "old", "--toml")
    assert best.exit_code == 0
    (tmp_path / "best.toml").write_text(best.output)
    new = write(tmp_path, name="new", n_trials=2)
    result = invoke("run", new, "--enqueue", tmp_path / "best.toml",
                    "--warm-start", tmp_path / "runs" / "old")
    assert result.exit_code == 0, result.output
    study = hp.load_study(tmp_path / "runs" / "new")
    assert study.trials[0].params == hp.load_study(tmp_path / "runs" / "old").best_params
    assert len(study.trials) == 2
    frame = study.results()
    assert (frame["source"] == str((tmp_path / "runs" / "old").resolve())).sum() == 6
    warm = tmp_path / "warm.toml"
    warm.write_text(new.read_text().replace('name = "new"', 'name = "warm"').replace(
        "seed = 0", f'seed = 0\nwarm_start = ["{tmp_path / "runs" / "old"}"]'))
    assert load_study_file(warm).warm_start == (tmp_path / "runs" / "old",)
    bad = tmp_path / "bad.toml"
    bad.write_text(warm.read_text().replace('warm_start = ["', 'warm_start = ["/nowhere'))
    result = invoke("run", bad)
    assert result.exit_code == 2 and "no study database" in result.stderr


@pytest.mark.parametrize("value", ["3", "[1]", '""'])
def test_bad_warm_start_key(tmp_path, value):
    path = write(tmp_path, study_extra=f"warm_start = {value}")
    with pytest.raises(hp.StudyFileError, match=r"\[study\].warm_start"):
        load_study_file(path)
