"""The Dask backend on a real LocalCluster (loopback): results, pruning, faults, limits, CLI."""

from __future__ import annotations

import logging
import os
import textwrap

import pytest

import hpsearch as hp

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")
pytestmark = pytest.mark.slow

SPACE = {"x": hp.Float(0.0, 10.0), "k": hp.Categorical(["a", "b"])}

OBJECTIVES = '''
import os
import time

import numpy as np

import hpsearch as hp


def with_artifacts(params, trial):
    return hp.Result(params["x"], metrics={"twice": 2 * params["x"]},
                     artifacts={"w": trial.rng.normal(size=(3, 2))})


def pruned_above_5(params, trial):
    for step in range(5):
        if trial.report(step, params["x"]):
            raise hp.TrialPruned()
    return params["x"]


def resumable(params, trial):
    """Nine epochs from its checkpoint; fails if another run of this trial is running now."""
    marker = os.path.join(os.path.dirname(__file__), f"running-{trial.number}")
    handle = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # FileExistsError
    try:
        checkpoint = trial.checkpoint()
        epoch = 0 if checkpoint is None else int(checkpoint["epoch"])
        while epoch < 9:
            epoch += 1
            time.sleep(0.01)
            value = (params["x"] - 3.0) ** 2 + 1.0 / epoch
            if trial.report(epoch, value):
                trial.save_checkpoint({"epoch": np.array(epoch)})
                raise hp.TrialPruned()
        return value
    finally:
        os.close(handle)
        os.remove(marker)


def dies_on_3(params, trial):
    if trial.number == 3:
        os._exit(1)
    return params["x"]


def dies_once_on_3(params, trial):
    # Beside this file: a worker restarted by its nanny has no environment set by the test.
    marker = os.path.join(os.path.dirname(__file__), "markers", str(trial.number))
    if trial.number == 3 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return params["x"]


def memory_hungry_on_2(params, trial):
    if trial.number == 2:
        return float(np.ones(1024**3 // 8)[0])  # 1 GB
    return params["x"]


def hangs(params, trial):
    # the worker's pid beside this file, then a sleep only the worker's watchdog ends
    hung = os.path.join(os.path.dirname(__file__), "hung")
    os.makedirs(hung, exist_ok=True)
    open(os.path.join(hung, str(os.getpid())), "w").close()
    time.sleep(600)
    return params["x"]
'''


@pytest.fixture(scope="module")
def objective(tmp_path_factory):
    path = tmp_path_factory.mktemp("dask_objectives") / "objectives.py"
    path.write_text(textwrap.dedent(OBJECTIVES))
    return lambda name: f"{path}:{name}"


@pytest.fixture(scope="module")
def cluster():
    import dask

    # allowed-failures is read by the scheduler when it starts (here: in this process)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None,
                                     silence_logs=logging.ERROR) as local:
        yield local


def test_dask_study_matches_the_local_pool(tmp_path, objective, cluster):
    local = hp.Study(SPACE, strategy="random", seed=7, storage=tmp_path / "local")
    local.optimize(objective("with_artifacts"), n_trials=20, n_jobs=2)
    remote = hp.Study(SPACE, strategy="random", seed=7, storage=tmp_path / "dask")
    remote.optimize(objective("with_artifacts"), n_trials=20, n_jobs=2, backend="dask",
                    scheduler=cluster.scheduler_address)
    a, b = local.results(), remote.results()
    assert list(a.columns) == list(b.columns) and len(a) == len(b) == 20
    assert set(b["state"]) == {"complete"}
    params = [c for c in a.columns if c.startswith("params_")]
    assert a[params].equals(b[params])
    assert (b["value"] == b["params_x"]).all()
    assert set(remote.artifacts(5)) == {"w"}
    assert (tmp_path / "dask" / "trials" / "5" / "artifacts.npz").exists()
    assert (tmp_path / "dask" / "trials.csv").exists()


def test_dask_runs_trials_on_the_workers_at_once(objective, cluster):
    study = hp.Study(SPACE, seed=0)
    study.optimize(lambda p: __import__("os").getpid(), n_trials=6, n_jobs=-1,
                   backend="dask", scheduler=cluster.scheduler_address)
    pids = {t.value for t in study.trials}
    with distributed.Client(cluster, set_as_default=False) as client:
        workers = set(client.run(__import__("os").getpid).values())
    assert pids <= {float(p) for p in workers} and len(pids) == 2


def test_stub_pruner_prunes_through_the_driver_on_dask(objective, cluster):
    study = hp.Study(SPACE, seed=0, pruner=hp.ThresholdPruner(threshold=5.0, min_step=2))
    study.optimize(objective("pruned_above_5"), n_trials=8, n_jobs=2, backend="dask",
                   scheduler=cluster.scheduler_address)
    assert {str(t.state) for t in study.trials} == {"pruned", "complete"}
    for trial in study.trials:
        if trial.params["x"] > 5.0:
            assert str(trial.state) == "pruned" and sorted(trial.intermediate) == [0, 1, 2]
        else:
            assert str(trial.state) == "complete" and len(trial.intermediate) == 5


