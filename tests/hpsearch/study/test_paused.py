"""Paused trials: checkpoints through the study, promotion by ask/tell and optimize, resume after
a kill (hpsearch.study.scheduling, hpsearch.pruners.hyperband)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import hpsearch as hp

SPACE = {"x": hp.Float(0.0, 1.0)}
EPOCHS = 9  # Hyperband(max_resource=9, brackets=1): rungs at 1 and 3


def curve(x: float, epoch: int) -> float:
    """Crossing learning curves: small x starts badly and ends well."""
    return (x - 0.3) ** 2 + (1.0 - x) / epoch


def train(trial, log: list | None = None, use_checkpoint: bool = True):
    """A network-like loop: resumes from the checkpoint; returns the value, or "pruned"."""
    checkpoint = trial.checkpoint() if use_checkpoint else None
    start = 0 if checkpoint is None else int(checkpoint["epoch"])
    if checkpoint is not None:
        assert start == trial.last_step
    for epoch in range(start + 1, EPOCHS + 1):
        if log is not None:
            log.append((trial.number, epoch))
        value = curve(trial.params["x"], epoch)
        if trial.report(epoch, value):
            trial.save_checkpoint({"epoch": np.array(epoch), "w": np.full(3, epoch * 1.0)})
            return "pruned"
    return value


def objective(log: list, use_checkpoint: bool = True):
    def run(params, trial):
        out = train(trial, log, use_checkpoint)
        if out == "pruned":
            raise hp.TrialPruned()
        return out
    return run


# At epoch 1 (`curve`): 0.46, 0.54, 0.94, 1.01, 1.09, 1.06. The first goes on (the best so far);
# the others pause; once six values are in, the top two go on: trial 1 (0.54) is promoted.
ENQUEUED = (0.9, 0.5, 0.1, 0.05, 0.0, 0.02)


def scheduler():
    return hp.Hyperband(min_resource=1, max_resource=EPOCHS, reduction_factor=3, brackets=1)


@pytest.mark.parametrize("stored", [False, True])
def test_ask_tell_drives_promotions_with_the_same_trial(tmp_path, stored):
    study = hp.Study(SPACE, seed=3, pruner=scheduler(),
                     storage=tmp_path / "run" if stored else None)
    log, asked = [], {}
    for _ in range(40):
        trial = study.ask()
        first = asked.setdefault(trial.number, (dict(trial.params), trial.seed))
        assert first == (trial.params, trial.seed)  # a promoted trial: same params and seed
        if trial.checkpoint() is not None:
            assert trial.last_step in (1, 3)
            np.testing.assert_array_equal(trial.checkpoint()["w"], np.full(3, trial.last_step))
        else:
            assert trial.last_step == 0
        out = train(trial, log)
        done = study.tell(trial, state="pruned") if out == "pruned" else study.tell(trial, out)
        assert str(done.state) in ("paused", "complete", "pruned")
    assert len(log) == len(set(log))  # no epoch of any trial trained twice
    numbers = [n for n, _ in log]
    assert len(set(numbers)) < 40  # some trials were promoted and came back
    states = {str(t.state) for t in study.trials}
    assert {"paused", "complete"} <= states
    for t in study.trials:
        if t.state is hp.TrialState.COMPLETE:
            assert sorted(t.intermediate) == list(range(1, EPOCHS + 1)) and t.steps == EPOCHS
        if t.state is hp.TrialState.PAUSED:
            assert max(t.intermediate) in (1, 3) and t.steps == max(t.intermediate)
    assert study.n_paused == sum(t.state is hp.TrialState.PAUSED for t in study.trials)
    assert study.n_finished == sum(t.state.is_finished for t in study.trials)


def test_an_objective_without_checkpoints_starts_again_at_step_0():
    study = hp.Study(SPACE, seed=3, pruner=scheduler())
    log = []
    study.optimize(objective(log, use_checkpoint=False), n_trials=30)
    completes = [t for t in study.trials if t.state is hp.TrialState.COMPLETE]
    assert completes
    restarted = 0
    for trial in completes:
        trained = [e for n, e in log if n == trial.number]
        assert trial.steps == len(trained) >= EPOCHS  # every epoch it trained, again included
        starts = [i for i, e in enumerate(trained) if e == 1]
        assert len(trained) - starts[-1] == EPOCHS  # its last run went from step 1 to the end
        restarted += len(starts) > 1  # paused, promoted, and trained again from step 1
    assert restarted


def test_optimize_leaves_no_paused_trial_and_no_checkpoint_behind(tmp_path):
    study = hp.Study(SPACE, seed=5, pruner=scheduler(), storage=tmp_path / "run")
    log = []
    study.optimize(objective(log), n_trials=25)
    states = [str(t.state) for t in study.trials]
    assert len(states) == 25 and "paused" not in states and "complete" in states
    assert len(log) == len(set(log))
    left = [p.name for p in (tmp_path / "run" / "trials").rglob("checkpoint*")]
    assert left == []  # every checkpoint deleted once its trial could not be promoted
    frame = study.results()
    assert {"steps", "parent"} <= set(frame.columns)
    assert frame["steps"].sum() == len(log)


OBJECTIVES = '''
import os
import signal
import time

import numpy as np

import hpsearch as hp

EPOCHS = 9
DIR = "FOLDER"  # not an environment variable: loky reuses workers started before the test


def exclusive(params, trial):
    """Fails if another worker runs the same trial at this moment."""
    marker = os.path.join(DIR, f"running-{trial.number}")
    handle = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # FileExistsError
    try:
        return network(params, trial)
    finally:
        os.close(handle)
        os.remove(marker)


def dies_when_promoted(params, trial):
    """Its worker dies when the trial is promoted; trial 0 reaches the first rung first."""
    if trial.checkpoint() is not None:
        os._exit(3)
    if trial.number != 0:
        while not os.path.exists(os.path.join(DIR, "trial-0-paused")):
            time.sleep(0.01)
    try:
        return network(params, trial)
    finally:
        open(os.path.join(DIR, f"trial-{trial.number}-paused"), "w").close()


def network(params, trial):
    checkpoint = trial.checkpoint()
    start = 0 if checkpoint is None else int(checkpoint["epoch"])
    log = os.path.join(DIR, "epochs.log")
    for epoch in range(start + 1, EPOCHS + 1):
        with open(log, "a") as handle:
            handle.write(f"{trial.number} {epoch} {os.getpid()}\\n")
        count = sum(1 for _ in open(log))
        if count == int(os.environ.get("HPSEARCH_TEST_KILL_AT", "0")):
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.002)
        value = (params["x"] - 0.3) ** 2 + (1.0 - params["x"]) / epoch
        if trial.report(epoch, value):
            trial.save_checkpoint({"epoch": np.array(epoch)})
            raise hp.TrialPruned()
    return value
'''


@pytest.fixture
def objectives(tmp_path):
    path = tmp_path / "objectives.py"
    path.write_text(textwrap.dedent(OBJECTIVES).replace("FOLDER", str(tmp_path)))
    return lambda name: f"{path}:{name}"


def epochs(tmp_path: Path) -> list[tuple[int, int]]:
    lines = (tmp_path / "epochs.log").read_text().split("\n")
    return [(int(a), int(b)) for a, b, _ in (line.split() for line in lines if line)]


def test_parallel_workers_never_run_one_trial_twice_at_once(tmp_path, objectives):
    study = hp.Study(SPACE, seed=1, pruner=scheduler(), storage=tmp_path / "run")
    study.optimize(objectives("exclusive"), n_trials=20, n_jobs=2)
    assert {str(t.state) for t in study.trials} <= {"complete", "pruned"}
    assert "complete" in {str(t.state) for t in study.trials}
    trained = epochs(tmp_path)
    assert len(trained) == len(set(trained))  # each promotion resumed from its checkpoint


def test_a_study_killed_while_trials_are_paused_resumes_them(tmp_path, objectives):
    run = tmp_path / "run"
    script = tmp_path / "drive.py"
    script.write_text(textwrap.dedent(f"""
        import hpsearch as hp
        study = hp.Study({{"x": hp.Float(0.0, 1.0)}}, seed=2, storage={str(run)!r},
                         pruner=hp.Hyperband(max_resource=9, brackets=1))
        study.optimize({objectives("network")!r}, n_trials=20)
        """))
    env = {**os.environ, "HPSEARCH_TEST_KILL_AT": "30"}
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                         timeout=300)
    assert out.returncode == -signal.SIGKILL, out.stderr
    killed = {t.number: t for t in hp.load_study(run).trials}
    paused = [n for n, t in killed.items() if t.state is hp.TrialState.PAUSED]
    assert paused  # the kill came while trials were paused
    for number in paused:  # each with its checkpoint on disk, named by its row
        assert list((run / "trials" / str(number)).glob("checkpoint-*.npz"))
    before = epochs(tmp_path)
    study = hp.Study(SPACE, seed=2, storage=run, pruner=scheduler())
    assert study.n_paused == len(paused)
    study.optimize(objectives("network"), n_trials=20)
    after = {t.number: t for t in study.trials}
    assert len(after) == 20 and {str(t.state) for t in after.values()} <= {"complete",
                                                                           "pruned"}
    trained = epochs(tmp_path)
    resumed = trained[len(before):]
    running = [n for n, t in killed.items() if str(t.state) in ("running", "interrupted")]
    # no epoch trained twice, except by the trial the kill cut short (run again)
    repeated = {pair for pair in resumed if pair in set(before)}
    assert {n for n, _ in repeated} <= set(running)
    for number in paused:  # a promoted paused trial went on after its last step
        mine = [e for n, e in resumed if n == number]
        if mine:
            assert mine[0] == max(killed[number].intermediate) + 1
    assert "paused" not in {str(after[n].state) for n in paused}  # promoted or pruned


def test_a_promotion_due_when_the_driver_was_killed_happens_after_reopening(tmp_path):
    run = tmp_path / "run"
    script = tmp_path / "drive.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal
        import numpy as np
        import hpsearch as hp
        study = hp.Study({{"x": hp.Float(0.0, 1.0)}}, seed=2, storage={str(run)!r},
                         pruner=hp.Hyperband(max_resource=9, brackets=1))
        for x in {ENQUEUED!r}:
            study.enqueue({{"x": x}})
        for _ in range({len(ENQUEUED)}):
            trial = study.ask()
            x = trial.params["x"]
            if trial.report(1, (x - 0.3) ** 2 + 1 - x):
                trial.save_checkpoint({{"epoch": np.array(1), "x": np.array(x)}})
                assert str(study.tell(trial, state="pruned").state) == "paused"
            else:  # the first: the best so far goes on
                study.tell(trial, (x - 0.3) ** 2 + (1 - x) / 9)
        os.kill(os.getpid(), signal.SIGKILL)
        """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=300)
    assert out.returncode == -signal.SIGKILL, out.stderr
    study = hp.Study(SPACE, seed=2, storage=run, pruner=scheduler())
    assert [str(t.state) for t in study.trials] == ["complete"] + ["paused"] * 5
    trial = study.ask()  # the promotion the killed driver did not get to make
    assert trial.number == 1 and trial.params == {"x": 0.5} and trial.last_step == 1
    assert float(trial.checkpoint()["x"]) == 0.5
    assert str(study.trials[1].state) == "running"
    assert study.ask().number == 6  # then new trials


