"""Benchmark pruning: the same digits study with ASHA and without pruning, side by side.

Both runs use studies/digits_asha.toml (random strategy, same seed and n_trials, so trial i
gets the same configuration in both), one with its `[pruner]` table and one with none. We
print wall time (and the ratio), the best validation accuracy (complete trials; its gap in
validation samples), trials pruned, epochs trained, and where the baseline's best
configuration ended up in the pruned run. A short warm-up run first starts the reusable
worker pool, so neither timed run pays for process start-up. Target: wall-time ratio <= 0.5 and best
validation accuracy within 2 validation samples.

    flock /tmp/bench.lock python scripts/bench_pruning.py
    flock /tmp/bench.lock python scripts/bench_pruning.py --min-resource 2 --reduction-factor 3
    python scripts/bench_pruning.py --n-trials 6 --epochs 5          # a quick smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from hpsearch.studyfile import runner
from hpsearch.studyfile.reader import load_study_file

STUDY_FILE = Path(__file__).resolve().parent.parent / "studies" / "digits_asha.toml"


def run_once(spec) -> dict:
    start = time.perf_counter()
    study = runner.run(spec, fresh=True)
    wall = time.perf_counter() - start
    trials = study.trials
    return {
        "study": study,
        "wall": wall,
        "best": study.best_value,
        "best_number": study.best_trial.number,
        "complete": sum(t.state == "complete" for t in trials),
        "pruned": sum(t.state == "pruned" for t in trials),
        "failed": sum(t.state == "failed" for t in trials),
        "epochs": sum(max(t.intermediate, default=0) for t in trials),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study-file", type=Path, default=STUDY_FILE)
    parser.add_argument("--n-trials", type=int, default=None)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--min-resource", type=int, default=None)
    parser.add_argument("--reduction-factor", type=int, default=None)
    parser.add_argument("--storage", type=Path, default=None,
                        help="parent folder of the two run folders (default: a temp folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        storage = args.storage or Path(tmp)
        spec = load_study_file(args.study_file, n_trials=args.n_trials, n_jobs=args.n_jobs,
                               storage=storage, seed=args.seed)
        pruner = dict(spec.pruner)
        for key, value in (("min_resource", args.min_resource),
                           ("reduction_factor", args.reduction_factor)):
            if value is not None:
                pruner[key] = value
        fixed = dict(spec.objective.fixed)
        if args.epochs is not None:
            fixed["epochs"] = args.epochs
        objective = dataclasses.replace(spec.objective, fixed=fixed)
        pruned_spec = dataclasses.replace(spec, pruner=pruner, objective=objective,
                                          name=spec.name + "_pruned")
        plain_spec = dataclasses.replace(spec, pruner={}, objective=objective,
                                         name=spec.name + "_none")
        print(f"study {spec.path.name}: {spec.strategy}, n_trials={spec.n_trials}, "
              f"n_jobs={spec.n_jobs}, seed={spec.seed}, epochs={fixed.get('epochs')}, "
              f"pruner={pruner}")
        # Warm the reusable worker pool (process start, imports) so neither run pays for it.
        warm = dataclasses.replace(plain_spec, name=spec.name + "_warmup", n_trials=spec.n_jobs,
                                   objective=dataclasses.replace(objective,
                                                                 fixed={**fixed, "epochs": 1}))
        runner.run(warm, fresh=True)
        plain = run_once(plain_spec)
        pruned = run_once(pruned_spec)

        n_val = _n_val(plain["study"])
        same = all(a.params == b.params for a, b in zip(plain["study"].trials,
                                                        pruned["study"].trials, strict=True))
        rows = [("wall time (s)", f"{plain['wall']:.1f}", f"{pruned['wall']:.1f}"),
                ("best val accuracy", f"{plain['best']:.4f}", f"{pruned['best']:.4f}"),
                ("best trial", str(plain["best_number"]), str(pruned["best_number"])),
                ("complete / pruned / failed",
                 f"{plain['complete']} / {plain['pruned']} / {plain['failed']}",
                 f"{pruned['complete']} / {pruned['pruned']} / {pruned['failed']}"),
                ("epochs trained", str(plain["epochs"]), str(pruned["epochs"]))]
        print(f"\n{'':28s} {'no pruning':>14s} {'asha':>14s}")
        for name, a, b in rows:
            print(f"{name:28s} {a:>14s} {b:>14s}")
        ratio = pruned["wall"] / plain["wall"]
        gap = (plain["best"] - pruned["best"]) * n_val
        fate = pruned["study"].trials[plain["best_number"]]
        print(f"\nwall-time ratio asha / none: {ratio:.2f}x (target <= 0.5)")
        print(f"epochs ratio asha / none: {pruned['epochs'] / plain['epochs']:.2f}x "
              "(less noisy than wall time on a shared machine)")
        print(f"best val accuracy gap: {gap:+.1f} of {n_val} validation samples (target <= 2)")
        print(f"same configurations in both runs: {same}")
        print(f"baseline's best trial {plain['best_number']} in the asha run: {fate.state} "
              f"at step {max(fate.intermediate, default=None)}")
        met = ratio <= 0.5 and gap <= 2
        print(f"target met: {met}")


def _n_val(study) -> int:
    import numpy as np

    with np.load(Path(study.path) / "data.npz") as data:
        return int(len(data["val"]))


if __name__ == "__main__":
    main()
