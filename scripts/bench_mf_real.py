"""Real training: `gp` with `hp.Hyperband` against `gp` alone, on the built-in network.

For each study file (studies/digits_mlp.toml, studies/spiral.toml; strategy set to gp) and
seed: gp without a pruner runs `--trials` full trainings; its best validation accuracy is the
target and its training time the baseline: the CPU seconds of the one worker, this process
(training plus the optimizer's own time; unlike wall time, what else runs on a shared
machine does not change it). Then gp with
`hp.Hyperband(min_resource=1, max_resource=<epochs>, reduction_factor=3)` runs on the same
seed until a complete trial reaches the target (or `--cap` finished trials); we print the
time it took and the ratio to the baseline (done when <= 0.5), and the epochs each run trained.

    flock /work/notes/bench.lock python scripts/bench_mf_real.py --seeds 5
    python scripts/bench_mf_real.py --seeds 1 --trials 6 --studies spiral   # a smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

from hpsearch.studyfile import runner
from hpsearch.studyfile.reader import load_study_file

STUDIES = Path(__file__).resolve().parent.parent / "studies"


def timed_run(spec, target: float | None, cap: int) -> dict:
    """Run `spec` (in this process: one worker); with a target, stop once a complete trial
    reaches it. Returns the CPU seconds of this process (training and the optimizer: what
    other processes on a shared machine do not change) until the best value (or the target)
    was reached, the best, and the epochs."""
    start = time.process_time()
    best, reached_at = -float("inf"), None

    def watch(study, trial) -> None:
        nonlocal best, reached_at
        if trial.state == "complete" and trial.value is not None and trial.value > best:
            best, reached_at = float(trial.value), time.process_time() - start
        if target is not None and best >= target:
            study.stop("target reached")

    study = runner.run(dataclasses.replace(spec, n_trials=cap), fresh=True, callbacks=[watch])
    total = time.process_time() - start
    epochs = sum(int(t.steps) for t in study.trials)
    reached = target is None or best >= target
    return {"best": best, "at": reached_at if target is not None and reached else total,
            "total": total, "epochs": epochs, "trials": len(study.trials), "reached": reached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", default="digits_mlp,spiral")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=30, help="gp's full trainings")
    parser.add_argument("--cap", type=int, default=90, help="most finished trials with Hyperband")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.studies.split(","):
            ratios = []
            for seed in range(args.seeds):
                spec = load_study_file(STUDIES / f"{name}.toml", n_jobs=1, storage=Path(tmp),
                                       seed=seed)
                epochs = int(spec.objective.fixed["epochs"])
                plain = dataclasses.replace(spec, strategy="gp", pruner={},
                                            strategy_options={}, name=f"{name}_plain_{seed}")
                base = timed_run(plain, None, args.trials)
                hyperband = {"kind": "hyperband", "min_resource": 1, "max_resource": epochs,
                             "reduction_factor": 3}
                scheduled = dataclasses.replace(plain, pruner=hyperband,
                                                name=f"{name}_hyperband_{seed}")
                mf = timed_run(scheduled, base["best"], args.cap)
                ratio = mf["at"] / base["total"] if mf["reached"] else float("inf")
                ratios.append(ratio)
                print(f"{name} seed {seed}: gp {base['best']:.4f} in {base['total']:.1f} s "
                      f"({base['epochs']} epochs); gp+hyperband "
                      f"{'reached' if mf['reached'] else 'did not reach'} it in {mf['at']:.1f}"
                      f" s ({mf['trials']} trials, {mf['epochs']} epochs, best "
                      f"{mf['best']:.4f}): ratio {ratio:.2f}", flush=True)
            print(f"{name}: time-to-target ratio median {statistics.median(ratios):.2f}, "
                  f"{sum(r <= 0.5 for r in ratios)}/{len(ratios)} runs <= 0.5", flush=True)


if __name__ == "__main__":
    main()