def test_an_interrupt_between_a_commit_and_its_bookkeeping_leaves_nothing_running():
    """Ctrl-C (or SIGTERM) landing right after ask committed a promoted trial's running row:
    interrupt_running still marks it interrupted."""
    from hpsearch.storage import MemoryStorage

    class InterruptedAfterCommit(MemoryStorage):
        armed = False

        def save_trial(self, trial, artifacts=None, checkpoint=None):
            super().save_trial(trial, artifacts, checkpoint)
            if self.armed and trial.state is hp.TrialState.RUNNING:
                self.armed = False
                raise KeyboardInterrupt

    storage = InterruptedAfterCommit()
    study = hp.Study(SPACE, seed=3, storage=storage, pruner=scheduler())
    for x in ENQUEUED:  # as in the test above: trial 1 is promotable after six
        study.enqueue({"x": x})
    for _ in ENQUEUED:
        trial = study.ask()
        out = train(trial)
        study.tell(trial, state="pruned") if out == "pruned" else study.tell(trial, out)
    storage.armed = True
    with pytest.raises(KeyboardInterrupt):
        study.ask()
    study.interrupt_running()
    assert [str(t.state) for t in storage.load_trials()] == [
        "complete", "interrupted", "paused", "paused", "paused", "paused"]
    again = study.ask()  # run again from its checkpoint
    assert again.number == 1 and again.last_step == 1


