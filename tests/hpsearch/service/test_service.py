"""`hpsearch serve` end to end: a real server process driven by plain HTTP (curl), by the Python
client, and by `hpsearch worker` processes; leases, a killed worker, a killed server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import hpsearch as hp
from hpsearch.exceptions import LeaseLostError
from tests.hpsearch.service.conftest import environment, objective_file

QUADRATIC = """
import time


def quadratic(params):
    return (params["x"] - 0.25) ** 2


def slow(params, trial):
    with open(__file__ + f".{trial.number}.started", "w") as marker:
        marker.write(str(trial.seed))
    time.sleep(600)
    return 0.0
"""


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def worker(served, study, objective, *options):
    return subprocess.Popen([sys.executable, "-m", "hpsearch.cli", "worker", served.url,
                             "--study", study, "--objective", objective, *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment(), start_new_session=True)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_curl_loop_runs_three_trials(serve, tmp_path):
    served = serve()
    script = tmp_path / "loop.sh"
    script.write_text(f"""
set -e
U={served.url}/api/studies
J='Content-Type: application/json'
curl -sf -H "$J" -d '{{"study": {{"name": "c", "strategy": "random", "n_trials": 3,
  "metric": "value", "seed": 1}}, "space": {{"x": {{"type": "float", "low": 0, "high": 1}}}},
  "objective": {{"kind": "python"}}}}' $U > /dev/null
for i in 1 2 3; do
  A=$(curl -sf -H "$J" -d '{{"worker": "shell"}}' $U/c/ask)
  N=$(echo "$A" | sed 's/.*"number": \\([0-9]*\\).*/\\1/')
  L=$(echo "$A" | sed 's/.*"lease": "\\([^"]*\\)".*/\\1/')
  curl -sf -H "$J" $U/c/tell > /dev/null \\
    -d "{{\\"number\\": $N, \\"lease\\": \\"$L\\", \\"value\\": $i.5}}"
