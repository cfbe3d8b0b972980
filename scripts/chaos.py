"""Chaos test: SIGKILL the driver of a real study at random moments, rerun, lose nothing.

Writes a python-objective study file (short trials, n_jobs=2, storage in a temp folder), then
for each cycle: starts `hpsearch run`, waits a random time, reads the finished trials
(complete/pruned/failed, with their values) from the database read-only, kills the driver
with SIGKILL (then its orphaned workers), and checks that every finished trial recorded before
any kill is still there with the same state and value. A last run finishes the study and is
checked the same way.

    python scripts/chaos.py --cycles 20 --seed 0

Prints one line per cycle and a summary ending "lost trials: N" (exit 1 when N > 0).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

OBJECTIVE = '''
import time

import hpsearch as hp


def objective(params, trial):
    time.sleep(0.05 + 0.25 * trial.rng.random())
    if trial.number % 7 == 3:
        raise ValueError("a failing trial")
    for step in range(3):
        trial.report(step, params["x"] + step)
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

[space]
x = {{ type = "float", low = -3.0, high = 3.0 }}
kind = {{ type = "categorical", choices = ["a", "b"] }}
'''

FINISHED = ("complete", "pruned", "failed")


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


def start(study_file: Path) -> subprocess.Popen:
    command = [sys.executable, "-c", "from hpsearch.cli import main; main()", "run",
               str(study_file)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def lost(recorded: dict, now: dict) -> list[int]:
    return sorted(n for n, (state, value) in recorded.items()
                  if n not in now or now[n][0] != state
                  or not (now[n][1] == value or (now[n][1] is None and value is None)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-wait", type=float, default=0.5)
    parser.add_argument("--max-wait", type=float, default=4.0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="hpsearch-chaos-") as tmp:
        folder = Path(tmp)
        (folder / "chaos_objective.py").write_text(textwrap.dedent(OBJECTIVE))
        study_file = folder / "chaos.toml"
        n_trials = 12 * args.cycles + 20
        study_file.write_text(STUDY.format(
            n_trials=n_trials, seed=args.seed, storage=folder / "runs",
            entry=f"{folder / 'chaos_objective.py'}:objective"))
        run = folder / "runs" / "chaos"
        recorded: dict[int, tuple[str, float | None]] = {}
        missing: set[int] = set()
        kills = 0
        for cycle in range(args.cycles):
            proc = start(study_file)
            time.sleep(rng.uniform(args.min_wait, args.max_wait))
            before = finished_trials(run)
            missing.update(lost(recorded, before))  # the rerun kept what earlier kills left
            recorded.update(before)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait()
            time.sleep(0.2)
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the orphaned loky workers
            except ProcessLookupError:
                pass
            after = finished_trials(run)
            missing.update(lost(recorded, after))
            print(f"cycle {cycle + 1:2d}: finished before kill {len(before):4d}, "
                  f"after kill {len(after):4d}", flush=True)
        proc = start(study_file)
        _, stderr = proc.communicate(timeout=1800)
        final = finished_trials(run)
        missing.update(lost(recorded, final))
        print(f"final run: exit code {proc.returncode}, {len(final)} of {n_trials} trials "
              "finished" + (f"\n{stderr.decode()[-2000:]}" if proc.returncode else ""))
        print(f"summary: {kills} kills, {len(recorded)} finished trials recorded before kills, "
              f"{len(final)} after the final run")
        print(f"lost trials: {len(missing)}" + (f" {sorted(missing)}" if missing else ""))
        return 1 if missing or proc.returncode not in (0, 1) else 0


if __name__ == "__main__":
    sys.exit(main())