def test_hyperband_promotes_on_dask_and_never_runs_a_trial_twice_at_once(tmp_path, objective,
                                                                         cluster):
    study = hp.Study(SPACE, seed=3, storage=tmp_path / "run",
                     pruner=hp.Hyperband(max_resource=9, brackets=1))
    study.optimize(objective("resumable"), n_trials=16, n_jobs=2, backend="dask",
                   scheduler=cluster.scheduler_address)
    states = {str(t.state) for t in study.trials}
    assert states <= {"complete", "pruned"} and "complete" in states  # none failed
    complete = [t for t in study.trials if str(t.state) == "complete"]
    # promoted from the checkpoints: the epochs trained are the last step, none twice
    assert all(t.steps == 9 and sorted(t.intermediate) == list(range(1, 10)) for t in complete)
    assert not list((tmp_path / "run" / "trials").rglob("checkpoint*"))


def test_killed_worker_fails_its_trial_and_the_study_goes_on(objective, cluster):
    study = hp.Study(SPACE, seed=0)
    study.optimize(objective("dies_on_3"), n_trials=6, n_jobs=2, backend="dask",
                   scheduler=cluster.scheduler_address)
    states = {t.number: str(t.state) for t in study.trials}
    assert states == {n: "failed" if n == 3 else "complete" for n in range(6)}
    assert study.trials[3].error.startswith("WorkerLost: worker process died")
    assert "KilledWorker" in study.trials[3].error


def test_worker_killed_once_is_rescheduled_by_dask(objective, cluster):
    markers = objective("x").rpartition(":")[0].rpartition("/")[0] + "/markers"
    os.makedirs(markers, exist_ok=True)
    study = hp.Study(SPACE, seed=0)
    study.optimize(objective("dies_once_on_3"), n_trials=5, n_jobs=2, backend="dask",
                   scheduler=cluster.scheduler_address)
    assert [str(t.state) for t in study.trials] == ["complete"] * 5
    assert os.path.exists(os.path.join(markers, "3"))  # the first attempt did die


def test_timeout_and_memory_cap_on_dask(objective, cluster):
    """No outcome here depends on how fast the machine is. The memory cap needs no timeout;
    under a timeout only trials that never end run: a trial that should complete within it
    is a wall-clock threshold (a trial's time counts from its submission, and the task may wait
    behind a worker whose thread is still blocked in a timed-out trial until its watchdog ends
    the process), which is how this test used to fail under load."""
    capped = hp.Study(SPACE, seed=0, max_consecutive_failures=None)
    capped.optimize(objective("memory_hungry_on_2"), n_trials=4, n_jobs=2, backend="dask",
                    scheduler=cluster.scheduler_address, max_memory_mb=300)
    assert [str(t.state) for t in capped.trials] == ["complete", "complete", "failed",
                                                     "complete"]
    assert capped.trials[2].error.startswith("exceeded the memory cap of 300 MB")

    hung = hp.Study(SPACE, seed=0, max_consecutive_failures=None)
    with pytest.raises(hp.AllTrialsFailed, match="timed out after 1 s"):
        hung.optimize(objective("hangs"), n_trials=3, n_jobs=2, backend="dask",
                      scheduler=cluster.scheduler_address, trial_timeout=1)
    assert [str(t.state) for t in hung.trials] == ["failed"] * 3  # the study went on
    assert all(t.error.startswith("timed out after 1 s") for t in hung.trials)

    # Once the watchdogs have ended every worker process a hung trial ran in (a task sent to
    # one before would die with it) and the nannies have started fresh ones, trials run again.
    hung_pids = objective("x").rpartition(":")[0].rpartition("/")[0] + "/hung"
    for pid in map(int, os.listdir(hung_pids)):
        if psutil.pid_exists(pid):
            psutil.Process(pid).wait(timeout=120)
    with distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
    after = hp.Study(SPACE, seed=0)
    after.optimize(objective("with_artifacts"), n_trials=4, n_jobs=2, backend="dask",
                   scheduler=cluster.scheduler_address)
    assert [str(t.state) for t in after.trials] == ["complete"] * 4


def test_cli_runs_a_study_file_on_dask(tmp_path, objective, cluster, python_study):
    from typer.testing import CliRunner

    from hpsearch.cli import app

    study_file = python_study(tmp_path / "remote.toml", objective("with_artifacts"),
                              n_trials=6, n_jobs=2)
    result = CliRunner().invoke(app, ["run", str(study_file), "--backend", "dask",
                                      "--scheduler", cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    assert len(hp.load_study(tmp_path / "runs" / "remote").trials) == 6
    missing = CliRunner().invoke(app, ["run", str(study_file), "--backend", "dask"])
    assert missing.exit_code == 2 and "scheduler" in missing.stderr


def test_unreachable_scheduler_is_a_study_error():
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}), \
            pytest.raises(hp.StudyError, match="cannot reach the Dask scheduler"):
        hp.Study(SPACE).optimize(lambda p: 0.0, n_trials=1, backend="dask",
                                 scheduler="tcp://127.0.0.1:1")
