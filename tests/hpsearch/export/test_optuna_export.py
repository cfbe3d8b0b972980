"""Export to Optuna: distributions, states, values, intermediate reports and metrics survive a
round trip through an Optuna SQLite storage; name clashes are a clear error (exit 2)."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from typer.testing import CliRunner

import hpsearch as hp
from hpsearch.cli import app
from hpsearch.export.optuna import export_to_optuna, optuna_distributions, optuna_trials
from hpsearch.trial import FrozenTrial, TrialState

SPACE = {"x": hp.Float(1e-3, 1.0, log=True), "width": hp.Int(4, 64, log=True),
         "kind": hp.Categorical(["a", "b", "c"])}
runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, objective_file):
    """Trials that complete, fail (odd numbers) and carry metrics."""
    folder = tmp_path_factory.mktemp("export") / "runs" / "mixed"
    study = hp.Study(SPACE, direction="minimize", strategy="random", seed=0, storage=folder)
    study.optimize(objective_file("raises_on_odd"), n_trials=6)
    return folder


def test_distributions_mapping():
    space = hp.Space({"lr": hp.Float(1e-4, 1e-1, log=True), "drop": hp.Float(0.0, 0.5, step=0.1),
                      "units": hp.Int(8, 512, log=True), "layers": hp.Int(1, 7, step=2),
                      "act": hp.Categorical(["relu", "tanh"])})
    got = optuna_distributions(space)
    assert got["lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert got["drop"] == FloatDistribution(0.0, 0.5, step=0.1)
    assert got["units"] == IntDistribution(8, 512, log=True)
    assert got["layers"] == IntDistribution(1, 7, step=2)
    assert got["act"] == CategoricalDistribution(["relu", "tanh"])


def test_state_mapping():
    space = hp.Space(SPACE)
    params = {"x": 0.1, "width": 8, "kind": "b"}
    trials = [
        FrozenTrial(0, params, TrialState.COMPLETE, 11, value=0.5, metrics={"val_loss": 0.7},
                    intermediate={1: 0.9, 2: 0.5}, started_at=1.7e9, finished_at=1.7e9 + 3),
        FrozenTrial(1, params, TrialState.PRUNED, 12, value=0.8, intermediate={1: 0.8}),
        FrozenTrial(2, params, TrialState.FAILED, 13, error="Traceback...\nValueError: boom"),
        FrozenTrial(3, params, TrialState.INTERRUPTED, 14),
        FrozenTrial(4, params, TrialState.RUNNING, 15),
        FrozenTrial(5, params, TrialState.PRUNED, 16, intermediate={0: float("nan")}),
    ]
    converted, skipped = optuna_trials(trials, space)
    assert skipped == (4,)
    states = [t.state for t in converted]
    S = optuna.trial.TrialState
    assert states == [S.COMPLETE, S.PRUNED, S.FAIL, S.FAIL, S.PRUNED]
    assert [t.value for t in converted] == [0.5, 0.8, None, None, None]
    assert converted[0].intermediate_values == {1: 0.9, 2: 0.5}
    assert converted[4].intermediate_values == {}  # NaN reports dropped
    assert converted[0].user_attrs == {"val_loss": 0.7, "hpsearch_number": 0,
                                       "hpsearch_seed": 11, "hpsearch_state": "complete"}
    assert converted[2].user_attrs["hpsearch_error"] == "ValueError: boom"
    assert converted[3].user_attrs["hpsearch_state"] == "interrupted"
    # the recorded start and end times are copied, not re-stamped
    assert converted[0].datetime_start.timestamp() == pytest.approx(1.7e9)
    assert converted[0].datetime_complete.timestamp() == pytest.approx(1.7e9 + 3)
    assert converted[0].params == params


def test_export_round_trip_through_sqlite(run_dir, tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    done = export_to_optuna(run_dir, url)
    assert (done.study_name, done.added, done.skipped) == ("mixed", 6, ())
    loaded = optuna.load_study(study_name="mixed", storage=url)
    ours = hp.load_study(run_dir)
    assert loaded.direction == optuna.study.StudyDirection.MINIMIZE
    assert len(loaded.trials) == 6
    by_number = {t.user_attrs["hpsearch_number"]: t for t in loaded.trials}
    for trial in ours.trials:
        theirs = by_number[trial.number]
        assert theirs.params == dict(trial.params)
        expected = "COMPLETE" if trial.state is TrialState.COMPLETE else "FAIL"
        assert theirs.state.name == expected
        if trial.value is not None:
            assert math.isclose(theirs.value, trial.value)
    assert isinstance(loaded.trials[0].distributions["width"], IntDistribution)
    assert loaded.best_trial.params == ours.best_params
    assert loaded.best_value == pytest.approx(ours.best_value)


def test_pruned_trials_keep_their_reports(tmp_path, objective_file):
    folder = tmp_path / "runs" / "pruned"
    study = hp.Study({"x": hp.Float(0.0, 1.0)}, direction="minimize", strategy="random",
                     seed=3, storage=folder, pruner=hp.ThresholdPruner(0.5))
    study.optimize(objective_file("pruned_above_5"), n_trials=6)
    ours = {t.number: t for t in study.trials}
    assert {t.state for t in ours.values()} == {TrialState.COMPLETE, TrialState.PRUNED}
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    export_to_optuna(folder, url, study_name="with pruning")
    loaded = optuna.load_study(study_name="with pruning", storage=url)
    for theirs in loaded.trials:
        trial = ours[theirs.user_attrs["hpsearch_number"]]
        assert theirs.state.name == ("PRUNED" if trial.state is TrialState.PRUNED
                                     else "COMPLETE")
        assert theirs.intermediate_values == dict(trial.intermediate)


def test_cli_existing_name_needs_overwrite(run_dir, tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    first = runner.invoke(app, ["export-optuna", str(run_dir), url, "--study-name", "s1"])
    assert first.exit_code == 0, first.output
    assert "created Optuna study 's1'" in first.output and "with 6 trials" in first.output
    again = runner.invoke(app, ["export-optuna", str(run_dir), url, "--study-name", "s1"])
    assert again.exit_code == 2
    assert again.stderr.count("\n") == 1 and "already exists" in again.stderr
    assert "--overwrite" in again.stderr
    replaced = runner.invoke(app, ["export-optuna", str(run_dir), url, "--study-name", "s1",
                                   "--overwrite"])
    assert replaced.exit_code == 0 and "replaced" in replaced.output
    assert len(optuna.load_study(study_name="s1", storage=url).trials) == 6  # not 12


def test_cli_bad_inputs(run_dir, tmp_path):
    missing = runner.invoke(app, ["export-optuna", str(tmp_path / "nowhere"), "sqlite://"])
    assert missing.exit_code == 2 and "no such run folder" in missing.stderr
    bad_url = runner.invoke(app, ["export-optuna", str(run_dir),
                                  f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"])
    assert bad_url.exit_code == 2
    assert "not a usable Optuna storage" in bad_url.stderr
    nonsense = runner.invoke(app, ["export-optuna", str(run_dir), "nosuchdialect://x"])
    assert nonsense.exit_code == 2 and "not a usable Optuna storage" in nonsense.stderr
