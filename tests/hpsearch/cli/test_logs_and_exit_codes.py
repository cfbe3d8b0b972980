"""Items 2, 4 and 8 of issue 20: one log line per finished trial when stderr is not a
terminal (and from the library), -v/-q, the start line of a run or resume, and exit codes."""

from __future__ import annotations

import logging
import re

import pandas as pd

import hpsearch as hp
from tests.hpsearch.cli.conftest import invoke

TRIAL_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (warning: )?trial (\d+) "
                        r"(complete|failed): .*; (best \S+ \(trial \d+\)|no complete trial yet)"
                        r"; \d+\.\d\d s$")


def trial_lines(stderr: str) -> list[re.Match]:
    return [m for m in map(TRIAL_LINE.match, stderr.splitlines()) if m]


def test_non_terminal_run_logs_one_line_per_trial(study_file):
    result = invoke("run", study_file(n_trials=5, failing=True))
    assert result.exit_code == 0, result.output
    lines = trial_lines(result.stderr)
    assert sorted(int(m.group(2)) for m in lines) == [0, 1, 2, 3, 4]
    failed = [m.group(0) for m in lines if m.group(3) == "failed"]
    assert all("ValueError: the broken optimizer diverged" in line for line in failed)
    assert "starting: 5 trials to run" in result.stderr
    assert "━" not in result.stderr  # no progress bar in a log

    quiet = invoke("-q", "run", study_file(n_trials=7, failing=True))
    assert quiet.exit_code == 0 and all(m.group(3) == "failed" for m in
                                        trial_lines(quiet.stderr))
    assert "resuming" not in quiet.stderr
    verbose = invoke("run", study_file(n_trials=8, failing=True), "-vv")
    assert "params: {" in verbose.stderr and len(trial_lines(verbose.stderr)) == 1


def test_resume_and_nothing_to_do_say_so(study_file, tmp_path):
    path = study_file(n_trials=3)
    assert invoke("run", path).exit_code == 0
    again = invoke("run", path, "--n-trials", "5")
    assert "resuming: 3 finished trials kept, 0 interrupted trials run again, 2 new" in \
        again.stderr
    done = invoke("run", path, "--n-trials", "5")
    assert done.exit_code == 0
    assert "nothing to do: 5 of n_trials = 5 trials are already finished" in done.stderr
    assert not trial_lines(done.stderr)


def test_more_workers_than_cores_is_said(study_file):
    result = invoke("run", study_file(n_trials=2), "--n-jobs", "64")
    assert result.exit_code == 0, result.output
    assert re.search(r"n_jobs=64 .*cores", result.stderr), result.stderr


def test_library_logs_each_trial_under_the_hpsearch_logger(caplog):
    study = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0)
    with caplog.at_level(logging.INFO, logger="hpsearch"):
        study.optimize(lambda p: p["x"], n_trials=3)
    records = [r for r in caplog.records if r.name == "hpsearch.trials"]
    assert [r.getMessage().split(":")[0] for r in records] == [
        "trial 0 complete", "trial 1 complete", "trial 2 complete"]
    assert all("best" in r.getMessage() for r in records)


def test_show_progress_draws_a_bar_and_counts_busy_workers(capsys, tmp_path):
    study = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0, storage=tmp_path / "bar")
    study.optimize(lambda p: p["x"], n_trials=3, show_progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "best" in err and "running 0" in err


def test_every_trial_failed_exits_1_with_the_last_error_on_one_line(study_file, tmp_path):
    result = invoke("run", study_file(name="boom", n_trials=3, entry="always_fails"))
    assert result.exit_code == 1, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last == ("hpsearch: error: every trial failed (3 trials); last error: "
                    "RuntimeError: kaput: the objective is broken (trial 2; its traceback: "
                    f"hpsearch results {tmp_path / 'runs' / 'boom'} --trial 2)")
    assert "Traceback" not in result.stderr


def test_failures_in_a_row_exit_1_and_keep_the_traceback_in_the_table(study_file, tmp_path):
    extra = "max_consecutive_failures = 2\n"
    result = invoke("run", study_file(name="row", n_trials=10, entry="always_fails",
                                      extra=extra))
    assert result.exit_code == 1, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("hpsearch: error: 2 trials failed in a row; last error: "
                           "RuntimeError: kaput: the objective is broken")
    assert "Traceback" not in result.stderr and 'File "' not in result.stderr
    table = pd.read_csv(tmp_path / "runs" / "row" / "trials.csv")
    assert "Traceback" in table["error"][0] or "raise RuntimeError" in table["error"][0]


def test_user_mistake_exits_2_and_ctrl_c_130(study_file, tmp_path):
    (tmp_path / "bad.toml").write_text("[study]\nstrategy = 'random'\n")
    assert invoke("run", tmp_path / "bad.toml").exit_code == 2
    (tmp_path / "objective.py").write_text(
        (tmp_path / "objective.py").read_text()
        + "\n\ndef interrupts(params):\n    raise KeyboardInterrupt\n")
    result = invoke("run", study_file(name="ctrl", entry="interrupts"))
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.stderr


def test_progress_line_counts_every_busy_worker(monkeypatch, objective_file, tmp_path):
    import hpsearch.study.loop as loop

    seen: list[int] = []

    class Recorder:
        def __init__(self, name, total):
            self.total = total

        def start(self, study, done):
            pass

        def update(self, study, running):
            seen.append(running)

        def stop(self):
            pass

    monkeypatch.setattr(loop, "ProgressLine", Recorder)
    monkeypatch.setenv("HPSEARCH_TEST_SLEEP", "0.3")
    study = hp.Study({"x": hp.Float(0.0, 1.0)}, seed=0, storage=tmp_path / "busy")
    study.optimize(objective_file("sleepy"), n_trials=4, n_jobs=2, show_progress=True)
    assert max(seen) == 2  # both workers busy is shown as such (it said 1 before)
    assert seen[-1] == 0
