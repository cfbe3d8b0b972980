"""Chaos test: kill or terminate the driver of a real study at random moments, with hostile
objectives and a silent neighbour on the report port; rerun; lose nothing, never get stuck.

Writes a python-objective study file (short trials, n_jobs=2, a threshold pruner so every trial
reports to the driver, storage in a temp folder). The objective raises on some trials, calls
`sys.exit(0)` on others and `os._exit(5)` (its worker dies) on others. Then for each cycle:
starts `hpsearch run`; holds silent TCP connections open to every port the driver listens on
(the report channel) for the whole cycle; waits a random time; reads the finished trials
(complete/pruned/failed, with their values) from the database read-only; then either kills the
driver with SIGKILL (then its orphaned workers), or sends it SIGTERM and checks that it exits
with 143 within `--stuck-after` seconds, leaves no trial `running` and writes trials.csv.
Every finished trial recorded before any fault must still be there with the same state and
value. A last run (with the silent neighbour too) must finish the study.

    python scripts/chaos.py --cycles 20 --seed 0
    python scripts/chaos.py --cycles 20 --seed 0 --pruner hyperband

`--pruner hyperband` kills during pause and resume instead: the study runs `hp.Hyperband`
(max_resource 9, two brackets) on a network-like objective that trains epoch by epoch, saves a
checkpoint (holding a fresh token) when told to stop and resumes from the one it is given; every
run logs its start (trial, the token and step it resumed from, driver pid, time) and its end to
`epochs.log`. Besides the finished trials, every trial seen `paused` after a fault (its
committed checkpoint's token, read from the run folder) must not be lost: it is still there,
and its next run resumes from exactly that checkpoint (a run cut short, by a kill or by a worker
dying beside it, is run again from the last committed checkpoint: the documented cost of a
kill). And no trial runs twice at once: every run logs each epoch, and no run of a trial starts
before the previous run of that trial wrote its last line.

Prints one line per cycle and a summary ending "trials lost: N", "studies stuck: M" (and with
hyperband "paused trials lost: P", "trials run twice: R"; exit 1 when any is not 0). A study is
stuck when a driver does not exit within `--stuck-after` seconds of SIGTERM, leaves trials
`running` after SIGTERM, or the final run does not finish.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import psutil

OBJECTIVE = '''
import os
import sys
import time

import hpsearch as hp


def hostile(number):
    return number % 7 == 3 or number % 11 == 5 or number % 13 == 6


def misbehave(trial):
    """Raise, call sys.exit or end the worker (os._exit), by the trial's number."""
    if trial.number % 7 == 3:
        raise ValueError("a failing trial")
    if trial.number % 11 == 5:
        sys.exit(0)
    if trial.number % 13 == 6:
        os._exit(5)  # its worker process dies


def objective(params, trial):
    time.sleep(0.05 + 0.25 * trial.rng.random())
    misbehave(trial)
    for step in range(3):
        if trial.report(step, params["x"] + step):
            raise hp.TrialPruned()
    return params["x"] ** 2 + (1.0 if params["kind"] == "b" else 0.0)
'''

STUDY = '''
[study]
name = "chaos"
strategy = "random"
n_trials = {n_trials}
n_jobs = 2
seed = {seed}
storage = "{storage}"
max_consecutive_failures = 50

[objective]
kind = "python"
entry = "{entry}"

[pruner]
kind = "threshold"
threshold = 4.0
min_step = 1

[space]
x = {{ type = "float", low = -3.0, high = 3.0 }}
kind = {{ type = "categorical", choices = ["a", "b"] }}
'''

NETWORK = '''
import secrets

import numpy as np

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "epochs.log")


def log(line):
    with open(LOG, "a") as handle:  # one short O_APPEND write a line: lines never interleave
        handle.write(line + "\\n")