def test_a_resumed_optimize_counts_interrupted_trials_in_n_trials(tmp_path):
    """Trials a killed driver left interrupted run again within n_trials, not on top of it."""
    run = tmp_path / "run"
    study = hp.Study(SPACE, seed=4, storage=run, pruner=scheduler())
    log = []
    asked = [study.ask() for _ in range(3)]  # then the driver "dies": never told
    study.close()  # marks them interrupted, as the next driver would
    study = hp.Study(SPACE, seed=4, storage=run, pruner=scheduler())
    assert [str(t.state) for t in study.trials] == ["interrupted"] * 3
    study.optimize(objective(log), n_trials=12)
    assert len(study.trials) == 12 and "interrupted" not in {str(t.state) for t in study.trials}
    assert {t.number for t in asked} <= {n for n, _ in log}  # they ran again



def test_a_promoted_trial_whose_worker_dies_keeps_its_earlier_reports(tmp_path, objectives):
    study = hp.Study(SPACE, seed=1, storage=tmp_path / "run", pruner=scheduler())
    for x in ENQUEUED:  # trial 1 is promoted once the sixth has paused
        study.enqueue({"x": x})
    study.optimize(objectives("dies_when_promoted"), n_trials=len(ENQUEUED), n_jobs=2)
    first = study.trials[1]
    assert str(first.state) == "failed" and "worker process died" in first.error
    assert 1 in first.intermediate  # the report before its pause is kept
