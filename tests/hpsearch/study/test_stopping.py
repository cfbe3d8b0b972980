"""Study-level early stopping: no improvement for N trials, StopStudy, study.stop, timeout."""

from __future__ import annotations

import textwrap

import pytest

import hpsearch as hp
from hpsearch.study.stopping import trials_since_improvement
from hpsearch.studyfile import runner
from hpsearch.studyfile.reader import load_study_file
from hpsearch.trial import FrozenTrial, TrialState


def finished(number: int, value: float | None, state: TrialState = TrialState.COMPLETE,
             at: float | None = None) -> FrozenTrial:
    return FrozenTrial(number, {}, state, 0, value=value,
                       finished_at=float(number) if at is None else at)


def test_trials_since_improvement_counts_in_finishing_order():
    trials = [finished(0, 5.0), finished(1, 4.0), finished(2, 4.5),
              finished(3, None, TrialState.FAILED), finished(4, 1.0, TrialState.PRUNED)]
    # The best (4.0, trial 1) was last improved at trial 1; 3 trials finished since.
    assert trials_since_improvement(trials, "minimize") == 3
    assert trials_since_improvement(trials, "maximize") == 4  # 5.0 first, never beaten
    # Trial 2 finished last: it is counted after trial 4.
    reordered = [*trials[:2], finished(2, 3.0, at=10.0), *trials[3:]]
    assert trials_since_improvement(reordered, "minimize") == 0
    # min_delta: 4.0 does not beat 5.0 by more than 1.5.
    assert trials_since_improvement(trials, "minimize", min_delta=1.5) == 4
    assert trials_since_improvement([finished(0, None, TrialState.FAILED)], "minimize") == 1
    running = FrozenTrial(9, {}, TrialState.RUNNING, 0)
    assert trials_since_improvement([*trials, running], "minimize") == 3


def values_of(values):
    def objective(params, trial):
        return values[trial.number]
    return objective


def test_no_improvement_stop_ends_the_study():
    # Improves at trials 0, 1, 3; then 4 trials without improvement -> stops after trial 7.
    values = [5.0, 4.0, 4.5, 3.0, 3.5, 3.2, 9.0, 3.1, 0.0, 0.0, 0.0]
    study = hp.Study({"x": hp.Float(0, 1)}, strategy="random", seed=0)
    study.optimize(values_of(values), n_trials=len(values), callbacks=[hp.NoImprovementStop(4)])
    assert len(study.trials) == 8 and study.best_value == 3.0
    assert study.stop_reason == "no improvement in the last 4 finished trials"
    # A new optimize call goes on: trial 8 improves, trial 9 does not -> stop after it.
    study.optimize(values_of(values), n_trials=len(values), callbacks=[hp.NoImprovementStop(1)])
    assert len(study.trials) == 10 and study.best_value == 0.0


def test_stop_study_from_a_callback_lets_running_trials_finish(tmp_path, objective_file):
    def stop_after_two(study, trial):
        if sum(t.state.is_finished for t in study.trials) >= 2:
            raise hp.StopStudy("enough")

    study = hp.Study({"x": hp.Float(0, 1)}, strategy="random", seed=0, storage=tmp_path / "r")
    study.optimize(objective_file("sleepy"), n_trials=20, n_jobs=2,
                   callbacks=[stop_after_two])
    states = [t.state for t in study.trials]
    # The other worker's trial was running when the stop came: it finished and was recorded.
    assert 2 <= len(states) <= 3 and all(s is TrialState.COMPLETE for s in states)
    assert study.stop_reason == "enough"
    table = hp.load_study(tmp_path / "r").results()
    assert len(table) == len(states) and (tmp_path / "r" / "trials.csv").exists()
    # Resuming goes on from there.
    study.optimize(objective_file("sleepy"), n_trials=4, n_jobs=2)
    assert len(study.trials) == 4 and study.stop_reason is None


def test_study_stop_method_from_a_callback():
    study = hp.Study({"x": hp.Float(0, 1)}, strategy="random", seed=0)
    study.optimize(lambda p: p["x"], n_trials=10,
                   callbacks=[lambda s, t: s.stop("by hand") if t.number == 2 else None])
    assert len(study.trials) == 3 and study.stop_reason == "by hand"


def test_no_improvement_stop_checks_its_arguments():
    with pytest.raises(ValueError):
        hp.NoImprovementStop(0)
    with pytest.raises(ValueError):
        hp.NoImprovementStop(3, min_delta=-1.0)


def test_study_file_stop_after_no_improvement(tmp_path, python_study):
    (tmp_path / "flat.py").write_text(textwrap.dedent('''
        def f(params):
            return 1.0
    '''))
    path = python_study(tmp_path / "s.toml", f"{tmp_path / 'flat.py'}:f", n_trials=50,
                        stop_after_no_improvement=3)
    study = runner.run(load_study_file(path))
    # Trial 0 sets the best; trials 1-3 do not beat it.
    assert len(study.trials) == 4 and "no improvement" in study.stop_reason