def network(params, trial):
    checkpoint = trial.checkpoint()
    epoch = 0 if checkpoint is None else int(checkpoint["epoch"])
    given = "-" if checkpoint is None else str(checkpoint["token"])
    run = secrets.token_hex(6)
    log(f"start {trial.number} {run} {given} {epoch} {os.getppid()} {time.time():.6f}")
    if hostile(trial.number):
        log(f"end {trial.number} {run} failed {time.time():.6f}")
    misbehave(trial)
    while epoch < 9:
        epoch += 1
        time.sleep(0.02 + 0.04 * trial.rng.random())
        value = (params["x"] - 1.0) ** 2 + (2.0 if params["kind"] == "b" else 1.0) / epoch
        log(f"epoch {trial.number} {run} {epoch} {time.time():.6f}")
        if trial.report(epoch, value):
            trial.save_checkpoint({"epoch": np.array(epoch), "token": np.array(run)})
            log(f"end {trial.number} {run} paused {time.time():.6f}")
            raise hp.TrialPruned()
    log(f"end {trial.number} {run} complete {time.time():.6f}")
    return value
'''

HYPERBAND = '''
[pruner]
kind = "hyperband"
min_resource = 1
max_resource = 9
reduction_factor = 3
brackets = 2
'''

FINISHED = ("complete", "pruned", "failed")


def paused_trials(run: Path) -> dict[int, str]:
    """{number: token of its committed checkpoint} of the paused trials, read-only."""
    from hpsearch import StorageError
    from hpsearch.storage import SqliteStorage

    if not (run / "study.db").exists():
        return {}
    for _ in range(20):
        try:
            storage = SqliteStorage.open_readonly(run)
            try:
                return {t.number: str(storage.load_checkpoint(t.number).arrays["token"])
                        for t in storage.load_trials() if str(t.state) == "paused"}
            finally:
                storage.close()
        except (StorageError, AttributeError):  # mid-write: try again
            time.sleep(0.05)
    return {}


def runs_of(log: Path) -> list[dict]:
    """Every objective run in epochs.log: trial, run token, the token and step it resumed
    from, driver pid, start time, the time of its last line, how it ended (None: cut short)."""
    runs: dict[str, dict] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        parts = line.split()
        if parts[0] == "start" and len(parts) == 7:
            runs[parts[2]] = {"trial": int(parts[1]), "run": parts[2], "given": parts[3],
                              "step": int(parts[4]), "driver": int(parts[5]),
                              "start": float(parts[6]), "last": float(parts[6]), "ended": None}
        elif parts[0] == "epoch" and len(parts) == 5 and parts[2] in runs:
            runs[parts[2]]["last"] = float(parts[4])
        elif parts[0] == "end" and len(parts) == 5 and parts[2] in runs:
            runs[parts[2]].update(ended=parts[3], last=float(parts[4]))
    return sorted(runs.values(), key=lambda r: r["start"])


def run_twice(runs: list[dict]) -> list[str]:
    """Two runs of one trial at once: a run that started before the previous run of the same
    trial wrote its last line (each run's lines span its start to its last epoch or end)."""
    problems, by_trial = [], {}
    for r in runs:
        by_trial.setdefault(r["trial"], []).append(r)
    for trial, mine in by_trial.items():
        for a, b in zip(mine, mine[1:], strict=False):
            if b["start"] < a["last"]:
                problems.append(f"trial {trial}: run {b['run']} started while {a['run']} ran")
    return problems


def paused_lost(observed: dict[int, tuple[str, float]], runs: list[dict],
                final: dict) -> list[str]:
    """Paused trials ({number: (token of the committed checkpoint, when it was seen)}) that
    were lost: not finished at the end, or run again from another checkpoint than that one."""
    problems = []
    for number, (token, seen) in observed.items():
        if number not in final:
            problems.append(f"trial {number} (paused) is not finished at the end")
            continue
        after = [r for r in runs if r["trial"] == number and r["given"] != token
                 and r["start"] > seen]
        resumed = [r for r in runs if r["trial"] == number and r["given"] == token]
        if after and not resumed:
            problems.append(f"trial {number}: paused with checkpoint {token}, run again from "
                            f"{after[0]['given']}")
    return problems



def finished_trials(run: Path) -> dict[int, tuple[str, float | None]]:
    """{number: (state, value)} of the finished trials, read-only (empty before the DB)."""
    from hpsearch import StorageError, load_study

    if not (run / "study.db").exists():
        return {}
    for _ in range(20):
        try:
            return {t.number: (str(t.state), t.value) for t in load_study(run).trials
                    if str(t.state) in FINISHED}
        except StorageError:
            time.sleep(0.05)
    return {}


def stored_states(run: Path) -> list[str]:
    """Every trial's state as stored (the read-only view shows a dead driver's running
    trials as interrupted; this reads the rows themselves)."""
    con = sqlite3.connect(f"file:{run / 'study.db'}?mode=ro", uri=True)
    try:
        return [state for (state,) in con.execute("SELECT state FROM trials ORDER BY number")]
    finally:
        con.close()


class SilentNeighbour:
    """Holds silent TCP connections open to every port the driver `pid` listens on."""

    def __init__(self, pid: int) -> None:
        self.pid, self.sockets, self.ports = pid, [], set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                listening = {c.laddr.port for c in psutil.Process(self.pid).net_connections("tcp")
                             if c.status == psutil.CONN_LISTEN}
            except (psutil.Error, OSError):
                continue
            for port in listening - self.ports:
                try:
                    self.sockets.append(socket.create_connection(("127.0.0.1", port), 5))
                    self.ports.add(port)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()


def start(study_file: Path) -> subprocess.Popen:
    """`hpsearch run` in its own session; stderr to driver.err beside the study file (a file,
    not a pipe nobody reads while the driver runs)."""
    command = [sys.executable, "-c", "from hpsearch.cli import main; main()", "run",
               str(study_file)]
    with open(study_file.parent / "driver.err", "wb") as log:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log,
                                start_new_session=True)


def stderr_tail(study_file: Path, size: int = 2000) -> str:
    return (study_file.parent / "driver.err").read_bytes()[-size:].decode(errors="replace")


def lost(recorded: dict, now: dict) -> list[int]:
    return sorted(n for n, (state, value) in recorded.items()
                  if n not in now or now[n][0] != state
                  or not (now[n][1] == value or (now[n][1] is None and value is None)))


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the orphaned workers, if any
    except ProcessLookupError:
        pass


def terminate(proc: subprocess.Popen, run: Path, study_file: Path,
              stuck_after: float) -> str | None:
    """SIGTERM the driver; None when it stopped cleanly, else what went wrong."""
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=stuck_after)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return f"did not exit within {stuck_after:.0f} s of SIGTERM"
    if proc.returncode not in (143, 0):
        return f"exit code {proc.returncode} after SIGTERM: {stderr_tail(study_file, 500)}"
    states = stored_states(run)
    if "running" in states:
        return f"{states.count('running')} trials left running after SIGTERM"
    if proc.returncode == 143 and not (run / "trials.csv").exists():
        return "no trials.csv after SIGTERM"
    return None


def cycle(study_file: Path, run: Path, rng: np.random.Generator, args, recorded: dict,
          missing: set, paused: dict) -> tuple[str, str | None, int, int, int]:
    """One start, wait and fault; (fault, problem or None, finished before, after, silent
    connections held)."""
    proc = start(study_file)
    neighbour = SilentNeighbour(proc.pid)
    time.sleep(rng.uniform(args.min_wait, args.max_wait))
    before = finished_trials(run)
    missing.update(lost(recorded, before))  # the rerun kept what earlier faults left
    recorded.update(before)
    fault, problem = ("SIGTERM", None) if rng.random() < 0.4 else ("SIGKILL", None)
    if proc.poll() is not None:
        fault = "finished"
    elif fault == "SIGTERM":
        problem = terminate(proc, run, study_file, args.stuck_after)
    else:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    neighbour.close()
    time.sleep(0.2)
    kill_group(proc)
    after = finished_trials(run)
    missing.update(lost(recorded, after))
    now = time.time()
    for number, token in paused_trials(run).items():  # the paused ledger (hyperband)
        if paused.get(number, ("", 0.0))[0] != token:
            paused[number] = (token, now)
    return fault, problem, len(before), len(after), len(neighbour.sockets)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-wait", type=float, default=0.5)
    parser.add_argument("--max-wait", type=float, default=4.0)
    parser.add_argument("--stuck-after", type=float, default=120.0,
                        help="seconds a driver may take to stop after SIGTERM")
    parser.add_argument("--pruner", choices=("threshold", "hyperband"), default="threshold",
                        help="hyperband: kill during pause and resume (module docstring)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="hpsearch-chaos-") as tmp:
        folder = Path(tmp)
        scheduled = args.pruner == "hyperband"
        (folder / "chaos_objective.py").write_text(textwrap.dedent(OBJECTIVE) + NETWORK)
        study_file = folder / "chaos.toml"
        n_trials = 12 * args.cycles + 20
        text = STUDY.format(n_trials=n_trials, seed=args.seed, storage=folder / "runs",
                            entry=f"{folder / 'chaos_objective.py'}:"
                                  + ("network" if scheduled else "objective"))
        if scheduled:
            text = text[:text.index("[pruner]")] + HYPERBAND.strip() + "\n\n" + text[
                text.index("[space]"):]
        study_file.write_text(text)
        run = folder / "runs" / "chaos"
        recorded: dict[int, tuple[str, float | None]] = {}
        missing: set[int] = set()
        paused: dict[int, tuple[str, float]] = {}  # number -> (checkpoint token, seen at)
        stuck: list[str] = []
        faults = {"SIGKILL": 0, "SIGTERM": 0, "finished": 0}
        for number in range(args.cycles):
            fault, problem, before, after, silent = cycle(study_file, run, rng, args,
                                                          recorded, missing, paused)
            faults[fault] += 1
            if problem is not None:
                stuck.append(f"cycle {number + 1}: {problem}")
            print(f"cycle {number + 1:2d}: {fault:8s} finished before {before:4d}, after "
                  f"{after:4d}, silent connections {silent}"
                  + (f", paused now {len(paused_trials(run))}" if scheduled else "")
                  + (f"  STUCK: {problem}" if problem else ""), flush=True)
        proc = start(study_file)
        neighbour = SilentNeighbour(proc.pid)
        try:
            proc.wait(timeout=1800)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            proc.wait()
            stuck.append("the final run did not finish within 1800 s")
        neighbour.close()
        final = finished_trials(run)
        missing.update(lost(recorded, final))
        if len(final) < n_trials:
            stuck.append(f"the final run finished {len(final)} of {n_trials} trials")
        states = stored_states(run)
        print(f"final run: exit code {proc.returncode}, {len(final)} of {n_trials} trials "
              f"finished ({', '.join(f'{states.count(s)} {s}' for s in FINISHED)}); the silent "
              f"neighbour held {len(neighbour.sockets)} connection(s) to its report port"
              + (f"\n{stderr_tail(study_file)}" if proc.returncode else ""))
        print(f"summary: {faults['SIGKILL']} SIGKILL, {faults['SIGTERM']} SIGTERM, "
              f"{faults['finished']} finished before the fault; {len(recorded)} finished "
              f"trials recorded before faults, {len(final)} after the final run")
        for line in stuck:
            print(f"  stuck: {line}")
        print(f"trials lost: {len(missing)}" + (f" {sorted(missing)}" if missing else ""))
        print(f"studies stuck: {len(stuck)}")
        twice = lost_paused = []
        if scheduled:
            runs = runs_of(folder / "epochs.log")
            lost_paused = paused_lost(paused, runs, final)
            twice = run_twice(runs)
            resumed = sum(r["given"] != "-" for r in runs)
            print(f"hyperband: {len(runs)} objective runs, {resumed} resumed from a checkpoint; "
                  f"{len(paused)} trials seen paused after a fault")
            for line in lost_paused + twice:
                print(f"  {line}")
            print(f"paused trials lost: {len(lost_paused)}")
            print(f"trials run twice: {len(twice)}")
        bad = missing or stuck or lost_paused or twice
        return 1 if bad or proc.returncode not in (0, 1) else 0


if __name__ == "__main__":
    sys.exit(main())
