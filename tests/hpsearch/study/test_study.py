"""The study loop: in-memory runs, failures, callbacks, timeout, pruning, parallelism."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.study.seeds import trial_seed
from hpsearch.testing.benchmarks import branin, branin_space

SPACE = {"x": hp.Float(0.0, 10.0)}


def test_import_hpsearch_stays_light():
    code = ("import sys, hpsearch; heavy = [m for m in ('pandas', 'optuna', 'skopt', 'sklearn')"
            " if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_issue_example_in_memory():
    space = {"x": hp.Float(-5, 10), "y": hp.Float(0, 15, log=False),
             "units": hp.Int(16, 512, log=True), "act": hp.Categorical(["relu", "tanh"])}
    study = hp.Study(space, direction="minimize", strategy="tpe", seed=0, storage=None)
    study.optimize(lambda p: branin(p) + (p["act"] == "tanh") + p["units"] / 512, n_trials=12)
    frame = study.results()
    assert list(frame["number"]) == list(range(12))
    assert {"number", "state", "value", "params_x", "params_units", "params_act", "seed",
            "duration_s", "error", "started_at", "finished_at"} <= set(frame.columns)
    assert set(frame["state"]) == {"complete"}
    assert study.best_value == frame["value"].min()
    assert study.best_params == dict(study.best_trial.params)
    assert study.path is None


def test_space_given_as_plain_dicts():
    study = hp.Study({"x": {"type": "float", "low": 0, "high": 1},
                      "k": {"type": "categorical", "choices": ["a", "b"]}}, seed=0)
    study.optimize(lambda p: p["x"], n_trials=3)
    assert len(study.trials) == 3


def test_trial_seeds_come_from_seed_sequence_spawn():
    study = hp.Study(SPACE, seed=42)
    study.optimize(lambda p, trial: float(trial.seed), n_trials=3)
    children = np.random.SeedSequence(42).spawn(3)
    for trial, child in zip(study.trials, children, strict=True):
        assert trial.seed == int(child.generate_state(1)[0]) == trial_seed(42, trial.number)
        assert trial.value == float(trial.seed)


def test_n_trials_is_the_study_total():
    study = hp.Study(SPACE, seed=0)
    study.optimize(lambda p: p["x"], n_trials=3)
    study.optimize(lambda p: p["x"], n_trials=5)
    assert len(study.trials) == 5


def test_raising_and_nan_objectives_give_failed_rows(objective_file):
    study = hp.Study(SPACE, seed=0)
    study.optimize(objective_file("raises_on_odd"), n_trials=4)
    frame = study.results()
    assert list(frame["state"]) == ["complete", "failed", "complete", "failed"]
    assert "ValueError: odd trial 1" in frame["error"][1]
    assert "raise ValueError" in frame["error"][1]  # the traceback
    assert math.isnan(frame["value"][1])

    study = hp.Study(SPACE, seed=0, max_consecutive_failures=None)
    with pytest.raises(hp.AllTrialsFailed, match="objective returned value nan"):
        study.optimize(objective_file("nan_objective"), n_trials=2)
    assert [t.state for t in study.trials] == [hp.TrialState.FAILED] * 2
    assert "nan" in study.trials[0].error


def test_consecutive_failures_stop_the_study(objective_file):
    study = hp.Study(SPACE, seed=0, max_consecutive_failures=3)
    with pytest.raises(hp.StudyError, match="3 trials failed in a row; last error: Runtime"):
        study.optimize(objective_file("always_raises"), n_trials=10)
    assert len(study.trials) == 3
    with pytest.raises(hp.StudyError, match="no complete trial"):
        _ = study.best_trial


def test_non_number_result_fails_the_trial():
    study = hp.Study(SPACE, seed=0)
    with pytest.raises(hp.AllTrialsFailed):
        study.optimize(lambda p: "not a number", n_trials=1)
    assert "ObjectiveError" in study.trials[0].error


def test_result_with_metrics_and_artifacts_in_memory(objective_file):
    study = hp.Study(SPACE, seed=0)
    study.optimize(objective_file("with_artifacts"), n_trials=2)
    trial = study.trials[1]
    assert trial.metrics == {"twice": 2 * trial.params["x"]}
    arrays = study.artifacts(1)
    assert arrays["weights"].shape == (3, 2)
    np.testing.assert_array_equal(arrays["weights"],
                                  np.random.default_rng(trial.seed).normal(size=(3, 2)))
    assert "metrics_twice" in study.results().columns


def test_callbacks_see_every_finished_trial():
    seen = []
    study = hp.Study(SPACE, seed=0)
    study.optimize(lambda p: p["x"], n_trials=4,
                   callbacks=[lambda s, t: seen.append((s is study, t.number, str(t.state)))])
    assert seen == [(True, n, "complete") for n in range(4)]


def test_timeout_stops_new_trials(objective_file, monkeypatch):
    monkeypatch.setenv("HPSEARCH_TEST_SLEEP", "0.1")
    study = hp.Study(SPACE, seed=0)
    study.optimize(objective_file("sleepy"), n_trials=1000, timeout=0.35)
    trials = study.trials
    assert 1 <= len(trials) < 1000
    first = trials[0].started_at
    # No trial started after the timeout (the last one may finish after it).
    assert all(t.started_at - first < 0.35 + 0.05 for t in trials)


def test_grid_stops_when_exhausted(caplog):
    space = {"a": hp.Int(0, 2), "b": hp.Categorical(["u", "v"])}
    study = hp.Study(space, strategy="grid", seed=0)
    with caplog.at_level("INFO", logger="hpsearch"):
        study.optimize(lambda p: p["a"], n_trials=50)
    params = [tuple(t.params.values()) for t in study.trials]
    assert sorted(params) == sorted((a, b) for a in range(3) for b in "uv")
    assert "exhausted" in caplog.text


def test_grid_without_grid_points_is_refused_at_construction():
    with pytest.raises(hp.StrategyError, match="grid_points"):
        hp.Study({"x": hp.Float(0, 1)}, strategy="grid")


def test_bad_strategy_name_and_options_are_named():
    with pytest.raises(hp.StrategyError, match="valid strategies: grid, random"):
        hp.Study(SPACE, strategy="anneal")
    with pytest.raises(hp.StrategyError, match="unknown option.*bogus.*n_startup_trials"):
        hp.Study(SPACE, strategy="tpe", strategy_options={"bogus": 1})


def test_objective_defined_in_a_file_outside_the_working_directory(objective_file, tmp_path):
    study = hp.Study(SPACE, seed=0)
    study.optimize(objective_file("quadratic"), n_trials=2, n_jobs=2)
    assert all(t.value == pytest.approx(t.params["x"] ** 2) for t in study.trials)
    loaded = hp.load_objective(objective_file("quadratic"))
    study.optimize(loaded, n_trials=4, n_jobs=2)  # a loaded callable travels by path
    assert [str(t.state) for t in study.trials] == ["complete"] * 4


def test_bad_objective_spec_is_an_objective_error(tmp_path):
    with pytest.raises(hp.ObjectiveError, match="does not exist"):
        hp.Study(SPACE).optimize(f"{tmp_path}/missing.py:f", n_trials=1)
    with pytest.raises(hp.ObjectiveError, match="no callable"):
        hp.Study(SPACE).optimize("hpsearch.testing.benchmarks:nothing", n_trials=1)


def _module_level_objective(params):
    return params["x"] + 1


def test_objective_from_a_test_module_runs_on_workers():
    study = hp.Study(SPACE, seed=0)
    study.optimize(_module_level_objective, n_trials=2, n_jobs=2)
    assert [t.value for t in study.trials] == [t.params["x"] + 1 for t in study.trials]


def test_random_params_do_not_depend_on_n_jobs(objective_file):
    runs = []
    for n_jobs in (1, 2):
        study = hp.Study(SPACE, strategy="random", seed=3)
        study.optimize(objective_file("quadratic"), n_trials=6, n_jobs=n_jobs)
        runs.append([(t.number, t.params["x"], t.seed) for t in study.trials])
    assert runs[0] == runs[1]


def test_two_workers_really_run_at_once(objective_file, monkeypatch):
    monkeypatch.setenv("HPSEARCH_TEST_SLEEP", "0.5")
    study = hp.Study(SPACE, seed=0)
    study.optimize(objective_file("sleepy"), n_trials=4, n_jobs=2)
    trials = study.trials
    overlapping = [(a.number, b.number) for a in trials for b in trials if a.number < b.number
                   and a.started_at < b.finished_at and b.started_at < a.finished_at]
    assert overlapping


def test_killed_worker_fails_only_its_own_trial(objective_file):
    study = hp.Study(SPACE, seed=0)
    study.optimize(objective_file("dies_on_3"), n_trials=8, n_jobs=2)
    states = {t.number: str(t.state) for t in study.trials}
    assert states == {n: "failed" if n == 3 else "complete" for n in range(8)}
    assert "worker process died" in study.trials[3].error


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_stub_pruner_prunes_through_the_report_channel(objective_file, n_jobs):
    study = hp.Study(SPACE, seed=0, pruner=hp.ThresholdPruner(threshold=5.0, min_step=2))
    study.optimize(objective_file("pruned_above_5"), n_trials=8, n_jobs=n_jobs)
    states = {str(t.state) for t in study.trials}
    assert states == {"pruned", "complete"}
    for trial in study.trials:
        if trial.params["x"] > 5.0:
            assert trial.state is hp.TrialState.PRUNED
            assert sorted(trial.intermediate) == [0, 1, 2]
            assert trial.value == trial.intermediate[2]
        else:
            assert trial.state is hp.TrialState.COMPLETE
            assert sorted(trial.intermediate) == [0, 1, 2, 3, 4]
    assert "pruned" in set(study.results()["state"])


def test_without_pruner_reports_are_kept_and_nothing_is_pruned(objective_file):
    study = hp.Study(SPACE, seed=0)
    study.optimize(objective_file("pruned_above_5"), n_trials=3, n_jobs=2)
    assert all(str(t.state) == "complete" and len(t.intermediate) == 5 for t in study.trials)


def test_tpe_beats_random_on_branin_within_30_evaluations():
    best = {}
    for name in ("tpe", "random"):
        values = []
        for seed in range(5):
            study = hp.Study(branin_space(), strategy=name, seed=seed)
            study.optimize(branin, n_trials=30)
            values.append(study.best_value)
        best[name] = statistics.median(values)
    assert best["tpe"] < best["random"]


def test_maximize_picks_the_largest_value():
    study = hp.Study(SPACE, direction="maximize", seed=0)
    study.optimize(lambda p: p["x"], n_trials=5)
    assert study.best_value == max(t.value for t in study.trials)
    assert study.results(best_first=True)["value"].iloc[0] == study.best_value


def test_bad_arguments_are_study_errors():
    with pytest.raises(hp.StudyError, match="direction"):
        hp.Study(SPACE, direction="down")
    with pytest.raises(hp.StudyError, match="n_jobs"):
        hp.Study(SPACE).optimize(lambda p: 0.0, n_trials=1, n_jobs=0)
    with pytest.raises(hp.SpaceError):
        hp.Study({"x": hp.Float(0, 1), "y": "nonsense"})


def test_keyboard_interrupt_marks_running_trials_interrupted():
    def objective(params, trial):
        if trial.number == 2:
            raise KeyboardInterrupt
        return params["x"]

    study = hp.Study(SPACE, seed=0)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=5)
    assert [str(t.state) for t in study.trials] == ["complete", "complete", "interrupted"]
    study.optimize(lambda p: p["x"], n_trials=5)
    trials = study.trials
    assert [str(t.state) for t in trials] == ["complete"] * 5
    assert trials[2].seed == trial_seed(study.seed, 2)


def test_pid_of_worker_differs_from_driver(objective_file):
    study = hp.Study(SPACE, seed=0)
    study.optimize(lambda p: float(os.getpid()), n_trials=1, n_jobs=2)
    assert study.trials[0].value != float(os.getpid())


def test_objective_defined_in_main_runs_on_workers(tmp_path):
    script = tmp_path / "main_objective.py"
    script.write_text(
        "import hpsearch as hp\n"
        "def objective(params):\n"
        "    return params['x'] * 2\n"
        "if __name__ == '__main__':\n"
        "    study = hp.Study({'x': hp.Float(0, 1)}, seed=0)\n"
        "    study.optimize(objective, n_trials=3, n_jobs=2)\n"
        "    print(sorted({str(t.state) for t in study.trials}))\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['complete']"
