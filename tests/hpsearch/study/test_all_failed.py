"""`optimize()` says when nothing worked or nothing ran: a call that ends with every trial of
the study failed raises `hp.AllTrialsFailed` (a `StudyError`) naming the last error and where
its traceback is; a call with nothing to run (n_trials is the study's total of finished
trials) logs a warning that says so and how to run more."""

from __future__ import annotations

import logging

import pytest

import hpsearch as hp

SPACE = {"x": hp.Float(0.0, 1.0)}


def broken(params):
    raise RuntimeError("kaput: the objective is broken")


def test_every_trial_failed_raises_with_the_last_error(tmp_path):
    study = hp.Study(SPACE, seed=0, storage=tmp_path / "boom")
    with pytest.raises(hp.AllTrialsFailed) as caught:
        study.optimize(broken, n_trials=3)
    assert isinstance(caught.value, hp.StudyError)
    assert str(caught.value) == (
        "every trial failed (3 trials); last error: RuntimeError: kaput: the objective is "
        f"broken (trial 2; its traceback: hpsearch results {study.path} --trial 2)")
    assert [t.state for t in study.trials] == ["failed"] * 3  # stored all the same
    assert "in broken" in study.trials[2].error


def test_in_memory_study_points_at_the_trial():
    study = hp.Study(SPACE, seed=0)
    with pytest.raises(hp.AllTrialsFailed, match=r"its traceback: study\.trials\[[01]\]\.error"):
        study.optimize(broken, n_trials=2, n_jobs=2)


def test_a_complete_or_pruned_trial_means_no_error():
    study = hp.Study(SPACE, seed=0)
    study.optimize(lambda p: p["x"], n_trials=1)
    study.optimize(broken, n_trials=3)  # trial 0 is complete: these failures only log
    assert [t.state for t in study.trials] == ["complete", "failed", "failed"]

    def pruned(params):
        raise hp.TrialPruned()

    hp.Study(SPACE, seed=0).optimize(pruned, n_trials=2)


def test_nothing_to_run_is_a_warning_saying_why(caplog):
    study = hp.Study(SPACE, seed=0)
    study.optimize(lambda p: p["x"], n_trials=5)
    with caplog.at_level(logging.INFO, logger="hpsearch"):
        study.optimize(lambda p: p["x"], n_trials=5)
    assert len(study.trials) == 5
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "nothing to do: 5 of n_trials = 5 trials are already finished (n_trials counts the "
        "study's finished trials, earlier runs included); raise n_trials (--n-trials) to run "
        "more, e.g. 10 for 5 more"]
    study.optimize(lambda p: p["x"], n_trials=10)  # as the warning says
    assert len(study.trials) == 10


def test_too_many_failures_points_at_the_traceback(tmp_path):
    study = hp.Study(SPACE, seed=0, storage=tmp_path / "boom", max_consecutive_failures=2)
    with pytest.raises(hp.TooManyFailuresError, match=(
            r"^2 trials failed in a row; last error: RuntimeError: kaput: the objective is "
            r"broken \(trial 1; its traceback: hpsearch results .*boom --trial 1\)$")):
        study.optimize(broken, n_trials=5)
