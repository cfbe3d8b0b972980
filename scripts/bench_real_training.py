"""Real training: time to reach a target validation accuracy, with and without each scheduler.

The built-in network objective (nn_core MLPs, `kind = "mlp"`) on digits (studies/digits_asha.toml's
space, 30 epochs) and on the spiral (studies/spiral.toml's space, 200 epochs), random search,
one worker (n_jobs = 1: the trials run in this process, and time is its CPU seconds, training
plus the method's own, which other load on a shared machine does not change), the same seeds
for every scheduler. A run stops as soon as a trial trained to its last epoch (complete) reaches
the target validation accuracy, or after `--max-trials` finished trials (complete, pruned or
paused); its time is then the CPU time from the study's start to that trial's end. Schedulers
(the same keyword as the study file's `[pruner]`):

- none: every trial trains all its epochs;
- asha: `ASHAPruner(min_resource=m, reduction_factor=3)` (stops for good);
- hyperband: `Hyperband(min_resource=m, max_resource=epochs, reduction_factor=3)`: paused trials
  are promoted later and resume from their checkpoint (exact resume of nn_core's training);
- pbt: `PopulationBasedTraining(interval=epochs // 6, population=8, max_step=epochs)`;

with m = 2 epochs on digits and 10 on the spiral. The table gives per dataset and scheduler how
many seeds reached the target, the median time to it (runs that did not reach it count as
infinitely slow), the median epochs trained until then, and the best complete val accuracy.

    flock /work/notes/bench.lock python scripts/bench_real_training.py --seeds 3
    python scripts/bench_real_training.py --datasets spiral --seeds 1 --max-trials 10   # smoke
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import tempfile
import time
from pathlib import Path

import hpsearch as hp
from hpsearch.studyfile import runner
from hpsearch.studyfile.reader import load_study_file

STUDIES = Path(__file__).resolve().parent.parent / "studies"
# dataset -> (study file, epochs, scheduler min_resource, default target val accuracy)
DATASETS = {"digits": ("digits_asha.toml", 30, 2, 0.97),
            "spiral": ("spiral.toml", 200, 10, 0.95)}
SCHEDULERS = ("none", "asha", "hyperband", "pbt")


def pruner_table(scheduler: str, epochs: int, min_resource: int) -> dict:
    """The `[pruner]` table of a scheduler (module docstring)."""
    return {"none": {},
            "asha": {"kind": "asha", "min_resource": min_resource, "reduction_factor": 3},
            "hyperband": {"kind": "hyperband", "min_resource": min_resource,
                          "max_resource": epochs, "reduction_factor": 3},
            "pbt": {"kind": "pbt", "interval": epochs // 6, "population": 8,
                    "max_step": epochs}}[scheduler]


class Watch:
    """A callback: the time, epochs and trial at which a complete trial first reached the
    target; stops the study there."""

    def __init__(self, target: float) -> None:
        self.target = target
        self.start = time.process_time()
        self.reached_at: float | None = None
        self.steps: dict[int, int] = {}  # trial -> epochs trained over all its runs
        self.best = -math.inf

    @property
    def epochs(self) -> int:
        return sum(self.steps.values())

    def __call__(self, study, trial) -> None:
        self.steps[trial.number] = trial.steps
        if trial.state != hp.TrialState.COMPLETE or trial.value is None:
            return
        self.best = max(self.best, float(trial.value))
        if trial.value >= self.target and self.reached_at is None:
            self.reached_at = time.process_time() - self.start
            raise hp.StopStudy(f"target {self.target} reached")


def one_run(dataset: str, scheduler: str, seed: int, max_trials: int, target: float,
            storage: Path) -> dict:
    study_file, epochs, min_resource, _ = DATASETS[dataset]
    spec = load_study_file(STUDIES / study_file, n_trials=max_trials, n_jobs=1,
                           storage=storage, seed=seed)
    fixed = {**spec.objective.fixed, "epochs": epochs}
    spec = dataclasses.replace(
        spec, name=f"{dataset}_{scheduler}_{seed}", strategy="random",
        pruner=pruner_table(scheduler, epochs, min_resource),
        objective=dataclasses.replace(spec.objective, fixed=fixed))
    watch = Watch(target)
    runner.run(spec, fresh=True, callbacks=[watch])
    total = time.process_time() - watch.start
    return {"time": watch.reached_at, "total": total, "epochs": watch.epochs,
            "best": watch.best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,spiral")
    parser.add_argument("--schedulers", default=",".join(SCHEDULERS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-trials", type=int, default=60)
    parser.add_argument("--target", action="append", default=None,
                        help="dataset=accuracy, e.g. digits=0.97 (default: digits 0.97, "
                             "spiral 0.95)")
    args = parser.parse_args()
    targets = {name: spec[3] for name, spec in DATASETS.items()}
    for item in args.target or []:
        name, _, value = item.partition("=")
        targets[name] = float(value)
    print(f"# random search, one worker, at most {args.max_trials} finished trials a run, "
          f"seeds 0..{args.seeds - 1}; targets {targets}")
    print(f"{'dataset':<8}{'scheduler':<11}{'reached':>9}{'median s':>10}{'runs s':>22}"
          f"{'epochs':>8}{'best':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for dataset in args.datasets.split(","):
            for scheduler in args.schedulers.split(","):
                runs = [one_run(dataset, scheduler, seed, args.max_trials, targets[dataset],
                                Path(folder)) for seed in range(args.seeds)]
                times = [r["time"] if r["time"] is not None else math.inf for r in runs]
                reached = sum(t < math.inf for t in times)
                listed = " ".join(f"{t:.0f}" if t < math.inf else f">{r['total']:.0f}"
                                  for t, r in zip(times, runs, strict=True))
                print(f"{dataset:<8}{scheduler:<11}{f'{reached}/{len(runs)}':>9}"
                      f"{statistics.median(times):>10.1f}{listed:>22}"
                      f"{statistics.median([r['epochs'] for r in runs]):>8.0f}"
                      f"{max(r['best'] for r in runs):>8.4f}", flush=True)


if __name__ == "__main__":
    main()
