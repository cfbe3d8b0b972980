"""An Optuna objective (`objective(trial)` calling `trial.suggest_*`) given to hpsearch: one
clear error naming HpsearchSampler and the declared space, before the first trial when its
code can be read, and in place of "'dict' object has no attribute 'suggest_float'" otherwise."""

from __future__ import annotations

import functools
import textwrap

import pytest

import hpsearch as hp
from hpsearch.execution.objective import check_objective_style, objective_ref
from hpsearch.execution.task import TrialTask, run_trial

SPACE = {"x": hp.Float(0.0, 1.0)}


def optuna_objective(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    return (x - 0.3) ** 2


class OptunaObjective:
    def __call__(self, trial):
        return trial.suggest_int("n", 1, 3)


def test_study_refuses_it_before_the_first_trial(tmp_path):
    study = hp.Study(SPACE, seed=0, storage=str(tmp_path / "run"))
    with pytest.raises(hp.OptunaStyleObjectiveError) as caught:
        study.optimize(optuna_objective, n_trials=3)
    message = str(caught.value)
    assert "optuna_objective(trial)" in message and "trial.suggest_float" in message
    assert "HpsearchSampler" in message and "params['x']" in message
    assert isinstance(caught.value, hp.ObjectiveError)
    assert study.trials == []  # not one trial was run


@pytest.mark.parametrize("objective", [OptunaObjective(), lambda trial: trial.suggest_float(
    "x", 0, 1)])
def test_callable_instances_and_lambdas_are_recognised(objective):
    with pytest.raises(hp.OptunaStyleObjectiveError, match="suggest_"):
        check_objective_style(objective)


@pytest.mark.parametrize("objective", [
    lambda params: params["x"],
    lambda params, trial: params["x"],
    lambda trial: trial["x"],  # named trial, but reads its params: an hpsearch objective
])
def test_hpsearch_objectives_pass(objective):
    check_objective_style(objective)
    objective_ref(objective)


def test_a_file_objective_is_refused_when_loaded(tmp_path):
    path = tmp_path / "obj.py"
    path.write_text(textwrap.dedent("""
        def objective(trial):
            return trial.suggest_categorical("c", ["a", "b"]) == "a"
    """))
    with pytest.raises(hp.OptunaStyleObjectiveError, match="suggest_categorical"):
        objective_ref(f"{path}:objective")


def test_when_the_code_cannot_be_read_the_first_call_gives_the_same_error():
    hidden = functools.partial(lambda scale, trial: scale * trial.suggest_float("x", 0, 1), 2.0)
    check_objective_style(hidden)  # a partial has no code of its own to read
    outcome = run_trial(TrialTask(number=0, params={"x": 0.5}, seed=0,
                                  objective=objective_ref(hidden)))
    assert outcome.state == hp.TrialState.FAILED
    assert outcome.error.startswith("OptunaStyleObjectiveError:")
    assert "HpsearchSampler" in outcome.error and "suggest_float" in outcome.error


def test_other_attribute_errors_are_left_alone():
    def broken(params):
        return params.nope

    outcome = run_trial(TrialTask(number=0, params={"x": 0.5}, seed=0,
                                  objective=objective_ref(broken)))
    assert outcome.error.startswith("AttributeError:")


def test_hpsearch_run_of_a_study_file_naming_one_is_one_line_and_exit_2(tmp_path):
    from typer.testing import CliRunner

    from hpsearch.cli import app

    entry = tmp_path / "objective.py"
    entry.write_text("def f(trial):\n    return trial.suggest_float('x', 0, 1)\n")
    path = tmp_path / "s.toml"
    path.write_text(textwrap.dedent(f"""
        [study]
        name = "s"
        strategy = "gp"
        n_trials = 3
        storage = "{tmp_path / 'runs'}"

        [objective]
        kind = "python"
        entry = "{entry}:f"

        [space]
        x = {{ type = "float", low = 0.0, high = 1.0 }}
    """))
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert "[objective].entry" in result.output and "HpsearchSampler" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs" / "s").exists() or hp.load_study(
        tmp_path / "runs" / "s").trials == []
