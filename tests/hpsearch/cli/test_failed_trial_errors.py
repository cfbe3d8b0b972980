"""A failed trial's error can be read whole from `hpsearch results`: `--columns error` shows
each error's type, message and traceback (not cut at 28 characters), `--trial N` shows one
trial with its whole error text, and the stored text is the traceback from the objective's own
frame down (the worker's frames left out, the chained cause kept)."""

from __future__ import annotations

import json

import pytest

import hpsearch as hp
from tests.hpsearch.cli.conftest import invoke

MESSAGE = "the learning rate diverged after a rather long while of training"


def load_batch(number: int) -> float:
    try:
        return {}["batch"]
    except KeyError as err:
        raise RuntimeError(f"{MESSAGE} (trial {number})") from err


def objective(params, trial):
    if trial.number % 2:
        return load_batch(trial.number)
    return params["x"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("errors") / "runs" / "failing"
    hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0, storage=run_dir).optimize(objective, n_trials=4)
    return run_dir


def test_the_stored_error_is_the_objectives_traceback_with_its_cause(run_dir):
    error = hp.load_study(run_dir).trials[1].error
    lines = error.splitlines()
    assert lines[0] == f"RuntimeError: {MESSAGE} (trial 1)"
    assert "KeyError: 'batch'" in error  # the chained cause
    assert "direct cause of the following exception" in error
    assert "in load_batch" in error and "in objective" in error
    assert "hpsearch/execution" not in error  # the worker's own frames say nothing


@pytest.mark.parametrize("width", [80, 120])
def test_columns_error_shows_whole_errors(run_dir, width):
    result = invoke("results", run_dir, "--columns", "trial,state,error", "--sort", "trial",
                    width=width)
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= width
    text = " ".join(result.stdout.split())  # the wrapped cells joined again
    assert text.count("Traceback (most recent call last):") == 4  # two trials, cause each
    assert text.count("in load_batch") == 4 and text.count("in objective") == 2
    for number in (1, 3):
        assert " ".join(f"RuntimeError: {MESSAGE} (trial {number})".split()) in text


def test_one_trial_with_its_whole_traceback(run_dir):
    result = invoke("results", run_dir, "--trial", "3")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0].split() == ["trial", "3"]
    assert "state" in out and "failed" in out
    error = out[out.index("\nerror\n") + len("\nerror\n"):]
    assert error.strip() == hp.load_study(run_dir).trials[3].error.strip()
    record = json.loads(invoke("results", run_dir, "--trial", "3", "--format", "json").stdout)
    assert [r["number"] for r in record] == [3] and MESSAGE in record[0]["error"]


def test_an_unknown_trial_is_one_line_and_exit_2(run_dir):
    result = invoke("results", run_dir, "--trial", "9")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"hpsearch: error: --trial 9: {run_dir} has no trial 9 (trials 0 to 3)"]