done
curl -sf -H "$J" -d '{{}}' $U/c/ask
""")
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"trials": [], "lease_seconds": 60.0, "done": True}
    study = hp.connect(served.url).study("c")
    assert [(t.number, t.state, t.value) for t in study.trials] == [
        (0, "complete", 1.5), (1, "complete", 2.5), (2, "complete", 3.5)]
    assert study.best_value == 1.5


def test_the_same_objective_gives_the_same_table_through_study_and_remote(serve, tmp_path):
    served = serve()
    path = objective_file(tmp_path, QUADRATIC)
    space = {"x": hp.Float(-1.0, 1.0), "k": hp.Categorical(["a", "b"])}
    local = hp.Study(space, direction="minimize", strategy="tpe", seed=3)
    local.optimize(f"{path}:quadratic", n_trials=12)
    remote = hp.connect(served.url).create_study("same", space, direction="minimize",
                                                 strategy="tpe", seed=3)
    remote.optimize(f"{path}:quadratic", n_trials=12)
    compared = ["number", "state", "value", "params_x", "params_k", "seed"]
    assert remote.results()[compared].equals(local.results()[compared])
    assert remote.best_params == local.best_params
    assert remote.best_value == local.best_value
    assert list(remote.results().columns) == list(local.results().columns)


def test_several_worker_processes_share_a_study(serve, tmp_path):
    served = serve()
    path = objective_file(tmp_path, QUADRATIC)
    client = hp.connect(served.url)
    client.create_study("shared", {"x": hp.Float(0.0, 1.0)}, strategy="random", seed=0,
                        n_trials=24)
    workers = [worker(served, "shared", f"{path}:quadratic") for _ in range(3)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    ran = [int(out.split("hpsearch worker: ")[1].split()[0]) for out in outputs]
    assert sum(ran) == 24
    trials = client.study("shared").trials
    assert [t.number for t in trials] == list(range(24))
    assert all(t.state == "complete" for t in trials)
    assert len({t.seed for t in trials}) == 24


def test_a_killed_workers_trial_is_asked_again_and_its_late_tell_refused(serve, tmp_path):
    served = serve("--lease-seconds", "1.5")
    path = objective_file(tmp_path, QUADRATIC)
    client = hp.connect(served.url)
    study = client.create_study("lost", {"x": hp.Float(0.0, 1.0)}, strategy="random", seed=0,
                                n_trials=2)
    lost = worker(served, "lost", f"{path}:slow", "--n-trials", "1")
    wait_for(lambda: os.path.exists(f"{path}.0.started"))
    assert study.status()["leased"] == 1
    os.killpg(lost.pid, signal.SIGKILL)
    lost.wait()
    wait_for(lambda: study.status()["states"]["interrupted"] == 1, timeout=30)
    again = study.ask()
    assert again.number == 0
    with open(f"{path}.0.started") as marker:
        assert again.seed == int(marker.read())
    first = client.request("GET", "/api/studies/lost/trials")["trials"][0]
    assert first["params"] == again.params
    # the lost worker's lease (read from the lease table) cannot tell any more
    import sqlite3

    with sqlite3.connect(tmp_path / "runs" / "lost" / "service.db") as con:
        leases = [row[0] for row in con.execute("SELECT lease FROM leases")]
    assert len(leases) == 1  # the table keeps the last lease: the new one
    with pytest.raises(LeaseLostError):
        client.request("POST", "/api/studies/lost/tell",
                       {"number": 0, "lease": "an-old-lease-id", "value": 9.0})
    told = study.tell(again, 0.5)
    assert told.state == "complete" and told.value == 0.5
    assert [t.state for t in study.trials] == ["complete"]


def test_kill_9_of_the_server_loses_no_told_trial_and_leases_resume(serve, tmp_path):
    served = serve()
    client = hp.connect(served.url, retry_seconds=60)
    study = client.create_study("durable", {"x": hp.Float(0.0, 1.0)}, strategy="random",
                                seed=0, n_trials=10)
    for _ in range(4):
        trial = study.ask()
        study.tell(trial, trial.params["x"])
    held = study.ask()
    served.kill()
    served.restart()
    trials = study.trials  # retried until the server answers again
    assert [(t.number, t.state) for t in trials[:4]] == [(n, "complete") for n in range(4)]
    assert trials[4].state == "running"  # its lease resumed: the holder may still tell
    assert study.tell(held, 0.125).value == 0.125
    assert study.n_finished == 5
    assert study.ask().number == 5


def test_openapi_lists_every_route(serve):
    from hpsearch.service.routes import ROUTES

    served = serve()
    document = hp.connect(served.url).request("GET", "/openapi.json")
    assert document["openapi"].startswith("3.")
    served_routes = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert served_routes == {(r.method, r.path) for r in ROUTES}
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)


@pytest.mark.slow
def test_the_built_in_network_runs_through_a_worker(serve, tmp_path):
    served = serve()
    client = hp.connect(served.url)
    client.request("POST", "/api/studies", {
        "study": {"name": "mlp", "strategy": "random", "n_trials": 2, "seed": 0},
        "objective": {"kind": "mlp", "dataset": "digits",
                      "fixed": {"epochs": 2, "hidden_size": 16}},
        "space": {"learning_rate": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True}},
        "pruner": {"kind": "median"}})
    process = subprocess.Popen([sys.executable, "-m", "hpsearch.cli", "worker", served.url,
                                "--study", "mlp", "--workdir", str(tmp_path / "work")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment(), start_new_session=True)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    study = client.study("mlp")
    trials = study.trials
    assert [t.state for t in trials] == ["complete", "complete"]
    assert all(0.0 < t.value <= 1.0 and "val_loss" in t.metrics for t in trials)
    assert all(sorted(t.intermediate) == [1, 2] for t in trials)  # reported per epoch
    run = tmp_path / "runs" / "mlp" / "trials"
    assert sorted(p.name for p in run.iterdir()) == ["0", "1"]  # the artifacts came back


def test_the_dashboard_runs_in_the_same_process(serve):
    import re
    import urllib.request

    served = serve("--dashboard", "--dashboard-port", "0")
    served.log.seek(0)
    found = re.search(r"dashboard at (http://127\.0\.0\.1:\d+/)", served.log.read())
    assert found
    hp.connect(served.url).create_study("seen", {"x": hp.Float(0.0, 1.0)})
    with urllib.request.urlopen(found.group(1) + "api/runs", timeout=30) as answer:
        runs = json.loads(answer.read())
    assert "seen" in json.dumps(runs)


def test_a_worker_for_an_unknown_study_says_so_in_one_line(serve, tmp_path):
    served = serve()
    path = objective_file(tmp_path, QUADRATIC)
    process = worker(served, "nowhere", f"{path}:quadratic")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert err.strip() == "hpsearch: error: no study 'nowhere' is served here"
