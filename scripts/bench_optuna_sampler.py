"""HpsearchSampler inside Optuna against Optuna's own samplers, side by side in one run.

Samplers: optuna_hpsearch (`HpsearchSampler()`, hpsearch's gp), optuna_gp (GPSampler; needs
torch), optuna_tpe (TPESampler), optuna_auto (OptunaHub's AutoSampler: loaded with
`optunahub.load_module`, which downloads it from the registry, or from a local copy of the
registry's package/ folder named by OPTUNAHUB_REGISTRY_ROOT; left out, and said so, when
neither works). Every run is an ordinary `optuna.create_study(sampler=...)` study with a
define-by-run objective `trial.suggest_*`, as Optuna users write them.

- BBOB (scripts/bbob.py): the 24 functions of COCO's suite through `cocoex`, 2-D and 5-D,
  instances 1-3 x seeds 0-2, budget 15 d; scored by log10 regret at the end of the budget,
  ranked per (function, dimension) on the median over the 9 runs (ties to 0.01 decade).
- conditional (define-by-run, 9 parameters, 3-5 active): a network-training-like landscape.
  `optimizer` in {sgd, momentum, adam} picks the branch; every branch has a log-uniform
  `learning_rate` whose best value depends on the branch, an integer `n_layers` (1-6) and a
  stepped `dropout` (0-0.5, step 0.05); momentum adds a float `momentum` and a categorical
  `nesterov` (which shifts the best momentum); adam adds a log-uniform `beta2_gap` and a
  categorical `amsgrad`. The optimum (0) sits in the adam branch; sgd's best is 0.35,
  momentum's 0.12. An instance (1-3) moves every optimum by a seeded offset. Budget 60.
  Scored by log10(best + 1e-8), ranked per instance on the median over 3 seeds.

Both print, per sampler, the mean rank (1 = best) and the optimizer's own seconds per run (wall
time of the study minus the time spent in the objective). Benchmark-only packages, never the
project's dependencies: `pip install coco-experiment torch==2.13.0 greenlet optunahub cmaes`
(without greenlet, GPSampler falls back to a sequential L-BFGS-B and runs 3-6 times slower;
cmaes is AutoSampler's). Run (about an hour on two shared cores, `--jobs 2`):

    OPTUNAHUB_REGISTRY_ROOT=/path/to/optunahub-registry/package flock /work/notes/bench.lock \\
        python scripts/bench_optuna_sampler.py --jobs 2 --cache .bench_cache/optuna_sampler
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

import bbob  # noqa: E402  (beside this script)

CONDITIONAL_BUDGET = 60
BRANCH_BEST = {"sgd": 0.35, "momentum": 0.12, "adam": 0.0}


def conditional_objective(trial, instance: int) -> float:
    """The conditional problem (see the module docstring). Its own arithmetic takes
    microseconds; its `suggest_*` calls are where the sampler works, so the whole study's wall
    time is the optimizer's."""
    shift = np.random.default_rng([instance, 2024]).uniform(-1.0, 1.0, 6)
    optimizer = trial.suggest_categorical("optimizer", ["sgd", "momentum", "adam"])
    lr = math.log10(trial.suggest_float("learning_rate", 1e-5, 1.0, log=True))
    n_layers = trial.suggest_int("n_layers", 1, 6)
    dropout = trial.suggest_float("dropout", 0.0, 0.5, step=0.05)
    best_lr = {"sgd": -1.0, "momentum": -2.0, "adam": -3.0}[optimizer] + 0.5 * shift[0]
    value = BRANCH_BEST[optimizer] + 0.08 * (lr - best_lr) ** 2
    value += 0.03 * (n_layers - (3 + round(shift[1]))) ** 2
    value += 0.8 * (dropout - (0.25 + 0.1 * round(2 * shift[2]) / 2)) ** 2
    if optimizer == "momentum":
        nesterov = trial.suggest_categorical("nesterov", [True, False])
        momentum = trial.suggest_float("momentum", 0.0, 0.99)
        value += 1.5 * (momentum - (0.9 if nesterov else 0.7) - 0.05 * shift[3]) ** 2
    elif optimizer == "adam":
        gap = math.log10(trial.suggest_float("beta2_gap", 1e-4, 1e-1, log=True))
        amsgrad = trial.suggest_categorical("amsgrad", [False, True])
        value += 0.05 * (gap - (-3.0 + 0.5 * shift[4])) ** 2 + (0.04 if amsgrad else 0.0)
    return value


def conditional_run(task: tuple) -> dict:
    """(method, instance, seed, budget) -> {"score": log10(best + 1e-8), "seconds": ...}."""
    import logging
    import warnings

    import optuna
    from threadpoolctl import threadpool_limits

    warnings.filterwarnings("ignore")
    logging.getLogger("hpsearch").setLevel(logging.ERROR)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # GPSampler's independent-sampling lines
    method, instance, seed, budget = task
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    start = time.perf_counter()
    with threadpool_limits(1):
        study = optuna.create_study(sampler=bbob.optuna_sampler(method, seed))
        study.optimize(lambda t: conditional_objective(t, instance), n_trials=budget)
    seconds = time.perf_counter() - start
    return {"score": math.log10(study.best_value + 1e-8), "seconds": seconds}


def conditional_report(methods: list[str], instances: list[int], seeds: int, jobs: int) -> None:
    tasks = [(m, i, s, CONDITIONAL_BUDGET) for i in instances for s in range(seeds)
             for m in methods]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        records = dict(zip(tasks, pool.map(conditional_run, tasks), strict=True))
    ranked = []
    for i in instances:
        medians = {m: statistics.median(records[(m, i, s, CONDITIONAL_BUDGET)]["score"]
                                        for s in range(seeds)) for m in methods}
        ranked.append((i, medians, bbob.ranks(medians)))
    print(f"\n## conditional (define-by-run, budget {CONDITIONAL_BUDGET}): mean rank over "
          f"instances {instances}, median log10(best + 1e-8) per instance, seconds per run")
    print(f"{'method':<18}{'rank':>6}" + "".join(f"{'i' + str(i):>9}" for i in instances)
          + f"{'s/run':>9}")
    for m in methods:
        rank = statistics.fmean(r[m] for _, _, r in ranked)
        secs = statistics.fmean(rec["seconds"] for t, rec in records.items() if t[0] == m)
        print(f"{m:<18}{rank:>6.2f}" + "".join(f"{med[m]:>9.2f}" for _, med, _ in ranked)
              + f"{secs:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default=",".join(bbob.OPTUNA_SAMPLERS))
    parser.add_argument("--dims", default="2,5")
    parser.add_argument("--functions", default="1-24")
    parser.add_argument("--instances", default="1-3")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep each BBOB run's record here (a rerun reuses them)")
    parser.add_argument("--cached-only", action="store_true",
                        help="BBOB: print the table of the runs in --cache, run nothing")
    parser.add_argument("--no-bbob", action="store_true")
    parser.add_argument("--no-conditional", action="store_true")
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if bbob.available(m)]
    left_out = [m for m in args.methods.split(",") if m not in methods]
    print(f"# samplers: {', '.join(methods)}" + (f"; left out (not installed or not loadable):"
                                                 f" {', '.join(left_out)}" if left_out else ""))
    if not args.no_bbob:
        args.suite, args.methods, args.bbob_budget = "bbob", ",".join(methods), None
        args.checkpoint = None
        bbob.bbob_main(args)
    if not args.no_conditional:
        started = time.perf_counter()
        conditional_report(methods, bbob.int_list(args.instances), args.seeds, args.jobs)
        print(f"# conditional: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
